#!/usr/bin/env bash
# t5007 - odbk-prune --all --dry-run: one line an env, and an env that a prune left clean answered from its
# plan record; the lines are those of planning every env (records made stale by hand), byte for byte,
# before and after a prune, after a new backup, a clock jump past a tier's end and a policy change.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-prune --all --dry-run: summary lines and plan records'
require_service pg
require_program odbk-create odbk-prune odbk-list faketime jq sqlite3

export TZ=UTC

at() {
	local t=$1; shift
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f "@$t" "$@"
}

# dry T: odbk-prune --all --dry-run at T into dry.out, and again with every record made stale (each env
# planned from its rows) into planned.out; both must be the same bytes
dry() {
	at "$1" odbk-prune --all --dry-run >dry.out &&
	cp "$ODBK_CATALOG" stale.db &&
	sqlite3 stale.db "UPDATE env_state SET plan_until = 0" &&
	ODBK_CATALOG=$PWD/stale.db at "$1" odbk-prune --all --dry-run >planned.out &&
	test_cmp planned.out dry.out
}

records() { sqlite3 "$ODBK_CATALOG" "SELECT env FROM env_state WHERE plan_until > 0 ORDER BY env" | tr '\n' ' '; }

test_expect_success 'setup: prod and stage, a week of nightly backups each, one kept by its daily tier alone' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 5 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	odbk_conf_env stage "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	cat >>"$ODBK_CONF" <<-EOF &&

	[policy]
	keep-within-daily =
	keep-within-weekly =
	keep-within-monthly =
	keep-within-yearly =
	keep-last =
	keep-daily = 3
	EOF
	for d in 01 02 03 04 05 06 07; do
		at "2026-01-$d 03:00:00" odbk-create --quiet prod >/dev/null &&
		at "2026-01-$d 04:00:00" odbk-create --quiet stage >/dev/null || return 1
	done &&
	tier=$(at "2026-01-07 03:30:00" odbk-create --quiet --retention daily stage)
'

test_expect_success 'before any prune: one line an env, every env planned' '
	dry "2026-01-07 12:00:00" &&
	cat >expect <<-EOF &&
	prod: 3 kept, 4 to expire, 0 to clean, 0 packs to delete (0.0 MB)
	stage: 4 kept, 4 to expire, 0 to clean, 0 packs to delete (0.0 MB)
	EOF
	test_cmp expect dry.out &&
	test -z "$(records)"
'

test_expect_success '--verbose and --json: the whole plan of each env, its counts those of the line' '
	at "2026-01-07 12:00:00" odbk-prune --all --dry-run --verbose >verbose.out &&
	test_grep "^prod: keep-daily 3 \(UTC\)$" verbose.out &&
	test "$(grep -c "^  expire " verbose.out)" = 8 &&
	at "2026-01-07 12:00:00" odbk-prune --all --dry-run --json >dry.json &&
	jq -r ".[] | \"\(.env): \(.kept) kept, \(.expired) to expire, \(.cleaned) to clean, 0 packs to delete (0.0 MB)\"" \
		dry.json >actual &&
	test_cmp dry.out actual
'

test_expect_success 'a prune that leaves an env clean records it; the dry run after it says the same' '
	at "2026-01-07 12:00:00" odbk-prune --all --quiet &&
	test "$(records)" = "prod stage " &&
	dry "2026-01-07 12:30:00" &&
	cat >expect <<-EOF &&
	prod: 3 kept, 0 to expire, 0 to clean, 0 packs to delete (0.0 MB)
	stage: 4 kept, 0 to expire, 0 to clean, 0 packs to delete (0.0 MB)
	EOF
	test_cmp expect dry.out
'

test_expect_success 'a record is read, not the rows: rows changed behind the catalog show it' '
	cp "$ODBK_CATALOG" hacked.db &&
	sqlite3 hacked.db "UPDATE env_state SET completed = 99 WHERE env = '\''prod'\''" &&
	ODBK_CATALOG=$PWD/hacked.db at "2026-01-07 12:30:00" odbk-prune --all --dry-run >out &&
	test_grep "^prod: 99 kept" out
'

test_expect_success 'a new backup of prod makes its record stale in the same write; stage stays recorded' '
	at "2026-01-08 03:00:00" odbk-create --quiet prod >/dev/null &&
	test "$(records)" = "stage " &&
	dry "2026-01-08 12:00:00" &&
	test_grep "^prod: 3 kept, 1 to expire," dry.out &&
	test_grep "^stage: 4 kept, 0 to expire," dry.out
'

test_expect_success 'past the end of the daily tier (7 days), the record of stage no longer holds' '
	until=$(sqlite3 "$ODBK_CATALOG" "SELECT plan_until FROM env_state WHERE env = '\''stage'\''") &&
	created=$(sqlite3 "$ODBK_CATALOG" "SELECT created_at FROM backups WHERE id = '\''$tier'\''") &&
	test "$until" -gt $((created + 6 * 86400)) && test "$until" -le $((created + 8 * 86400)) &&
	dry "2026-01-13 12:00:00" &&
	test_grep "^stage: 4 kept, 0 to expire," dry.out &&
	dry "2026-01-15 12:00:00" &&
	test_grep "^stage: 3 kept, 1 to expire," dry.out
'

test_expect_success 'another policy: every record stale' '
	at "2026-01-08 12:00:00" odbk-prune --all --quiet &&
	test "$(records)" = "prod stage " &&
	sed -i "s/^keep-daily = 3/keep-daily = 2/" "$ODBK_CONF" &&
	dry "2026-01-08 12:30:00" &&
	test_grep "^prod: 2 kept, 1 to expire," dry.out &&
	test_grep "^stage: 3 kept, 1 to expire," dry.out
'

test_expect_success 'a failed latest run: skipped in both, and never recorded' '
	sed -i "s/^keep-daily = 2/keep-daily = 3/" "$ODBK_CONF" &&
	at "2026-01-08 12:00:00" odbk-prune --all --quiet &&
	sed -i "/^\[env prod\]/,/^\[/ s/^database = .*/database = nosuchdb_$$/" "$ODBK_CONF" &&
	test_must_fail at "2026-01-09 03:00:00" odbk-create --quiet prod 2>/dev/null &&
	test "$(records)" = "stage " &&
	{ at "2026-01-09 12:00:00" odbk-prune --all --dry-run >dry.out; test $? = 1; } &&
	test_grep "^prod: keep-daily 3 \(UTC\) \[skipped\]" dry.out &&
	{ at "2026-01-09 12:00:00" odbk-prune --all --force --quiet; test $? = 0; } &&
	test "$(records)" = "stage "
'

test_done
