#!/usr/bin/env bash
# SFTP with RSA against OpenSSH >= 8.8 through libssh2 < 1.11: libssh2 signs and checks RSA only as SHA-1
# "ssh-rsa", which OpenSSH refuses by default.  The failure says so and what to do (an ed25519 key, or the
# server option), not "check user, private-key ...": for an RSA user key (OpenSSH and PEM formats) and
# for a server whose only host key is RSA.  Another key the server does not know keeps the usual hint.
. "$(dirname "$0")/test-lib.sh"
test_description 'SFTP: RSA keys against OpenSSH 8.8+ say what is wrong'
require_service sftp
require_program odbk-policy ssh-keygen

LIBSSH2=$(dpkg-query -W -f '${Version}' libssh2-1 2>/dev/null | cut -d- -f1)
SSHD_VER=$(/usr/sbin/sshd -V 2>&1 | sed -n 's/^OpenSSH_\([0-9]*\.[0-9]*\).*/\1/p')
AK=$(dirname "$SFTP_KEY")/authorized_keys
old_pair() { case $1 in 0.*|1.[0-9].*|1.10.*) return 0 ;; *) return 1 ;; esac; }
# the messages are about this pair only: a newer libssh2 signs with rsa-sha2, an older OpenSSH takes ssh-rsa
old_pair "$LIBSSH2" || skip_all "libssh2 $LIBSSH2 signs with rsa-sha2 (the messages are for 1.10 and older)"
awk -v v="$SSHD_VER" "BEGIN { exit !(v + 0 >= 8.8) }" || skip_all "OpenSSH $SSHD_VER still takes ssh-rsa"

probe_with() {   # probe_with KEY [PORT KNOWN_HOSTS]: odbk-policy check --probe of one sftp storage
	printf "[storage r]\ntype = sftp\nhost = %s\nport = %s\nuser = %s\nprivate-key = %s\nknown-hosts = %s\npath = %s/rsa\n" \
		"$SFTP_HOST" "${2:-$SFTP_PORT}" "$SFTP_USER" "$1" "${3:-$SFTP_KNOWN_HOSTS}" "$SFTP_DATA_DIR" >"$ODBK_CONF" &&
	odbk-policy check --probe --config "$ODBK_CONF" >out 2>err
}

test_expect_success 'setup: RSA keys in both formats authorized' '
	(umask 077 && : >"$ODBK_CONF") &&
	ssh-keygen -q -t rsa -b 2048 -N "" -f "$TRASH/rsa" &&
	ssh-keygen -q -t rsa -b 2048 -m PEM -N "" -f "$TRASH/rsa-pem" &&
	ssh-keygen -q -t ed25519 -N "" -f "$TRASH/stranger" &&
	cp "$AK" "$TRASH/ak.orig" &&
	cat "$TRASH/rsa.pub" "$TRASH/rsa-pem.pub" >>"$AK"
'

for k in rsa rsa-pem; do
	test_expect_success "an authorized RSA key ($k): 77, the cause named, an ed25519 key or the server option as the fix" "
		test_exit_code 77 probe_with '$TRASH/$k' &&
		test_grep \"^storage r: FAILED: .*refuses the SHA-1 'ssh-rsa' signatures that libssh2 $LIBSSH2\" out &&
		test_grep 'hint: use an ed25519 key .ssh-keygen -t ed25519' err &&
		test_grep 'PubkeyAcceptedAlgorithms .ssh-rsa' err &&
		! grep -q 'check user, private-key' err
	"
done

test_expect_success 'an ed25519 key the server does not know: the usual hint, no word of RSA' '
	cp "$TRASH/ak.orig" "$AK" &&
	test_exit_code 77 probe_with "$TRASH/stranger" &&
	test_grep "check user, private-key" err && ! grep -q "ssh-rsa" err
'

test_expect_success 'a server with only an RSA host key: the handshake failure names that cause' '
	ssh-keygen -q -t rsa -b 2048 -N "" -f "$TRASH/host_rsa" &&
	port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	{ echo "ListenAddress 127.0.0.1:$port"; echo "HostKey $TRASH/host_rsa"; echo "PidFile $TRASH/sshd.pid";
	  grep -v "^ListenAddress\|^HostKey\|^PidFile" "$(dirname "$SFTP_KNOWN_HOSTS")/sshd_config"; } >"$TRASH/sshd_config" &&
	/usr/sbin/sshd -f "$TRASH/sshd_config" -E "$TRASH/sshd.log" &&
	test_when_finished "kill \$(cat \"$TRASH/sshd.pid\") 2>/dev/null; true" &&
	for i in 1 2 3 4 5 6 7 8 9 10; do ssh-keyscan -p "$port" 127.0.0.1 >"$TRASH/kh" 2>/dev/null && test -s "$TRASH/kh" && break; sleep 0.3; done &&
	test_exit_code 69 probe_with "$SFTP_KEY" "$port" "$TRASH/kh" &&
	test_grep "^storage r: FAILED: .*ssh handshake with .* failed" out &&
	test_grep "hint: if the server has only an RSA host key, the server .OpenSSH [0-9.]*. refuses the SHA-1 .ssh-rsa. signatures" err &&
	test_grep "give it an ed25519 host key" err
'

cp "$TRASH/ak.orig" "$AK" 2>/dev/null
test_done
