#!/usr/bin/env bash
# t5003 - odbk-prune on local storage: real backups dated in the past with faketime, then the right
# folders go, the others stay byte for byte, rows become expired, dry runs delete nothing, the guards hold.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-prune against local storage'
require_service pg
require_program odbk-create odbk-prune odbk-policy odbk-list faketime jq sqlite3

export TZ=UTC
STORE=$TRASH/storage/disk

# at 'YYYY-MM-DD HH:MM:SS' CMD...: run CMD with the clock started at that UTC time (faketime is an
# LD_PRELOAD library, which ASan wants to come after its own runtime: tell it not to mind)
at() {
	local t=$1; shift
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f "@$t" "$@"
}

# snapshot FILE: the sha256 of every stored file, by path
snapshot() { (cd "$STORE" && find . -type f -exec sha256sum {} + | sort -k2) >"$1"; }

status_of() { sqlite3 "$ODBK_CATALOG" "select status from backups where id = '$1'"; }

# the backups, oldest first:
#   d1 2026-01-01 --retention weekly (kept by its tier), d2 01-02 --retention permanent,
#   d3 01-03, d4 01-04 (expire), d5 01-05, d6 01-06 (daily), d7a 01-07 03:00 (expire: not the newest of
#   its day), d7b 01-07 15:00 (daily, newest)
test_expect_success 'setup: eight backups of prod from 1 to 7 January' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 5 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	cat >>"$ODBK_CONF" <<-EOF &&

	[policy]
	keep-within-daily =
	keep-within-weekly =
	keep-within-monthly =
	keep-within-yearly =
	keep-last =
	keep-daily = 3
	EOF
	d1=$(at "2026-01-01 03:00:00" odbk-create --quiet --retention weekly prod) &&
	d2=$(at "2026-01-02 03:00:00" odbk-create --quiet --retention permanent prod) &&
	d3=$(at "2026-01-03 03:00:00" odbk-create --quiet prod) &&
	d4=$(at "2026-01-04 03:00:00" odbk-create --quiet prod) &&
	d5=$(at "2026-01-05 03:00:00" odbk-create --quiet prod) &&
	d6=$(at "2026-01-06 03:00:00" odbk-create --quiet prod) &&
	d7a=$(at "2026-01-07 03:00:00" odbk-create --quiet prod) &&
	d7b=$(at "2026-01-07 15:00:00" odbk-create --quiet prod) &&
	for id in $d1 $d2 $d3 $d4 $d5 $d6 $d7a $d7b; do
		test -f "$STORE/prod/$id/backup-$id-manifest.json" || return 1
	done &&
	test "$(sqlite3 "$ODBK_CATALOG" "select count(*) from backups where status = '\''completed'\''")" = 8 &&
	printf "%s\n" $d3 $d4 $d7a | sort >expect-expired
'

test_expect_success 'odbk-policy plan prod: the plan over the catalog, with ids' '
	at "2026-01-08 12:00:00" odbk-policy plan prod --json >plan.json &&
	jq -r ".[] | select(.action != \"keep\") | .id" plan.json | sort >actual &&
	test_cmp expect-expired actual &&
	jq -r ".[] | select(.id == \"$d1\") | .reasons | join(\",\")" plan.json >actual &&
	echo "tier weekly" >expect && test_cmp expect actual &&
	jq -r ".[] | select(.id == \"$d2\") | .reasons | join(\",\")" plan.json >actual &&
	echo "permanent" >expect && test_cmp expect actual &&
	jq -r ".[0].id, .[0].reasons[0]" plan.json >actual &&
	printf "%s\ndaily\n" "$d7b" >expect && test_cmp expect actual
'

test_expect_success 'one JSON vocabulary: plan ENV and prune --dry-run give the same backup objects' '
	at "2026-01-08 12:00:00" odbk-prune --dry-run --json prod | jq -c ".[0].backups[]" >prune.items &&
	jq -c ".[]" plan.json >plan.items &&
	test_cmp prune.items plan.items &&
	jq -e "all(.[]; has(\"created_at\") and (.action | IN(\"keep\", \"expire\", \"clean\")) and
		(has(\"time\") or has(\"keep\") | not))" plan.json
'

test_expect_success 'a dry run prints the plan with reasons and deletes nothing' '
	snapshot before &&
	at "2026-01-08 12:00:00" odbk-prune --dry-run prod >out &&
	test_grep "^  expire +$d3 " out &&
	test_grep "^  keep +$d2 .*permanent" out &&
	test_grep "^  keep +$d1 .*tier weekly" out &&
	test_grep "^  keep +$d7b .*daily" out &&
	at "2026-01-08 12:00:00" odbk-prune --dry-run --json prod >dry.json &&
	jq -r ".[0].backups[] | select(.action == \"expire\") | .id" dry.json | sort >actual &&
	test_cmp expect-expired actual &&
	test "$(jq "[.[0].backups[] | select(.done)] | length" dry.json)" = 0 &&
	snapshot after && test_cmp before after &&
	test "$(sqlite3 "$ODBK_CATALOG" "select count(*) from backups where status = '\''completed'\''")" = 8
'

test_expect_success 'prune deletes exactly the expired folders; the others stay byte-identical' '
	snapshot before &&
	at "2026-01-08 12:00:00" odbk-prune prod >out 2>err &&
	sort out >actual && test_cmp expect-expired actual &&
	test_grep "prod: 5 kept, 3 expired and deleted, 0 leftovers removed" err &&
	for id in $d3 $d4 $d7a; do
		test ! -e "$STORE/prod/$id" || return 1
		test "$(status_of $id)" = expired || return 1
	done &&
	for id in $d1 $d2 $d5 $d6 $d7b; do
		test "$(status_of $id)" = completed || return 1
	done &&
	grep -v -e "/$d3/" -e "/$d4/" -e "/$d7a/" before >expect &&
	snapshot after && test_cmp expect after
'

test_expect_success 'each deletion is in the audit log, and the rows stay as history' '
	odbk-list --audit --json >audit.json &&
	jq -r ".[] | select(.action == \"prune\" and .result == \"ok\") | .backup_id" audit.json | sort >actual &&
	test_cmp expect-expired actual &&
	test "$(sqlite3 "$ODBK_CATALOG" "select count(*) from backups")" = 8
'

test_expect_success 'a second prune changes nothing' '
	snapshot before &&
	at "2026-01-08 12:00:00" odbk-prune prod >out &&
	test ! -s out &&
	snapshot after && test_cmp before after
'

test_expect_success 'once its tier has run out, a backup goes (weekly: 4 weeks by default)' '
	at "2026-02-01 12:00:00" odbk-prune prod >out &&
	echo "$d1" >expect && test_cmp expect out &&
	test ! -e "$STORE/prod/$d1" && test -d "$STORE/prod/$d2"
'

test_expect_code 64 'deleting the newest backup by hand needs --force' '
	odbk-prune --backup "$d7b"
'

test_expect_code 64 'deleting a permanent backup by hand needs --force' '
	odbk-prune --backup "$d2"
'

test_expect_success 'the refused deletions deleted nothing' '
	test -d "$STORE/prod/$d2" && test -d "$STORE/prod/$d7b" &&
	test "$(status_of $d2)" = completed && test "$(status_of $d7b)" = completed
'

test_expect_success 'a permanent backup goes with --backup --force, audited as a deletion' '
	snapshot before &&
	odbk-prune --backup "$d2" --force >out &&
	echo "$d2" >expect && test_cmp expect out &&
	test ! -e "$STORE/prod/$d2" && test "$(status_of $d2)" = expired &&
	grep -v -e "/$d2/" before >expect && snapshot after && test_cmp expect after &&
	odbk-list --audit --json | jq -e ".[] | select(.action == \"delete\" and .backup_id == \"$d2\" and .options == \"force\")"
'

test_expect_code 66 '--backup with an unknown id: input missing' '
	odbk-prune --backup 19990101T000000Z-000000
'

test_expect_success 'an env whose latest run failed is left alone (exit 1), unless --force' '
	d8=$(at "2026-01-08 03:00:00" odbk-create --quiet prod) &&
	sqlite3 "$ODBK_CATALOG" "update backups set status = '\''failed'\'', error = '\''disk full'\'' where id = '\''$d8'\''" &&
	sqlite3 "$ODBK_CATALOG" "insert into gc_due (env, storage, since) select env, storage, 0 from backups where id = '\''$d8'\''" &&
	snapshot before &&
	test_exit_code 1 at "2026-02-01 12:00:00" odbk-prune prod >out 2>err &&
	test_grep "latest backup run of .prod. \($d8.*failed: disk full" err &&
	test_grep "force" err &&
	snapshot after && test_cmp before after &&
	at "2026-02-01 12:00:00" odbk-prune --force prod >out &&
	echo "$d8" >expect && test_cmp expect out &&
	test ! -e "$STORE/prod/$d8" && test "$(status_of $d8)" = failed &&
	test -d "$STORE/prod/$d7b"
'

test_expect_success 'an empty policy is refused (exit 78, naming the env) and nothing is deleted anywhere' '
	make_fixture other --db-mb 1 --fs-mb 1 --files 2 &&
	odbk_conf_env other "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	o1=$(at "2026-01-01 03:00:00" odbk-create --quiet other) &&
	o2=$(at "2026-01-05 03:00:00" odbk-create --quiet other) &&
	cat >>"$ODBK_CONF" <<-EOF &&

	[policy prod]
	keep-daily =
	EOF
	snapshot before &&
	test_exit_code 78 at "2026-02-01 12:00:00" odbk-prune --all >out 2>err &&
	test_grep "policy of .prod. has no retention rule" err &&
	snapshot after && test_cmp before after &&
	test "$(status_of $o1)" = completed
'

test_expect_code 64 'no environment and no --all: usage error' 'odbk-prune'
test_expect_code 64 '--backup takes no environment' 'odbk-prune --backup x prod'
test_expect_code 78 'an unknown environment is a config error' 'odbk-prune prdo'

test_done
