#!/usr/bin/env bash
# t2623 - the collection of packs and other odbk programs at once, on local disk and S3, ordered by the
# ready files of pause points (ODBK_FAILPOINT_READY): a backup started while a prune holds the env is
# refused (75) and the prune goes on; a prune while a backup of the env runs deletes no pack (75) and the
# next one collects; two prunes at once collect once; a backup of another env running into the same
# storage does not stop the collection, and its objects are untouched.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-prune collecting packs beside odbk-create and another odbk-prune'
require_service pg
require_program odbk-create odbk-prune odbk-test-storage sqlite3 jq

export TZ=UTC

# shellcheck source=tests/integration/lib-gc.sh
. "$ODBK_SRC/tests/integration/lib-gc.sh"

# wait_ready FILE: until the paused program created it (at most 30 s)
wait_ready() {
	local i
	for i in $(seq 300); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "# $1 never appeared" >&2
	return 1
}

test_expect_success 'setup: the fixture' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 3
'

for type in disk s3; do
	P=$(echo "$type" | tr a-z A-Z)
	[ "$type" = disk ] && P=PG
	test_have_prereq "$P" || { test_expect_success "$P" "$type: concurrent runs" 'true'; continue; }
	export GC_TYPE=$type

	test_expect_success "$P" "$type: a backup started while a prune holds the env is refused, the prune goes on" '
		gc_scenario &&
		rm -f ready &&
		{ ODBK_FAILPOINT=gc-locked ODBK_FAILPOINT_READY=$TRASH/ready odbk-prune prod >prune.out 2>prune.err & pid=$!; } &&
		wait_ready ready &&
		test_exit_code 75 odbk-create --no-filestore prod >out 2>err &&
		test_grep "held by odbk-prune collecting its unreferenced packs \(pid $pid on " err &&
		test "$(grep -c "error:" err)" = 1 &&
		wait $pid &&
		test_grep "4 unreferenced packs deleted" prune.err &&
		gc_expect_kept >expect && gc_packs >actual && test_cmp expect actual &&
		gc_kept_backups_whole $r3 $r4 &&
		test "$(sqlite3 "$ODBK_CATALOG" "select count(*) from backups where status != '\''completed'\'' and status != '\''expired'\''")" = 0
	'

	test_expect_success "$P" "$type: a prune while a backup of the env runs deletes no pack, the next one does" '
		gc_put_pack "$r2-000005.tar.gz" &&
		gc_packs >before &&
		rm -f ready &&
		{ ODBK_FAILPOINT=pause-before-read:1 ODBK_FAILPOINT_READY=$TRASH/ready odbk-create --quiet prod >id 2>create.err & pid=$!; } &&
		wait_ready ready &&
		test_exit_code 75 odbk-prune --collect prod >out 2>err &&
		test_grep "packs of .prod. not collected: backup [0-9a-fTZ-]+ of it is running \(pid $pid " err &&
		gc_packs >after && test_cmp before after &&
		wait $pid && r5=$(cat id) &&
		odbk-prune prod >out 2>err &&
		echo $r3 >expect && test_cmp expect out &&
		test_grep "1 unreferenced pack deleted" err &&
		printf "%s\n" "$r1-000001.tar.gz" "$r3-000001.tar.gz" "$r4-000001.tar.gz" "$GC_RECENT-000001.tar.gz" README |
			sort >expect && gc_packs >actual && test_cmp expect actual &&
		gc_kept_backups_whole $r4 $r5
	'

	test_expect_success "$P" "$type: two prunes at once: one collects, the other is told and deletes nothing" '
		gc_put_pack "$r2-000006.tar.gz" &&
		rm -f ready &&
		{ ODBK_FAILPOINT=gc-locked ODBK_FAILPOINT_READY=$TRASH/ready odbk-prune --collect prod >prune.out 2>prune.err & pid=$!; } &&
		wait_ready ready &&
		test_exit_code 75 odbk-prune --collect prod >out 2>err &&
		test_grep "packs of .prod. not collected: another odbk-prune holds it \(pid $pid " err &&
		test "$(gc_packs | grep -c "^$r2-000006")" = 1 &&
		wait $pid &&
		test_grep "1 unreferenced pack deleted" prune.err &&
		test "$(gc_packs | grep -c "^$r2-")" = 0 &&
		gc_kept_backups_whole $r4 $r5
	'

	test_expect_success "$P" "$type: another env backing up into the same storage meanwhile: collected, its objects untouched" '
		odbk_conf_env other "$FIXTURE_DB" "$FIXTURE_FS" "$GC_TYPE" &&
		echo other-pack | gc_store put "other/packs/20200101T000000Z-abcdef-000001.tar.gz" &&
		gc_put_pack "$r2-000007.tar.gz" &&
		rm -f ready &&
		{ ODBK_FAILPOINT=pause-before-read:1 ODBK_FAILPOINT_READY=$TRASH/ready odbk-create --quiet other >other.id 2>other.err & pid=$!; } &&
		wait_ready ready &&
		odbk-prune --collect prod >out 2>err &&
		test "$(sqlite3 "$ODBK_CATALOG" "select status from backups where env = '\''other'\''")" = in_progress &&
		test_grep "1 unreferenced pack deleted" err &&
		test "$(gc_packs | grep -c "^$r2-")" = 0 &&
		wait $pid && o1=$(cat other.id) &&
		gc_store stat "other/$o1/backup-$o1-manifest.json" >/dev/null &&
		test "$(gc_store get "other/packs/20200101T000000Z-abcdef-000001.tar.gz")" = other-pack &&
		gc_kept_backups_whole $r4 $r5
	'
done

test_done
