#!/usr/bin/env bash
# The programs that only report (odbk-list without --rescan/--verify, odbk-compliance, odbk-policy plan and
# due, odbk-download, odbk-prune --dry-run) change nothing: a killed restore's temporaries, its set-aside
# original and its journal row stay as they are, and a recorded removal keeps its objects; each prints one
# warning naming what awaits (and --json documents carry it as "pending").  odbk-compliance counts a killed
# restore as WARNING.  The writing programs (odbk-create, odbk-restore, odbk-prune) finish it.
. "$(dirname "$0")/test-lib.sh"
test_description 'reporting programs do no recovery and warn; the writing ones recover'
require_service pg
require_program odbk-create odbk-restore odbk-list odbk-compliance odbk-policy odbk-download odbk-prune jq sqlite3

make_fixture src --db-mb 1 --fs-mb 1 --files 10
DB=$FIXTURE_DB FS=$FIXTURE_FS
odbk_conf prod "$DB" "$FS"
HOST=$(hostname)

# everything a killed swap left, as a string: the row (step, claim), the databases and the directories
state() {
	sqlite3 "$ODBK_CATALOG" "SELECT step, coalesce(claim_pid, 0), tmp_db, coalesce(old_db, ''),
		coalesce(tmp_dir, ''), coalesce(old_dir, '') FROM restore_temps WHERE host = '$HOST'" &&
	sql postgres "select datname from pg_database where datname like '${TEST_DB_PREFIX}src%' order by 1" &&
	ls -d "$FS"* &&
	sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM audit WHERE action = 'restore-recover'"
}
MSG="a killed restore of prod awaits recovery: the next odbk-create, odbk-restore or odbk-prune finishes it"

test_expect_success 'setup: a backup, then the target changes' '
	fingerprint "$DB" "$FS" >"$TRASH/new.fp" &&
	ID=$(odbk-create prod --quiet) && echo "$ID" >"$TRASH/id" &&
	sql "$DB" "update res_partner set name = '\''current'\'' where id = 5" &&
	fingerprint "$DB" "$FS" >"$TRASH/old.fp"
'
ID=$(cat "$TRASH/id" 2>/dev/null)

test_expect_success 'a restore killed with its database set aside: temporaries, original and row recorded' '
	test_exit_code 137 env ODBK_FAILPOINT=swap-db-aside odbk-restore "$ID" --no-safety-backup \
		--confirm RESTORE 2>/dev/null &&
	state >"$TRASH/killed.state" && cat "$TRASH/killed.state" &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT step FROM restore_temps")" = 1 &&
	tmp=$(sqlite3 "$ODBK_CATALOG" "SELECT tmp_db FROM restore_temps") &&
	old=$(sqlite3 "$ODBK_CATALOG" "SELECT old_db FROM restore_temps") &&
	test -n "$(sql postgres "select 1 from pg_database where datname = '\''$tmp'\''")" &&
	test -n "$(sql postgres "select 1 from pg_database where datname = '\''$old'\''")" &&
	test -z "$(sql postgres "select 1 from pg_database where datname = '\''$DB'\''")" &&
	test -d "$(sqlite3 "$ODBK_CATALOG" "SELECT tmp_dir FROM restore_temps")"
'

test_expect_success 'odbk-list, --json, --envs, --audit: no recovery, one warning each' '
	odbk-list >out 2>err && test_grep "^odbk-list: warning: $MSG\$" err && test_line_count = 1 err &&
	odbk-list --json >out 2>err && jq -e "length == 1" out && test_grep "awaits recovery" err &&
	odbk-list --envs >out 2>err && test_grep "awaits recovery" err &&
	odbk-list --audit >out 2>err && test_grep "awaits recovery" err &&
	state >now.state && test_cmp "$TRASH/killed.state" now.state
'

test_expect_success 'odbk-compliance: no recovery; a killed restore is WARNING (exit 1), in every form' '
	test_exit_code 1 odbk-compliance >out 2>err && test_grep "WARNING" out && test_grep "awaits recovery" err &&
	test_exit_code 1 odbk-compliance --nagios >out 2>err && test_line_count = 1 out &&
	test_grep "^ODBK COMPLIANCE WARNING - 100%.*; $MSG |" out &&
	test_exit_code 1 odbk-compliance --json >out 2>err &&
	jq -e ".status == \"warning\" and .pending.restores == 1 and .pending.removals == 0 and
		(.pending.message | test(\"killed restore of prod\"))" out &&
	state >now.state && test_cmp "$TRASH/killed.state" now.state
'

test_expect_success 'odbk-policy plan/due, odbk-download, odbk-prune --dry-run: no recovery, a warning' '
	odbk-policy plan prod >out 2>err && test_grep "^odbk-policy: warning: $MSG\$" err &&
	odbk-policy due --json >out 2>err && test_grep "awaits recovery" err &&
	odbk-download "$ID" --output "$TRASH/dl" --json >out 2>err &&
	test_grep "^odbk-download: warning: $MSG\$" err && jq -e ".pending.restores == 1" out &&
	odbk-download "$ID" --output "$TRASH/dl2" >out 2>err && test_grep "awaits recovery" err &&
	odbk-prune --dry-run prod >out 2>err && test_grep "^odbk-prune: warning: $MSG\$" err &&
	state >now.state && test_cmp "$TRASH/killed.state" now.state
'

test_expect_success 'odbk-restore recovers it first (swap completed), then restores; no warning after' '
	odbk-restore "$ID" --no-safety-backup --confirm RESTORE >out 2>err &&
	! grep "awaits recovery" err &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps")" = 0 &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM audit WHERE action = '\''restore-recover'\''
		AND result = '\''ok'\''")" = 1 &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/new.fp" now.fp &&
	test -z "$(sql postgres "select datname from pg_database where datname ~ '\''^${TEST_DB_PREFIX}src_odbk_'\''")" &&
	test -z "$(ls -d "$FS".odbk-* 2>/dev/null)" &&
	odbk-list >out 2>err && test_must_be_empty err &&
	odbk-compliance >out 2>err && test_must_be_empty err
'

test_expect_success 'odbk-create recovers a killed load first (temporaries dropped)' '
	sql "$DB" "update res_partner set name = '\''current'\'' where id = 5" &&
	fingerprint "$DB" "$FS" >"$TRASH/old.fp" &&
	test_exit_code 137 env ODBK_FAILPOINT=swap-before-journal odbk-restore "$ID" --no-safety-backup \
		--confirm RESTORE 2>/dev/null &&
	odbk-list >out 2>err && test_grep "awaits recovery" err &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps")" = 1 &&
	odbk-create prod --quiet >/dev/null 2>err && ! grep "awaits recovery" err &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps")" = 0 &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/old.fp" now.fp &&
	test -z "$(ls -d "$FS".odbk-* 2>/dev/null)"
'

test_expect_success 'a recorded removal: reported and kept by odbk-list and odbk-compliance, done by odbk-prune' '
	mkdir -p "$TRASH/storage/disk/prod/20200101T000000Z-dead00" &&
	echo partial >"$TRASH/storage/disk/prod/20200101T000000Z-dead00/part" &&
	sqlite3 "$ODBK_CATALOG" "INSERT INTO removals (storage, prefix, backup_id, added_at, attempts, error)
		VALUES ('\''disk'\'', '\''prod/20200101T000000Z-dead00/'\'', '\''20200101T000000Z-dead00'\'', 1, 1, '\''down'\'')" &&
	odbk-list >out 2>err &&
	test_grep "^odbk-list: warning: the objects of 1 failed backup await removal: the next odbk-create, odbk-restore or odbk-prune finishes it\$" err &&
	odbk_status=0 && odbk-compliance --json >out 2>err || odbk_status=$? &&
	test "$odbk_status" = 0 && jq -e ".status == \"ok\" and .pending.removals == 1" out &&
	test -f "$TRASH/storage/disk/prod/20200101T000000Z-dead00/part" &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT attempts FROM removals")" = 1 &&
	odbk-prune prod >out 2>err &&
	test ! -e "$TRASH/storage/disk/prod/20200101T000000Z-dead00" &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM removals")" = 0
'

test_done
