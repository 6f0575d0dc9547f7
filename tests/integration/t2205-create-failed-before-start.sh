#!/usr/bin/env bash
# A backup that fails before it starts (PostgreSQL down, database missing, filestore missing, storage
# unreachable) is recorded as a failed backup with its error, so that odbk-list --status failed shows
# it, and env states and compliance show it as the env's last failure; nothing is stored.  (Bad command lines and unknown envs are not backups: no row, t2002.)
. "$(dirname "$0")/test-lib.sh"
test_description 'a backup that fails before it starts still has its failed row'
require_service pg sftp
require_program odbk-create odbk-list

test_expect_success 'setup' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	odbk_conf_storage sftp &&
	sed -i "/^type = sftp$/a connect-timeout = 3s" "$ODBK_CONF" &&
	sed -i "/^\[storage sftp\]$/,/^$/s/^port = .*/port = 1/" "$ODBK_CONF" &&
	odbk_conf_env deadsftp "$FIXTURE_DB" "$FIXTURE_FS" sftp &&
	odbk_conf_env nodb "$(test_db nope)" "$FIXTURE_FS" disk &&
	odbk_conf_env nofs "$FIXTURE_DB" "$TRASH/no-such-dir" disk
'

# newest_failed ENV: the error of ENV's newest failed row (and it is the env's only row)
newest_failed() {
	odbk-list "$1" --status failed --json >f.json &&
	test "$(odbk-list "$1" --json | jq length)" = 1 &&
	jq -r ".[0].error" f.json
}

test_expect_success 'PostgreSQL down: exit 69, a failed row with the connection error, no file' '
	sed "s/port=$PGPORT/port=1/" "$ODBK_CONF" >down.conf && chmod 600 down.conf &&
	test_exit_code 69 odbk-create --config down.conf prod 2>err &&
	newest_failed prod >error && test_grep "cannot connect to PostgreSQL" error &&
	odbk-list --status failed --json | jq -e ".[0].env == \"prod\" and .[0].type == \"manual\" and .[0].finished_at != null" &&
	test -z "$(find "$TRASH/storage" -type f)"
'

test_expect_success 'a database that does not exist: exit 66, failed row naming it' '
	test_exit_code 66 odbk-create nodb 2>err &&
	newest_failed nodb >error && test_grep "does not exist" error && test_grep "$(test_db nope)" error
'

test_expect_success 'a missing filestore: exit 66, failed row naming the directory' '
	test_exit_code 66 odbk-create nofs 2>err &&
	newest_failed nofs >error && test_grep "no-such-dir" error
'

test_expect_success 'SFTP storage unreachable: failed row with the connection error' '
	test_must_fail odbk-create deadsftp 2>err &&
	newest_failed deadsftp >error && test -s error && test "$(cat error)" != null
'

test_expect_success 'odbk-list --status failed lists the four, each with its error; no completed row' '
	test "$(odbk-list --status failed --json | jq "[.[] | select(.error != null)] | length")" = 4 &&
	test "$(odbk-list --status completed --json | jq length)" = 0
'

test_expect_success 'env states and compliance show each env'"'"'s last failure and its error' '
	odbk-list --envs --json >envs.json &&
	jq -e "[.[] | select(.env == \"nodb\")][0] | .state == \"danger\" and
		(.last_failure.error | test(\"does not exist\"))" envs.json &&
	jq -e "[.[] | select(.env == \"prod\")][0].last_failure.error | test(\"cannot connect to PostgreSQL\")" envs.json &&
	{ odbk-compliance --json >compliance.json; true; } &&
	jq -e "[.. | objects | select(.env? == \"nofs\")][0].last_failure.error | test(\"no-such-dir\")" compliance.json
'

test_expect_success 'the env still backs up once its problem is gone; then it has no last failure' '
	odbk-create prod >id && test "$(odbk-list prod --status completed --json | jq -r ".[0].id")" = "$(cat id)" &&
	odbk-list --envs --json | jq -e "[.[] | select(.env == \"prod\")][0].last_failure == null"
'

test_done
