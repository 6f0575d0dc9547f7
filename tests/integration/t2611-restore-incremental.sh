#!/usr/bin/env bash
# odbk-restore of an incremental backup (a file list and packs, odbk(7)): every listed file restored from
# its pack and checked, packs read in parallel, an unlisted member left out; and every hostile pack or
# list refused in one line with 65, the target's database and filestore untouched.  The backups are
# full ones turned incremental by tests/fake/incr.py (packs and lists written by hand), so each attack
# is one edit of a pack or of the list, with the manifest made to match it (what someone who can write
# to the storage can do).
. "$(dirname "$0")/test-lib.sh"
test_description 'restoring an incremental backup, and its hostile packs and lists'
require_service pg
require_program odbk-create odbk-restore odbk-list

make_fixture src --db-mb 1 --fs-mb 2 --files 40
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
make_fixture target --db-mb 1 --fs-mb 1 --files 5 --seed 9
T_DB=$FIXTURE_DB T_FS=$FIXTURE_FS
odbk_conf prod "$T_DB" "$T_FS"
odbk_conf_env src "$SRC_DB" "$SRC_FS" disk
fingerprint "$SRC_DB" "$SRC_FS" >"$TRASH/src.fp"
fingerprint "$T_DB" "$T_FS" >"$TRASH/target.fp"
INCR="python3 $ODBK_SRC/tests/fake/incr.py"

restore() { odbk-restore "$@" --confirm RESTORE; }
untouched() {
	fingerprint "$T_DB" "$T_FS" >now.fp && test_cmp "$TRASH/target.fp" now.fp &&
	test -z "$(ls -d "$T_FS".odbk-* 2>/dev/null)" &&
	test -z "$(sql postgres "select datname from pg_database where datname ~ '^${TEST_DB_PREFIX}.*_odbk_(tmp|old)_'")"
}
# fresh COPY: a copy of the incremental backup folder (and its env's packs) to attack, at $TRASH/COPY/src/ID
fresh() {
	rm -rf "$TRASH/$1" && mkdir -p "$TRASH/$1" && cp -r "$TRASH/storage/disk/src" "$TRASH/$1/" &&
	D=$TRASH/$1/src/$ID && P=$TRASH/$1/src/packs
}
# refused COPY PATTERN: restoring the attacked copy fails with 65, says PATTERN on one line, changes nothing
refused() {
	test_exit_code 65 restore --from-file "$D" --to prod --no-safety-backup 2>err &&
	test_grep "$2" err && test "$(grep -c . err)" -le 2 && untouched
}
# repack PACK PYTHON: rewrite pack PACK (a tar.gz) member by member through the Python code, which sees
# `members` (a list of (TarInfo, bytes)) and may change it; the manifest made to match
repack() {
	python3 - "$P/$1" "$2" <<-'PY' && $INCR fix "$D"
	import io, sys, tarfile
	path, code = sys.argv[1:]
	with tarfile.open(path, "r:gz") as t:
	    members = [(m, t.extractfile(m).read() if m.isfile() else b"") for m in t.getmembers()]
	exec(code)
	with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as out:
	    for m, data in members:
	        m.size = len(data) if m.isfile() else 0
	        out.addfile(m, io.BytesIO(data) if m.isfile() else None)
	PY
}

test_expect_success 'setup: a backup of src made incremental, 40 files in 5 packs' '
	ID=$(odbk-create src --quiet) &&
	$INCR convert "$TRASH/storage/disk/src/$ID" --per-pack 8 &&
	test $(ls "$TRASH/storage/disk/src/packs" | wc -l) = 5 &&
	test ! -e "$TRASH/storage/disk/src/$ID/backup-$ID-filestore.tar.gz" &&
	tar tzf "$TRASH/storage/disk/src/packs/$ID-000001.tar.gz" >members && test $(wc -l <members) = 8 &&
	echo "ID=$ID" >id.env
'
. ./id.env

test_expect_success 'the backup folder restores: every file, as it was' '
	db=$(test_db folder) &&
	restore --from-file "$TRASH/storage/disk/src/$ID" --db-owner "$TEST_OWNER" --new-db "$db" \
		--filestore "$TRASH/fs-folder" >/dev/null &&
	fingerprint "$db" "$TRASH/fs-folder" >actual && test_cmp "$TRASH/src.fp" actual
'

test_expect_success 'from the catalog (rescanned), over the target: every file, the swap as for a full backup' '
	rm -f "$ODBK_CATALOG" && odbk-list --rescan >/dev/null &&
	odbk-list src --json | grep -q "$ID" &&
	restore "$ID" --to prod --no-safety-backup >/dev/null &&
	test -z "$(ls -d "$T_FS".odbk-* 2>/dev/null)" &&
	diff -r "$SRC_FS" "$T_FS"
'

# the target has the source's content now; what "untouched" compares with
fingerprint "$T_DB" "$T_FS" >"$TRASH/target.fp"

test_expect_success 'a member the list does not name is left out' '
	fresh extra &&
	repack "$ID-000002.tar.gz" "
m = tarfile.TarInfo(\"zz/not-listed\"); m.mode = 0o644
members.append((m, b\"stray\"))" &&
	db=$(test_db extra) &&
	restore --from-file "$D" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-extra" >/dev/null &&
	test ! -e "$TRASH/fs-extra/zz" && diff -r "$SRC_FS" "$TRASH/fs-extra"
'

test_expect_success 'attack: a pack member named ../x' '
	fresh dotdot &&
	repack "$ID-000001.tar.gz" "
m = tarfile.TarInfo(\"../pwned\"); m.mode = 0o644
members.insert(0, (m, b\"evil\"))" &&
	refused dotdot "unsafe member name .*\.\./pwned" && test ! -e "$TRASH/filestore/pwned"
'

test_expect_success 'attack: a pack member with an absolute name' '
	fresh abs &&
	repack "$ID-000003.tar.gz" "
m = tarfile.TarInfo(\"$TRASH/pwned-abs\"); m.mode = 0o644
members.insert(0, (m, b\"evil\"))" &&
	refused abs "unsafe member name" && test ! -e "$TRASH/pwned-abs"
'

test_expect_success 'attack: a symbolic link in a pack, named as a listed file' '
	fresh link &&
	repack "$ID-000004.tar.gz" "
m = tarfile.TarInfo(members[0][0].name); m.type = tarfile.SYMTYPE; m.linkname = \"/etc/passwd\"
members[0] = (m, b\"\")" &&
	refused link "is a link"
'

test_expect_success 'attack: a member whose bytes are not the ones the list says (same size)' '
	fresh swapped &&
	repack "$ID-000005.tar.gz" "
m, data = members[-1]
members[-1] = (m, bytes(len(data)))" &&
	refused swapped "checksum mismatch in .* of pack .*$ID-000005.tar.gz"
'

test_expect_success 'attack: a member of another size than the list says' '
	fresh size &&
	repack "$ID-000002.tar.gz" "
m, data = members[0]
members[0] = (m, data + b\"x\")" &&
	refused size "has [0-9]+ bytes, the file list says"
'

test_expect_success 'attack: a pack changed behind the manifest (its checksum)' '
	fresh packsum &&
	repack "$ID-000001.tar.gz" "members.reverse()" &&
	python3 -c "
import json, sys, glob
p = glob.glob(\"$D/*-manifest.json\")[0]; m = json.load(open(p))
m[\"packs\"][0][\"sha256\"] = \"0\" * 64; json.dump(m, open(p, \"w\"))" &&
	refused packsum "checksum mismatch in .*$ID-000001.tar.gz"
'

test_expect_success 'attack: the list names a pack the manifest does not list' '
	fresh otherpack &&
	$INCR list "$D" >list && sed "2s/$ID-000001.tar.gz/$ID-000099.tar.gz/" list | $INCR set-list "$D" &&
	refused otherpack "list .*line 2: the pack is not among the manifest"
'

test_expect_success 'attack: a pack missing from storage' '
	fresh missing &&
	rm "$P/$ID-000003.tar.gz" &&
	refused missing "pack .*$ID-000003.tar.gz.* is missing"
'

test_expect_success 'attack: a truncated list (no end line)' '
	fresh truncated &&
	$INCR list "$D" >list && sed "\$d" list | $INCR set-list "$D" &&
	refused truncated "file list .*no end line"
'

test_expect_success 'attack: a path listed twice' '
	fresh dup &&
	$INCR list "$D" >list && sed "2p" list | awk "/^end/ {\$2 = \$2 + 1} {print}" | $INCR set-list "$D" &&
	refused dup "file list .*line 3.*duplicate"
'

test_expect_success 'attack: a listed file no pack holds' '
	fresh gone &&
	repack "$ID-000002.tar.gz" "del members[3]" &&
	refused gone "does not hold"
'

test_done
