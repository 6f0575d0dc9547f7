#!/usr/bin/env bash
# odbk-list --rescan of incremental backups (manifest version 2): imported with their list and packs
# checked against the listing (each referenced pack in ENV/packs/ with its manifest size, as every file
# is), a backup whose pack is missing or of another size skipped and named (65), nothing under ENV/packs/
# read as a backup; the rescanned backup restores; --verify reads its packs.
. "$(dirname "$0")/test-lib.sh"
test_description 'rescan of incremental backups: packs checked, packs/ never a backup'
require_service pg
require_program odbk-create odbk-list odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 12
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
odbk_conf prod "$SRC_DB" "$SRC_FS"
STORE=$TRASH/storage/disk
INCR="python3 $ODBK_SRC/tests/fake/incr.py"

# clone NEWID PYTHON: a copy of backup $A under NEWID (its own files renamed, the packs shared), PYTHON run
# on its manifest j before it is written
clone() {
	python3 - "$STORE/prod/$A" "$1" "$2" <<-'PY'
	import glob, json, os, shutil, sys
	src, new, code = sys.argv[1:]
	j = json.load(open(glob.glob(os.path.join(src, "*-manifest.json"))[0]))
	old, j["id"] = j["id"], new
	d = os.path.join(os.path.dirname(src), new)
	os.makedirs(d)
	for f in j["files"]:
	    f["name"], n = f["name"].replace(old, new), f["name"]
	    shutil.copy(os.path.join(src, n), os.path.join(d, f["name"]))
	exec(code)
	json.dump(j, open(os.path.join(d, "backup-%s-manifest.json" % new), "w"), indent=2)
	PY
}

test_expect_success 'setup: an incremental backup (3 packs)' '
	A=$(odbk-create prod --quiet) &&
	$INCR convert "$STORE/prod/$A" --per-pack 5 &&
	test $(ls "$STORE/prod/packs" | wc -l) = 3 &&
	echo "A=$A" >a.env
'
. ./a.env

test_expect_success 'rescanned into an empty catalog: imported, and it restores' '
	rm -f "$ODBK_CATALOG" && odbk-list --rescan 2>err &&
	test_grep "1 backups found in storage \(1 new\), 0 manifests skipped" err &&
	odbk-list prod --json | jq -e ".[0].id == \"$A\" and .[0].status == \"completed\"" >/dev/null &&
	db=$(test_db back) &&
	odbk-restore "$A" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-back" --confirm RESTORE >/dev/null &&
	diff -r "$SRC_FS" "$TRASH/fs-back"
'

test_expect_success '--verify reads every pack and file of the list: a changed pack unverifies it (65)' '
	odbk-list --verify prod >/dev/null &&
	odbk-list prod --json | jq -e ".[0].verified == true" >/dev/null &&
	p=$(ls "$STORE/prod/packs/"*-000002.tar.gz) && cp "$p" saved &&
	python3 - "$p" <<-PY &&
	import gzip, sys
	data = bytearray(gzip.decompress(open(sys.argv[1], "rb").read()))
	data[700] ^= 1
	open(sys.argv[1], "wb").write(gzip.compress(bytes(data)))
	PY
	test_exit_code 65 odbk-list --verify prod 2>err &&
	test_grep "packs/.*-000002.tar.gz. has [0-9]+ bytes, the manifest says" err &&
	odbk-list prod --json | jq -e ".[0].verified == false" >/dev/null &&
	cp saved "$p"
'

test_expect_success 'a missing pack, a pack of another size, a list without its mode: each skipped, named' '
	clone 20300101T000000Z-0000c1 "j[\"packs\"].append({\"name\": \"20300101T000000Z-0000c1-000001.tar.gz\", \"size\": 10, \"sha256\": \"0\" * 64})" &&
	clone 20300101T000000Z-0000c2 "j[\"packs\"][1][\"size\"] += 1" &&
	clone 20300101T000000Z-0000c3 "j[\"filestore_mode\"] = \"full\"; j[\"packs\"] = []" &&
	clone 20300101T000000Z-0000c4 "os.remove(os.path.join(d, [f for f in j[\"files\"] if f[\"role\"] == \"filelist\"][0][\"name\"]))" &&
	rm -f "$ODBK_CATALOG" && test_exit_code 65 odbk-list --rescan 2>err &&
	test_grep "c1-manifest.json.*pack .20300101T000000Z-0000c1-000001.tar.gz. is missing from storage" err &&
	test_grep "c2-manifest.json.*pack .*-000002.tar.gz. has [0-9]+ bytes in storage, the manifest says" err &&
	test_grep "c3-manifest.json.*(filestore_mode is full but it lists a file list|filelist)" err &&
	test_grep "c4-manifest.json.*filestore.list.gz. is missing from storage" err &&
	test_grep "1 backups found in storage \(1 new\), 4 manifests skipped" err
'

test_expect_success 'nothing under ENV/packs/ is read as a backup' '
	rm -rf "$STORE/prod"/20300101T000000Z-0000c* &&
	mkdir -p "$STORE/prod/packs/20300101T000000Z-0000d1" &&
	clone 20300101T000000Z-0000d1 "" && mv "$STORE/prod/20300101T000000Z-0000d1"/* "$STORE/prod/packs/20300101T000000Z-0000d1/" &&
	rmdir "$STORE/prod/20300101T000000Z-0000d1" &&
	rm -f "$ODBK_CATALOG" && odbk-list --rescan 2>err &&
	test_must_fail grep -q "0000d1" err &&
	test_grep "1 backups found in storage \(1 new\), 0 manifests skipped" err
'

test_done
