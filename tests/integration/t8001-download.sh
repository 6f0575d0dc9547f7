#!/usr/bin/env bash
# odbk-download: presigned links on S3 (checked with plain curl, expiring), --output on any storage,
# --as zip (an Odoo zip made from an odbk backup).
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-download links, --output and --as zip'
require_service pg
require_program odbk-create odbk-download odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 10
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
odbk_conf prod "$SRC_DB" "$SRC_FS"
fingerprint "$SRC_DB" "$SRC_FS" >"$TRASH/src.fp"
ID=$(odbk-create prod --quiet)

test_expect_success 'links need a storage that makes them: the error says to use --output' '
	test_exit_code 64 odbk-download "$ID" 2>err &&
	test_grep "\-\-output" err
'

test_expect_success '--expires beyond 7 days is refused' '
	test_exit_code 64 odbk-download "$ID" --expires 8d 2>err &&
	test_grep "7 days" err &&
	test_exit_code 64 odbk-download "$ID" --expires soon 2>err
'

test_expect_success '--output fetches every file, checked against the manifest' '
	odbk-download "$ID" --output out --json >dl.json &&
	ls out >names &&
	test $(wc -l <names) = 3 &&
	test_must_fail grep -q odbk-part names &&
	python3 - "$TRASH/storage/disk/prod/$ID" <<-PY
	import glob, hashlib, json, os, sys
	m = json.load(open(glob.glob(os.path.join(sys.argv[1], "*-manifest.json"))[0]))
	for f in m["files"]:
	    data = open(os.path.join("out", f["name"]), "rb").read()
	    assert len(data) == f["size"] and hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]
	PY
'

test_expect_success 'the fetched folder restores with --from-file' '
	db=$(test_db folder) &&
	odbk-restore --from-file out --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-folder" --confirm RESTORE >/dev/null &&
	fingerprint "$db" "$TRASH/fs-folder" >actual && test_cmp "$TRASH/src.fp" actual
'

test_expect_success 'a damaged stored file is not given its name' '
	f=$(ls "$TRASH/storage/disk/prod/$ID"/*-database.sql.gz) &&
	cp "$f" saved && test_when_finished "cp saved \"$f\"" &&
	printf "x" | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null &&
	test_must_fail odbk-download "$ID" --output bad 2>err &&
	test ! -e "bad/$(basename "$f")" &&
	test -z "$(ls -A bad | grep -v manifest)"
'

test_expect_success '--as zip writes an Odoo zip that Python and odbk read' '
	odbk-download "$ID" --output z --as zip >path &&
	zip=$(cat path) && test -f "$zip" &&
	python3 - "$zip" <<-PY &&
	import sys, zipfile
	z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
	n = z.namelist(); assert n[0] == "dump.sql" and n[1] == "manifest.json" and len(n) == 12, n
	PY
	db=$(test_db aszip) &&
	odbk-restore --from-file "$zip" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-aszip" --confirm RESTORE >/dev/null &&
	fingerprint "$db" "$TRASH/fs-aszip" >actual && test_cmp "$TRASH/src.fp" actual
'

test_expect_success S3 'S3: presigned links fetched with plain curl match the manifest' '
	odbk_conf prod "$SRC_DB" "$SRC_FS" s3 &&
	sid=$(odbk-create prod --quiet) &&
	odbk-download "$sid" --expires 15m --json >links.json &&
	python3 - <<-PY
	import hashlib, json, subprocess
	d = json.load(open("links.json"))
	assert len(d["files"]) == 3, d
	for f in d["files"]:
	    data = subprocess.run(["curl", "-sf", f["url"]], capture_output=True, check=True).stdout
	    assert len(data) == f["size"], f["name"]
	    if "sha256" in f:
	        assert hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]
	PY
'

test_expect_success S3 'S3: a 15-minute link made two hours ago is refused by the server' '
	command -v faketime >/dev/null || { echo "faketime missing"; false; } &&
	url=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f "-2h" odbk-download "$sid" --expires 15m --quiet | head -n 1) &&
	code=$(curl -s -o /dev/null -w "%{http_code}" "$url") &&
	test "$code" = 403 &&
	url=$(odbk-download "$sid" --expires 15m --quiet | head -n 1) &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$url")" = 200
'

test_expect_success S3 'S3: --output and --as zip work from S3 too' '
	odbk-download "$sid" --output s3out --as zip >path &&
	db=$(test_db s3zip) &&
	odbk-restore --from-file "$(cat path)" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-s3zip" --confirm RESTORE >/dev/null &&
	fingerprint "$db" "$TRASH/fs-s3zip" >actual && test_cmp "$TRASH/src.fp" actual
'

test_done
