#!/usr/bin/env bash
# t2622 - odbk-prune killed (SIGKILL, ODBK_FAILPOINT) at each step of the collection of packs, on local
# disk and S3: once its removals are done (gc-after-manifests), once the env is held and the live set
# known (gc-listed), after the first pack deleted (gc-removing), once every pack is deleted with the env
# still held (gc-end).  Each time every kept backup still has all its packs, a backup of the env is not
# held up by the dead prune's lock, and the next prune deletes the garbage it left.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-prune killed while collecting packs never costs a kept backup a pack'
require_service pg
require_program odbk-create odbk-prune odbk-test-storage sqlite3 jq

export TZ=UTC

# shellcheck source=tests/integration/lib-gc.sh
. "$ODBK_SRC/tests/integration/lib-gc.sh"

locks() { sqlite3 "$ODBK_CATALOG" "select count(*) from env_locks where env = 'prod'"; }

test_expect_success 'setup: the fixture' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 3
'

for type in disk s3; do
	P=$(echo "$type" | tr a-z A-Z)
	[ "$type" = disk ] && P=PG
	test_have_prereq "$P" || { test_expect_success "$P" "$type: killed collections" 'true'; continue; }
	export GC_TYPE=$type

	test_expect_success "$P" "$type: killed once the expired backups are removed: the next prune collects" '
		gc_scenario &&
		gc_packs >before &&
		test_exit_code 137 env ODBK_FAILPOINT=gc-after-manifests odbk-prune prod >out 2>err &&
		test_exit_code 66 gc_store stat "prod/$r1/backup-$r1-manifest.json" &&
		test_exit_code 66 gc_store stat "prod/$r2/backup-$r2-manifest.json" &&
		gc_packs >after && test_cmp before after &&
		gc_kept_backups_whole $r3 $r4 &&
		odbk-prune prod 2>err &&
		test_grep "4 unreferenced packs deleted" err &&
		gc_expect_kept >expect && gc_packs >actual && test_cmp expect actual &&
		gc_kept_backups_whole $r3 $r4 &&
		test "$(locks)" = 0 &&
		sed -i "s/^keep-daily = 2$/keep-daily = 9/" "$ODBK_CONF"
	'

	for fp in gc-listed gc-removing gc-end; do
		case $fp in
			gc-listed) left=3 ;; gc-removing) left=2 ;; gc-end) left=0 ;;
		esac
		test_expect_success "$P" "$type: killed at $fp: kept backups whole, a backup not held up, the garbage collected next" '
			for n in 2 3 4; do gc_put_pack "$r2-00000$n.tar.gz" || return 1; done &&
			test_exit_code 137 env ODBK_FAILPOINT='"$fp"' odbk-prune --collect prod >out 2>err &&
			gc_kept_backups_whole $r3 $r4 &&
			test "$(gc_packs | grep -c "^$r2-")" = '"$left"' &&
			test "$(locks)" = 1 &&
			odbk-create --quiet --no-filestore prod >id &&
			test "$(locks)" = 0 &&
			odbk-prune --collect prod 2>err &&
			test_grep "'"$left"' unreferenced packs? deleted" err &&
			gc_expect_kept >expect && gc_packs >actual && test_cmp expect actual &&
			gc_kept_backups_whole $r3 $r4 &&
			test "$(locks)" = 0
		'
	done
done

test_done
