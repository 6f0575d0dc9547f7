#!/usr/bin/env bash
# Objects a failed run could not remove (the store refused: here a read-only mount) are recorded in the
# catalog, and every later run of a writing program (odbk-create, -restore, -prune, odbk-list --rescan)
# retries the removal until they are gone, whatever the retention guards say.
. "$(dirname "$0")/test-lib.sh"
test_description 'removals that failed are retried by later runs until done'
require_service pg
require_program odbk-create odbk-list

if [ "$(id -u)" != 0 ]; then
	skip_all "needs root to mount a tmpfs that can be made read-only"
fi

# the mount goes before test-lib removes the scratch dir
trap 'umount "$TRASH/storage/disk" 2>/dev/null; test_lib_exit' EXIT

removals() { sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM removals"; }

test_expect_success 'setup: storage disk on its own tmpfs, a second storage, a stalling pg_dump' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	odbk_conf_storage disk other &&
	mount -t tmpfs -o size=64m tmpfs "$TRASH/storage/disk" &&
	slow_pg_dump
'

test_expect_success 'a run killed mid-way, its storage read-only at reaping: row failed, removal recorded' '
	{ ODBK_PG_BINDIR=$TRASH/slowbin odbk-create prod >/dev/null 2>&1 & pid=$!; } &&
	for i in $(seq 100); do
		test -n "$(find "$TRASH/storage/disk" -name "*.odbk-tmp-*" 2>/dev/null)" && break; sleep 0.1
	done &&
	sleep 0.5 && kill -9 $pid && { wait $pid 2>/dev/null; true; } &&
	{ kill "$(cat dump.pid)"; true; } &&
	dead=$(odbk-list --status in_progress --json | jq -r ".[0].id") && test -n "$dead" && echo "$dead" >dead &&
	mount -o remount,ro "$TRASH/storage/disk" &&
	odbk-create --storage other prod >id &&
	odbk-list --json | jq ".[] | select(.id == \"$dead\")" | jq -e ".status == \"failed\"" &&
	test -n "$(find "$TRASH/storage/disk/prod/$dead" -type f)" &&
	test "$(removals)" = 1 &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT prefix FROM removals")" = "prod/$dead/"
'

test_expect_success 'while the store still refuses, a later run keeps the record (one more attempt)' '
	odbk-list --rescan >/dev/null &&
	test "$(removals)" = 1 &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT attempts FROM removals")" -ge 2
'

test_expect_success 'once the store accepts again, odbk-list --rescan removes them and forgets the record' '
	mount -o remount,rw "$TRASH/storage/disk" &&
	odbk-list --rescan >/dev/null &&
	test ! -e "$TRASH/storage/disk/prod/$(cat dead)" &&
	test -z "$(find "$TRASH/storage/disk" -type f)" &&
	test "$(removals)" = 0 &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"remove\" and .result == \"ok\")] | length == 1"
'

test_done
