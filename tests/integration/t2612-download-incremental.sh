#!/usr/bin/env bash
# odbk-download of an incremental backup: --output writes backup-ID-filestore.tar.gz assembled from the
# list and the packs (streamed, every member checked; GNU tar and gzip read it) and a manifest that makes
# the folder a full backup of its own; --as zip makes the Odoo zip from the packs; links (S3) write the
# assembled file into the backup's folder once, with a removal due when they expire, and link it.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-download of an incremental backup: --output, --as zip, links'
require_service pg
require_program odbk-create odbk-download odbk-restore odbk-list

make_fixture src --db-mb 1 --fs-mb 2 --files 30
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
odbk_conf prod "$SRC_DB" "$SRC_FS"
fingerprint "$SRC_DB" "$SRC_FS" >"$TRASH/src.fp"
INCR="python3 $ODBK_SRC/tests/fake/incr.py"

test_expect_success 'setup: a backup made incremental (30 files, 4 packs), the catalog rescanned' '
	ID=$(odbk-create prod --quiet) && D=$TRASH/storage/disk/prod/$ID &&
	$INCR convert "$D" --per-pack 8 &&
	rm -f "$ODBK_CATALOG" && odbk-list --rescan >/dev/null &&
	echo "ID=$ID D=$D" >id.env
'
. ./id.env

test_expect_success '--output: the database, the assembled filestore tar and the manifest' '
	odbk-download "$ID" --output out --json >dl.json &&
	(cd out && ls) >names &&
	printf "%s\n" "backup-$ID-database.sql.gz" "backup-$ID-filestore.tar.gz" "backup-$ID-manifest.json" >want &&
	test_cmp want names &&
	gzip -t "out/backup-$ID-filestore.tar.gz" &&
	tar tzf "out/backup-$ID-filestore.tar.gz" >members &&
	test $(wc -l <members) = 30 &&
	mkdir x && tar xzf "out/backup-$ID-filestore.tar.gz" -C x && diff -r "$SRC_FS" x &&
	python3 - <<-PY
	import hashlib, json
	m = json.load(open("out/backup-$ID-manifest.json"))
	assert m.get("filestore_mode", "full") == "full" and not m.get("packs"), m
	roles = sorted(f["role"] for f in m["files"]); assert roles == ["database", "filestore"], roles
	for f in m["files"]:
	    data = open("out/" + f["name"], "rb").read()
	    assert len(data) == f["size"] and hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]
	d = json.load(open("dl.json"))
	assert sorted(f["role"] for f in d["files"]) == ["database", "filestore", "manifest"], d
	PY
'

test_expect_success 'the fetched folder is a full backup: it restores with --from-file' '
	db=$(test_db folder) &&
	odbk-restore --from-file out --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-folder" --confirm RESTORE >/dev/null &&
	fingerprint "$db" "$TRASH/fs-folder" >actual && test_cmp "$TRASH/src.fp" actual
'

test_expect_success '--as zip: the Odoo zip, its filestore from the packs' '
	odbk-download "$ID" --output z --as zip >path &&
	python3 - "$(cat path)" <<-PY &&
	import sys, zipfile
	z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
	n = z.namelist(); assert n[0] == "dump.sql" and n[1] == "manifest.json", n
	assert len([x for x in n if x.startswith("filestore/") and not x.endswith("/")]) == 30, n
	PY
	db=$(test_db aszip) &&
	odbk-restore --from-file "$(cat path)" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-aszip" --confirm RESTORE >/dev/null &&
	fingerprint "$db" "$TRASH/fs-aszip" >actual && test_cmp "$TRASH/src.fp" actual
'

test_expect_success 'a damaged pack: 65, and no filestore tar under its name' '
	p=$(ls "$TRASH/storage/disk/prod/packs/"*-000002.tar.gz) && cp "$p" saved &&
	test_when_finished "cp saved \"$p\"" &&
	printf "x" | dd of="$p" bs=1 seek=200 conv=notrunc 2>/dev/null &&
	test_exit_code 65 odbk-download "$ID" --output bad 2>err &&
	test_grep "000002.tar.gz" err &&
	test ! -e "bad/backup-$ID-filestore.tar.gz" && test -z "$(ls -A bad | grep -v database)"
'

test_expect_success '--format zip and dump backups still download' '
	zid=$(odbk-create prod --format zip --quiet) && did=$(odbk-create prod --format dump --quiet) &&
	odbk-download "$zid" --output zz >/dev/null && ls zz | grep -q "\.zip$" &&
	odbk-download "$zid" --output zz2 --as zip >/dev/null &&
	odbk-download "$did" --output dd >/dev/null && ls dd | grep -q "\.dump$"
'

# s3_put FILE KEY, s3_rm KEY: the testbed's S3, under the storage's prefix, with plain curl
S3_PREFIX=${TEST_DB_PREFIX%_}/s3
s3_curl() { curl -sf --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" >/dev/null; }
s3_put() { s3_curl -T "$1" "$S3_ENDPOINT/$S3_BUCKET/$S3_PREFIX/$2"; }
s3_rm() { s3_curl -X DELETE "$S3_ENDPOINT/$S3_BUCKET/$S3_PREFIX/$1"; }

test_expect_success S3 'setup: an incremental backup on S3 (made one by hand), the catalog rescanned' '
	odbk_conf prod "$SRC_DB" "$SRC_FS" s3 &&
	sid=$(odbk-create prod --quiet) &&
	mkdir -p "s3copy/prod" && odbk-download "$sid" --output "s3copy/prod/$sid" >/dev/null &&
	$INCR convert "s3copy/prod/$sid" --per-pack 7 &&
	for f in s3copy/prod/packs/*; do s3_put "$f" "prod/packs/${f##*/}" || return 1; done &&
	s3_put "s3copy/prod/$sid/backup-$sid-filestore.list.gz" "prod/$sid/backup-$sid-filestore.list.gz" &&
	s3_put "s3copy/prod/$sid/backup-$sid-manifest.json" "prod/$sid/backup-$sid-manifest.json" &&
	s3_rm "prod/$sid/backup-$sid-filestore.tar.gz" &&
	rm -f "$ODBK_CATALOG" && odbk-list --rescan >/dev/null &&
	echo "sid=$sid" >sid.env
'
. ./sid.env 2>/dev/null

test_expect_success S3 'S3: links: the assembled filestore, written once with a removal due at expiry' '
	odbk-download "$sid" --expires 15m --json >links.json &&
	python3 - <<-PY &&
	import hashlib, json, subprocess
	d = json.load(open("links.json"))
	roles = sorted(f["role"] for f in d["files"]); assert roles == ["database", "filestore", "manifest"], d
	for f in d["files"]:
	    data = subprocess.run(["curl", "-sf", f["url"]], capture_output=True, check=True).stdout
	    assert len(data) == f["size"], f["name"]
	    if "sha256" in f:
	        assert hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]
	    if f["role"] == "filestore":
	        open("linked.tar.gz", "wb").write(data)
	PY
	tar tzf linked.tar.gz >members && test $(wc -l <members) = 30 &&
	due=$(sqlite3 "$ODBK_CATALOG" "select due_at from removals where prefix = '\''prod/$sid/backup-$sid-filestore.tar.gz'\''") &&
	now=$(date +%s) && test "$due" -gt $((now + 800)) && test "$due" -le $((now + 900)) &&
	odbk-list prod --json | grep -q "$sid"
'

test_expect_success S3 'S3: a later link moves the removal later; an earlier one does not' '
	odbk-download "$sid" --expires 2h --quiet >/dev/null &&
	due2=$(sqlite3 "$ODBK_CATALOG" "select due_at from removals") && test "$due2" -gt $(( $(date +%s) + 7000 )) &&
	odbk-download "$sid" --expires 15m --quiet >/dev/null &&
	test "$(sqlite3 "$ODBK_CATALOG" "select due_at from removals")" = "$due2"
'

test_expect_success S3 'S3: once due, the next writing run removes the assembled file; the backup still restores' '
	url=$(python3 -c "import json; print([f[\"url\"] for f in json.load(open(\"links.json\"))[\"files\"] if f[\"role\"] == \"filestore\"][0])") &&
	curl -sf -o /dev/null "$url" &&
	sqlite3 "$ODBK_CATALOG" "update removals set due_at = 1" &&
	odbk-create prod --quiet >/dev/null &&
	test "$(sqlite3 "$ODBK_CATALOG" "select count(*) from removals")" = 0 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$url")" = 404 &&
	db=$(test_db s3back) &&
	odbk-restore "$sid" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-s3" --confirm RESTORE >/dev/null &&
	fingerprint "$db" "$TRASH/fs-s3" >actual && test_cmp "$TRASH/src.fp" actual
'

test_done
