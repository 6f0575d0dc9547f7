#!/usr/bin/env bash
# A stop signal ends odbk-restore cleanly within seconds, even while psql is busy and not reading: psql
# (its process group) is stopped, the temporary database and directory are removed, the target is as it
# was, the audit log says "interrupted by SIGTERM", and the exit status is 128 + the signal.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-restore stops cleanly on SIGTERM and SIGINT'
require_service pg
require_program odbk-create odbk-restore odbk-list

# a background job starts with SIGINT ignored (and a signal ignored on entry stays ignored): give it
# the default disposition, as a program run in the foreground of a terminal has
NO_IGNORE="--default-signal=INT"

test_expect_success 'setup: a backup; a psql that sits 60 s before it reads' '
	make_fixture src --db-mb 2 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	odbk-create prod >id &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src &&
	mkdir -p slowbin &&
	cat >slowbin/psql <<-SCRIPT &&
	#!/bin/sh
	if [ "\$1" = --version ]; then exec "$(command -v psql)" --version; fi
	echo \$\$ >"$TRASH/psql.pid"
	sleep 60
	exec "$(command -v psql)" "\$@"
	SCRIPT
	chmod +x slowbin/psql
'

# this script's databases (its targets' temporaries start with their names): others' tests run beside it
databases() { sql postgres "SELECT datname FROM pg_database WHERE starts_with(datname, '$TEST_DB_PREFIX') ORDER BY 1"; }

# restore_stopped SIG CODE ARGS...: start odbk-restore ARGS with the slow psql, send SIG once psql runs;
# it must exit CODE within 10 s
restore_stopped() {
	local sig=$1 code=$2 t0 t1 rc pid; shift 2
	rm -f psql.pid &&
	{ ODBK_PG_BINDIR=$TRASH/slowbin env $NO_IGNORE odbk-restore --no-safety-backup --confirm RESTORE "$@" 2>err & pid=$!; } &&
	for i in $(seq 100); do test -s psql.pid && break; sleep 0.1; done &&
	test -s psql.pid && sleep 1 &&
	t0=$(date +%s) && kill -"$sig" $pid &&
	for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done &&
	t1=$(date +%s)
	wait $pid; rc=$?
	echo "# exit $rc after $((t1 - t0)) s" >&2
	test "$rc" = "$code" && test $((t1 - t0)) -le 10 &&
	! kill -0 "$(cat psql.pid)" 2>/dev/null
}

test_expect_success 'SIGTERM during a restore into a new database: exit 143, nothing left' '
	databases >dbs.before &&
	new=$(test_db newcopy) &&
	restore_stopped TERM 143 --db-owner "$TEST_OWNER" --new-db "$new" --filestore "$TRASH/fs-new" "$(cat id)" &&
	test_grep "interrupted by SIGTERM" err &&
	databases >dbs.after && test_cmp dbs.before dbs.after &&
	test ! -e "$TRASH/fs-new" && test -z "$(ls -A "$TRASH" | grep "fs-new")" &&
	odbk-list --audit --json | jq -e ".[0].action == \"restore\" and .[0].result == \"failed\" and
		(.[0].detail | test(\"interrupted by SIGTERM\"))"
'

test_expect_success 'SIGINT during a rollback of the env: exit 130, the env unchanged' '
	databases >dbs.before &&
	restore_stopped INT 130 --to prod "$(cat id)" &&
	databases >dbs.after && test_cmp dbs.before dbs.after &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.after && test_cmp fp.src fp.after
'

test_done
