#!/usr/bin/env bash
# The next run's reaper of a kill -9'd backup aborts the dead run's open S3 multipart uploads at once
# (it knows the backup's folder), not a day later at prune (odbk.conf(5): none is ever left).
. "$(dirname "$0")/test-lib.sh"
test_description 'the reaper aborts a dead run'"'"'s multipart uploads at once'
require_service pg s3
require_program odbk-create odbk-list

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
s3cli() {
    AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY aws --endpoint-url "$S3_ENDPOINT" "$@"
}
S3_PFX=${TEST_DB_PREFIX%_}/s3/
uploads() {
	s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --prefix "$S3_PFX$1" \
		--query "Uploads[].Key" --output text | grep -v "^None$"
}

test_expect_success 'setup: an env on S3 with 5 MiB parts; a pg_dump that stalls after 12 MB' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
	sed -i "/^type = s3$/a part-size = 5MiB" "$ODBK_CONF" &&
	slow_pg_dump 12000000
'

test_expect_success 'kill -9 during the multipart upload leaves it open' '
	{ ODBK_PG_BINDIR=$TRASH/slowbin odbk-create prod >/dev/null 2>&1 & pid=$!; } &&
	for i in $(seq 150); do uploads "" | grep -q database && break; sleep 0.2; done &&
	uploads "" | grep database &&
	kill -9 $pid && { wait $pid 2>/dev/null; true; } &&
	{ kill "$(cat dump.pid)"; sleep 0.2; true; } &&
	dead=$(odbk-list --status in_progress --json | jq -r ".[0].id") && test -n "$dead" &&
	echo "$dead" >dead && test -n "$(uploads "prod/$dead/")"
'

test_expect_success 'the next run reaps it: row failed, no upload left, no object of it left' '
	dead=$(cat dead) &&
	odbk-create prod >id &&
	odbk-list --json | jq ".[] | select(.id == \"$dead\")" | jq -e ".status == \"failed\" and (.error | test(\"interrupted\"))" &&
	test -z "$(uploads "")" &&
	test -z "$(s3cli s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "${S3_PFX}prod/$dead/" \
		--query "Contents[].Key" --output text | grep -v "^None$")" &&
	test "$(odbk-list --status completed --json | jq -r ".[0].id")" = "$(cat id)"
'

test_done
