#!/usr/bin/env bash
# odbk-list --since/--until (an RFC 3339 time or an age), the listing written row by row as the catalog
# returns it (table and --json, empty or not), and no silent cut of a long list of envs.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-list --since, --until, streamed output'
require_program jq python3

NOW=$(date +%s)
test_expect_success 'setup: a catalog (made by odbk) with rows at known times' '
	odbk_conf prod "$(test_db prod)" "$TRASH/fs" &&
	odbk-list >/dev/null &&
	python3 - "$ODBK_CATALOG" "$NOW" <<-PY
	import sqlite3, sys
	db = sqlite3.connect(sys.argv[1]); now = int(sys.argv[2])
	rows = [("20260101T000000Z-aaaaaa", 1767225600), ("20260102T000000Z-bbbbbb", 1767312000),
	        ("20260103T000000Z-cccccc", 1767398400), ("recent-2d", now - 48 * 3600), ("recent-1h", now - 3600)]
	for bid, t in rows:
	    db.execute("INSERT INTO backups (id, uuid, env, project, database, storage, type, format, compression, status,"
	               " verified, created_at, finished_at, has_filestore, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	               (bid, "u" + bid, "prod", "", "prod", "disk", "manual", "odbk", "gzip", "completed", 1, t, t + 60, 1, "h"))
	db.commit()
	PY
'

ids() { awk "NR > 1 { print \$1 }" "$@"; }

test_expect_success '--since and --until with RFC 3339 times, both ends included' '
	odbk-list --since 2026-01-02T00:00:00Z --until 2026-01-03T00:00:00Z >out &&
	printf "20260103T000000Z-cccccc\n20260102T000000Z-bbbbbb\n" >expect && ids out >actual && test_cmp expect actual
'

test_expect_success '--since with an age: 36h ago' '
	odbk-list --since 36h >out &&
	echo recent-1h >expect && ids out >actual && test_cmp expect actual &&
	odbk-list --until 36h --since 2026-01-03T00:00:00Z >out &&
	printf "recent-2d\n20260103T000000Z-cccccc\n" >expect && ids out >actual && test_cmp expect actual
'

test_expect_success '--json: every row, newest first; an empty selection is []' '
	odbk-list --json >all.json &&
	jq -e "length == 5 and .[0].id == \"recent-1h\" and .[4].id == \"20260101T000000Z-aaaaaa\"" all.json >/dev/null &&
	odbk-list --json --since 2030-01-01T00:00:00Z >none.json &&
	test "$(cat none.json)" = "[]" &&
	odbk-list --json --limit 1 | jq -e "length == 1" >/dev/null
'

test_expect_success 'an empty table still has its header' '
	odbk-list --since 2030-01-01T00:00:00Z >out &&
	test "$(wc -l <out)" = 1 && test_grep "^ID " out
'

test_expect_success 'a malformed --since: exit 64 naming it' '
	test_exit_code 64 odbk-list --since yesterday 2>err &&
	test_grep "since: .yesterday. is neither an RFC 3339 time nor an age" err
'

test_expect_success 'more than 100 envs named: exit 64, never a listing of some of them' '
	test_exit_code 64 odbk-list $(seq -f "e%g" 1 101) >out 2>err &&
	test_must_be_empty out && test_grep "too many environments: at most 100" err
'

test_done
