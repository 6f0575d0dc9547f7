#!/usr/bin/env bash
# The foundation's round trip on local storage: create → list → restore into a new database; the restored
# database and filestore equal the source (row counts, column checksums, sums, every attachment's file
# present under its SHA-1).  Then a rollback of the env itself, with its safety backup.
. "$(dirname "$0")/test-lib.sh"
test_description 'create, list and restore on local storage'
require_service pg
require_program odbk-create odbk-list odbk-restore

test_expect_success 'a sample Odoo database and filestore' '
	make_fixture src --db-mb 2 --fs-mb 2 --files 60 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	printf "project = acme\n" >>"$ODBK_CONF" &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS

test_expect_success 'odbk-create prints the id and nothing else' '
	odbk-create prod --comment "first one" >out 2>err &&
	test_line_count = 1 out &&
	grep -Eq "^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$" out &&
	test_must_be_empty err
'
ID=$(cat out 2>/dev/null)

test_expect_success 'the backup folder holds the three files, the manifest checksums match' '
	dir=$TRASH/storage/disk/prod/$ID &&
	test -f "$dir/backup-$ID-database.sql.gz" &&
	test -f "$dir/backup-$ID-filestore.tar.gz" &&
	test -f "$dir/backup-$ID-manifest.json" &&
	for role in database filestore; do
		name=$(jq -r ".files[] | select(.role == \"$role\") | .name" "$dir/backup-$ID-manifest.json") &&
		sum=$(jq -r ".files[] | select(.role == \"$role\") | .sha256" "$dir/backup-$ID-manifest.json") &&
		test "$(sha256sum <"$dir/$name" | cut -d" " -f1)" = "$sum" || return 1
	done &&
	zcat "$dir/backup-$ID-database.sql.gz" | grep -q "CREATE TABLE public.ir_attachment" &&
	test "$(jq -r .modules.base "$dir/backup-$ID-manifest.json")" = 17.0.1.3 &&
	test "$(jq -r .odoo_dump "$dir/backup-$ID-manifest.json")" = 1 &&
	! ls "$dir" | grep -q odbk-tmp
'

test_expect_success 'odbk-list shows it completed and verified' '
	odbk-list >list &&
	grep "^$ID " list >row &&
	grep -q " prod " row && grep -q " acme " row && grep -q " completed " row && grep -q " size " row &&
	grep -q "first one" row &&
	odbk-list --json >list.json &&
	test "$(jq -r ".[0].id" list.json)" = "$ID" &&
	test "$(jq -r ".[0].status" list.json)" = completed &&
	test "$(jq -r ".[0].verified" list.json)" = true &&
	test "$(jq -r ".[0].verified_by" list.json)" = size
'

test_expect_success 'odbk-list filters' '
	odbk-list --project acme --json | jq -e "length == 1" &&
	odbk-list --project other --json | jq -e "length == 0" &&
	odbk-list --search ACM --json | jq -e "length == 1" &&
	odbk-list --status failed --json | jq -e "length == 0" &&
	odbk-list --type manual prod --json | jq -e "length == 1"
'

RESTORED=$(test_db restored)
test_expect_success 'restore into a new database gives the same data and files' '
	odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$RESTORED" --filestore "$TRASH/restored-fs" --confirm RESTORE >env.block &&
	grep -q "^\[env $RESTORED\]" env.block &&
	fingerprint "$RESTORED" "$TRASH/restored-fs" >fp.restored &&
	test_cmp fp.src fp.restored &&
	grep -q "^filestore.bad=0$" fp.restored &&
	diff -r "$SRC_FS" "$TRASH/restored-fs"
'

test_expect_success 'restoring onto an existing database name is refused, nothing touched' '
	test_exit_code 64 odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$RESTORED" --filestore "$TRASH/other-fs" --confirm RESTORE &&
	fingerprint "$RESTORED" "$TRASH/restored-fs" >fp.again &&
	test_cmp fp.src fp.again && test ! -e "$TRASH/other-fs"
'

test_expect_success 'without a terminal, restore needs --confirm RESTORE' '
	test_exit_code 64 odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$(test_db other)" --filestore "$TRASH/o" </dev/null &&
	test_exit_code 64 odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$(test_db other)" --filestore "$TRASH/o" --confirm yes &&
	test -z "$(sql postgres "select 1 from pg_database where datname = '\''$(test_db other)'\''")"
'

test_expect_success 'rollback: changed rows come back, the pre-restore backup holds the change' '
	sql "$SRC_DB" "delete from account_move_line where id <= 100" &&
	echo stray >"$SRC_FS/stray-file" &&
	odbk-restore --latest prod --confirm RESTORE 2>err &&
	fingerprint "$SRC_DB" "$SRC_FS" >fp.rolled &&
	test_cmp fp.src fp.rolled &&
	test ! -e "$SRC_FS/stray-file" &&
	odbk-list --type pre-restore --json >pre.json &&
	test "$(jq length pre.json)" = 1 &&
	PRE=$(jq -r ".[0].id" pre.json) &&
	odbk-restore "$PRE" --db-owner "$TEST_OWNER" --new-db "$(test_db pre)" --filestore "$TRASH/pre-fs" --confirm RESTORE >/dev/null &&
	test "$(sql "$(test_db pre)" "select count(*) from account_move_line where id <= 100")" = 0 &&
	test -f "$TRASH/pre-fs/stray-file"
'

test_expect_success 'no temporary database or directory is left behind' '
	test -z "$(sql postgres "select datname from pg_database where starts_with(datname, '\''$TEST_DB_PREFIX'\'')
		and datname ~ '\''_odbk_(tmp|old)_'\''")" &&
	test -z "$(find "$TRASH" -maxdepth 3 -name "?*.odbk-*")"
'

test_expect_success 'the audit log has the creates and restores' '
	odbk-list --audit --json >audit.json &&
	jq -e "[.[] | select(.action == \"restore\" and .result == \"ok\")] | length == 3" audit.json &&
	jq -e "[.[] | select(.action == \"create\")] | length == 2" audit.json
'

test_expect_success 'the catalog can be rebuilt from storage' '
	rm -f "$ODBK_CATALOG" "$ODBK_CATALOG-wal" "$ODBK_CATALOG-shm" &&
	odbk-list --rescan --json >rescan.json 2>/dev/null &&
	test "$(jq length rescan.json)" = 2 &&
	jq -e "[.[] | select(.id == \"$ID\" and .status == \"completed\" and .comment == \"first one\")] | length == 1" rescan.json
'

test_expect_success 'zstd and database-only backups round-trip too' '
	Z=$(odbk-create prod --compress zstd --no-filestore) &&
	ls "$TRASH/storage/disk/prod/$Z" >files &&
	printf "%s\n" "backup-$Z-database.sql.zst" "backup-$Z-manifest.json" >expect &&
	test_cmp expect files &&
	odbk-restore "$Z" --db-owner "$TEST_OWNER" --new-db "$(test_db zstd)" --confirm RESTORE >/dev/null &&
	fingerprint "$(test_db zstd)" >fp.z && grep -v "^filestore" fp.src >fp.src.db &&
	test_cmp fp.src.db fp.z
'

test_expect_success '--progress json: one JSON object per line for each phase of create and restore' '
	P=$(odbk-create prod --progress json 2>create.progress) &&
	jq -s -e "map(.phase) | index(\"database\") != null and index(\"filestore\") != null" create.progress &&
	odbk-restore "$P" --db-owner "$TEST_OWNER" --new-db "$(test_db progress)" --filestore "$TRASH/progress-fs" --confirm RESTORE \
		--progress json >/dev/null 2>restore.progress &&
	grep "^{" restore.progress >restore.json &&
	jq -s -e "map(select(.phase == \"restore: database\")) | last | .bytes == .expected and .bytes > 0" restore.json &&
	jq -s -e "map(select(.phase == \"restore: filestore\")) | last | .bytes == .expected and .bytes > 0" restore.json &&
	odbk-create prod >/dev/null 2>quiet.err && test_must_be_empty quiet.err
'

test_done
