#!/usr/bin/env bash
# t3002-create-s3.sh - odbk-create and odbk-restore through S3 (the testbed's Ceph RGW), in both uri-styles,
# with 5 MiB parts so that the filestore goes up as a multipart upload; the restored database and filestore
# must equal the source.  And the secret never shows: not on any command line while a backup runs, not in
# any output, log or the catalog.
. "$(dirname "$0")/test-lib.sh"
test_description 'create and restore through S3 (path and host style, multipart); the secret stays secret'
require_service pg s3
require_program odbk-create odbk-restore

# odbk's credentials come from the secret files only (not from the testbed's AWS_* variables); the aws
# cli that checks the bucket gets them in its environment
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
s3cli() {
    AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY aws --endpoint-url "$S3_ENDPOINT" "$@"
}

test_expect_success 'set up: a fixture, a config with S3 storages in both uri-styles' '
    make_fixture src --db-mb 3 --fs-mb 24 --files 40 &&
    odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
    sed "/^\[storage s3\]$/,/^$/!d; s/^\[storage s3\]$/[storage s3host]/; s|^endpoint = .*|endpoint = http://$S3_VHOST_SUFFIX|; s/^uri-style = path$/uri-style = host/; s|/s3/$|/s3host/|" \
        "$ODBK_CONF" >host.section &&
    printf "\n" >>"$ODBK_CONF" && cat host.section >>"$ODBK_CONF" &&
    sed -i "/^type = s3$/a part-size = 5MiB" "$ODBK_CONF" &&
    test_grep "^uri-style = host$" "$ODBK_CONF" && test_grep "^part-size = 5MiB$" "$ODBK_CONF" &&
    fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'
SRC_DB=$FIXTURE_DB

# ps_watch FILE: sample every process's command line (one per line) until killed
ps_watch() {
    while :; do
        cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" "\n"
        sleep 0.02
    done >>"$1"
}

test_expect_success 'odbk-create to S3 (path style), the secret on no command line' '
    ps_watch cmdlines & watcher=$! &&
    odbk-create --progress none prod >id.path 2>create.err; rc=$?;
    kill $watcher; wait $watcher 2>/dev/null;
    test $rc = 0 && test -s id.path && test -s cmdlines &&
    test_grep "^odbk-create$" cmdlines && test_grep "pg_dump" cmdlines &&
    ! grep -F -f "$TRASH/secrets/s3.secret" cmdlines create.err id.path
'

test_expect_success 'the backup is in the bucket, no multipart upload left open' '
    s3cli s3 ls --recursive "s3://$S3_BUCKET/${TEST_DB_PREFIX%_}/s3/" >objects &&
    test "$(wc -l <objects)" -ge 3 && test_grep "$(cat id.path)" objects &&
    s3cli s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "${TEST_DB_PREFIX%_}/s3/" \
        --query "Contents[].[Key,ETag]" --output text >etags &&
    test_grep "filestore.*-[0-9]+\"?$" etags &&
    test -z "$(s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" \
        --prefix "${TEST_DB_PREFIX%_}/" --query "Uploads[].Key" --output text | grep -v "^None$")"
'

test_expect_success 'restore from S3 (path style) into a new database: same data' '
    odbk-restore --progress none --db-owner "$TEST_OWNER" --new-db "$(test_db copy1)" --filestore "$TRASH/fs-copy1" \
        --no-safety-backup --confirm RESTORE "$(cat id.path)" 2>restore.err &&
    fingerprint "$(test_db copy1)" "$TRASH/fs-copy1" >fp.copy1 &&
    test_cmp fp.src fp.copy1
'

test_expect_success 'odbk-create and odbk-restore through host style' '
    odbk-create --progress none --storage s3host prod >id.host 2>create2.err &&
    s3cli s3 ls --recursive "s3://$S3_BUCKET/${TEST_DB_PREFIX%_}/s3host/" >objects2 &&
    test_grep "$(cat id.host)" objects2 &&
    odbk-restore --progress none --db-owner "$TEST_OWNER" --new-db "$(test_db copy2)" --filestore "$TRASH/fs-copy2" \
        --no-safety-backup --confirm RESTORE "$(cat id.host)" 2>restore2.err &&
    fingerprint "$(test_db copy2)" "$TRASH/fs-copy2" >fp.copy2 &&
    test_cmp fp.src fp.copy2
'

test_expect_success 'the secret is in no output, log or catalog' '
    ! grep -rF -a -f "$TRASH/secrets/s3.secret" "$TRASH"/*.err "$TRASH"/id.* "$ODBK_CATALOG" \
        "$TRASH/.out" "$TRASH/home"
'

test_expect_success 'a wrong secret: odbk-create fails with 77 naming the storage' '
    cp "$TRASH/secrets/s3.secret" good.secret &&
    test_when_finished "cp good.secret \"$TRASH/secrets/s3.secret\"" &&
    (umask 077 && echo WrongWrongWrong0000000000000000000000000 >"$TRASH/secrets/s3.secret") &&
    test_exit_code 77 odbk-create --progress none prod 2>bad.err &&
    test_grep "storage .s3." bad.err && ! grep -F -a -f good.secret bad.err
'

test_expect_success 'clean up the objects of this script' '
    s3cli s3 rm --recursive --quiet "s3://$S3_BUCKET/${TEST_DB_PREFIX%_}/" &&
    test -z "$(s3cli s3 ls --recursive "s3://$S3_BUCKET/${TEST_DB_PREFIX%_}/")"
'

test_done
