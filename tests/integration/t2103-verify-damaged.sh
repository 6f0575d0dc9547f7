#!/usr/bin/env bash
# Bit rot is found later: odbk-list --verify reads every stored file of the selected completed backups
# back (size and SHA-256), clears `verified` and exits 65 naming the file on a mismatch; a restore of a
# damaged backup says "checksum mismatch in FILE", not a psql or gzip error, and touches nothing.
# On local storage and on S3.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-list --verify and restoring a damaged backup'
require_service pg s3
require_program odbk-create odbk-list odbk-restore odbk-test-storage

# flip FILE OFFSET: invert one byte in place
flip() {
	python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"
}
verified() { odbk-list --json | jq -r ".[] | select(.id == \"$1\") | .verified"; }

test_expect_success 'setup: a backup on local storage and one on S3' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	odbk_conf_storage s3 && odbk_conf_env cloud "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
	odbk-create prod >id.local && odbk-create cloud >id.s3 &&
	test "$(verified "$(cat id.local)")" = true && test "$(verified "$(cat id.s3)")" = true
'
L=$(cat id.local 2>/dev/null) S=$(cat id.s3 2>/dev/null)
DBFILE=$TRASH/storage/disk/prod/$L/backup-$L-database.sql.gz

test_expect_success 'odbk-list --verify: all match, exit 0' '
	odbk-list --verify >out 2>err &&
	test_grep "backup $L verified" err && test_grep "backup $S verified" err &&
	grep -q "^$L " out
'

test_expect_success 'a flipped byte in local storage: exit 65 naming the file, verified cleared' '
	cp "$DBFILE" good.gz &&
	flip "$DBFILE" 2000 &&
	test_exit_code 65 odbk-list --verify prod 2>err &&
	test_grep "checksum mismatch in .prod/$L/backup-$L-database.sql.gz." err &&
	test "$(verified "$L")" = false &&
	test "$(verified "$S")" = true
'

test_expect_success 'restoring it says "checksum mismatch in FILE" and touches nothing' '
	new=$(test_db r1) &&
	test_exit_code 65 odbk-restore "$L" --db-owner "$TEST_OWNER" --new-db "$new" --filestore "$TRASH/r1" --confirm RESTORE 2>err &&
	test_grep "checksum mismatch in .prod/$L/backup-$L-database.sql.gz." err &&
	! grep -qi "syntax error\|gzip\|invalid" err &&
	test -z "$(sql postgres "select 1 from pg_database where datname = '\''$new'\''")" &&
	test ! -e "$TRASH/r1"
'

test_expect_success 'once repaired, --verify sets verified again' '
	cp good.gz "$DBFILE" &&
	odbk-list --verify prod 2>err &&
	test "$(verified "$L")" = true
'

test_expect_success 'a flipped byte in S3: exit 65 naming the object, verified cleared' '
	key=cloud/$S/backup-$S-filestore.tar.gz &&
	odbk-test-storage "$ODBK_CONF" s3 get "$key" >fs.tgz &&
	cp fs.tgz fs.good && flip fs.tgz 5000 &&
	odbk-test-storage "$ODBK_CONF" s3 put "$key" <fs.tgz &&
	test_exit_code 65 odbk-list --verify cloud 2>err &&
	test_grep "checksum mismatch in .cloud/$S/backup-$S-filestore.tar.gz." err &&
	test "$(verified "$S")" = false
'

test_expect_success 'restoring the S3 backup says so too, and touches nothing' '
	new=$(test_db r2) &&
	test_exit_code 65 odbk-restore "$S" --db-owner "$TEST_OWNER" --new-db "$new" --filestore "$TRASH/r2" --confirm RESTORE 2>err &&
	test_grep "checksum mismatch in .cloud/$S/backup-$S-filestore.tar.gz." err &&
	test -z "$(sql postgres "select 1 from pg_database where datname = '\''$new'\''")" &&
	test ! -e "$TRASH/r2"
'

test_expect_success 'every failure is reported and the first one sets the exit code' '
	flip "$DBFILE" 2000 &&
	test_exit_code 65 odbk-list --verify 2>err &&
	test_grep "backup-$L-database.sql.gz" err && test_grep "backup-$S-filestore.tar.gz" err
'

test_expect_success '--verify with another --status is a usage error' '
	test_exit_code 64 odbk-list --verify --status failed 2>err &&
	test_grep "completed" err
'

test_done
