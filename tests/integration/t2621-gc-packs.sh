#!/usr/bin/env bash
# t2621 - odbk-prune collects an env's packs (issue 14, deletion), on local disk, S3 and SFTP: once the
# expired backups are removed, exactly the packs no remaining manifest references are deleted (a pack
# partly referenced stays whole), packs of an id the catalog does not know made in the last day stay,
# objects of packs/ that are no pack's stay; a dry run deletes nothing and lists what would go; a
# manifest naming a hostile pack stops the collection before anything is deleted; --backup ID collects
# the packs only it referenced.
# The backups are real (odbk-create); their manifests are made incremental by hand (version 2, packs[])
# and the packs are random objects written by the test, since the point is the deletion, not the packing.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-prune deletes the packs no remaining backup references'
require_service pg
require_program odbk-create odbk-prune odbk-test-storage sqlite3 jq

export TZ=UTC

# shellcheck source=tests/integration/lib-gc.sh
. "$ODBK_SRC/tests/integration/lib-gc.sh"

test_expect_success 'setup: the fixture' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 3
'

for type in disk s3 sftp; do
	P=$(echo "$type" | tr a-z A-Z)
	[ "$type" = disk ] && P=PG
	test_have_prereq "$P" || { test_expect_success "$P" "$type: packs collected" 'true'; continue; }
	export GC_TYPE=$type

	test_expect_success "$P" "$type: four backups, their manifests made incremental, packs written" '
		gc_scenario
	'

	test_expect_success "$P" "$type: a dry run lists the packs that would go and deletes nothing" '
		gc_packs >before &&
		odbk-prune --dry-run prod >out 2>err &&
		grep "^  delete " out | awk "{print \$2}" | sort >actual &&
		gc_expect_garbage >expect && test_cmp expect actual &&
		test_grep "4 unreferenced packs would be deleted" err &&
		odbk-prune --dry-run --json prod >dry.json &&
		jq -r ".[0].packs[0].removed[].name" dry.json | sort >actual && test_cmp expect actual &&
		bytes=$(gc_store list prod/packs/ | sed "s|^prod/packs/||" | awk "NR == FNR {g[\$1] = 1; next} (\$1 in g) {s += \$2} END {print s}" <(gc_expect_garbage) -) &&
		test "$(jq ".[0].packs[0].bytes_removed" dry.json)" = "$bytes" &&
		test "$(jq ".[0].packs[0].kept" dry.json)" = 4 &&
		gc_packs >after && test_cmp before after
	'

	test_expect_success "$P" "$type: prune deletes exactly the unreferenced packs, with what they freed" '
		odbk-prune prod >out 2>err &&
		gc_packs >actual &&
		gc_expect_kept >expect && test_cmp expect actual &&
		test_grep "prod: $GC_TYPE: 4 unreferenced packs deleted .0\.[0-9] MB., 4 kept" err &&
		gc_kept_backups_whole $r3 $r4
	'

	test_expect_success "$P" "$type: a prune that expires nothing collects nothing; --collect finds nothing more" '
		gc_packs >before &&
		odbk-prune prod >out 2>err &&
		test_grep ! "unreferenced" err &&
		odbk-prune --collect prod >out 2>err &&
		test_grep "0 unreferenced packs deleted" err &&
		gc_packs >after && test_cmp before after
	'

	test_expect_success "$P" "$type: a manifest naming a hostile pack stops the collection before any deletion" '
		gc_put_pack "$r1-000009.tar.gz" &&
		gc_store get "prod/$r4/backup-$r4-manifest.json" >m4.json &&
		jq ".packs += [{\"name\": \"../../$r3/backup-$r3-manifest.json\", \"size\": 1, \"sha256\": \"$(printf %064d 0)\"}]" m4.json |
			gc_store put "prod/$r4/backup-$r4-manifest.json" &&
		gc_packs >before &&
		test_exit_code 65 odbk-prune --collect prod >out 2>err &&
		test_grep "prod/$r4/backup-$r4-manifest.json" err &&
		test_grep "nothing was deleted" err &&
		gc_packs >after && test_cmp before after &&
		gc_store put "prod/$r4/backup-$r4-manifest.json" <m4.json &&
		odbk-prune --collect prod 2>err &&
		test_grep "1 unreferenced pack deleted" err
	'

	test_expect_success "$P" "$type: --backup ID deletes it, then the packs only it referenced" '
		r5=$(odbk-create --quiet --no-filestore prod) &&
		gc_put_pack "$r5-000001.tar.gz" &&
		gc_v2 $r5 "$r1-000001.tar.gz" "$r5-000001.tar.gz" &&
		odbk-prune --backup $r4 >out 2>err &&
		echo $r4 >expect && test_cmp expect out &&
		test_grep "1 unreferenced pack deleted" err &&
		printf "%s\n" "$r1-000001.tar.gz" "$r3-000001.tar.gz" "$r5-000001.tar.gz" "$GC_RECENT-000001.tar.gz" README |
			sort >expect && gc_packs >actual && test_cmp expect actual &&
		gc_kept_backups_whole $r3 $r5
	'
done

test_done
