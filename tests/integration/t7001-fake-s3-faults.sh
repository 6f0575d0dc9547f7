#!/usr/bin/env bash
# Faults the real RGW cannot be made to show, from the scripted fake S3 server tests/fake/s3.py (it does
# not check SigV4: the real RGW tests do): part N of a multipart upload answered 503 once (retried, then a
# good backup) or 500 every time, a 200 CompleteMultipartUpload with an <Error> body, a part answered with
# no ETag, a trickled answer, a connection reset mid-body on a restore's GET.  Each either succeeds after a
# bounded number of retries, or fails cleanly: its exit code, a failed row, nothing left in the store (the
# fake reports what it holds) and no multipart upload left open.  A read whose every answer is cut after a
# few bytes fails after its retries, as a store that is down does (it used to retry once per KB).  A
# restore stopped by SIGTERM while it waits to retry a GET stops at once (it used to wait out the backoff).
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create and odbk-restore against a fake S3 server that fails on purpose'
require_service pg
require_program odbk-create odbk-list odbk-restore

fake_s3_start
# objects and open uploads the fake holds under the env's folder
stored() { state | jq -r '.objects | keys[] | select(startswith("odbk/prod/"))'; }
open_uploads() { state | jq -r '.uploads[]'; }
count_log() { state | jq "[.log[] | select(test(\"$1\"))] | length"; }
last_status() { odbk-list --json | jq -r '.[0].status'; }
last_error() { odbk-list --json | jq -r '.[0].error'; }
n_stored_before=0

test_expect_success 'setup: an env on the fake S3 (5 MiB parts, 2 retries), a 11 MB filestore' '
	test -n "$URL" &&
	make_fixture src --db-mb 1 --fs-mb 11 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	fake_s3_storage fake "part-size = 5MiB" &&
	sed -i "s/^storage = disk$/storage = fake/" "$ODBK_CONFIG" &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'

test_expect_success 'no fault: a backup on the fake is completed and restores' '
	odbk-create prod >id.ok && test "$(last_status)" = completed &&
	test "$(count_log "^upload-part .*filestore")" -ge 2 &&
	stored | grep -q "$(cat id.ok)/backup-$(cat id.ok)-filestore" &&
	test -z "$(open_uploads)"
'
stored >objs.ok 2>/dev/null

test_expect_success 'part 2 answered 503 once: retried, the backup is completed and whole' '
	faults "[{\"op\": \"upload-part\", \"part\": 2, \"status\": 503, \"times\": 1}]" &&
	before=$(count_log "^upload-part .* 2$") &&
	odbk-create prod >id.503 && test "$(last_status)" = completed &&
	test "$(count_log "^upload-part .* 2$")" -eq $((before + 2)) &&
	test -z "$(open_uploads)" &&
	odbk-restore "$(cat id.503)" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}r503" --filestore "$TRASH/r503" --confirm RESTORE >/dev/null 2>err &&
	fingerprint "${TEST_DB_PREFIX}r503" "$TRASH/r503" >fp.r503 && test_cmp fp.src fp.r503
'

# a clean failure: exit CODE, the newest row failed, nothing of it left in the fake, no upload open
clean_failure() {
	code=$1 && shift &&
	test_exit_code "$code" odbk-create prod >out 2>err &&
	test "$(last_status)" = failed && test -n "$(last_error)" &&
	id=$(odbk-list --json | jq -r ".[0].id") &&
	test -z "$(stored | grep "/$id/")" &&
	test -z "$(open_uploads)"
}

test_expect_success 'part 2 answered 500 every time: 1 + 2 retries, then exit 69, a failed row, nothing left' '
	faults "[{\"op\": \"upload-part\", \"part\": 2, \"status\": 500}]" &&
	before=$(count_log "^upload-part .*filestore.* 2$") &&
	clean_failure 69 &&
	test "$(count_log "^upload-part .*filestore.* 2$")" -eq $((before + 3)) &&
	test_grep "500" err
'

test_expect_success 'CompleteMultipartUpload answered 200 with an <Error> body: a clean failure' '
	faults "[{\"op\": \"complete\", \"error_body\": true}]" &&
	test_must_fail odbk-create prod >out 2>err &&
	test "$(last_status)" = failed &&
	id=$(odbk-list --json | jq -r ".[0].id") &&
	test -z "$(stored | grep "/$id/")" && test -z "$(open_uploads)"
'

test_expect_success 'a part answered 200 with no ETag: a clean failure, never a backup without it' '
	faults "[{\"op\": \"upload-part\", \"no_etag\": true}]" &&
	test_exit_code 74 odbk-create prod >out 2>err &&
	test_grep "no ETag" err &&
	test "$(last_status)" = failed &&
	id=$(odbk-list --json | jq -r ".[0].id") &&
	test -z "$(stored | grep "/$id/")" && test -z "$(open_uploads)"
'

test_expect_success 'every answer trickled over 2 s: slow, but a completed backup' '
	faults "[{\"op\": \"put\", \"trickle\": 2}, {\"op\": \"complete\", \"trickle\": 2}, {\"op\": \"list\", \"trickle\": 2}]" &&
	odbk-create prod >id.slow && test "$(last_status)" = completed
'

test_expect_success 'the connection reset mid-body on a restore GET, once: resumed, the restore is whole' '
	faults "[{\"op\": \"get\", \"reset_after\": 100000, \"times\": 1}]" &&
	odbk-restore "$(cat id.ok)" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}rreset" --filestore "$TRASH/rreset" --confirm RESTORE >/dev/null 2>err &&
	fingerprint "${TEST_DB_PREFIX}rreset" "$TRASH/rreset" >fp.rreset && test_cmp fp.src fp.rreset &&
	test "$(count_log "^get .*$(cat id.ok)")" -ge 3
'

test_expect_success 'reset before any byte on every GET: the restore fails after 1 + 2 tries (and the re-check of the file), exit 69, nothing restored' '
	faults "[{\"op\": \"get\", \"reset_after\": 0}]" &&
	before=$(count_log "^get .*database") &&
	test_exit_code 69 odbk-restore "$(cat id.ok)" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}rfail" --filestore "$TRASH/rfail" --confirm RESTORE >/dev/null 2>err &&
	test_grep "Connection reset by peer" err &&
	test_must_fail psql -d "${TEST_DB_PREFIX}rfail" -c "select 1" >/dev/null 2>&1 &&
	! test -e "$TRASH/rfail" &&
	n=$(( $(count_log "^get .*database") - before )) && echo "database GETs: $n" &&
	test "$n" -ge 3 && test "$n" -le 6
'

test_expect_success 'every GET reset after 1000 bytes: a few KB of "progress" per try does not retry for ever' '
	faults "[{\"op\": \"get\", \"reset_after\": 1000}]" &&
	before=$(count_log "^get .*database") &&
	test_exit_code 69 timeout 120 odbk-restore "$(cat id.ok)" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}rdrip" --filestore "$TRASH/rdrip" --confirm RESTORE >/dev/null 2>err &&
	test_grep "Connection reset by peer" err &&
	! test -e "$TRASH/rdrip" &&
	n=$(( $(count_log "^get .*database") - before )) && echo "database GETs: $n" &&
	test "$n" -ge 3 && test "$n" -le 6
'

test_expect_success 'SIGTERM while a restore waits to retry a GET: it stops at once, exit 143, nothing restored' '
	faults "[{\"op\": \"get\", \"status\": 503}]" &&
	sed -i "s/^retries = 2$/retries = 8/" "$ODBK_CONFIG" &&
	test_when_finished "sed -i \"s/^retries = 8$/retries = 2/\" \"$ODBK_CONFIG\"" &&
	before=$(count_log "^get .*database") &&
	{ odbk-restore "$(cat id.ok)" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}rterm" --filestore "$TRASH/rterm" --confirm RESTORE \
		>/dev/null 2>err & pid=$!; } &&
	# the third GET is answered 503: the backoff before the fourth is 1 to 2 s, then 2 to 4 s, ...
	for i in $(seq 600); do [ $(( $(count_log "^get .*database") - before )) -ge 3 ] && break; sleep 0.1; done &&
	sleep 0.3 && start=$(date +%s%N) && kill -TERM $pid &&
	{ rc=0; wait $pid || rc=$?; } &&
	ms=$(( ($(date +%s%N) - start) / 1000000 )) && echo "exit $rc, $ms ms after SIGTERM" && cat err &&
	test $rc = 143 &&
	test $ms -lt 3000 &&
	test_grep "interrupted by SIGTERM while waiting to retry: .*HTTP 503" err &&
	test_must_fail psql -d "${TEST_DB_PREFIX}rterm" -c "select 1" >/dev/null 2>&1 &&
	! test -e "$TRASH/rterm"
'

test_expect_success 'no fault again: every failed run left nothing; the good backups are all there' '
	faults "[]" &&
	for id in $(cat id.ok id.503 id.slow); do stored | grep -q "/$id/backup-$id-filestore" || return 1; done &&
	test -z "$(open_uploads)" &&
	for id in $(odbk-list --status failed --json | jq -r ".[].id"); do
		test -z "$(stored | grep "/$id/")" || return 1; done
'

test_done
