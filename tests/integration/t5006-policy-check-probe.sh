#!/usr/bin/env bash
# odbk-policy check --probe: after the config check, every storage is listed (one call) and every env's
# database, pg_dump and filestore are reached as odbk-create would; a line for each, and the first
# failure's exit code (77 for a wrong secret) with the count, so a mistake shows before the first night.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-policy check --probe'
require_service pg s3 sftp ftp
require_program odbk-policy

make_fixture prod --db-mb 1 --fs-mb 1 --files 2 --version 17.0
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
GOOD=$(cat "$ODBK_CONF")

test_expect_success 'every storage kind and an env: one ok line each, exit 0' '
	odbk_conf_storage s3 && odbk_conf_storage sftp && odbk_conf_storage ftp &&
	odbk-policy check --probe >out 2>err &&
	test_grep "^ok$" out &&
	test_grep "^storage disk: ok .type local, listed, empty, nothing stored yet.$" out &&
	test_grep "^storage s3: ok .type s3, listed, " out &&
	test_grep "^storage sftp: ok .type sftp, listed, " out &&
	test_grep "^storage ftp: ok .type ftp, listed, " out &&
	test_grep "^env prod: ok .PostgreSQL [0-9.]*, Odoo 17.0, database $FIXTURE_DB, filestore $FIXTURE_FS.$" out &&
	test ! -s err
'

test_expect_success 'without --probe nothing is contacted: a wrong secret passes the config check' '
	printf "wrong-secret\n" >"$TRASH/secrets/s3.secret" &&
	odbk-policy check >out &&
	test "$(cat out)" = ok
'

test_expect_success 'a wrong S3 secret: that storage fails, the rest are still probed, exit 77' '
	test_exit_code 77 odbk-policy check --probe >out 2>err &&
	test_grep "^storage s3: FAILED: " out &&
	test_grep "^storage disk: ok" out && test_grep "^env prod: ok" out &&
	test_grep "error: 1 of [0-9]* probes failed, the first: storage .s3." err &&
	printf "%s\n" "$S3_SECRET_KEY" >"$TRASH/secrets/s3.secret"
'

test_expect_success 'an SFTP key the server does not know: FAILED, exit 77' '
	ssh-keygen -q -t ed25519 -N "" -f "$TRASH/stranger" &&
	printf "\n[storage sftpbad]\ntype = sftp\nhost = %s\nport = %s\nuser = %s\nprivate-key = %s\nknown-hosts = %s\npath = %s/x\n" \
		"$SFTP_HOST" "$SFTP_PORT" "$SFTP_USER" "$TRASH/stranger" "$SFTP_KNOWN_HOSTS" "$SFTP_DATA_DIR" >>"$ODBK_CONF" &&
	test_exit_code 77 odbk-policy check --probe >out 2>err &&
	test_grep "^storage sftpbad: FAILED: " out && test_grep "^storage sftp: ok" out
'

test_expect_success 'a missing bucket: FAILED naming it' '
	printf "\n[storage nobucket]\ntype = s3\nendpoint = %s\nregion = %s\nbucket = odbk-no-such-bucket-%s\nuri-style = path\naccess-key-id-file = %s\nsecret-access-key-file = %s\n" \
		"$S3_ENDPOINT" "$S3_REGION" "$$" "$TRASH/secrets/s3.id" "$TRASH/secrets/s3.secret" >>"$ODBK_CONF" &&
	test_must_fail odbk-policy check --probe >out 2>err &&
	test_grep "^storage nobucket: FAILED: .*odbk-no-such-bucket" out
'

test_expect_success 'an env whose database, server or filestore is wrong: FAILED with the cause, one line each' '
	printf "%s\n" "$GOOD" >"$ODBK_CONF" &&
	odbk_conf_env nodb "$(test_db no_such_db)" "$FIXTURE_FS" disk &&
	odbk_conf_env nofs "$FIXTURE_DB" "$TRASH/no-such-filestore" disk &&
	printf "\n[env noserver]\ndatabase = x\nfilestore = %s\npg = host=127.0.0.1 port=1 user=nobody connect_timeout=2\nstorage = disk\n" "$FIXTURE_FS" >>"$ODBK_CONF" &&
	test_must_fail odbk-policy check --probe >out 2>err &&
	test_grep "^env prod: ok" out &&
	test_grep "^env nodb: FAILED: environment .nodb.: .*no_such_db" out &&
	test_grep "^env nofs: FAILED: environment .nofs.: filestore directory .*no-such-filestore" out &&
	test_grep "^env noserver: FAILED: " out &&
	test_grep "3 of 5 probes failed" err
'

test_expect_success 'a config problem: 78 and no probe at all' '
	printf "\n[storage broken]\ntype = nosuchtype\n" >>"$ODBK_CONF" &&
	test_exit_code 78 odbk-policy check --probe >out 2>err &&
	! grep -q ": ok (" out && test_grep "fix them first" err
'

test_done
