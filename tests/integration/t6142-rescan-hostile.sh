#!/usr/bin/env bash
# odbk-list --rescan trusts nothing it reads: every field of a manifest is checked, every file it lists must
# be in storage with its size, a known id is never re-pointed or rewritten (a conflict, reported, not
# applied), imported rows are not verified; each bad manifest is one line naming it, the exit code is 65.
. "$(dirname "$0")/test-lib.sh"
test_description 'rescan of hostile manifests in local storage and in S3'
require_service pg s3
require_program odbk-create odbk-list

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
s3cli() {
	AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY aws --endpoint-url "$S3_ENDPOINT" "$@"
}
S3_ROOT=s3://$S3_BUCKET/${TEST_DB_PREFIX%_}/s3

make_fixture src --db-mb 1 --fs-mb 1 --files 6
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
odbk_conf_storage s3
STORE=$TRASH/storage/disk

# clone SRC_DIR DEST_ROOT NEWID [PYTHON]: copy a backup folder under a new id (files renamed, manifest
# rewritten), then run PYTHON on the manifest j (a dict) and the folder d before it is written
cat >"$TRASH/clone.py" <<'PY'
import json, os, shutil, sys, glob
src, root, new = sys.argv[1], sys.argv[2], sys.argv[3]
code = sys.argv[4] if len(sys.argv) > 4 else ""
m = glob.glob(os.path.join(src, "*-manifest.json"))[0]
j = json.load(open(m))
old = j["id"]
j["id"] = new
d = os.path.join(root, j["env"], new)
os.makedirs(d)
for f in j["files"]:
    n = f["name"].replace(old, new)
    shutil.copy(os.path.join(src, f["name"]), os.path.join(d, n))
    f["name"] = n
exec(code)
os.makedirs(d, exist_ok=True)
json.dump(j, open(os.path.join(d, "backup-%s-manifest.json" % new), "w"), indent=2)
PY
clone() { python3 "$TRASH/clone.py" "$@"; }

test_expect_success 'a good backup, verified' '
	A=$(odbk-create prod --quiet) &&
	ADIR=$STORE/prod/$A &&
	odbk-list --json | jq -e ".[0].id == \"$A\" and .[0].verified == true and .[0].storage == \"disk\""
'

test_expect_success 'hostile manifests next to a good copy in local storage' '
	clone "$ADIR" "$STORE" 20300101T000000Z-00000a &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b1 "j[\"files\"][0][\"size\"] = -5" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b2 "j[\"files\"][0][\"size\"] = 10**18" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b3 "j[\"type\"] = \"evil\"" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b4 "j[\"format\"] = \"tarball\"" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b5 "j[\"retention\"] = \"forever\"" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b6 "j[\"created_at\"] = \"yesterday\"" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b7 "j[\"files\"][0][\"compression\"] = \"rar\"" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b8 "os.remove(os.path.join(d, [f for f in j[\"files\"] if f[\"role\"] == \"filestore\"][0][\"name\"]))" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000b9 "open(os.path.join(d, j[\"files\"][0][\"name\"]), \"ab\").write(b\"x\")" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000ba "j[\"files\"][0][\"role\"] = \"script\"" &&
	clone "$ADIR" "$STORE" notanid "" &&
	clone "$ADIR" "$STORE" 20300101T000000Z-0000bb "d2 = d.replace(\"/prod/\", \"/staging/\"); shutil.move(d, d2); d = d2" &&
	mkdir -p "$STORE/prod2" && cp -r "$ADIR" "$STORE/prod2/" &&
	python3 -c "import json,sys; p=sys.argv[1]; j=json.load(open(p)); j[\"env\"]=\"prod2\"; j[\"comment\"]=\"forged\"; json.dump(j, open(p, \"w\"))" "$STORE/prod2/$A/backup-$A-manifest.json" &&
	test -f "$STORE/staging/20300101T000000Z-0000bb/backup-20300101T000000Z-0000bb-manifest.json" &&
	test -f "$STORE/prod2/$A/backup-$A-manifest.json"
'

test_expect_success 'rescan: exit 65, one line per bad manifest naming it, only the good copy imported' '
	test_exit_code 65 odbk-list --rescan --storage disk --json >list.json 2>err &&
	for b in b1 b2 b3 b4 b5 b6 b7 b8 b9 ba; do
		test $(grep -c "warning: skipping.*prod/20300101T000000Z-0000$b/backup-20300101T000000Z-0000$b-manifest.json" err) = 1 || { echo "no line for $b"; return 1; }
	done &&
	test_grep "0000b1.*size" err && test_grep "0000b2.*size" err &&
	test_grep "0000b3.*unknown type .evil." err && test_grep "0000b4.*unknown format" err &&
	test_grep "0000b5.*retention" err && test_grep "0000b6.*RFC 3339" err &&
	test_grep "0000b7.*compression .rar." err && test_grep "0000b8.*filestore.*missing from storage" err &&
	test_grep "0000b9.*bytes in storage" err && test_grep "0000ba.*role .script." err &&
	test_grep "skipping prod/notanid/.*not an odbk backup id" err &&
	test_grep "skipping staging/20300101T000000Z-0000bb/.*env .prod. is not the env of its folder" err &&
	test_grep "conflict: backup $A in storage .disk. \(prod2/$A/.*differs" err &&
	test $(grep -c "warning:" err) = 13 &&
	test_grep "13 manifests were skipped or in conflict" err &&
	jq -e "length == 2" list.json &&
	jq -e "[.[] | select(.id == \"20300101T000000Z-00000a\")][0] | .verified == false and .status == \"completed\" and .storage == \"disk\"" list.json &&
	jq -e "[.[] | select(.id == \"$A\")][0] | .verified == true and .env == \"prod\" and .comment == \"\"" list.json
'

test_expect_success 'in S3: a copy of a known id is a conflict naming both storages, the row still points at disk' '
	s3cli s3 cp --recursive --quiet "$ADIR" "$S3_ROOT/prod/$A/" &&
	clone "$ADIR" "$TRASH/s3src" 20300101T000000Z-0000c1 &&
	clone "$ADIR" "$TRASH/s3src" 20300101T000000Z-0000c2 "os.remove(os.path.join(d, [f for f in j[\"files\"] if f[\"role\"] == \"filestore\"][0][\"name\"]))" &&
	s3cli s3 cp --recursive --quiet "$TRASH/s3src/prod/" "$S3_ROOT/prod/" &&
	test_exit_code 65 odbk-list --rescan --storage s3 --json >list.json 2>err &&
	test_grep "conflict: backup $A in storage .s3. \(prod/$A/backup-$A-manifest.json\) is already known from storage .disk.: not applied" err &&
	test_grep "skipping prod/20300101T000000Z-0000c2/.*in storage .s3.: file .*filestore.* is missing from storage" err &&
	test $(grep -c "warning:" err) = 2 &&
	odbk-list --json >list.json &&
	jq -e "[.[] | select(.id == \"$A\")][0] | .storage == \"disk\" and .verified == true" list.json &&
	jq -e "[.[] | select(.id == \"20300101T000000Z-0000c1\")][0] | .storage == \"s3\" and .verified == false" list.json &&
	jq -e "[.[] | select(.id == \"20300101T000000Z-0000c2\")] | length == 0" list.json
'

test_expect_success 'a clean storage rescans with exit 0; a second rescan changes nothing' '
	rm -rf "$STORE/prod/20300101T000000Z-0000b"* "$STORE/prod/notanid" "$STORE/staging" "$STORE/prod2" &&
	odbk-list --rescan --storage disk --json >again.json 2>err &&
	test_grep ! "warning" err &&
	jq -e "[.[] | select(.id == \"$A\")][0] | .verified == true" again.json
'

test_done
