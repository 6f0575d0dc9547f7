#!/usr/bin/env bash
# odbk-list: one backup in full (--backup ID, --json), the error of failed backups in the table, --limit and
# --no-header, and an unknown env or project named as an error with a did-you-mean, not an empty table.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-list --backup, errors, unknown names'
require_service pg
require_program jq

test_expect_success 'setup: env prod with two backups, env broken with a failed one' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 3 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	sed -i "0,/^\[env prod\]/s//[env prod]\nproject = acme/" "$ODBK_CONF" &&
	odbk_conf_env broken "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	odbk-create prod --comment first >id1 && sleep 1.1 &&
	odbk-create prod >id2 &&
	fake_pg_dump_dying "$TRASH/fakebin" &&
	ODBK_PG_BINDIR=$TRASH/fakebin test_exit_code 1 odbk-create broken 2>err
'

test_expect_success '--backup ID: every field and the files with size and sha256' '
	odbk-list --backup "$(cat id1)" >out &&
	test_grep "^id  *$(cat id1)$" out &&
	test_grep "^status  *completed$" out &&
	test_grep "^comment  *first$" out &&
	test_grep "^error  *-$" out &&
	test_grep "^  database .* sha256:[0-9a-f]{64}  backup-$(cat id1)-database.sql.gz$" out &&
	test_grep "^  filestore .* sha256:[0-9a-f]{64}  backup-$(cat id1)-filestore.tar.gz$" out
'

test_expect_success '--backup ID --json: the row, the manifest and the error' '
	odbk-list --backup "$(cat id1)" --json >out.json &&
	jq -e ".id == \"$(cat id1)\" and .status == \"completed\" and .error == null and
		(.manifest.files | length) >= 2 and .manifest.env == \"prod\"" out.json
'

test_expect_success 'a failed backup: its error in the table and in --backup' '
	odbk-list broken >out &&
	test_grep "failed .*error: .*simulated failure" out &&
	id=$(odbk-list --json broken | jq -r ".[0].id") &&
	odbk-list --backup "$id" >out &&
	test_grep "^error  *.*simulated failure" out
' 

test_expect_success '--backup of an unknown id: exit 66 naming it' '
	test_exit_code 66 odbk-list --backup 20990101T000000Z-000000 2>err &&
	test_grep "20990101T000000Z-000000" err
'

test_expect_success '--limit and --no-header' '
	odbk-list --limit 1 --no-header prod >out &&
	test "$(wc -l <out)" = 1 && test_grep "^$(cat id2) " out
'

test_expect_success 'an unknown env: exit 78 with a did-you-mean, not an empty table' '
	test_exit_code 78 odbk-list prdo >out 2>err &&
	test_must_be_empty out &&
	test_grep "unknown environment .prdo. .did you mean .prod..." err
'

test_expect_success 'an unknown project: exit 78 with a did-you-mean' '
	test_exit_code 78 odbk-list --project acem 2>err &&
	test_grep "unknown project .acem. .did you mean .acme..." err &&
	odbk-list --project acme --json >out.json &&
	jq -e "length == 2" out.json
'

test_expect_success 'an env no longer in the configuration still lists its backups' '
	sed -i "s/^\[env broken\]/[env renamed]/" "$ODBK_CONF" &&
	odbk-list --json broken >out.json &&
	jq -e "length == 1" out.json
'

# the backup id of the newest restore in the audit log
last_restored() { odbk-list --audit --json | jq -r "[.[] | select(.action == \"restore\")] | .[0].backup_id"; }   # newest first, ties too

test_expect_success 'odbk-restore --latest of an unknown env: exit 78 with a did-you-mean' '
	test_exit_code 78 odbk-restore --latest prdo --confirm RESTORE 2>err &&
	test_grep "unknown environment .prdo. .did you mean .prod..." err
'

test_expect_success 'after a rollback, --latest picks the safety backup; --type manual the newest manual one' '
	sed -i "s/^\[env renamed\]/[env broken]/" "$ODBK_CONF" &&
	odbk-restore "$(cat id1)" --confirm RESTORE >/dev/null 2>err &&
	safety=$(odbk-list --type pre-restore --json prod | jq -r ".[0].id") &&
	test -n "$safety" && test "$safety" != null &&
	odbk-restore --latest prod --type manual --confirm RESTORE >/dev/null 2>err &&
	test "$(last_restored)" = "$(cat id2)" &&
	odbk-restore --latest prod --confirm RESTORE >/dev/null 2>err &&
	test "$(odbk-list --audit --json | jq -r "[.[] | select(.action == \"restore\")] | length")" = 3 &&
	test_exit_code 64 odbk-restore --type manual "$(cat id1)" 2>err &&
	test_exit_code 66 odbk-restore --latest prod --type pre-destroy 2>err &&
	test_grep "no completed pre-destroy backup" err
'

test_done
