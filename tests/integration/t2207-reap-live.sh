#!/usr/bin/env bash
# A run of this host whose process is alive is never reaped, however old its heartbeat (a suspended
# laptop, a paused VM: the timer fires at resume before the run's heartbeat ticks); a dead one is.
. "$(dirname "$0")/test-lib.sh"
test_description 'a live run with an old heartbeat is left alone; a dead one is reaped'
require_service pg
require_program odbk-create odbk-list

make_fixture src --db-mb 1 --fs-mb 1 --files 4
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
odbk_conf_env other "$FIXTURE_DB" "$FIXTURE_FS" disk
slow_pg_dump

test_expect_success 'heartbeat 31 minutes old, process alive: another run leaves it and its files alone' '
	{ ODBK_PG_BINDIR=$TRASH/slowbin odbk-create prod --no-verify >/dev/null 2>err & pid=$!; } &&
	test_when_finished "kill -9 $pid 2>/dev/null; kill \$(cat $TRASH/dump.pid) 2>/dev/null; wait $pid; true" &&
	for i in $(seq 100); do
		test -n "$(find "$TRASH/storage/disk" -name "*.odbk-tmp-*" 2>/dev/null)" && break; sleep 0.1
	done &&
	live=$(odbk-list --status in_progress --json | jq -r ".[0].id") && test "$live" != null &&
	sqlite3 "$ODBK_CATALOG" "UPDATE backups SET heartbeat_at = $(( $(date +%s) - 1900 )) WHERE id = '\''$live'\''" &&
	odbk-create other --no-filestore --quiet >/dev/null &&
	kill -0 $pid &&
	test "$(odbk-list --json | jq -r ".[] | select(.id == \"$live\") | .status")" = in_progress &&
	test -n "$(find "$TRASH/storage/disk/prod" -name "*.odbk-tmp-*")"
'

test_expect_success 'the same row once its process is killed outright: reaped, failed, its files removed' '
	live=$(odbk-list --status in_progress --json | jq -r ".[0].id") && test "$live" != null &&
	for i in $(seq 50); do kill -0 "$(odbk-list --status in_progress --json | jq -r ".[0].pid // 0")" 2>/dev/null || break; sleep 0.1; done &&
	odbk-create other --no-filestore --quiet >/dev/null &&
	test "$(odbk-list --json | jq -r ".[] | select(.id == \"$live\") | .status")" = failed &&
	test -z "$(find "$TRASH/storage/disk/prod" -type f)"
'
test_done
