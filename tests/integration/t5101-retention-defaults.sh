#!/usr/bin/env bash
# The built-in policy keeps the 7 newest backups (seed 002's "Keep Latest Backup") besides the keep-within
# windows, so the documented crontab line never deletes a backup a user just made by hand; and a backup
# dated in the future (another host's clock ahead) does not move the windows.
. "$(dirname "$0")/test-lib.sh"
test_description 'retention defaults: keep-last 7, future-dated backups ignored by the windows'
require_service pg
require_program odbk-create odbk-prune odbk-policy odbk-list faketime jq sqlite3

export TZ=UTC
STORE=$TRASH/storage/disk
at() {
	local t=$1; shift
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f "@$t" "$@"
}
status_of() { sqlite3 "$ODBK_CATALOG" "select status from backups where id = '$1'"; }

test_expect_success 'setup: no [policy] at all, three scheduled backups' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 3 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	! grep -q "^\[policy" "$ODBK_CONF" &&
	for d in 07 08 09; do
		at "2026-03-$d 00:05:00" odbk-create --due 2>/dev/null >>sched || return 1
	done &&
	test_line_count = 3 sched
'

test_expect_success 'odbk-policy show: keep-last 7 is a default' '
	odbk-policy show prod --json >show.json &&
	test "$(jq -r ".keys[] | select(.key == \"keep-last\") | .value + \" \" + .source" show.json)" = "7 default"
'

test_expect_success 'the crontab line an hour after a manual and a pre-restore backup keeps both' '
	manual=$(at "2026-03-10 10:00:00" odbk-create --quiet prod --comment "before the upgrade") &&
	safety=$(at "2026-03-10 10:05:00" odbk-create --quiet --type pre-restore prod) &&
	at "2026-03-10 11:00:00" sh -c "odbk-create --due --quiet; odbk-prune --all --quiet" &&
	sqlite3 "$ODBK_CATALOG" "select id from backups where type = '\''scheduled'\'' order by created_at" >all &&
	test_line_count = 4 all && tail -1 all >>sched &&
	for id in $manual $safety $(cat sched); do
		test "$(status_of "$id")" = completed &&
		test -f "$STORE/prod/$id/backup-$id-manifest.json" || return 1
	done &&
	at "2026-03-10 11:00:00" odbk-policy plan prod --json >plan.json &&
	jq -e "[.[] | select(.id == \"$manual\") | .reasons[]] | index(\"last\")" plan.json
'

test_expect_success 'a backup dated in the future does not move the windows: it expires nothing more' '
	for d in 11 12 13 14 15 16 17 18; do
		at "2026-03-$d 00:05:00" odbk-create --due 2>/dev/null >>sched || return 1
	done &&
	at "2026-03-18 12:00:00" odbk-prune --dry-run --json prod >dry.json &&
	jq -r ".[0].backups[] | select(.action == \"expire\") | .id" dry.json | sort >expect &&
	future=$(at "2026-06-01 00:00:00" odbk-create --quiet prod --comment "clock ahead") &&
	at "2026-03-18 12:00:00" odbk-prune --dry-run --json prod >dry.json &&
	jq -r ".[0].backups[] | select(.action == \"expire\") | .id" dry.json | sort >actual &&
	test_cmp expect actual &&
	at "2026-03-18 12:00:00" odbk-prune prod 2>err &&
	sqlite3 "$ODBK_CATALOG" "select id from backups where status = '\''expired'\'' order by id" >actual &&
	test_cmp expect actual &&
	test "$(status_of "$future")" = completed &&
	for id in $(tail -7 sched); do
		test "$(status_of "$id")" = completed || return 1
	done
'

test_expect_success 'and the windows still count from the newest backup not in the future' '
	at "2026-03-18 12:00:00" odbk-policy plan prod --json >plan.json &&
	jq -r ".[] | select(.id == \"$(tail -1 sched)\") | .reasons | join(\",\")" plan.json >reasons &&
	test_grep "within-daily 7d" reasons
'

test_done
