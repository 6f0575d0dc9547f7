#!/usr/bin/env bash
# notifications: notify-command gets the ODBK_* variables, notify-url gets the JSON (tests/notify-receiver on
# 127.0.0.1), notify-on selects the events, a hook that hangs is killed and the backup still completes, a
# failing hook or webhook is a warning only, webhooks are retried.
. "$(dirname "$0")/test-lib.sh"
test_description 'notifications: notify-command, notify-url, notify-on, notify-timeout'
require_service pg
require_program jq
require_program python3

# test_line_count = N FILE
test_line_count() { test "$(wc -l <"$3")" "$1" "$2" || { echo "$3 has $(wc -l <"$3") lines, not $2:"; cat "$3"; return 1; }; }
# gone PID: the process is dead (or a zombie) within 2 seconds
gone() {
    for i in $(seq 20); do
        kill -0 "$1" 2>/dev/null || return 0
        case $(ps -o stat= -p "$1") in Z*) return 0 ;; esac
        sleep 0.1
    done
    echo "process $1 is still alive"; return 1
}
# start_receiver DIR [--fail-first N]: sets RECEIVER_PORT, RECEIVER_PID
start_receiver() {
    mkdir -p "$1" && rm -f "$1/port" &&
    { notify-receiver "$@" >"$1/log" 2>&1 & RECEIVER_PID=$!; } &&
    for i in $(seq 100); do [ -s "$1/port" ] && break; sleep 0.1; done &&
    RECEIVER_PORT=$(cat "$1/port") && test -n "$RECEIVER_PORT" &&
    { : & }   # test-lib waits for $! after a verbose body: make it a job that is already done
}

test_expect_success 'setup: env prod (project acme), a command hook and a webhook' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 5 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	echo "project = acme" >>"$ODBK_CONF" &&
	odbk_conf_env broken "$(test_db nosuchdb)" "$FIXTURE_FS" disk &&
	cat >hook.sh <<-EOF &&
	#!/bin/sh
	env | grep "^ODBK_" | sort >"$TRASH/hook.out"
	echo "\$ODBK_EVENT \$ODBK_ENV" >>"$TRASH/hook.events"
	EOF
	chmod +x hook.sh &&
	start_receiver "$TRASH/rx" && RX_PID=$RECEIVER_PID &&
	printf "\n[policy]\nnotify-on = both\nnotify-command = %s\nnotify-url = http://127.0.0.1:%s/hook/secret-token\nnotify-timeout = 10s\n" \
		"$TRASH/hook.sh" "$RECEIVER_PORT" >>"$ODBK_CONF"
'

test_expect_success 'a completed backup: the hook gets every variable' '
	odbk-create prod >id &&
	id=$(cat id) &&
	size=$(odbk-list --json prod | jq -r ".[0].size") &&
	test_grep "^ODBK_EVENT=backup.completed$" hook.out &&
	test_grep "^ODBK_ENV=prod$" hook.out &&
	test_grep "^ODBK_PROJECT=acme$" hook.out &&
	test_grep "^ODBK_BACKUP_ID=$id$" hook.out &&
	test_grep "^ODBK_STATUS=completed$" hook.out &&
	test_grep "^ODBK_ERROR=$" hook.out &&
	test_grep "^ODBK_SIZE=$size$" hook.out &&
	test_grep "^ODBK_DURATION=[0-9][0-9]*$" hook.out &&
	test "$size" -gt 0
'

test_expect_success 'the webhook got the same fields as JSON' '
	test_line_count = 1 rx/posts &&
	test_grep "^application/json$" rx/types &&
	test_grep "^POST /hook/secret-token$" rx/requests &&
	jq -e --arg id "$id" --argjson size "$size" "
		.event == \"backup.completed\" and .env == \"prod\" and .project == \"acme\" and .backup_id == \$id and
		.status == \"completed\" and .error == \"\" and .size == \$size and (.duration | type) == \"number\"" rx/posts
'

test_expect_success 'a failed backup: backup.failed with the error' '
	test_must_fail odbk-create broken 2>err &&
	test_grep "^ODBK_EVENT=backup.failed$" hook.out &&
	test_grep "^ODBK_ENV=broken$" hook.out &&
	test_grep "^ODBK_STATUS=failed$" hook.out &&
	test_grep "^ODBK_ERROR=.*does not exist" hook.out &&
	test_line_count = 2 rx/posts &&
	tail -n 1 rx/posts | jq -e ".event == \"backup.failed\" and (.error | test(\"does not exist\"))"
'

test_expect_success 'notify-on = failure: a success sends nothing' '
	printf "\n[policy prod]\nnotify-on = failure\n" >>"$ODBK_CONF" &&
	odbk-create prod >id &&
	test_line_count = 2 hook.events &&
	test_line_count = 2 rx/posts
'

test_expect_success 'a hook that hangs is killed after notify-timeout; the backup completes' '
	cat >hang.sh <<-EOF &&
	#!/bin/sh
	echo \$\$ >"$TRASH/hang.pid"
	sleep 300 &
	echo \$! >"$TRASH/hang.child"
	wait
	EOF
	chmod +x hang.sh &&
	odbk_conf_env slow "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	printf "\n[policy slow]\nnotify-command = %s\nnotify-url =\nnotify-timeout = 2s\n" "$TRASH/hang.sh" >>"$ODBK_CONF" &&
	start=$(date +%s) &&
	odbk-create slow >id 2>err &&
	end=$(date +%s) &&
	test_line_count = 1 id &&
	test "$(odbk-list --json slow | jq -r ".[0].status")" = completed &&
	test_grep "warning: slow: notification failed: .*did not finish within 2s and was killed" err &&
	test $((end - start)) -lt 30 &&
	gone "$(cat hang.pid)" && gone "$(cat hang.child)"
'

test_expect_success 'a failing hook and an unreachable webhook are warnings; the secret path is not shown' '
	printf "#!/bin/sh\necho hook broke >&2\nexit 3\n" >fail.sh && chmod +x fail.sh &&
	odbk_conf_env loud "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	printf "\n[policy loud]\nnotify-command = %s\nnotify-url = http://127.0.0.1:%s/t/secret-token\nnotify-timeout = 2s\n" \
		"$TRASH/fail.sh" "$port" >>"$ODBK_CONF" &&
	odbk-create loud >id 2>err &&
	test_line_count = 1 id &&
	test_grep "exited with status 3: hook broke" err &&
	test_grep "notify-url .http://127.0.0.1:$port.: .*\(after 3 attempts\)" err &&
	! grep secret-token err
'

test_expect_success 'a webhook answering 500 is retried' '
	start_receiver "$TRASH/rx2" --fail-first 2 && RX2_PID=$RECEIVER_PID &&
	odbk_conf_env retry "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	printf "\n[policy retry]\nnotify-command =\nnotify-url = http://127.0.0.1:%s/r\n" "$RECEIVER_PORT" >>"$ODBK_CONF" &&
	odbk-create retry >id 2>err &&
	test_line_count = 3 rx2/requests &&
	test_line_count = 1 rx2/posts &&
	! test_grep warning err
'

test_expect_success 'restores and prunes notify too (restore.completed, prune.deleted)' '
	odbk_conf_env quiet "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	printf "\n[policy quiet]\nnotify-on = both\nnotify-url =\nkeep-last = 1\nkeep-within-daily =\nkeep-within-weekly =\nkeep-within-monthly =\nkeep-within-yearly =\n" >>"$ODBK_CONF" &&
	odbk-create quiet >id1 && sleep 1 && odbk-create quiet >id2 &&
	: >hook.events &&
	odbk-restore --latest quiet --confirm RESTORE --no-safety-backup 2>/dev/null &&
	test_grep "^restore.completed quiet$" hook.events &&
	test_grep "^ODBK_BACKUP_ID=$(cat id2)$" hook.out &&
	odbk-prune quiet >pruned &&
	test_grep "^$(cat id1)$" pruned &&
	test_grep "^prune.deleted quiet$" hook.events &&
	test_grep "^ODBK_BACKUP_ID=$(cat id1)$" hook.out
'

test_expect_success 'stop the receivers' '
	kill $RX_PID $RX2_PID
'

test_done
