#!/usr/bin/env bash
# odbk-list --rescan with one storage down (an S3 endpoint that refuses connections, first in the config)
# and one up: the storage that answers is scanned all the same and its backups are in the catalog, the
# one that does not is a warning line naming it, the listing is printed, the audit log says "partial",
# and the exit code is the failed storage's (69, unreachable), not 0 nor the 65 of a skipped manifest.
# (Before: the rescan stopped at the first storage down, and dropped the warnings and the audit entry.)
# --progress=json shows each storage as a phase "rescan NAME", started, then finished or failed.
. "$(dirname "$0")/test-lib.sh"
test_description 'rescan goes on past a storage that is down, and its exit code says so'
require_service pg
require_program odbk-create odbk-list sqlite3 jq

make_fixture src --db-mb 1 --fs-mb 1 --files 3
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
printf 'id\n' >"$TRASH/down.id" && printf 'secret\n' >"$TRASH/down.secret" && chmod 600 "$TRASH"/down.*
# the storage that is down comes first: the scan must not stop there
{ printf '[storage down]\ntype = s3\nendpoint = http://127.0.0.1:1\nregion = us-east-1\nbucket = b\n'
  printf 'uri-style = path\naccess-key-id-file = %s\nsecret-access-key-file = %s\nretries = 0\n\n' \
	"$TRASH/down.id" "$TRASH/down.secret"
  cat "$ODBK_CONF"; } >conf.new && cat conf.new >"$ODBK_CONF"
rows() { sqlite3 "$ODBK_CATALOG" "SELECT id, status, storage FROM backups ORDER BY id"; }

test_expect_success 'setup: two backups on the storage that is up, then the catalog lost' '
	odbk-create prod --quiet >id1 && odbk-create prod --quiet >id2 &&
	rows >rows.before && test "$(wc -l <rows.before)" = 2 &&
	rm -f "$ODBK_CATALOG" "$ODBK_CATALOG"-*
'

test_expect_success 'rescan: the backups of the storage up are imported, exit 69 naming the storage down' '
	test_exit_code 69 odbk-list --rescan >out 2>err &&
	rows >rows.after && test_cmp rows.before rows.after &&
	grep -q "^$(cat id1) " out && grep -q "^$(cat id2) " out &&
	test_grep "warning: storage .down.: .*127.0.0.1" err &&
	test_grep "odbk-list: 2 backups found in storage \(2 new\), 0 manifests skipped, 0 conflicts, 1 storage not scanned" err &&
	test_grep "error: 1 of 2 storages could not be scanned, the first: storage .down." err
'

test_expect_success 'the audit log has the rescan, partial, with the count of storages failed' '
	sqlite3 "$ODBK_CATALOG" "SELECT result, detail FROM audit WHERE action = '\''rescan'\''" >audit &&
	test_grep "^partial|2 backups found, 2 imported, 0 skipped, 0 conflicts, 1 storages failed\$" audit
'

test_expect_success 'again: nothing new, the same exit code; --storage of the one up alone: exit 0' '
	test_exit_code 69 odbk-list --rescan >/dev/null 2>err &&
	test_grep "2 backups found in storage \(0 new\)" err &&
	odbk-list --rescan --storage disk >/dev/null 2>err &&
	test_grep "2 backups found in storage \(0 new\), 0 manifests skipped, 0 conflicts\$" err &&
	rows >rows.again && test_cmp rows.before rows.again
'

test_expect_success 'only the storage down: exit 69, the audit says failed' '
	test_exit_code 69 odbk-list --rescan --storage down >/dev/null 2>err &&
	test_grep "error: 1 of 1 storage could not be scanned" err &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT result FROM audit WHERE action = '\''rescan'\'' ORDER BY id DESC LIMIT 1")" = failed
'

test_expect_success 'a damaged manifest besides the storage down: still 69 (the storage), the warning for both' '
	mkdir -p "$TRASH/storage/disk/prod/20260101T000000Z-abcdef" &&
	echo "{" >"$TRASH/storage/disk/prod/20260101T000000Z-abcdef/backup-20260101T000000Z-abcdef-manifest.json" &&
	test_exit_code 69 odbk-list --rescan >/dev/null 2>err &&
	test_grep "warning: skipping prod/20260101T000000Z-abcdef/backup-20260101T000000Z-abcdef-manifest.json in storage .disk." err &&
	test_grep "warning: storage .down." err &&
	odbk-list --rescan --storage disk >/dev/null 2>err; test $? = 65
'

test_expect_success '--progress=json: one phase per storage, the one down failed, the other finished' '
	test_exit_code 69 odbk-list --rescan --progress=json >/dev/null 2>err &&
	grep "^{" err >events &&
	jq -e -s "map(select(.phase == \"rescan down\" and .status == \"failed\")) | length == 1" events &&
	jq -e -s "map(select(.phase == \"rescan disk\" and .status == \"finished\" and .bytes > 0 and .bytes == .expected)) | length == 1" events &&
	jq -e -s "map(select(.phase == null and .status == \"failed\")) | length == 1" events
'

test_done
