#!/usr/bin/env bash
# Faults the testbed's FTP server cannot be made to show, from the scripted fake tests/fake/ftp.py: a STOR
# or RETR answered 421/425/451, a data connection reset, stalled or trickled mid-transfer, a 452 (disk full)
# after part of an upload, a 226 for a file the server kept only part of, a wrong SIZE, RNFR/RNTO refused,
# a hostile listing.  Each either succeeds after a bounded number of attempts (counted in the fake's log)
# with the right bytes, or fails cleanly: its exit code, a failed row with the reason, nothing of it left in
# the server's folder, within a bounded time (a stall ends at the storage's timeout).  A create whose
# read-back (its storage has `verify = read`) the server keeps cutting keeps its stored backup: completed,
# not verified, exit 75.
FAKE=$(cd "$(dirname "$0")/../fake" && pwd)
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create, odbk-restore and odbk-download against a fake FTP server that fails on purpose'
require_service pg
require_program odbk-create odbk-list odbk-restore odbk-download
/usr/bin/python3 -c 'import pyftpdlib' 2>/dev/null || {
	[ "${ODBK_TEST_STRICT:-0}" = 1 ] && fail_setup "python3-pyftpdlib missing (tests/install-deps)"
	skip_all "python3-pyftpdlib missing"; }

ROOT=$TRASH/ftp-root LOG=$TRASH/ftp.log
mkdir -p "$ROOT" && : >"$LOG"
/usr/bin/python3 "$FAKE/ftp.py" --root "$ROOT" --port-file "$TRASH/ftp.port" --log "$LOG" \
	--faults-file "$TRASH/faults.json" --max-seconds 900 >"$TRASH/fake.out" 2>&1 &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null; test_lib_exit' EXIT
for i in $(seq 100); do [ -s "$TRASH/ftp.port" ] && break; sleep 0.1; done
PORT=$(cat "$TRASH/ftp.port" 2>/dev/null)

# faults JSON: the fake reads the file again when it changes; mark the log so counts start here
faults() { printf '%s\n' "$1" >"$TRASH/faults.tmp" && mv "$TRASH/faults.tmp" "$TRASH/faults.json" &&
	echo "MARK" >>"$LOG"; }
# lines of the log since the last faults call that match ERE $1
count() { sed -n '/^MARK$/h; /^MARK$/!H; ${x;p}' "$LOG" | grep -Ec -- "$1"; }
last_status() { odbk-list --json | jq -r '.[0].status'; }
last_error() { odbk-list --json | jq -r '.[0].error'; }
# what the server holds under the env's folder (temporaries included)
stored() { (cd "$ROOT" && find prod -type f 2>/dev/null | sort); }

test_expect_success 'setup: an env on the fake FTP (timeout 3 s, 2 retries), a 3 MB filestore' '
	test -n "$PORT" &&
	make_fixture src --db-mb 1 --fs-mb 3 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	(umask 077 && echo odbk >ftp.pw) &&
	printf "\n[storage fake]\ntype = ftp\nurl = ftp://127.0.0.1:%s/\ntls = none\nuser = odbk\npassword-file = %s\ntimeout = 3\nconnect-timeout = 3\nretries = 2\nverify = read\n" \
		"$PORT" "$TRASH/ftp.pw" >>"$ODBK_CONFIG" &&
	sed -i "s/^storage = disk$/storage = fake/" "$ODBK_CONFIG" &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'

# restore backup $1 into a new database and folder named after $2 and compare with the source
restores_whole() {
	odbk-restore "$1" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}$2" --filestore "$TRASH/r-$2" --confirm RESTORE >/dev/null &&
	fingerprint "${TEST_DB_PREFIX}$2" "$TRASH/r-$2" >"fp.$2" && test_cmp fp.src "fp.$2"
}

# the server's files of backup $1 have the sizes and SHA-256 the manifest records
stored_as_recorded() {
	m=$ROOT/prod/$1/backup-$1-manifest.json &&
	jq -r ".files[] | \"\(.sha256)  \(.name)\"" "$m" >sums &&
	test "$(wc -l <sums)" -ge 2 &&
	(cd "$ROOT/prod/$1" && sha256sum -c --quiet "$TRASH/sums")
}

# a clean failure of odbk-create: exit CODE (or one of CODE|CODE), a failed row with an error matching ERE $2, nothing of the
# failed backup (nor any temporary) left on the server, within $3 seconds
clean_failure() {
	t0=$(date +%s) &&
	{ odbk-create prod >out 2>err; code=$?; } ;
	case "|$1|" in *"|$code|"*) ;; *) echo "exit $code, wanted $1"; cat err; false ;; esac &&
	t=$(( $(date +%s) - t0 )) && echo "failed after $t s" &&
	test "$t" -le "$3" &&
	test_grep "$2" err &&
	test "$(last_status)" = failed && last_error >row.err && test_grep "$2" row.err &&
	id=$(odbk-list --json | jq -r ".[0].id") &&
	! stored | grep -e "/$id/" -e odbk-tmp
}

test_expect_success 'no fault: a backup on the fake is completed, stored as recorded, and restores' '
	faults "[]" &&
	odbk-create prod >id.ok && test "$(last_status)" = completed &&
	test "$(count "^STOR .*filestore")" = 1 &&
	stored_as_recorded "$(cat id.ok)" &&
	restores_whole "$(cat id.ok)" ok &&
	! stored | grep odbk-tmp
'

test_expect_success 'the filestore STOR answered 421 once: retried, a completed backup, stored as recorded' '
	faults "[{\"op\": \"stor\", \"match\": \"filestore\", \"reply\": \"421 Too many connections\", \"times\": 1}]" &&
	odbk-create prod >id.421 && test "$(last_status)" = completed &&
	test "$(count "^STOR .*filestore")" = 2 &&
	stored_as_recorded "$(cat id.421)"
'

test_expect_success 'every STOR of the filestore answered 425: 1 + 2 attempts, exit 69, failed row, nothing left' '
	faults "[{\"op\": \"stor\", \"match\": \"filestore\", \"reply\": \"425 Cannot open data connection\"}]" &&
	clean_failure "69|75" "425|Timeout" 40 &&
	test "$(count "^STOR .*filestore")" = 3
'

test_expect_success 'the filestore STOR answered 425 after 2 s, twice: the retries are no stall, a completed backup' '
	faults "[{\"op\": \"stor\", \"match\": \"filestore\", \"delay\": 2, \"reply\": \"425 Cannot open data connection\", \"times\": 2}]" &&
	odbk-create prod >id.slow425 && test "$(last_status)" = completed &&
	test "$(count "^STOR .*filestore")" = 3 &&
	stored_as_recorded "$(cat id.slow425)"
'

test_expect_success 'the database STOR answered 451 once: sent again, a completed backup' '
	faults "[{\"op\": \"stor\", \"match\": \"database\", \"reply\": \"451 Local error\", \"times\": 1}]" &&
	odbk-create prod >id.451 && test "$(last_status)" = completed &&
	test "$(count "^STOR .*database")" = 2 &&
	stored_as_recorded "$(cat id.451)"
'

test_expect_success 'the data connection reset after 300 KB of the filestore, every time: exit 69, nothing left' '
	faults "[{\"op\": \"stor\", \"match\": \"filestore\", \"reset_after\": 300000}]" &&
	clean_failure 69 "filestore" 60 &&
	n=$(count "^STOR .*filestore") && echo "filestore STORs: $n" && test "$n" -ge 1 && test "$n" -le 3
'

test_expect_success '452 (disk full) after 200 KB of the filestore: exit 74 or 69, the reason, nothing left' '
	faults "[{\"op\": \"stor\", \"match\": \"filestore\", \"reply_after\": 200000, \"reply\": \"452 Insufficient storage space\"}]" &&
	t0=$(date +%s) &&
	test_must_fail odbk-create prod >out 2>err && code=$? &&
	test "$(last_status)" = failed &&
	id=$(odbk-list --json | jq -r ".[0].id") &&
	! stored | grep -e "/$id/" -e odbk-tmp &&
	test $(( $(date +%s) - t0 )) -le 60
'

test_expect_success 'the filestore upload stalls after 300 KB, every time: it ends at the 3 s timeout, exit 75, nothing left' '
	faults "[{\"op\": \"stor\", \"match\": \"filestore\", \"stall_after\": 300000}]" &&
	clean_failure 75 "took nothing for 3 s|timed out|timeout" 40
'

test_expect_success 'every upload trickled at 2 MB/s: slow, but a completed backup stored as recorded' '
	faults "[{\"op\": \"stor\", \"trickle\": 2000000}]" &&
	odbk-create prod >id.slow && test "$(last_status)" = completed &&
	stored_as_recorded "$(cat id.slow)"
'

test_expect_success 'a 226 for a filestore the server kept 1000 bytes of: never a completed backup, nothing left' '
	faults "[{\"op\": \"stor\", \"match\": \"filestore\", \"truncate\": 1000}]" &&
	clean_failure 74 "1000 bytes on the server" 60
'

test_expect_success 'SIZE answers a wrong size for the uploaded filestore: a clean failure, exit 74' '
	faults "[{\"op\": \"size\", \"match\": \"filestore\", \"size\": 5}]" &&
	clean_failure 74 "5 bytes on the server" 60
'

test_expect_success 'the filestore refused while the database STOR waits: the filestore'"'"'s error is the backup'"'"'s' '
	faults "[{\"op\": \"stor\", \"match\": \"database\", \"delay\": 2, \"times\": 1},
		{\"op\": \"stor\", \"match\": \"filestore\", \"reply\": \"553 Not allowed\"}]" &&
	clean_failure 74 "filestore.*553" 60 &&
	test "$(count "^fault STOR .*database.*delayed")" = 1
'

test_expect_success 'RNFR refused every time: exit 74 or 77, the reason, no temporary left' '
	faults "[{\"op\": \"rnfr\", \"match\": \"filestore\", \"reply\": \"550 Rename refused\"}]" &&
	test_must_fail odbk-create prod >out 2>err &&
	test_grep "rename" err &&
	test "$(last_status)" = failed &&
	id=$(odbk-list --json | jq -r ".[0].id") &&
	! stored | grep -e "/$id/" -e odbk-tmp
'

test_expect_success 'RNTO refused once: the rename is tried again and the backup is completed' '
	faults "[{\"op\": \"rnto\", \"match\": \"filestore\", \"reply\": \"553 Not now\", \"times\": 1}]" &&
	odbk-create prod >id.rnto && test "$(last_status)" = completed &&
	stored_as_recorded "$(cat id.rnto)"
'

test_expect_success 'a restore whose RETR is reset after 100 KB once: resumed (REST), the restore is whole' '
	faults "[{\"op\": \"retr\", \"match\": \"filestore\", \"reset_after\": 100000, \"times\": 1}]" &&
	restores_whole "$(cat id.ok)" rreset &&
	test "$(count "^REST [1-9]")" -ge 1
'

test_expect_success 'a RETR answered 421 once: retried, the restore is whole' '
	faults "[{\"op\": \"retr\", \"match\": \"database\", \"reply\": \"421 Busy\", \"times\": 1}]" &&
	restores_whole "$(cat id.ok)" r421 &&
	test "$(count "^RETR .*database")" -ge 2
'

test_expect_success 'every RETR reset after 1000 bytes: the restore fails after a few tries, exit 69, nothing restored' '
	faults "[{\"op\": \"retr\", \"reset_after\": 1000}]" &&
	test_exit_code 69 timeout 120 odbk-restore "$(cat id.ok)" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}rdrip" --filestore "$TRASH/rdrip" --confirm RESTORE >/dev/null 2>err &&
	! test -e "$TRASH/rdrip" &&
	test_must_fail psql -d "${TEST_DB_PREFIX}rdrip" -c "select 1" >/dev/null 2>&1 &&
	n=$(count "^RETR .*database") && echo "database RETRs: $n" && test "$n" -ge 3 && test "$n" -le 8
'

test_expect_success 'every RETR stalls after 1000 bytes: odbk-download fails at the timeouts (exit 75), in bounded time' '
	faults "[{\"op\": \"retr\", \"stall_after\": 1000}]" &&
	t0=$(date +%s) &&
	test_exit_code 75 timeout 120 odbk-download "$(cat id.ok)" --output "$TRASH/dl-stall" >/dev/null 2>err &&
	t=$(( $(date +%s) - t0 )) && echo "failed after $t s" && test "$t" -le 90 &&
	cat "$LOG" >&2 && n=$(count "^RETR ") && echo "RETRs: $n" && test "$n" -ge 3 && test "$n" -le 8
'

test_expect_success 'SIGTERM while a restore retries a stalled RETR: it stops within seconds, exit 143, nothing restored' '
	faults "[{\"op\": \"retr\", \"stall_after\": 1000}]" &&
	{ timeout -s KILL 60 odbk-restore "$(cat id.ok)" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}rterm" --filestore "$TRASH/rterm" --confirm RESTORE >/dev/null 2>err & } &&
	pid=$! && sleep 5 && t0=$(date +%s) && kill -TERM $pid &&
	{ wait $pid; code=$?; } ; t=$(( $(date +%s) - t0 )) && echo "exit $code after $t s" &&
	test "$code" = 143 && test "$t" -le 8 &&
	! test -e "$TRASH/rterm" &&
	test_must_fail psql -d "${TEST_DB_PREFIX}rterm" -c "select 1" >/dev/null 2>&1
'

test_expect_success 'every RETR of the read-back reset after 1000 bytes: exit 75, the backup kept, completed, not verified' '
	faults "[{\"op\": \"retr\", \"reset_after\": 1000}]" &&
	test_exit_code 75 timeout 120 odbk-create prod >id.rb 2>err &&
	faults "[]" &&
	id=$(cat id.rb) && test -n "$id" &&
	test_grep "error: backup $id is stored and complete, not verified: the read-back failed: " err &&
	odbk-list --json | jq -e ".[] | select(.id == \"$id\") | .status == \"completed\" and .verified == false" &&
	stored_as_recorded "$id" &&
	odbk-list --verify prod 2>/dev/null &&
	odbk-list --json | jq -e ".[] | select(.id == \"$id\") | .verified"
'

test_expect_success 'odbk-download with no fault fetches the files as recorded' '
	faults "[]" &&
	odbk-download "$(cat id.ok)" --output "$TRASH/dl" >/dev/null &&
	id=$(cat id.ok) && jq -r ".files[] | \"\(.sha256)  \(.name)\"" "$ROOT/prod/$id/backup-$id-manifest.json" >sums &&
	dir=$(dirname "$(find "$TRASH/dl" -name "backup-$id-manifest.json")") &&
	(cd "$dir" && sha256sum -c --quiet "$TRASH/sums")
'

test_expect_success 'a hostile listing naming files outside the backup folder: nothing outside it is removed' '
	mkdir -p "$ROOT/other" && echo keep >"$ROOT/other/precious" && echo keep >"$ROOT/prod/precious" &&
	faults "[{\"op\": \"stor\", \"match\": \"filestore\", \"reply\": \"550 No\"}, {\"op\": \"mlsd\", \"listing\": \"type=file;size=5; ../../other/precious\ntype=file;size=5; ../precious\ntype=file;size=5; x/../../../other/precious\n\"}]" &&
	test_must_fail odbk-create prod >out 2>err &&
	test "$(last_status)" = failed &&
	test -f "$ROOT/other/precious" && test -f "$ROOT/prod/precious" &&
	test "$(count "^DELE .*precious")" = 0 &&
	odbk-list --json | jq -r ".[0].id" >id.hostile
'
# the made-up listing hid the failed run's real files from its cleanup: the last test does not count them
[ -s "$TRASH/id.hostile" ] && rm -rf "$ROOT/prod/$(cat "$TRASH/id.hostile")" "$ROOT/prod/precious" "$ROOT/other"

test_expect_success 'no fault again: every good backup is there, every failed one left nothing' '
	faults "[]" &&
	for id in $(cat id.ok id.421 id.451 id.slow id.rnto id.rb); do stored_as_recorded "$id" || return 1; done &&
	for id in $(odbk-list --status failed --json | jq -r ".[].id"); do
		! stored | grep "/$id/" || return 1; done &&
	! stored | grep odbk-tmp
'

test_done
