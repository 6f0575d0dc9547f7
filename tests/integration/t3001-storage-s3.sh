#!/usr/bin/env bash
# t3001-storage-s3.sh - the S3 driver against the testbed's S3 server (Ceph RGW, which verifies SigV4):
# the storage contract in both uri-styles with 5 MiB parts (so the 12 MiB object is a multipart upload),
# credentials and their errors, aborted uploads leaving nothing, presigned URLs, a server stopped mid-upload.
. "$(dirname "$0")/test-lib.sh"
. "$ODBK_SRC/tests/integration/lib-storage.sh"
test_description 'S3 storage driver: contract (host and path style), errors, presign, aborts'
require_service s3
require_program odbk-test-storage

T=odbk-test-storage
PFX=${TEST_DB_PREFIX%_}
MIB=$((1024 * 1024))
CONF=$TRASH/s3.conf
S=$TRASH/secrets
mkdir -p "$S" && chmod 0700 "$S"
(umask 077 && printf '%s\n' "$S3_ACCESS_KEY" >"$S/id" && printf '%s\n' "$S3_SECRET_KEY" >"$S/secret" &&
    printf 'NotTheSecret0000000000000000000000000000\n' >"$S/wrong")

# [storage NAME] for the testbed: s3_section NAME URI-STYLE [extra key lines...]
s3_section() {
    local name=$1 style=$2 endpoint=$S3_ENDPOINT
    shift 2
    # host style: http://BUCKET.s3.localhost:PORT (curl resolves *.localhost to the loopback itself)
    [ "$style" = host ] && endpoint=http://${S3_VHOST_SUFFIX:?}
    printf '\n[storage %s]\ntype = s3\nendpoint = %s\nregion = %s\nbucket = %s\nprefix = %s/%s/\nuri-style = %s\n' \
        "$name" "$endpoint" "$S3_REGION" "$S3_BUCKET" "$PFX" "$name" "$style"
    printf '%s\n' "$@"
}
creds="access-key-id-file = $S/id"
secret="secret-access-key-file = $S/secret"
{
    s3_section s3path path "$creds" "$secret" "part-size = 5MiB"
    s3_section s3host host "$creds" "$secret" "part-size = 5MiB"
    s3_section narrow path "$creds" "$secret" "part-size = 5MiB" "upload-concurrency = 2"
    s3_section fromenv path
    s3_section badsecret path "$creds" "secret-access-key-file = $S/wrong"
    s3_section fragile path "$creds" "$secret" "part-size = 5MiB" "upload-concurrency = 2" "retries = 2" "timeout = 2"
} >"$CONF"
chmod 0600 "$CONF"

# multipart uploads still open under this script's prefix (one "Key UploadId" line each)
open_uploads() {
    aws --endpoint-url "$S3_ENDPOINT" s3api list-multipart-uploads --bucket "$S3_BUCKET" --prefix "$PFX/" \
        --query 'Uploads[].[Key,UploadId]' --output text | grep -v '^None$' || :
}

storage_contract "$CONF" s3path 12
storage_contract "$CONF" s3host 12

test_expect_success 'objects land under the prefix, with the bytes put (checked with the aws cli)' '
    head -c $((11 * MIB)) /dev/urandom >obj &&
    $T "$CONF" s3host put dir/obj.bin <obj &&
    aws --endpoint-url "$S3_ENDPOINT" s3 cp "s3://$S3_BUCKET/$PFX/s3host/dir/obj.bin" got >/dev/null &&
    cmp obj got &&
    $T "$CONF" s3host rm dir/obj.bin
'

test_expect_success 'six parts through two upload slots come back intact' '
    head -c $((26 * MIB + 7)) /dev/urandom >six &&
    $T "$CONF" narrow put six.bin <six &&
    $T "$CONF" narrow get six.bin >got && cmp six got &&
    test "$($T "$CONF" narrow stat six.bin)" = $((26 * MIB + 7)) &&
    test -z "$(open_uploads)" &&
    $T "$CONF" narrow rm six.bin
'

test_expect_success 'an object of exactly one part is a single PUT, one byte more is multipart' '
    head -c $((5 * MIB)) /dev/urandom >one && head -c $((5 * MIB + 1)) /dev/urandom >two &&
    $T "$CONF" s3path put one <one && $T "$CONF" s3path put two <two &&
    aws --endpoint-url "$S3_ENDPOINT" s3api head-object --bucket "$S3_BUCKET" --key "$PFX/s3path/one" \
        --query ETag --output text >etag1 &&
    aws --endpoint-url "$S3_ENDPOINT" s3api head-object --bucket "$S3_BUCKET" --key "$PFX/s3path/two" \
        --query ETag --output text >etag2 &&
    test_grep ! "[-][0-9]+\"?$" etag1 && test_grep "[-]2\"?$" etag2 &&
    $T "$CONF" s3path get two >got && cmp two got &&
    $T "$CONF" s3path rmprefix ""
'

test_expect_success 'credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY' '
    AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY $T "$CONF" fromenv put e.txt <"$CONF" &&
    AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY $T "$CONF" fromenv get e.txt >got &&
    cmp "$CONF" got &&
    AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY $T "$CONF" fromenv rm e.txt
'

test_expect_success 'no credentials at all: exit 78 naming the storage' '
    test_exit_code 78 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
        $T "$CONF" fromenv list 2>err &&
    test_grep "fromenv" err && test_grep "credentials" err
'

test_expect_success 'wrong secret: exit 77, the storage and the S3 error named, no secret shown' '
    printf x >x &&
    test_exit_code 77 $T "$CONF" badsecret put k <x 2>err &&
    test_grep "storage .badsecret." err && test_grep "SignatureDoesNotMatch" err &&
    test_exit_code 77 $T "$CONF" badsecret list 2>err2 &&
    test_exit_code 77 $T "$CONF" badsecret stat k 2>err3 && test_grep "storage .badsecret." err3 &&
    cat err err2 err3 >all &&
    test_grep ! "$S3_SECRET_KEY" all && test_grep ! NotTheSecret all
'

test_expect_success 'unknown bucket: a config error (78)' '
    sed "s/^bucket = .*/bucket = no-such-bucket-$$/" "$CONF" >nob.conf && chmod 0600 nob.conf &&
    test_exit_code 78 $T nob.conf s3path list 2>err && test_grep NoSuchBucket err
'

test_expect_success 'an aborted multipart upload leaves no upload open and no object' '
    head -c $((17 * MIB)) /dev/urandom >big17 &&
    test_exit_code 3 $T "$CONF" s3path put aborted.bin --abort-after $((16 * MIB)) <big17 &&
    test -z "$(open_uploads)" &&
    test_exit_code 66 $T "$CONF" s3path stat aborted.bin
'

test_expect_success 'a presigned URL fetched with plain curl gives the object (both uri-styles)' '
    head -c $((1 * MIB + 3)) /dev/urandom >p.bin &&
    $T "$CONF" s3path put p.bin <p.bin && $T "$CONF" s3host put p.bin <p.bin &&
    $T "$CONF" s3path presign p.bin 900 >url1 && $T "$CONF" s3host presign p.bin 900 >url2 &&
    curl -sf -o got1 "$(cat url1)" && cmp p.bin got1 &&
    curl -sf -o got2 "$(cat url2)" && cmp p.bin got2 &&
    test_grep "X-Amz-Expires=900" url1 && test_grep ! "$S3_SECRET_KEY" url1
'

test_expect_success 'a URL presigned 2 hours ago for 15 minutes is refused' '
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        faketime -f -2h $T "$CONF" s3path presign p.bin 900 >old &&
    test "$(curl -s -o /dev/null -w "%{http_code}" "$(cat old)")" = 403
'

test_expect_success 'presign refuses more than 7 days' '
    test_exit_code 64 $T "$CONF" s3path presign p.bin 604801 2>err && test_grep "7 days" err &&
    $T "$CONF" s3path presign p.bin 604800 >/dev/null
'

if [ "${S3_BACKEND:-}" = rgw ] && [ -s "${TESTBED_STATE:-}/s3/run/client.rgw.a.pid" ]; then
    test_set_prereq RGW
fi

# Stop radosgw (SIGSTOP: connections hang) once the multipart upload is under way; it resumes 16 s later.
# With timeout = 2 and retries = 2 the parts give up after ~8-10 s; the abort, given a longer budget, gets
# through after the server resumes, so nothing is left.
test_expect_success RGW 'server stopped mid-upload: retries, then a clean failure, nothing left' '
    rgw=$(cat "$TESTBED_STATE/s3/run/client.rgw.a.pid") &&
    test_when_finished "kill -CONT $rgw" &&
    head -c $((30 * MIB)) /dev/urandom >stop.bin &&
    start=$(date +%s) &&
    { rc=0; {
        head -c $((6 * MIB)) stop.bin && sleep 1 && kill -STOP $rgw &&
        { sleep 16; kill -CONT $rgw; } >/dev/null 2>&1 &
        sleep 1.5 && tail -c +$((6 * MIB + 1)) stop.bin
      } | $T "$CONF" fragile put stopped.bin 2>err || rc=$?; } &&
    wait &&
    echo "exit $rc after $(( $(date +%s) - start )) s" && cat err &&
    case $rc in 69|75) ;; *) false ;; esac &&
    test_grep "storage .fragile." err && test_grep "part [0-9]+" err &&
    test -z "$(open_uploads)" &&
    test_exit_code 66 $T "$CONF" fragile stat stopped.bin
'

test_expect_success 'clean up this script'"'"'s objects' '
    $T "$CONF" s3path rmprefix "" && $T "$CONF" s3host rmprefix "" &&
    $T "$CONF" narrow rmprefix "" && $T "$CONF" fragile rmprefix "" &&
    test -z "$(aws --endpoint-url "$S3_ENDPOINT" s3 ls --recursive "s3://$S3_BUCKET/$PFX/")"
'

test_expect_success 'sweep aborts unfinished multipart uploads under the prefix, and only old ones' '
    aws --endpoint-url "$S3_ENDPOINT" s3api create-multipart-upload --bucket "$S3_BUCKET" \
        --key "$PFX/s3path/env1/dead/backup.sql.gz" --output text >/dev/null &&
    aws --endpoint-url "$S3_ENDPOINT" s3api create-multipart-upload --bucket "$S3_BUCKET" \
        --key "$PFX/s3path/env2/other.sql.gz" --output text >/dev/null &&
    test "$(open_uploads | wc -l)" = 2 &&
    test "$($T "$CONF" s3path sweep env1/ 3600)" = 0 &&
    test "$(open_uploads | wc -l)" = 2 &&
    sleep 1 &&
    test "$($T "$CONF" s3path sweep env1/ 0)" = 1 &&
    open_uploads >left && test_line_count = 1 left && test_grep "env2/other" left &&
    test "$($T "$CONF" s3path sweep "" 0)" = 1 &&
    test -z "$(open_uploads)"
'

test_done
