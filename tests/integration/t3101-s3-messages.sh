#!/usr/bin/env bash
# Errors from S3 that point at the real cause: a clock an hour off is RequestTimeTooSkewed with a hint about
# the clock (not about the credentials), and the storage's name is said once, not twice.
. "$(dirname "$0")/test-lib.sh"
test_description 'S3 error messages: a skewed clock, no doubled prefix'
require_service pg s3
require_program faketime
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
faketime() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" command faketime "$@"; }

test_expect_success 'setup: an env backed up to S3' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 3 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" s3
'

test_expect_success 'a clock an hour ahead: exit 77, RequestTimeTooSkewed, a hint about the clock' '
	test_exit_code 77 faketime -f "+1h" odbk-create prod >out 2>err &&
	test_grep "RequestTimeTooSkewed" err &&
	test_grep "hint: this host.s clock is off" err &&
	test_grep ! "access key id" err &&
	test_grep ! "storage .s3.: storage .s3.:" err
'

test_expect_success 'the same with the right clock works' '
	odbk-create prod >id && test -s id
'

test_done
