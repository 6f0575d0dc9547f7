#!/usr/bin/env bash
# The harness itself: every testbed service answers with the stock clients,
# and test-lib's helpers write what odbk will read.
. "$(dirname "$0")/test-lib.sh"
test_description 'testbed services and harness helpers'

printf 'hello odbk testbed\n' >payload

test_expect_success 'PATH starts with $ODBK_BUILD/bin' '
	test "${PATH%%:*}" = "$ODBK_BUILD/bin"
'

test_expect_success PG 'postgres answers select 1 over TCP' '
	echo 1 >expect &&
	sql postgres "select 1" >actual &&
	test_cmp expect actual
'

test_expect_success PG 'a test database is created and dropped with the script' '
	db=$(test_db scratch) &&
	sql postgres "create database $db" &&
	sql "$db" "create table t(i int); insert into t values (42)" &&
	echo 42 >expect &&
	sql "$db" "select i from t" >actual &&
	test_cmp expect actual
'

s3() {
	curl -sS --fail-with-body --aws-sigv4 "aws:amz:$S3_REGION:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
S3_KEY_URL=$S3_ENDPOINT/$S3_BUCKET/${TEST_DB_PREFIX}harness/payload

test_expect_success S3 'S3: SigV4 PUT then GET returns the same bytes' '
	test_when_finished "s3 -X DELETE \"$S3_KEY_URL\"" &&
	s3 -T payload "$S3_KEY_URL" &&
	s3 -o got "$S3_KEY_URL" &&
	test_cmp payload got
'

# Ceph RGW verifies SigV4 (the light s3rver backend does not)
test "${S3_BACKEND:-}" = rgw && test_set_prereq SIGV4
test_expect_success S3,SIGV4 'S3: a wrong secret is refused with 403' '
	code=$(curl -s -o /dev/null -w "%{http_code}" --aws-sigv4 "aws:amz:$S3_REGION:s3" \
		--user "$S3_ACCESS_KEY:wrong-secret" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-T payload "$S3_KEY_URL") &&
	test "$code" = 403
'

SFTP_DIR=${TEST_DB_PREFIX}harness
sf() { HOME=$SFTP_HOME curl -sS --key "$SFTP_KEY" "$@"; }

test_expect_success SFTP 'SFTP: upload, list, and the file lands on the server' '
	test_when_finished "rm -rf \"$SFTP_DATA_DIR/$SFTP_DIR\"" &&
	sf --ftp-create-dirs -T payload "${SFTP_URL}$SFTP_DIR/payload" &&
	sf -l "${SFTP_URL}$SFTP_DIR/" >list &&
	test_grep "^payload$" list &&
	test_cmp payload "$SFTP_DATA_DIR/$SFTP_DIR/payload"
'

test_expect_success FTP 'FTP: upload, list, download' '
	test_when_finished "rm -rf \"$FTP_DATA_DIR/$SFTP_DIR\"" &&
	curl -sS -u "$FTP_USER:$FTP_PASSWORD" --ftp-create-dirs -T payload "${FTP_URL}$SFTP_DIR/payload" &&
	curl -sS -u "$FTP_USER:$FTP_PASSWORD" -l "${FTP_URL}$SFTP_DIR/" >list &&
	test_grep "^payload$" list &&
	curl -sS -u "$FTP_USER:$FTP_PASSWORD" -o got "${FTP_URL}$SFTP_DIR/payload" &&
	test_cmp payload got
'

test_expect_success PG 'odbk_conf writes a 0600 config with the env and local storage' '
	odbk_conf prod acme_prod /srv/fs &&
	test_file_mode 600 "$ODBK_CONFIG" &&
	test "$ODBK_CATALOG" = "$TRASH/catalog.db" &&
	test_grep "^\[env prod\]$" "$ODBK_CONFIG" &&
	test_grep "^database = acme_prod$" "$ODBK_CONFIG" &&
	test_grep "^pg = host=$PGHOST port=$PGPORT user=$PGUSER$" "$ODBK_CONFIG" &&
	test_grep "^storage = disk$" "$ODBK_CONFIG" &&
	test_grep ! "password|$PGPASSWORD" "$ODBK_CONFIG"
'

test_expect_success S3,SFTP,FTP 'odbk_conf_storage: remote storages point at key files, no secret inline' '
	odbk_conf prod acme_prod /srv/fs s3 &&
	odbk_conf_storage sftp &&
	odbk_conf_storage ftp &&
	test_grep "^storage = s3$" "$ODBK_CONFIG" &&
	test_grep "^endpoint = $S3_ENDPOINT$" "$ODBK_CONFIG" &&
	test_grep "^known-hosts = $SFTP_KNOWN_HOSTS$" "$ODBK_CONFIG" &&
	test_grep "^url = $FTP_URL" "$ODBK_CONFIG" &&
	test_grep ! "$S3_SECRET_KEY|$FTP_PASSWORD" "$ODBK_CONFIG" &&
	test_file_mode 600 "$TRASH/secrets/s3.secret" &&
	test_file_mode 600 "$TRASH/secrets/ftp.pw" &&
	echo "$S3_SECRET_KEY" >expect &&
	test_cmp expect "$TRASH/secrets/s3.secret"
'

test_expect_code 3 'test_expect_code checks the exact exit code' '
	(exit 3)
'

test_expect_success 'test_exit_code and test_must_fail tell codes apart' '
	test_exit_code 78 sh -c "exit 78" &&
	! test_exit_code 78 sh -c "exit 1" 2>/dev/null &&
	test_must_fail sh -c "exit 1" &&
	! test_must_fail true 2>/dev/null &&
	! test_must_fail sh -c "kill -SEGV \$\$" 2>/dev/null
'

test_done
