#!/usr/bin/env bash
# Faults the testbed's SFTP server cannot be made to show, from a real OpenSSH sshd and sftp-server with
# the fault filter tests/fake/sftp.py between them (started here on a free port, as the current user): the
# connection dropped mid-upload or mid-download, a stalled server, SSH_FX_FAILURE (what OpenSSH answers for
# a full disk) to a write, a close or a rename, a refused open.  Each either succeeds after a bounded number
# of attempts (counted in the filter's log) with the right bytes, or fails cleanly: its exit code, a failed
# row with the reason, nothing of it left in the server's folder, within a bounded time.
FAKE=$(cd "$(dirname "$0")/../fake" && pwd)
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create, odbk-restore and odbk-download against an sshd whose sftp-server fails on purpose'
require_service pg
require_program odbk-create odbk-list odbk-restore odbk-download
SFTP_SERVER=/usr/lib/openssh/sftp-server
if ! [ -x /usr/sbin/sshd ] || ! [ -x "$SFTP_SERVER" ]; then
	[ "${ODBK_TEST_STRICT:-0}" = 1 ] && fail_setup "sshd or $SFTP_SERVER missing (tests/install-deps)"
	skip_all "sshd or $SFTP_SERVER missing"
fi

D=$TRASH/ssh ROOT=$TRASH/sftp-root LOG=$TRASH/sftp.log ME=$(id -un)
mkdir -p "$D" "$ROOT" && : >"$LOG" && echo "[]" >"$TRASH/faults.json"
ssh-keygen -q -t ed25519 -N '' -f "$D/host" && ssh-keygen -q -t ed25519 -N '' -f "$D/client" &&
cp "$D/client.pub" "$D/authorized_keys"
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd && chmod 0755 /run/sshd
start_sshd() {
	PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$D/sshd_config" <<EOF
ListenAddress 127.0.0.1:$PORT
HostKey $D/host
PidFile none
AuthorizedKeysFile $D/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $ME
UsePAM no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTTY no
LogLevel ERROR
Subsystem sftp $SFTP_SERVER
ForceCommand /usr/bin/python3 $FAKE/sftp.py --faults-file $TRASH/faults.json --log $LOG --state $TRASH/fault-state --max-seconds 900 -- $SFTP_SERVER
EOF
	/usr/sbin/sshd -D -e -f "$D/sshd_config" 2>>"$TRASH/sshd.log" &
	SSHD_PID=$!
	for i in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
		kill -0 $SSHD_PID 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
for try in 1 2 3; do start_sshd && break; done
trap 'kill $SSHD_PID 2>/dev/null; test_lib_exit' EXIT
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$D/host.pub")" >"$D/known_hosts"

faults() { printf '%s\n' "$1" >"$TRASH/faults.tmp" && mv "$TRASH/faults.tmp" "$TRASH/faults.json" &&
	echo "MARK" >>"$LOG"; }
count() { sed -n '/^MARK$/h; /^MARK$/!H; ${x;p}' "$LOG" | grep -Ec -- "$1"; }
last_status() { odbk-list --json | jq -r '.[0].status'; }
last_error() { odbk-list --json | jq -r '.[0].error'; }
stored() { (cd "$ROOT" && find store -type f 2>/dev/null | sort); }

test_expect_success 'setup: an env on the faulty sftp server (timeout 3 s, 2 retries), a 3 MB filestore' '
	kill -0 $SSHD_PID &&
	make_fixture src --db-mb 1 --fs-mb 3 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	printf "\n[storage fake]\ntype = sftp\nhost = 127.0.0.1\nport = %s\nuser = %s\nprivate-key = %s\nknown-hosts = %s\npath = %s\ntimeout = 3\nconnect-timeout = 3\nretries = 2\n" \
		"$PORT" "$ME" "$D/client" "$D/known_hosts" "$ROOT/store" >>"$ODBK_CONFIG" &&
	sed -i "s/^storage = disk$/storage = fake/" "$ODBK_CONFIG" &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'

restores_whole() {
	odbk-restore "$1" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}$2" --filestore "$TRASH/r-$2" --confirm RESTORE >/dev/null &&
	fingerprint "${TEST_DB_PREFIX}$2" "$TRASH/r-$2" >"fp.$2" && test_cmp fp.src "fp.$2"
}

stored_as_recorded() {
	m=$ROOT/store/prod/$1/backup-$1-manifest.json &&
	jq -r ".files[] | \"\(.sha256)  \(.name)\"" "$m" >sums &&
	test "$(wc -l <sums)" -ge 2 &&
	(cd "$ROOT/store/prod/$1" && sha256sum -c --quiet "$TRASH/sums")
}

# exit CODE (or one of CODE|CODE), a failed row with an error matching ERE $2, nothing of it left, within $3 seconds
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

test_expect_success 'no fault: completed, stored as recorded, restores' '
	faults "[]" &&
	odbk-create prod >id.ok && test "$(last_status)" = completed &&
	test "$(count "^open .*filestore.*odbk-tmp")" = 1 &&
	stored_as_recorded "$(cat id.ok)" &&
	restores_whole "$(cat id.ok)" ok &&
	! stored | grep odbk-tmp
'

test_expect_success 'the connection dropped after 500 KB of the filestore, once: resumed, completed, stored as recorded' '
	faults "[{\"op\": \"write\", \"match\": \"filestore\", \"drop_after\": 500000, \"times\": 1}]" &&
	odbk-create prod >id.drop && test "$(last_status)" = completed &&
	test "$(count "connection dropped")" = 1 &&
	test "$(count "^open .*filestore.*odbk-tmp")" = 2 &&
	stored_as_recorded "$(cat id.drop)"
'

test_expect_success 'every connection dropped after 200 KB of writes: 1 + 2 connections, not one per 200 KB; exit 69, nothing left' '
	faults "[{\"op\": \"write\", \"match\": \"filestore\", \"drop_after\": 200000}]" &&
	clean_failure 69 "connection|failed" 40 &&
	n=$(count "^open .*filestore.*odbk-tmp") && echo "filestore opens: $n" && test "$n" -le 3
'

test_expect_success 'the 10th write of the filestore answered SSH_FX_FAILURE (a full disk): exit 74, the reason, nothing left' '
	faults "[{\"op\": \"write\", \"match\": \"filestore\", \"after\": 9, \"status\": 4}]" &&
	clean_failure 74 "cannot write .*filestore.*: failure" 40
'

test_expect_success 'the close of the filestore answered SSH_FX_FAILURE: exit 74, nothing left' '
	faults "[{\"op\": \"close\", \"match\": \"filestore\", \"status\": 4}]" &&
	clean_failure 74 "cannot close .*filestore" 40
'

test_expect_success 'every rename answered SSH_FX_FAILURE: exit 74, no temporary left' '
	faults "[{\"op\": \"rename\", \"match\": \"filestore\", \"status\": 4}]" &&
	clean_failure 74 "cannot rename into .*filestore" 40
'

test_expect_success 'the rename answered SSH_FX_FAILURE once: tried again, completed' '
	faults "[{\"op\": \"rename\", \"match\": \"filestore\", \"status\": 4, \"times\": 1}]" &&
	odbk-create prod >id.ren && test "$(last_status)" = completed &&
	test "$(count "^rename .*filestore")" = 2 &&
	stored_as_recorded "$(cat id.ren)"
'

test_expect_success 'the server stalls at the 20th write of the filestore, once: the 3 s timeout, resumed, completed' '
	faults "[{\"op\": \"write\", \"match\": \"filestore\", \"after\": 19, \"stall\": true, \"times\": 1}]" &&
	odbk-create prod >id.stall1 && test "$(last_status)" = completed &&
	stored_as_recorded "$(cat id.stall1)"
'

test_expect_success 'the server stalls at every write after the 20th: bounded by the timeouts, exit 75 or 69, nothing left' '
	faults "[{\"op\": \"write\", \"match\": \"filestore\", \"after\": 19, \"stall\": true}]" &&
	t0=$(date +%s) &&
	test_must_fail odbk-create prod >out 2>err &&
	t=$(( $(date +%s) - t0 )) && echo "failed after $t s" && test "$t" -le 40 &&
	test_grep "timed out|timeout|connection" err &&
	test "$(last_status)" = failed &&
	id=$(odbk-list --json | jq -r ".[0].id") &&
	! stored | grep -e "/$id/" -e odbk-tmp
'

test_expect_success 'every write answer held 20 ms: slow, but completed and stored as recorded' '
	faults "[{\"op\": \"write\", \"delay\": 0.02}]" &&
	odbk-create prod >id.slow && test "$(last_status)" = completed &&
	stored_as_recorded "$(cat id.slow)"
'

test_expect_success 'a restore whose connection drops at the 5th read of the filestore: resumed, whole' '
	faults "[{\"op\": \"read\", \"match\": \"filestore\", \"after\": 4, \"drop\": true, \"times\": 1}]" &&
	restores_whole "$(cat id.ok)" rdrop &&
	test "$(count "connection dropped")" = 1
'

test_expect_success 'the open of the database for reading refused (permission denied): exit 77, nothing restored' '
	faults "[{\"op\": \"open\", \"match\": \"database\", \"status\": 3}]" &&
	test_exit_code 77 odbk-restore "$(cat id.ok)" --db-owner "$TEST_OWNER" --new-db "${TEST_DB_PREFIX}rperm" --filestore "$TRASH/rperm" --confirm RESTORE >/dev/null 2>err &&
	test_grep "permission denied" err &&
	! test -e "$TRASH/rperm" &&
	test_must_fail psql -d "${TEST_DB_PREFIX}rperm" -c "select 1" >/dev/null 2>&1
'

test_expect_success 'every read stalls: odbk-download fails at the timeouts (exit 75 or 69) in bounded time' '
	faults "[{\"op\": \"read\", \"stall\": true}]" &&
	t0=$(date +%s) &&
	test_must_fail timeout 120 odbk-download "$(cat id.ok)" --output "$TRASH/dl-stall" >/dev/null 2>err &&
	t=$(( $(date +%s) - t0 )) && echo "failed after $t s" && test "$t" -le 90 &&
	n=$(count "^open .*backup-") && echo "opens: $n" && test "$n" -le 8
'

test_expect_success 'no fault again: every good backup is there, every failed one left nothing' '
	faults "[]" &&
	for id in $(cat id.ok id.drop id.ren id.stall1 id.slow); do stored_as_recorded "$id" || return 1; done &&
	for id in $(odbk-list --status failed --json | jq -r ".[].id"); do
		! stored | grep "/$id/" || return 1; done &&
	! stored | grep odbk-tmp
'

test_done
