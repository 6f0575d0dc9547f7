#!/usr/bin/env bash
# odbk-restore --json: one final object (env, id, source, database, filestore, safety_backup_id, env_block,
# status, error), and the [env] block of a new database names its server in `pg =` even when libpq's
# defaults found it (the block works: appended to the config, it backs the new database up).
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-restore --json, the [env] block with pg'
require_service pg
require_program jq

test_expect_success 'setup: env prod without a pg key (libpq finds the server from PG*), one backup' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 5 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	sed -i "/^pg = /d" "$ODBK_CONF" && ! grep -q "^pg" "$ODBK_CONF" &&
	odbk-create prod >id && fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'

NEW=$(test_db new)
test_expect_success '--new-db --json: the object, and nothing else on stdout' '
	odbk-restore "$(cat id)" --db-owner "$TEST_OWNER" --new-db "$NEW" --filestore "$TRASH/new-fs" --confirm RESTORE --json >out.json &&
	jq -e --arg id "$(cat id)" --arg db "$NEW" --arg fs "$TRASH/new-fs" \
		".env == null and .id == \$id and .source == \$id and .database == \$db and .filestore == \$fs and
		 .safety_backup_id == null and .status == \"completed\" and .error == null" out.json &&
	jq -r .env_block out.json >block &&
	test_grep "^\[env $NEW\]$" block &&
	test_grep "^pg = host=$PGHOST port=$PGPORT user=$PGUSER$" block &&
	test_grep "^storage = disk$" block &&
	fingerprint "$NEW" "$TRASH/new-fs" >fp.new && test_cmp fp.src fp.new
'

test_expect_success 'the block, added to the config as printed, backs the new database up' '
	cat block >>"$ODBK_CONF" &&
	env -u PGHOST -u PGPORT -u PGUSER odbk-create "$NEW" >id.new &&
	odbk-list --backup "$(cat id.new)" --json | jq -e ".status == \"completed\" and .database == \"$NEW\""
'

test_expect_success 'without --json the same block is printed as text, pg included' '
	odbk-restore "$(cat id)" --db-owner "$TEST_OWNER" --new-db "$(test_db text)" --filestore "$TRASH/text-fs" --confirm RESTORE >out &&
	test_grep "^# add to odbk.conf" out &&
	test_grep "^pg = host=$PGHOST port=$PGPORT user=$PGUSER$" out
'

test_expect_success 'a rollback --json names the env and the safety backup it made' '
	sql "$FIXTURE_DB" "delete from account_move_line where id <= 10" &&
	odbk-restore --latest prod --type manual --confirm RESTORE --json >roll.json &&
	jq -e ".env == \"prod\" and .status == \"completed\" and .env_block == null and .database == \"$FIXTURE_DB\"" \
		roll.json &&
	safety=$(jq -r .safety_backup_id roll.json) &&
	odbk-list --backup "$safety" --json | jq -e ".type == \"pre-restore\" and .status == \"completed\"" &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.rolled && test_cmp fp.src fp.rolled
'

test_expect_success 'a restore that fails: the object says failed with the error, the exit code is the error'"'"'s' '
	test_exit_code 64 odbk-restore "$(cat id)" --db-owner "$TEST_OWNER" --new-db "$NEW" --filestore "$TRASH/again-fs" --confirm RESTORE \
		--json >fail.json 2>err &&
	jq -e ".status == \"failed\" and (.error | test(\"$NEW\")) and .database == null" fail.json &&
	test_grep "^odbk-restore: error: " err &&
	test ! -e "$TRASH/again-fs"
'

test_done
