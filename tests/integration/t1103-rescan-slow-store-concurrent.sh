#!/usr/bin/env bash
# A rescan of a slow store holds no lock on the catalog while it waits for the store: its manifests are
# read outside any transaction (several at once) and imported in short transactions, so an odbk-create
# started while the rescan reads finishes before the rescan does (it used to wait for the whole scan
# behind BEGIN IMMEDIATE, and fail with 75 after SQLite's 30 s).  The store is tests/fake/s3.py with every
# GET trickled over 2 s: 32 manifests read 8 at a time take some 8 s (one at a time they took 64 s).
. "$(dirname "$0")/test-lib.sh"
test_description 'rescan of a slow store: another odbk process writes the catalog meanwhile'
require_service pg
require_program odbk-create odbk-list sqlite3 jq curl

fake_s3_start
make_fixture src --db-mb 1 --fs-mb 1 --files 3
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
fake_s3_storage slow
N=32

test_expect_success "setup: $N backups' manifests (and their files) in the slow store" '
	fake_s3_put_manifests old $N &&
	test "$(state | jq "[.objects | keys[] | select(endswith(\"-manifest.json\"))] | length")" = $N
'

test_expect_success 'an odbk-create started during the rescan finishes while the rescan still reads' '
	faults "[{\"op\": \"get\", \"trickle\": 2}]" &&
	date +%s >t.start &&
	{ odbk-list --rescan --storage slow >rescan.out 2>rescan.err; echo $? >rescan.rc; } &
	pid=$! &&
	for i in $(seq 100); do
		test "$(state | jq "[.log[] | select(startswith(\"get \"))] | length")" -gt 0 && break
		sleep 0.1
	done &&
	odbk-create prod --quiet >id &&
	kill -0 $pid &&
	test ! -s rescan.rc &&
	wait $pid && date +%s >t.end &&
	test "$(cat rescan.rc)" = 0 &&
	test_grep "$N backups found in storage \($N new\)" rescan.err &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM backups WHERE env = '\''old'\'' AND storage = '\''slow'\''")" = $N &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT status FROM backups WHERE id = '\''$(cat id)'\''")" = completed
'

test_expect_success 'the manifests were read several at a time: well under the 64 s of one at a time' '
	faults "[]" &&
	test "$(state | jq "[.log[] | select(startswith(\"get \") and endswith(\"-manifest.json\"))] | length")" = $N &&
	test $(($(cat t.end) - $(cat t.start))) -lt 32
'

test_done
