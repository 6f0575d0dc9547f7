#!/usr/bin/env bash
# odbk-create --due and odbk-policy due/next under faketime: a @daily schedule fires once per day however
# often cron calls, not before, once after missed days; disabled policies never fire (manual backups still
# work); a failed scheduled run is retried after a back-off, not in a tight loop.
. "$(dirname "$0")/test-lib.sh"
test_description 'schedules: odbk-create --due, odbk-policy due and next'
require_service pg
require_program faketime
require_program jq
export TZ=UTC

# test_line_count = N FILE
test_line_count() { test "$(wc -l <"$3")" "$1" "$2" || { echo "$3 has $(wc -l <"$3") lines, not $2:"; cat "$3"; return 1; }; }
# under ASan, libfaketime is preloaded before the ASan runtime: tell ASan that is fine
faketime() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" command faketime "$@"; }
at() { local t=$1; shift; faketime "$t" "$@"; }
# the number of scheduled backups of ENV with status STATUS (default completed)
n_sched() {
    odbk-list --type scheduled --status "${2:-completed}" --json "$1" | jq length
}

test_expect_success 'setup: a fixture, env prod @daily, env off disabled' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 5 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	odbk_conf_env off "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	printf "\n[policy]\nschedule = @daily\n\n[policy off]\nenabled = false\n" >>"$ODBK_CONF" &&
	odbk-policy next prod --count 1 --at 2026-03-01T10:00:00Z >out &&
	test_grep "^prod  *2026-03-02T00:00:00Z  2026-03-02T00:00:00Z UTC$" out
'

test_expect_success 'a never backed-up env is due at once; a disabled one never' '
	at "2026-03-01 10:00:00" odbk-policy due >due &&
	echo prod >expect && test_cmp expect due
'

test_expect_success 'first --due makes one scheduled backup' '
	at "2026-03-01 10:00:00" odbk-create --due >ids &&
	test_line_count = 1 ids &&
	test "$(n_sched prod)" = 1 &&
	test "$(n_sched off)" = 0 &&
	odbk-list --backup "$(cat ids)" --json >/dev/null &&
	test "$(odbk-list --json prod | jq -r ".[0].type")" = scheduled
'

test_expect_success 'called again the same day: nothing, even at 23:59' '
	at "2026-03-01 10:05:00" odbk-create --due --quiet >ids &&
	at "2026-03-01 23:59:30" odbk-create --due --quiet >>ids &&
	test_line_count = 0 ids &&
	at "2026-03-01 23:59:30" odbk-policy due >due && test_line_count = 0 due &&
	test "$(n_sched prod)" = 1
'

test_expect_success 'after midnight: once, however often called' '
	at "2026-03-02 00:00:30" odbk-create --due >ids &&
	at "2026-03-02 00:05:00" odbk-create --due >>ids &&
	at "2026-03-02 12:00:00" odbk-create --due >>ids &&
	test_line_count = 1 ids &&
	test "$(n_sched prod)" = 2
'

test_expect_success 'two missed days coalesce into one run' '
	at "2026-03-05 09:00:00" odbk-policy due --json >due.json &&
	test "$(jq -r ".[] | select(.env == \"prod\") | .reason" due.json)" = fired &&
	test "$(jq -r ".[] | select(.env == \"off\") | .reason" due.json)" = disabled &&
	at "2026-03-05 09:00:00" odbk-create --due >ids &&
	at "2026-03-05 09:10:00" odbk-create --due >>ids &&
	test_line_count = 1 ids &&
	test "$(n_sched prod)" = 3
'

test_expect_success 'a disabled env: never due, manual backups still allowed' '
	at "2026-03-05 09:20:00" odbk-create off --quiet >ids &&
	test_line_count = 1 ids &&
	test "$(odbk-list --json off | jq -r ".[0].type + \" \" + .[0].status")" = "manual completed" &&
	odbk-policy next off 2>err >out &&
	test_line_count = 0 out && test_grep "disabled" err
'

test_expect_success '--due refuses names and --all' '
	test_exit_code 64 odbk-create --due prod 2>err &&
	test_exit_code 64 odbk-create --due --all 2>err
'

test_expect_success 'a failing env: recorded, retried after the back-off, not in a tight loop' '
	odbk_conf_env broken "$(test_db nosuchdb)" "$FIXTURE_FS" disk &&
	test_must_fail at "2026-03-05 10:00:00" odbk-create --due --quiet >ids 2>err &&
	test_line_count = 0 ids &&
	test_grep "broken" err &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"schedule\" and .env == \"broken\")] | length == 1" &&
	at "2026-03-05 10:03:00" odbk-create --due --quiet >ids 2>err &&
	test_line_count = 0 ids &&
	at "2026-03-05 10:03:00" odbk-policy due --json >due.json &&
	test "$(jq -r ".[] | select(.env == \"broken\") | .reason" due.json)" = "backing off" &&
	test_must_fail at "2026-03-05 10:05:30" odbk-create --due --quiet 2>err &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"schedule\" and .env == \"broken\")] | length == 2" &&
	at "2026-03-05 10:12:00" odbk-policy due >due && test_line_count = 0 due &&
	at "2026-03-05 10:16:00" odbk-policy due >due && echo broken >expect && test_cmp expect due
'

test_expect_success 'prod was not disturbed by the failing env' '
	test "$(n_sched prod)" = 3
'

# the crontab line as odbk-schedules(7) prints it, run by sh as cron would
cron_line=$(sed -n "/^\.SH SYNOPSIS/,/^\.fi/s/^\*\/5 \* \* \* \* //p" "$ODBK_SRC/man/odbk-schedules.7" | sed "s/\\\\-/-/g")

test_expect_success 'the documented cron line: silent when nothing failed' '
	test -n "$cron_line" &&
	printf "\n[policy prod]\nkeep-last = 1\nkeep-within-daily =\nkeep-within-weekly =\nkeep-within-monthly =\nkeep-within-yearly =\n" >>"$ODBK_CONF" &&
	sed -i "/^\[env broken\]/,/^\[/s/^database = .*/database = $FIXTURE_DB/" "$ODBK_CONF" &&
	at "2026-03-06 09:00:00" sh -c "$cron_line" >out 2>err &&
	test_must_be_empty out && test_must_be_empty err &&
	test "$(odbk-list --status completed --json prod | jq length)" = 1
'

test_expect_success 'the documented cron line: one failing env says so on stderr (cron mails it), and pruning still happens' '
	sed -i "/^\[env broken\]/,/^\[/s/^database = .*/database = $(test_db nosuchdb)/" "$ODBK_CONF" &&
	at "2026-03-07 09:00:00" odbk-create prod --type scheduled >/dev/null &&
	test "$(odbk-list --status completed --json prod | jq length)" = 2 &&
	{ at "2026-03-07 09:30:00" sh -c "$cron_line" >out 2>err; true; } &&
	test_must_be_empty out && test_grep "broken" err &&
	test "$(odbk-list --status completed --json prod | jq length)" = 1
'

test_done
