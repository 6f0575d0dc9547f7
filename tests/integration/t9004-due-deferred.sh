#!/usr/bin/env bash
# t9004 - odbk-create --due while odbk-prune collects an env's packs (the env held, odbk_pause_point
# gc-locked): the env is deferred, not failed: exit 0, a "deferred" line (none with --quiet), no failure
# notified, no failed attempt recorded (no back-off, odbk-list --envs and odbk-compliance show no failed
# scheduled backup), and the next --due makes the backup the fire time still owes.  A backup asked for by
# name is still refused with 75.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create --due defers an env a collection of packs holds'
require_service pg
require_program odbk-create odbk-prune odbk-list odbk-compliance sqlite3 jq

export TZ=UTC TEST_FILESTORE_MODE=incremental

wait_ready() {
	for i in $(seq 300); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "# $1 never appeared" >&2
	return 1
}
# held_by_collection CMD...: run CMD while odbk-prune --collect holds prod (its exit status is CMD's)
held_by_collection() {
	local pid rc
	rm -f "$TRASH/ready"
	ODBK_FAILPOINT=gc-locked ODBK_FAILPOINT_READY=$TRASH/ready odbk-prune --collect prod >prune.out 2>prune.err &
	pid=$!
	wait_ready "$TRASH/ready" || return 1
	"$@"; rc=$?
	wait $pid || { echo "# the collection failed:" >&2; cat prune.err >&2; return 1; }
	return $rc
}
failed_attempts() { sqlite3 "$ODBK_CATALOG" "select count(*) from audit where action = 'schedule' and result = 'failed'"; }

test_expect_success 'setup: env prod @daily with a notify-command, one manual incremental backup (a pack)' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 5 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	printf "#!/bin/sh\necho \"\$ODBK_EVENT \$ODBK_ENV\" >>\"%s/hook.events\"\n" "$TRASH" >hook.sh && chmod +x hook.sh &&
	printf "\n[policy]\nschedule = @daily\nnotify-on = both\nnotify-command = %s\n" "$TRASH/hook.sh" >>"$ODBK_CONF" &&
	odbk-create --quiet prod >id0 &&
	test "$(jq -r .filestore_mode "$TRASH/storage/disk/prod/$(cat id0)"/*-manifest.json)" = incremental &&
	test -n "$(ls "$TRASH/storage/disk/prod/packs")" &&
	rm -f hook.events &&
	odbk-policy due >due && echo prod >expect && test_cmp expect due
'

test_expect_success '--due while a collection holds the env: deferred, exit 0, nothing failed' '
	held_by_collection odbk-create --due >ids 2>err &&
	test_must_be_empty ids &&
	test_grep "prod: deferred: environment .prod. is held by odbk-prune collecting its unreferenced packs" err &&
	test_grep "due again at the next run" err &&
	test_grep ! "error:" err &&
	test ! -e hook.events &&
	test "$(failed_attempts)" = 0 &&
	test "$(sqlite3 "$ODBK_CATALOG" "select count(*) from backups where status = '\''failed'\''")" = 0 &&
	odbk-list --envs --json >envs.json &&
	test "$(jq -r ".[] | select(.env == \"prod\") | \"\(.state) \(.last_failure)\"" envs.json)" = "normal null" &&
	odbk-compliance --json >c.json &&
	test "$(jq -r ".envs[] | select(.env == \"prod\") | \"\(.state) \(.last_failure)\"" c.json)" = "normal null" &&
	odbk-policy due >due && echo prod >expect && test_cmp expect due
'

test_expect_success '--due --quiet while held: silent, exit 0' '
	held_by_collection odbk-create --due --quiet >ids 2>err &&
	test_must_be_empty ids && test_must_be_empty err &&
	test "$(failed_attempts)" = 0
'

test_expect_success 'a backup asked for by name while held: still refused, 75' '
	held_by_collection test_exit_code 75 odbk-create prod >out 2>err &&
	test_grep "held by odbk-prune collecting its unreferenced packs" err
'

test_expect_success 'the next --due, the env free: the scheduled backup is made' '
	rm -f hook.events &&
	odbk-create --due >ids 2>err &&
	test "$(wc -l <ids)" = 1 &&
	test "$(odbk-list --json prod | jq -r ".[0].type")" = scheduled &&
	test_grep "^backup.completed prod$" hook.events &&
	test_grep ! "backup.failed" hook.events &&
	odbk-policy due >due && test_must_be_empty due
'

test_done
