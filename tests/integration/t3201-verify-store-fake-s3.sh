#!/usr/bin/env bash
# odbk-create's default verification is what the store confirms, with no download (issue 18): against
# the scripted fake S3 (tests/fake/s3.py, which checks each body against its x-amz-content-sha256 and
# gives S3's ETags), a backup is verified "checksum" with one HEAD per file and no GET; --verify read
# reads it back as before.  A part or a PUT whose ETag is not the MD5 sent, or a HEAD whose size differs,
# fails the backup as a read-back mismatch does (65, a failed row, nothing left); no ETag, or SSE-KMS
# ETags, leave it verified by its size only, with a warning that says so; a part damaged on the way is
# refused by the store and sent again; a HEAD that keeps failing leaves the backup completed and not
# verified (75), as does a stop signal (143); `verify = none` asks nothing; a `verify =` of no known
# level is a config error (78).
. "$(dirname "$0")/test-lib.sh"
test_description 'verify = store: what the fake S3 confirms decides, and nothing is downloaded'
require_service pg
require_program odbk-create odbk-list

fake_s3_start
stored() { state | jq -r '.objects | keys[] | select(startswith("odbk/prod/"))'; }
open_uploads() { state | jq -r '.uploads[]'; }
count_log() { state | jq "[.log[] | select(test(\"$1\"))] | length"; }
newest() { odbk-list --json | jq -r ".[0].$1"; }
WRONG='"0123456789abcdef0123456789abcdef"'

# a clean failure: exit CODE, the newest row failed, nothing of it left in the fake, no upload open
clean_failure() {
	test_exit_code "$1" odbk-create prod >out 2>err &&
	test "$(newest status)" = failed &&
	id=$(newest id) &&
	test -z "$(stored | grep "/$id/")" &&
	test -z "$(open_uploads)"
}

test_expect_success 'setup: an env on the fake S3 (5 MiB parts), an 11 MB filestore' '
	test -n "$URL" &&
	make_fixture src --db-mb 1 --fs-mb 11 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	fake_s3_storage fake "part-size = 5MiB" &&
	sed -i "s/^storage = disk$/storage = fake/" "$ODBK_CONFIG"
'

test_expect_success 'the default: verified "checksum", a HEAD per file, not one GET' '
	gets=$(count_log "^get ") && heads=$(count_log "^head ") &&
	odbk-create prod >id 2>err &&
	test "$(newest status)" = completed && test "$(newest verified)" = true &&
	test "$(newest verified_by)" = checksum &&
	test "$(count_log "^get ")" = "$gets" &&
	test "$(count_log "^head .*/$(cat id)/backup-")" = 2 &&
	test "$(count_log "^upload-part .*$(cat id).*filestore")" -ge 2 &&
	test_must_be_empty err &&
	odbk-list | grep "^$(cat id) " | grep -q " checksum "
'

test_expect_success '--verify read: read back as before, verified "read"' '
	gets=$(count_log "^get ") &&
	odbk-create --verify read prod >id 2>err &&
	test "$(newest verified_by)" = read &&
	test "$(count_log "^get .*$(cat id)")" -ge 2
'

test_expect_success 'part 2 stored with an ETag that is not its MD5: exit 65 naming the part, a failed row, nothing left' '
	faults "[{\"op\": \"upload-part\", \"part\": 2, \"etag\": \"\\\"0123456789abcdef0123456789abcdef\\\"\"}]" &&
	clean_failure 65 &&
	test_grep "verification after upload failed: storage .fake.: part 2 of .*filestore.* was stored with ETag $WRONG, not the MD5 of the bytes sent" err &&
	test "$(grep -c . err)" = 1 &&
	test_grep "the store holds other bytes" err
'

test_expect_success 'the database PUT answered with a wrong ETag: exit 65 (the HEAD gives the MD5), nothing left' '
	faults "[{\"op\": \"put\", \"etag\": \"\\\"0123456789abcdef0123456789abcdef\\\"\", \"times\": 1}]" &&
	clean_failure 65 &&
	test_grep "database.* was stored with ETag $WRONG, not the MD5 of the bytes sent" err
'

test_expect_success 'a HEAD that gives another size: exit 65 naming the sizes, nothing left' '
	faults "[{\"op\": \"head\", \"size\": 12345, \"times\": 1}]" &&
	clean_failure 65 &&
	test_grep "storage .fake. holds 12345 bytes of .*database.*, [0-9]* were written" err
'

test_expect_success 'the filestore HEAD gives an ETag that is not the MD5 of its parts'"'"' MD5s: exit 65' '
	faults "[{\"op\": \"head\", \"times\": 1}, {\"op\": \"head\", \"etag\": \"\\\"0123456789abcdef0123456789abcdef-3\\\"\"}]" &&
	clean_failure 65 &&
	test_grep "filestore.* has ETag \"0123456789abcdef0123456789abcdef-3\", not \"[0-9a-f]*-[0-9]+\" .that of the bytes sent." err
'

test_expect_success 'no ETag for the database (PUT and HEAD): verified by size only, a warning says why, exit 0' '
	faults "[{\"op\": \"put\", \"no_etag\": true, \"times\": 1}, {\"op\": \"head\", \"no_etag\": true, \"times\": 1}]" &&
	odbk-create prod >id 2>err &&
	test "$(newest status)" = completed && test "$(newest verified_by)" = size &&
	test_grep "warning: prod: the store confirmed the size only: the store gave no ETag for .*database.*; .verify = read. in \[storage fake\] reads the files back" err &&
	test "$(count_log "^get .*$(cat id)")" = 0
'

test_expect_success 'SSE-KMS answers (ETags no MD5s): verified by size only, not a failure' '
	faults "[{\"op\": \"put\", \"sse_kms\": true, \"etag\": $(jq -n --arg e "$WRONG" "\$e")}, {\"op\": \"upload-part\", \"sse_kms\": true, \"etag\": $(jq -n --arg e "$WRONG" "\$e")}, {\"op\": \"head\", \"sse_kms\": true}]" &&
	odbk-create prod >id 2>err &&
	test "$(newest status)" = completed && test "$(newest verified_by)" = size &&
	test_grep "encrypted with KMS or a customer key, whose ETags are not MD5s" err
'

test_expect_success 'part 2 damaged on the way once: the store refuses its SHA-256, it is sent again, verified "checksum"' '
	faults "[{\"op\": \"upload-part\", \"part\": 2, \"corrupt_request\": true, \"times\": 1}]" &&
	before=$(count_log "^upload-part .*filestore.* 2$") &&
	odbk-create prod >id 2>err &&
	test "$(count_log "^upload-part .*filestore.* 2$")" = $((before + 2)) &&
	test "$(newest verified_by)" = checksum &&
	faults "[]" && odbk-list --verify prod 2>err && test "$(newest verified_by)" = read
'

test_expect_success 'every HEAD answered 503: exit 75, the backup kept, completed, not verified' '
	faults "[{\"op\": \"head\", \"status\": 503}]" &&
	test_exit_code 75 odbk-create prod >id 2>err &&
	test_grep "error: backup $(cat id) is stored and complete, not verified: the store.s confirmation failed: .*503.*; .odbk-list --verify prod. reads it back once the storage answers" err &&
	test "$(newest status)" = completed && test "$(newest verified)" = false &&
	test "$(stored | grep -c "/$(cat id)/")" = 3 &&
	faults "[]" && odbk-list --verify prod 2>/dev/null && test "$(newest verified_by)" = read
'

test_expect_success 'SIGTERM as the confirmation starts: exit 143, completed, not verified, and says so' '
	test_exit_code 143 env ODBK_FAILPOINT=create-verify-sigterm odbk-create prod >id 2>err &&
	test_grep "stopped during the store.s confirmation: backup $(cat id) is stored and complete, not verified" err &&
	test "$(grep -c . err)" = 1 &&
	test "$(newest status)" = completed && test "$(newest verified)" = false
'

test_expect_success 'verify = none in the storage: no HEAD, no GET, not verified' '
	printf "verify = none\n" >>"$ODBK_CONFIG" &&
	heads=$(count_log "^head ") && gets=$(count_log "^get ") &&
	odbk-create prod >id 2>err &&
	test "$(newest status)" = completed && test "$(newest verified)" = false &&
	test "$(newest verified_by)" = null &&
	test "$(count_log "^head ")" = "$heads" && test "$(count_log "^get ")" = "$gets" &&
	odbk-create --verify store prod >id 2>err && test "$(newest verified_by)" = checksum
'

test_expect_success 'verify = a word of no level: exit 78 naming it, with what it may be' '
	sed -i "s/^verify = none$/verify = raed/" "$ODBK_CONFIG" &&
	test_exit_code 78 odbk-create prod >out 2>err &&
	test_grep "odbk.conf:[0-9]*: \[storage fake\] verify: unknown verify level .raed. .did you mean .read." err &&
	test_exit_code 64 odbk-create --verify all prod >out 2>err
'

test_done
