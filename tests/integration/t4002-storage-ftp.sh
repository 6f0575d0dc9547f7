#!/usr/bin/env bash
# The FTP storage driver against the testbed's pyftpdlib: the storage contract, tls = try on a plain
# server, a wrong password, a server that stops answering in the middle of an upload, and the password
# kept off every command line and out of every message.
. "$(dirname "$0")/test-lib.sh"
. "$ODBK_SRC/tests/integration/lib-storage.sh"
test_description 'ftp storage driver'
require_service ftp
require_program odbk-test-storage

(umask 077 && : >"$ODBK_CONF")
odbk_conf_storage ftp
T=odbk-test-storage
PFX=${TEST_DB_PREFIX%_}
ROOT=$FTP_DATA_DIR/$PFX

storage_contract "$ODBK_CONF" ftp 12

# ftp_conf NAME KEY=VALUE...: a config with one ftp storage "f" on the testbed
ftp_conf() {
    local f=$TRASH/$1.conf kv; shift
    (umask 077 && {
        printf '[storage f]\ntype = ftp\nuser = %s\n' "$FTP_USER"
        for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
    } >"$f")
}
(umask 077 && printf '%s\n' "$FTP_PASSWORD" >pw && printf 'not-the-password\n' >badpw)

test_expect_success 'tls = try works on a server without TLS' '
    ftp_conf try "url=${FTP_URL}$PFX/try" "password-file=$TRASH/pw" "tls=try" &&
    echo tried | $T try.conf f put a/b &&
    test "$(cat "$ROOT/try/a/b")" = tried &&
    $T try.conf f rm a/b && ! test -e "$ROOT/try/a"
'

test_expect_success 'tls unset (required) refuses a server without TLS' '
    ftp_conf req "url=${FTP_URL}$PFX/req" "password-file=$TRASH/pw" &&
    test_must_fail $T req.conf f list 2>err &&
    test_grep "does not offer TLS" err
'

test_expect_success 'a wrong password is exit 77, and the message holds no password' '
    ftp_conf bad "url=${FTP_URL}$PFX/bad" "password-file=$TRASH/badpw" "tls=none" &&
    test_exit_code 77 $T bad.conf f list 2>err &&
    test_grep "login as" err &&
    test_exit_code 77 $T bad.conf f put x </dev/null 2>err2 &&
    ! grep -F not-the-password err err2
'

test_expect_success 'a password in the url is refused' '
    ftp_conf inurl "url=ftp://$FTP_USER:$FTP_PASSWORD@$FTP_HOST:$FTP_PORT/x" "tls=none" &&
    test_exit_code 78 $T inurl.conf f list 2>err &&
    ! grep -F "$FTP_PASSWORD" err
'

test_expect_success 'active mode works' '
    ftp_conf active "url=${FTP_URL}$PFX/active" "password-file=$TRASH/pw" "tls=none" "active=true" &&
    echo active | $T active.conf f put k && test "$($T active.conf f get k)" = active &&
    echo "k 7" >expect && $T active.conf f list >actual && test_cmp expect actual
'

head -c $((24 * 1024 * 1024)) /dev/urandom >big

test_expect_success 'the password is on no command line during a transfer, nor in any output' '
    { { head -c 8000000 big; sleep 4; tail -c +8000001 big; } |
        $T "$ODBK_CONF" ftp put secret/big.bin >out 2>err & } &&
    sleep 1 && pgrep -f "odbk-test-storage $ODBK_CONF ftp put" &&
    leaks= &&
    for p in /proc/[0-9]*; do
        cmd=$(cat "$p/cmdline" 2>/dev/null | tr "\0" " ") || continue
        case $cmd in *"-m pyftpdlib "*) continue ;; esac   # the testbed servers (theirs, not ours)
        case $cmd in *"$FTP_PASSWORD"*) leaks="$leaks ${p#/proc/}:$cmd" ;; esac
    done;
    echo "leaks: $leaks" && test -z "$leaks" &&
    wait $! &&
    ! grep -F -- "$FTP_PASSWORD" out err &&
    $T "$ODBK_CONF" ftp get secret/big.bin | cmp big -
'

test_expect_success 'the server stopping mid-upload: clean failure, no object, no temporary file' '
    ftp_conf stall "url=${FTP_URL}$PFX/stall" "password-file=$TRASH/pw" "tls=none" "timeout=2" "connect-timeout=2" "retries=3" &&
    server=$(cat "$TESTBED_STATE/pids/ftp.pid") &&
    test_when_finished "kill -CONT $server" &&
    { ( { head -c 4000000 big; sleep 1; cat big; } | $T stall.conf f put s/obj >out 2>err; echo $? >rc ) & } &&
    # stopped once bytes arrived (mid-upload): a stop before the first byte is retried, and then succeeds
    for i in $(seq 50); do test -n "$(find "$ROOT/stall" -type f -size +0 2>/dev/null)" && break; sleep 0.1; done &&
    kill -STOP "$server" && sleep 5 && kill -CONT "$server" && wait &&
    rc=$(cat rc) && test "$rc" -ne 0 && test "$rc" -lt 126 &&
    cat err && test_grep "storage .f.: cannot upload" err && ! grep -F "$FTP_PASSWORD" err &&
    test_exit_code 66 $T stall.conf f stat s/obj &&
    test -z "$(find "$ROOT/stall" -type f 2>/dev/null)"
'

rm -rf "$ROOT"
test_done
