#!/usr/bin/env bash
# A backup records, while the dump streams through, the rows of each table's COPY block and the number and
# bytes of the filestore files (the figures odbk-restore --test is to compare with); they equal the source's.
. "$(dirname "$0")/test-lib.sh"
test_description 'row counts and filestore figures recorded at create time'
require_service pg
require_program odbk-create

make_fixture src --db-mb 1 --fs-mb 1 --files 9
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"

test_expect_success 'the manifest holds each table'"'"'s row count and the filestore figures' '
	id=$(odbk-create prod --quiet) &&
	m=$TRASH/storage/disk/prod/$id/backup-$id-manifest.json &&
	jq -e ".tables | length > 5" "$m" &&
	sql "$FIXTURE_DB" "select n.nspname || '\''.'\'' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = '\''r'\'' and n.nspname = '\''public'\'' order by 1" >tables &&
	test -s tables &&
	while read -r t; do
		want=$(sql "$FIXTURE_DB" "select count(*) from $t") &&
		got=$(jq -r --arg t "$t" ".tables[\$t]" "$m") &&
		{ test "$got" = "$want" || { echo "$t: manifest $got, database $want"; return 1; }; } || return 1
	done <tables &&
	test "$(jq .filestore_files "$m")" = "$(find "$FIXTURE_FS" -type f | wc -l)" &&
	test "$(jq .filestore_bytes "$m")" = "$(find "$FIXTURE_FS" -type f -printf "%s\n" | awk "{s+=\$1} END {print s}")"
'

test_expect_success 'a dump-format backup (pg_dump custom) records no row counts' '
	id=$(odbk-create prod --format dump --quiet) &&
	jq -e "has(\"tables\") | not" "$TRASH/storage/disk/prod/$id/backup-$id-manifest.json"
'

test_done
