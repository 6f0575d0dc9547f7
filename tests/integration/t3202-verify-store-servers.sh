#!/usr/bin/env bash
# odbk-create's default verification against the testbed's real servers (issue 18): on Ceph RGW the
# store confirms each file's size and MD5 (part ETags, and a HEAD's multipart ETag), "checksum", and
# the counting proxy in front of it (tests/fake/count-proxy.py) sees a HEAD per file and not one GET;
# --verify read reads every file back through it.  SFTP, FTP and local disk confirm the size under the
# final name, "size".  odbk-list shows how each backup was verified (table, --backup, --json), and a
# later odbk-list --verify reads them back ("read").
. "$(dirname "$0")/test-lib.sh"
test_description 'verify = store against RGW, SFTP, FTP and local disk: no second download'
require_service pg s3 sftp ftp
require_program odbk-create odbk-list

python3 "$ODBK_SRC/tests/fake/count-proxy.py" --target "${S3_ENDPOINT#http://}" --port-file "$TRASH/proxy.port" \
	--log "$TRASH/proxy.log" --max-seconds 600 >"$TRASH/proxy.out" 2>&1 &
PROXY_PID=$!
trap 'kill $PROXY_PID 2>/dev/null; test_lib_exit' EXIT
for i in $(seq 50); do [ -s "$TRASH/proxy.port" ] && break; sleep 0.1; done
# requests of METHOD the proxy passed for backup ID
asked() { grep -c "^$1 .*/$2/" "$TRASH/proxy.log"; }
newest() { odbk-list --json "$1" | jq -r ".[0].$2"; }

test_expect_success 'setup: env rgw on RGW through the proxy (5 MiB parts), envs on sftp, ftp, disk' '
	test -s "$TRASH/proxy.port" &&
	make_fixture src --db-mb 1 --fs-mb 11 --files 10 &&
	odbk_conf rgw "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
	sed -i "s|^endpoint = $S3_ENDPOINT\$|endpoint = http://127.0.0.1:$(cat "$TRASH/proxy.port")\npart-size = 5MiB|" "$ODBK_CONFIG" &&
	odbk_conf_storage sftp && odbk_conf_storage ftp &&
	odbk_conf_env psftp "$FIXTURE_DB" "$FIXTURE_FS" sftp &&
	odbk_conf_env pftp "$FIXTURE_DB" "$FIXTURE_FS" ftp &&
	odbk_conf_env pdisk "$FIXTURE_DB" "$FIXTURE_FS" disk
'

test_expect_success 'RGW, the default: verified "checksum"; a HEAD per file, parts PUT, not one GET' '
	odbk-create rgw >id 2>err && id=$(cat id) &&
	test_must_be_empty err &&
	test "$(newest rgw status)" = completed && test "$(newest rgw verified_by)" = checksum &&
	test "$(asked HEAD "$id")" = 2 &&
	test "$(grep -c "^PUT .*/$id/.*filestore.*partNumber=" "$TRASH/proxy.log")" -ge 2 &&
	test "$(asked GET "$id")" = 0
'

test_expect_success 'RGW, --verify read: every file read back through the proxy, verified "read"' '
	odbk-create --verify read rgw >id 2>err && id=$(cat id) &&
	test "$(newest rgw verified_by)" = read &&
	test "$(asked GET "$id")" -ge 2 && test "$(asked HEAD "$id")" = 0
'

for env in psftp pftp pdisk; do
	test_expect_success "$env: the default confirms the size under the final name, verified \"size\"" '
		odbk-create '$env' >id.'$env' 2>err &&
		test_must_be_empty err &&
		test "$(newest '$env' status)" = completed && test "$(newest '$env' verified_by)" = size
	'
done

test_expect_success 'odbk-list says how: the VERIFIED column, --backup, and --verify makes it "read"' '
	odbk-list pdisk | grep "^$(cat id.pdisk) " | grep -q " size " &&
	odbk-list --backup "$(cat id.pdisk)" | grep -Eq "^verified +size$" &&
	odbk-list --verify psftp 2>/dev/null && test "$(newest psftp verified_by)" = read &&
	odbk-list psftp | grep "^$(cat id.psftp) " | grep -q " read "
'

test_done
