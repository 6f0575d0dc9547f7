#!/usr/bin/env bash
# The SFTP storage driver against the testbed's sshd: the storage contract, host key checking (known_hosts,
# pinned fingerprint, refusals naming the real fingerprint), authentication and connection failures, and
# recovery from a connection dropped in the middle of a read and of a write.
. "$(dirname "$0")/test-lib.sh"
. "$ODBK_SRC/tests/integration/lib-storage.sh"
test_description 'sftp storage driver'
require_service sftp
require_program odbk-test-storage

(umask 077 && : >"$ODBK_CONF")
odbk_conf_storage sftp
T=odbk-test-storage
ROOT=$SFTP_DATA_DIR/${TEST_DB_PREFIX%_}

storage_contract "$ODBK_CONF" sftp 12

# sftp_conf NAME KEY=VALUE...: a config with one sftp storage on the testbed (known-hosts unless overridden)
sftp_conf() {
    local f=$TRASH/$1.conf kv; shift
    (umask 077 && {
        printf '[storage s]\ntype = sftp\nhost = %s\nport = %s\nuser = %s\n' "$SFTP_HOST" "$SFTP_PORT" "$SFTP_USER"
        for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
    } >"$f")
}

test_expect_success 'host-key-sha256 pin (with and without the SHA256: prefix) is accepted' '
    sftp_conf pin "private-key=$SFTP_KEY" "host-key-sha256=$SFTP_HOSTKEY_SHA256" "path=$ROOT/pin" &&
    sftp_conf pin2 "private-key=$SFTP_KEY" "host-key-sha256=SHA256:$SFTP_HOSTKEY_SHA256=" "path=$ROOT/pin" &&
    echo pinned | $T pin.conf s put x/one &&
    test "$($T pin2.conf s get x/one)" = pinned &&
    test "$(cat "$ROOT/pin/x/one")" = pinned &&
    $T pin.conf s rm x/one && ! test -e "$ROOT/pin/x"
'

test_expect_success 'a wrong pin is refused (77) naming the real fingerprint' '
    sftp_conf badpin "private-key=$SFTP_KEY" "host-key-sha256=$(printf "A%.0s" $(seq 43))" "path=$ROOT/x" &&
    test_exit_code 77 $T badpin.conf s put nope </dev/null 2>err &&
    grep -F "SHA256:$SFTP_HOSTKEY_SHA256" err &&
    ! test -e "$ROOT/x"
'

test_expect_success 'a known_hosts with another key for the host is refused (77) naming the real fingerprint' '
    ssh-keygen -q -t ed25519 -N "" -f other &&
    printf "[%s]:%s %s\n" "$SFTP_HOST" "$SFTP_PORT" "$(cut -d" " -f1,2 other.pub)" >kh-other &&
    sftp_conf khother "private-key=$SFTP_KEY" "known-hosts=$TRASH/kh-other" "path=$ROOT/x" &&
    test_exit_code 77 $T khother.conf s list 2>err &&
    test_grep "CHANGED" err && grep -F "SHA256:$SFTP_HOSTKEY_SHA256" err
'

test_expect_success 'a known_hosts without the host is refused (77) naming the real fingerprint' '
    printf "[otherhost]:22 %s\n" "$(cut -d" " -f1,2 other.pub)" >kh-none &&
    sftp_conf khnone "private-key=$SFTP_KEY" "known-hosts=$TRASH/kh-none" "path=$ROOT/x" &&
    test_exit_code 77 $T khnone.conf s stat a 2>err &&
    test_grep "not in known-hosts" err && grep -F "SHA256:$SFTP_HOSTKEY_SHA256" err
'

test_expect_success 'neither known-hosts nor host-key-sha256 is a config error (78)' '
    sftp_conf nohk "private-key=$SFTP_KEY" "path=$ROOT/x" &&
    test_exit_code 78 $T nohk.conf s list 2>err &&
    test_grep "known-hosts" err
'

test_expect_success 'a timeout that is not a number of seconds is a config error (78) naming the range' '
    sftp_conf badnum "private-key=$SFTP_KEY" "known-hosts=$SFTP_KNOWN_HOSTS" "path=$ROOT/x" "timeout=5x" &&
    test_exit_code 78 $T badnum.conf s list 2>err &&
    test_grep "timeout: .5x. is not a number of seconds from 1 to 86400" err
'

test_expect_success 'a key the server does not accept is refused (77)' '
    sftp_conf badkey "private-key=$TRASH/other" "known-hosts=$SFTP_KNOWN_HOSTS" "path=$ROOT/x" &&
    test_exit_code 77 $T badkey.conf s list 2>err &&
    test_grep "authentication as" err
'

test_expect_success 'a private key others can read is refused' '
    cp "$SFTP_KEY" loose && chmod 644 loose &&
    sftp_conf loose "private-key=$TRASH/loose" "known-hosts=$SFTP_KNOWN_HOSTS" &&
    test_exit_code 77 $T loose.conf s list 2>err &&
    test_grep "can be read by others" err
'

test_expect_success 'connection refused is exit 69' '
    port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
    (umask 077 && printf "[storage s]\ntype = sftp\nhost = 127.0.0.1\nport = %s\nuser = u\nprivate-key = %s\nhost-key-sha256 = %s\nretries = 1\n" \
        "$port" "$SFTP_KEY" "$SFTP_HOSTKEY_SHA256" >refused.conf) &&
    test_exit_code 69 $T refused.conf s list 2>err &&
    test_grep "cannot connect" err
'

test_expect_success 'a relative path is relative to the login directory' '
    rel=${TEST_DB_PREFIX%_}-rel &&
    sftp_conf rel "private-key=$SFTP_KEY" "known-hosts=$SFTP_KNOWN_HOSTS" "path=$rel/sub" &&
    test_when_finished "rm -rf \"$SFTP_DATA_DIR/$rel\"" &&
    echo relative | $T rel.conf s put k/v &&
    test "$(cat "$SFTP_DATA_DIR/$rel/sub/k/v")" = relative &&
    echo "k/v 9" >expect && $T rel.conf s list >actual && test_cmp expect actual
'

# The sshd processes serving our connections: children of the testbed's listening sshd.
sshd_children() { pgrep -P "$(cat "$TESTBED_STATE/pids/sftp.pid")"; }

head -c $((8 * 1024 * 1024 + 777)) /dev/urandom >big

test_expect_success 'a read resumes after the connection drops' '
    $T "$ODBK_CONF" sftp put drop/read.bin <big &&
    { $T "$ODBK_CONF" sftp get drop/read.bin | { sleep 2; cat; } >got & } &&
    sleep 1 && kids=$(sshd_children) && test -n "$kids" && kill $kids &&
    wait && cmp big got
'

test_expect_success 'a write resumes after the connection drops' '
    { { head -c 5000000 big; sleep 2; tail -c +5000001 big; } | $T "$ODBK_CONF" sftp put drop/write.bin & } &&
    sleep 1 && kids=$(sshd_children) && test -n "$kids" && kill $kids &&
    wait $! &&
    $T "$ODBK_CONF" sftp get drop/write.bin >got2 && cmp big got2 &&
    $T "$ODBK_CONF" sftp rmprefix drop/ && ! test -e "$ROOT/sftp/drop"
'

rm -rf "$ROOT"
test_done
