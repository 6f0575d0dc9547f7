#!/usr/bin/env bash
# odbk-restore --test restores a backup into a scratch database ("<db>_odbk_test_<pid>") and a scratch
# directory under $TMPDIR, compares each table's rows and the filestore (files, bytes, each file's content
# against its SHA-1 name) with the figures the backup recorded, and drops the copy: exit 0 only when all
# match, 65 naming the first table or file that differs, 65 for a backup that recorded no row counts.  The
# environment's database and filestore are never touched; a run stopped by a signal drops its copy, one
# killed outright has it dropped by the next odbk run (restore_temps).
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-restore --test: a scratch restore compared with the recorded figures'
require_service pg
require_program odbk-create odbk-restore odbk-list jq python3 sqlite3

make_fixture src --db-mb 1 --fs-mb 1 --files 9
DB=$FIXTURE_DB FS=$FIXTURE_FS
odbk_conf prod "$DB" "$FS"
export TMPDIR=$TRASH/tmp
mkdir -p "$TMPDIR"
HOST=$(hostname)
STORE=$TRASH/storage/disk/prod

# no scratch database, directory or restore_temps row is left
no_scratch() {
	sql postgres "select datname from pg_database where datname ~ '_odbk_test_'" | grep "^$DB" >dbs
	{ test ! -s dbs || { cat dbs; false; }; } &&
	{ test -z "$(ls "$TMPDIR")" || { ls "$TMPDIR"; false; }; } &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps WHERE host = '$HOST'")" = 0
}

# tamper ID ROLE MODE: rewrite the stored file of ROLE in backup ID (MODE drop-rows TABLE N, flip-file,
# no-tables), then put its new size and SHA-256 into the manifest, in storage and in the catalog, so that
# the checksum check passes and only --test can tell
tamper() {
	python3 - "$STORE/$1" "$ODBK_CATALOG" "$1" "$2" "$3" "${4:-}" "${5:-0}" <<'EOF'
import glob, gzip, hashlib, io, json, os, sqlite3, sys, tarfile
folder, catalog, bid, role, mode, table, n = sys.argv[1:8]
mpath = glob.glob(os.path.join(folder, "*-manifest.json"))[0]
m = json.load(open(mpath))
if mode == "hostile-tables":   # a name that is SQL, first, then the real ones; or a count that is no count
    bad = {"public.res_partner; DROP TABLE public.res_users; --": 1} if table == "sql" else {"public.res_users": -1}
    m["tables"] = dict(list(bad.items()) + [(k, v) for k, v in m["tables"].items() if k not in bad])
elif mode == "no-tables":
    m.pop("tables", None)
    m.pop("filestore_files", None)
    m.pop("filestore_bytes", None)
else:
    f = [f for f in m["files"] if f["role"] == role][0]
    path = os.path.join(folder, f["name"])
    raw = gzip.decompress(open(path, "rb").read())
    if mode == "drop-rows":
        out, left, inblock = [], int(n), False
        for line in raw.split(b"\n"):
            if line.startswith(b"COPY " + table.encode() + b" "):
                inblock = True
            elif inblock and line == b"\\.":
                inblock = False
            elif inblock and left:
                left -= 1
                continue
            out.append(line)
        assert left == 0, "not enough rows"
        raw = b"\n".join(out)
    elif mode == "flip-file":   # one byte of the first file changes: same count, same bytes
        src = tarfile.open(fileobj=io.BytesIO(raw))
        buf = io.BytesIO()
        dst = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
        done = False
        for ti in src.getmembers():
            data = src.extractfile(ti).read() if ti.isfile() else None
            if data and not done:
                data = bytes([data[0] ^ 1]) + data[1:]
                done = True
                print(ti.name)
            dst.addfile(ti, io.BytesIO(data) if data is not None else None)
        dst.close()
        raw = buf.getvalue()
    stored = gzip.compress(raw)
    open(path, "wb").write(stored)
    f["size"] = len(stored)
    f["sha256"] = hashlib.sha256(stored).hexdigest()
    f["raw_size"] = len(raw)
text = json.dumps(m, indent=2) + "\n"
open(mpath, "w").write(text)
c = sqlite3.connect(catalog)
c.execute("UPDATE backups SET manifest = ? WHERE id = ?", (text, bid))
c.commit()
EOF
}

test_expect_success 'setup: a backup of the environment' '
	fingerprint "$DB" "$FS" >"$TRASH/env.fp" &&
	ID=$(odbk-create prod --quiet) && echo "$ID" >"$TRASH/id" &&
	jq -e ".tables | length > 5" "$STORE/$ID/backup-$ID-manifest.json"
'
ID=$(cat "$TRASH/id" 2>/dev/null)

test_expect_success 'a good backup passes: every table ok, exit 0, the copy gone, the environment unchanged' '
	odbk-restore --test "$ID" >out 2>err &&
	grep -E "^public\.res_partner +[0-9]+ +[0-9]+  ok$" out &&
	grep -E "^\(filestore files\) +9 +9  ok$" out &&
	grep -E "^\(filestore content, 9 named by SHA-1\) +9 +9  ok$" out &&
	! grep MISMATCH out &&
	grep -E "^ok: $ID restores to what it recorded \([0-9]+ tables, 9 files\)$" out &&
	no_scratch &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/env.fp" now.fp &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"restore-test\" and .result == \"ok\" and
		(.target | test(\"_odbk_test_\")))] | length == 1"
'

test_expect_success '--json: one object, parsed by python3, with the counts of the scratch copy' '
	odbk-restore --test "$ID" --json >out.json &&
	python3 -c "
import json, sys
d = json.load(open(\"out.json\"))
assert d[\"ok\"] is True and d[\"result\"] == \"ok\" and d[\"id\"] == \"$ID\" and d[\"env\"] == \"prod\", d
assert d[\"database\"] == \"$DB\" and d[\"error\"] is None and d[\"mismatches\"] == 0 and d[\"cleaned\"], d
assert d[\"scratch_database\"].startswith(\"${DB}_odbk_test_\"), d
t = {r[\"table\"]: r for r in d[\"tables\"]}
assert len(t) > 5 and all(r[\"ok\"] and r[\"expected\"] == r[\"restored\"] for r in t.values()), t
assert d[\"filestore\"][\"files\"] == 9 and d[\"filestore\"][\"content_checked\"] == 9, d[\"filestore\"]
print(t[\"public.res_partner\"][\"restored\"])
" >partners &&
	test "$(cat partners)" = "$(sql "$DB" "select count(*) from res_partner")" &&
	no_scratch
'

test_expect_success '--latest ENV tests the newest backup; --type filters' '
	odbk-restore --test --latest prod >out &&
	grep "^ok: $ID " out &&
	test_exit_code 66 odbk-restore --test --latest prod --type scheduled 2>err &&
	grep "no completed scheduled backup" err &&
	no_scratch
'

test_expect_success 'a zip backup records the row counts and filestore figures too, and passes' '
	ZID=$(odbk-create prod --format zip --quiet) &&
	m=$STORE/$ZID/backup-$ZID-manifest.json &&
	jq -e ".tables[\"public.res_partner\"] > 0 and .filestore_files == 9" "$m" &&
	test "$(jq .filestore_bytes "$m")" = "$(find "$FS" -type f -printf "%s\n" | awk "{s+=\$1} END {print s}")" &&
	odbk-restore --test "$ZID" --json >z.json &&
	jq -e ".ok and .format == \"zip\" and .filestore.files == 9" z.json &&
	no_scratch
'

test_expect_success 'rows dropped from one table, checksum recomputed: --verify passes, --test fails 65 naming it' '
	BID=$(odbk-create prod --quiet) &&
	tamper "$BID" database drop-rows public.mail_message 3 &&
	odbk-list --verify >/dev/null &&
	test_exit_code 65 odbk-restore --test "$BID" >out 2>err &&
	grep -E "^public\.mail_message +[0-9]+ +[0-9]+  MISMATCH$" out &&
	grep -E "^public\.res_partner +[0-9]+ +[0-9]+  ok$" out &&
	grep "^MISMATCH: $BID does not restore to what it recorded (1 difference)$" out &&
	grep "row count mismatch in table .public.mail_message.: the backup recorded [0-9]* rows" err &&
	test "$(grep -c error: err)" = 1 &&
	test_exit_code 65 odbk-restore --test "$BID" --json >bad.json 2>/dev/null &&
	python3 -c "
import json
d = json.load(open(\"bad.json\"))
bad = [r for r in d[\"tables\"] if not r[\"ok\"]]
assert d[\"ok\"] is False and d[\"result\"] == \"mismatch\" and d[\"mismatches\"] == 1, d
assert [r[\"table\"] for r in bad] == [\"public.mail_message\"] and bad[0][\"expected\"] - bad[0][\"restored\"] == 3, bad
assert \"public.mail_message\" in d[\"error\"]
" &&
	no_scratch &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/env.fp" now.fp
'

test_expect_success 'a filestore file changed (same size, checksum recomputed): 65 naming the file' '
	FID=$(odbk-create prod --quiet) &&
	tamper "$FID" filestore flip-file >flipped &&
	name=$(sed "s|^\./||" flipped) && test -n "$name" &&
	test_exit_code 65 odbk-restore --test "$FID" >out 2>err &&
	grep -E "^\(filestore files\) +9 +9  ok$" out &&
	grep -E "^\(filestore content, 9 named by SHA-1\) +9 +8  MISMATCH$" out &&
	grep "filestore file .$name. of .$FID. does not hold what its name" err &&
	no_scratch
'

test_expect_success 'a backup without recorded figures, and a dump backup: refused with 65 and a hint' '
	OID=$(odbk-create prod --quiet) &&
	tamper "$OID" - no-tables &&
	test_exit_code 65 odbk-restore --test "$OID" 2>err &&
	grep "records no row counts to compare with: it was made before odbk recorded them" err &&
	grep "hint: make a new backup (odbk-create prod)" err &&
	DID=$(odbk-create prod --format dump --quiet) &&
	test_exit_code 65 odbk-restore --test "$DID" --json >d.json 2>err &&
	jq -e ".ok == false and .result == \"failed\" and (.error | test(\"dump-format\"))" d.json &&
	no_scratch
'

test_expect_success 'hostile row counts: a table name that is SQL is a missing table, a negative count refused' '
	HID=$(odbk-create prod --quiet) &&
	tamper "$HID" - hostile-tables sql &&
	test_exit_code 65 odbk-restore --test "$HID" --json >h.json 2>err &&
	grep "table .public.res_partner; DROP TABLE public.res_users; --. is missing from the restored copy" err &&
	jq -e "[.tables[] | select(.ok | not)] | length == 1" h.json &&
	jq -e ".tables[] | select(.table == \"public.res_users\") | .ok and .restored > 0" h.json &&
	tamper "$HID" - hostile-tables neg &&
	test_exit_code 65 odbk-restore --test "$HID" 2>err &&
	grep "has a row count that is not a whole number (table .public.res_users.)" err &&
	no_scratch &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/env.fp" now.fp
'

test_expect_success 'stopped by SIGTERM after the load: exit 143, the copy already dropped' '
	test_exit_code 143 env ODBK_FAILPOINT=test-sigterm odbk-restore --test "$ID" 2>err &&
	grep "interrupted by SIGTERM" err &&
	no_scratch
'

test_expect_success 'killed outright after the load: the copy stays recorded, the next run drops it' '
	test_exit_code 137 env ODBK_FAILPOINT=test-loaded odbk-restore --test "$ID" 2>/dev/null &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps WHERE tmp_db LIKE '\''%_odbk_test_%'\''")" = 1 &&
	test -n "$(sql postgres "select 1 from pg_database where datname ~ '\''^${DB}_odbk_test_'\''")" &&
	test -n "$(ls "$TMPDIR")" &&
	pid=$(sqlite3 "$ODBK_CATALOG" "SELECT pid FROM restore_temps") &&
	test -n "$(sql postgres "select rolname from pg_roles where shobj_description(oid, '\''pg_authid'\'') = '\''odbk restore $HOST $pid'\''")" &&
	odbk-list --rescan >/dev/null &&
	no_scratch &&
	test -z "$(sql postgres "select rolname from pg_roles where shobj_description(oid, '\''pg_authid'\'') = '\''odbk restore $HOST $pid'\''")" &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/env.fp" now.fp
'

test_expect_success 'options that name a target are refused with --test' '
	test_exit_code 64 odbk-restore --test "$ID" --to prod 2>err && grep "scratch copy" err &&
	test_exit_code 64 odbk-restore --test "$ID" --neutralize 2>err &&
	test_exit_code 64 odbk-restore --test --from-file "$STORE/$ID" 2>err &&
	no_scratch
'

test_expect_success S3 'a backup in S3 passes --test' '
	odbk_conf_storage s3 &&
	SID=$(odbk-create prod --storage s3 --quiet) &&
	odbk-restore --test "$SID" --json >s3.json &&
	jq -e ".ok and (.tables | length > 5) and .filestore.files == 9" s3.json &&
	no_scratch
'

test_done
