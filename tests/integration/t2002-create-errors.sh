#!/usr/bin/env bash
# Bad input gives a one-line error naming the thing, a sysexits code, and leaves nothing half-written:
# no completed row and no file in storage (a backup that could not start has its failed row: t2205).
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create refuses bad input cleanly'
require_service pg
require_program odbk-create odbk-list

test_expect_success 'setup' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
'

# no_trace: the catalog has no completed backup and the storage has no file
no_trace() {
	test "$(odbk-list --status completed --json | jq length)" = 0 &&
	test -z "$(find "$TRASH/storage" -type f)"
}

test_expect_success 'an unknown env: exit 78, names it and suggests the right one' '
	test_exit_code 78 odbk-create prdo 2>err &&
	test_line_count -le 2 err &&
	test_grep "unknown environment .prdo. \(did you mean .prod.\?\)" err &&
	no_trace
'

test_expect_success 'a missing config file: exit 78' '
	test_exit_code 78 odbk-create --config "$TRASH/nope.conf" prod 2>err &&
	test_grep "nope.conf" err && no_trace
'

test_expect_success 'a config others can read is refused' '
	cp "$ODBK_CONF" open.conf && chmod 644 open.conf &&
	test_exit_code 78 odbk-create --config open.conf prod 2>err &&
	test_grep "can be read by others" err && test_grep "chmod 600" err && no_trace
'

test_expect_success 'a config error names file and line' '
	cp "$ODBK_CONF" bad.conf && chmod 600 bad.conf && printf "[env x]\nstorag = disk\n" >>bad.conf &&
	test_exit_code 78 odbk-create --config bad.conf x 2>err &&
	test_grep "bad.conf:[0-9]+: \[env x\] unknown key .storag. \(did you mean .storage.\?\)" err
'

test_expect_success 'an unreachable PostgreSQL: exit 69, no completed row, no file' '
	sed "s/port=$PGPORT/port=1/" "$ODBK_CONF" >down.conf && chmod 600 down.conf &&
	test_exit_code 69 odbk-create --config down.conf prod 2>err &&
	test_line_count -le 2 err && test_grep "cannot connect to PostgreSQL" err &&
	no_trace
'

test_expect_success 'a missing filestore directory: exit 66, names it and --no-filestore' '
	sed "s|^filestore = .*|filestore = $TRASH/no-such-dir|" "$ODBK_CONF" >nofs.conf && chmod 600 nofs.conf &&
	test_exit_code 66 odbk-create --config nofs.conf prod 2>err &&
	test_grep "no-such-dir" err && test_grep "pass --no-filestore" err &&
	no_trace
'

test_expect_success 'a storage directory that cannot be written: exit 77, row failed, no file' '
	ro=$TRASH/ro-store && mkdir -p "$ro" &&
	if [ "$(id -u)" = 0 ]; then
		mount -t tmpfs -o ro,size=1m tmpfs "$ro" || { echo "# cannot mount a read-only tmpfs" >&2; exit 1; }
		test_when_finished "umount \"$ro\""
	else
		chmod 0555 "$ro"
	fi &&
	sed "s|^path = $TRASH/storage/disk|path = $ro|" "$ODBK_CONF" >ro.conf && chmod 600 ro.conf &&
	before=$(odbk-list --status failed --json | jq length) &&
	test_exit_code 77 odbk-create --config ro.conf prod 2>err &&
	test_line_count -le 2 err && test_grep "storage .disk." err &&
	test "$(odbk-list --status failed --json | jq length)" = $((before + 1)) &&
	odbk-list --status failed --json | jq -e "map(select(.error // \"\" | test(\"storage .disk.\"))) | length == 1" &&
	no_trace && test -z "$(find "$ro" -type f)"
'

test_expect_success 'a database that does not exist: exit 66' '
	sed "s|^database = .*|database = $(test_db nope)|" "$ODBK_CONF" >nodb.conf && chmod 600 nodb.conf &&
	test_exit_code 66 odbk-create --config nodb.conf prod 2>err && test_grep "does not exist" err && no_trace
'

test_expect_success 'usage errors: exit 64' '
	test_exit_code 64 odbk-create 2>err && test_grep "name the environments" err &&
	test_exit_code 64 odbk-create --bogus prod 2>err && test_grep "unknown option" err &&
	test_exit_code 64 odbk-create --type weekly prod 2>err && test_grep "unknown type" err &&
	test_exit_code 64 odbk-create --level 0 prod 2>err &&
	test_exit_code 64 odbk-create --compress lz4 prod 2>err &&
	test_exit_code 64 odbk-create --all prod 2>err &&
	no_trace
'

test_expect_success 'a pg_dump that dies mid-way: row failed, storage empty' '
	fake_pg_dump_dying "$TRASH/fakebin" &&
	ODBK_PG_BINDIR=$TRASH/fakebin test_exit_code 1 odbk-create prod 2>err &&
	test_grep "simulated failure" err &&
	test "$(odbk-list --status failed --json | jq length)" -ge 2 &&
	no_trace
'

test_done
