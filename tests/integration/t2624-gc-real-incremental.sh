#!/usr/bin/env bash
# t2624 - the collection of packs with real incremental backups (odbk-create, filestore-mode =
# incremental), on local disk and S3: three backups of a filestore whose second state's new files are all
# gone in the third; once the first two expire, the second's pack (only it referenced) is deleted, the
# first's (its files still in the third) is kept whole, and the kept backup restores to its state when
# this build restores incremental backups.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-prune collects the packs of real incremental backups'
require_service pg
require_program odbk-create odbk-prune odbk-restore odbk-test-storage sqlite3 jq python3

export TZ=UTC TEST_FILESTORE_MODE=incremental

# shellcheck source=tests/integration/lib-gc.sh
. "$ODBK_SRC/tests/integration/lib-gc.sh"

# add_files DIR N PREFIXFILE: N new attachment-shaped files in DIR, their paths appended to PREFIXFILE
add_files() {
	python3 - "$1" "$2" "$3" <<-'PY'
	import hashlib, os, sys
	fs, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	with open(out, "a") as o:
	    for i in range(n):
	        data = os.urandom(2000 + 53 * i)
	        h = hashlib.sha1(data).hexdigest()
	        os.makedirs(os.path.join(fs, h[:2]), exist_ok=True)
	        open(os.path.join(fs, h[:2], h), "wb").write(data)
	        o.write(os.path.join(fs, h[:2], h) + "\n")
	PY
}

test_expect_success 'setup: the fixture and three states of its filestore' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 20 &&
	cp -a "$FIXTURE_FS" state1 &&
	: >added2 && add_files "$FIXTURE_FS" 5 added2 && cp -a "$FIXTURE_FS" state2 &&
	xargs rm -f <added2 && : >added3 && add_files "$FIXTURE_FS" 3 added3 &&
	find "$FIXTURE_FS" -type d -empty -delete && cp -a "$FIXTURE_FS" state3
'

for type in disk s3; do
	P=$(echo "$type" | tr a-z A-Z)
	[ "$type" = disk ] && P=PG
	test_have_prereq "$P" || { test_expect_success "$P" "$type: real incremental packs collected" 'true'; continue; }
	export GC_TYPE=$type

	test_expect_success "$P" "$type: three incremental backups, one pack each" '
		odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" '"$type"' &&
		printf "\n[policy]\nkeep-within-daily =\nkeep-within-weekly =\nkeep-within-monthly =\nkeep-within-yearly =\nkeep-last =\nkeep-daily = 1\n" >>"$ODBK_CONF" &&
		rm -f "$ODBK_CATALOG" && gc_store rmprefix prod/ &&
		rm -rf "$FIXTURE_FS" && cp -a state1 "$FIXTURE_FS" && r1=$(odbk-create --quiet prod) &&
		rm -rf "$FIXTURE_FS" && cp -a state2 "$FIXTURE_FS" && r2=$(odbk-create --quiet prod) &&
		rm -rf "$FIXTURE_FS" && cp -a state3 "$FIXTURE_FS" && r3=$(odbk-create --quiet prod) &&
		gc_backdate $r1 "2026-01-01 03:00:00" && gc_backdate $r2 "2026-01-02 03:00:00" &&
		gc_backdate $r3 "2026-01-03 03:00:00" &&
		printf "%s\n" $r1-000001.tar.gz $r2-000001.tar.gz $r3-000001.tar.gz | sort >expect &&
		gc_packs >actual && test_cmp expect actual &&
		gc_store get "prod/$r3/backup-$r3-manifest.json" | jq -r ".packs[].name" >actual &&
		printf "%s\n" $r1-000001.tar.gz $r3-000001.tar.gz | sort >expect && sort -o actual actual && test_cmp expect actual
	'

	test_expect_success "$P" "$type: the two older expire; the pack only the second referenced goes, the first's stays whole" '
		gc_store stat "prod/packs/$r1-000001.tar.gz" >size1 &&
		odbk-prune prod >out 2>err &&
		printf "%s\n" $r1 $r2 | sort >expect && sort out >actual && test_cmp expect actual &&
		test_grep "prod: '"$type"': 1 unreferenced pack deleted .* 2 kept" err &&
		printf "%s\n" $r1-000001.tar.gz $r3-000001.tar.gz | sort >expect && gc_packs >actual && test_cmp expect actual &&
		test "$(gc_store stat "prod/packs/$r1-000001.tar.gz")" = "$(cat size1)" &&
		gc_kept_backups_whole $r3
	'

	# inc-restore's reader restores an incremental backup; a build without it (which restores the database
	# alone) is told here, not failed
	if odbk-restore "$r3" --db-owner "$TEST_OWNER" --new-db "$(test_db probe$type)" --filestore "$TRASH/probe-$type" \
		--confirm RESTORE >/dev/null 2>"$TRASH/probe.err" && [ -d "$TRASH/probe-$type" ]; then
		test_set_prereq "RESTORE_$P"
	else
		echo "# $type: this build does not restore incremental backups' filestores: restore not checked"
	fi
	test_expect_success "$P,RESTORE_$P" "$type: the kept backup restores to the state it was made of" '
		diff -r state3 "$TRASH/probe-'"$type"'"
	'
done

test_done
