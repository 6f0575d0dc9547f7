#!/usr/bin/env bash
# A stop signal (SIGTERM: systemctl stop; SIGINT: Ctrl-C; SIGHUP: a closed ssh session) ends odbk-create
# cleanly within seconds: pg_dump and whatever it started are stopped, the S3 multipart upload is aborted,
# nothing is left in storage, the row is failed with "interrupted by SIGTERM", the failure is notified,
# and the exit status is 128 + the signal (143, 130, 129).  Against local disk, S3 (RGW) and SFTP.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create stops cleanly on SIGTERM, SIGINT and SIGHUP'
require_service pg s3 sftp
require_program odbk-create odbk-list

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
s3cli() {
    AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY aws --endpoint-url "$S3_ENDPOINT" "$@"
}
S3_PFX=${TEST_DB_PREFIX%_}/s3/
SFTP_DIR=$SFTP_DATA_DIR/${TEST_DB_PREFIX%_}/sftp

# a background job starts with SIGINT ignored (and a signal ignored on entry stays ignored): give it
# the default disposition, as a program run in the foreground of a terminal has
NO_IGNORE="--default-signal=INT"

test_expect_success 'setup: envs on disk, S3 and SFTP; a pg_dump that stalls after 12 MB; a hook' '
	make_fixture src --db-mb 1 --fs-mb 2 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	odbk_conf_storage s3 && sed -i "/^type = s3$/a part-size = 5MiB" "$ODBK_CONF" &&
	odbk_conf_env ons3 "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
	odbk_conf_storage sftp &&
	odbk_conf_env onsftp "$FIXTURE_DB" "$FIXTURE_FS" sftp &&
	slow_pg_dump 12000000 &&
	cat >hook.sh <<-EOF &&
	#!/bin/sh
	echo "\$ODBK_EVENT|\$ODBK_ENV|\$ODBK_STATUS|\$ODBK_ERROR" >>"$TRASH/hook.events"
	EOF
	chmod +x hook.sh &&
	printf "\n[policy]\nnotify-on = failure\nnotify-command = %s\n" "$TRASH/hook.sh" >>"$ODBK_CONF"
'

# start_slow ENV: odbk-create ENV in the background with the stalling pg_dump; sets PID
start_slow() {
	rm -f "$TRASH/dump.pid" &&
	{ ODBK_PG_BINDIR=$TRASH/slowbin env $NO_IGNORE odbk-create --no-verify "$1" >out 2>err & PID=$!; }
}

# stop_within SIG CODE: send SIG to $PID; it must exit CODE within 10 s
stop_within() {
	local t0 t1 rc
	t0=$(date +%s) && kill -"$1" "$PID" &&
	for i in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done &&
	t1=$(date +%s)
	wait "$PID"; rc=$?
	echo "# exit $rc after $((t1 - t0)) s" >&2
	test "$rc" = "$2" && test $((t1 - t0)) -le 10
}

# row_failed ENV SIGNAME: its only row is failed with the reason, and the hook was told
row_failed() {
	odbk-list "$1" --json >rows.json &&
	test "$(jq length rows.json)" = 1 &&
	jq -e ".[0].status == \"failed\" and .[0].error == \"interrupted by $2\"" rows.json &&
	test_grep "^backup.failed\|$1\|failed\|interrupted by $2$" hook.events
}

# children_gone: the stalled pg_dump script (now sleep) and pg_dump itself are gone
children_gone() {
	test -s "$TRASH/dump.pid" && ! kill -0 "$(cat "$TRASH/dump.pid")" 2>/dev/null &&
	! pgrep -f "$TRASH/slowbin/pg_dump" >/dev/null
}

test_expect_success 'local: SIGINT while pg_dump runs: exit 130, nothing stored, row failed, hook told' '
	start_slow prod &&
	for i in $(seq 100); do
		test -n "$(find "$TRASH/storage/disk" -name "*.odbk-tmp-*" 2>/dev/null)" && break; sleep 0.1
	done &&
	test -n "$(find "$TRASH/storage/disk" -name "*.odbk-tmp-*")" && sleep 0.5 &&
	stop_within INT 130 &&
	test -z "$(find "$TRASH/storage/disk" -type f)" &&
	row_failed prod SIGINT && children_gone &&
	test_grep "interrupted by SIGINT" err
'

test_expect_success 'S3: SIGTERM during a multipart upload: exit 143, no upload open, no object' '
	start_slow ons3 &&
	for i in $(seq 150); do
		s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --prefix "$S3_PFX" \
			--query "Uploads[].Key" --output text >uploads 2>/dev/null
		grep -q database uploads && break; sleep 0.2
	done &&
	test_grep database uploads &&
	stop_within TERM 143 &&
	test -z "$(s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --prefix "$S3_PFX" \
		--query "Uploads[].Key" --output text | grep -v "^None$")" &&
	test -z "$(s3cli s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$S3_PFX" \
		--query "Contents[].Key" --output text | grep -v "^None$")" &&
	row_failed ons3 SIGTERM && children_gone
'

test_expect_success 'SFTP: SIGHUP while uploading: exit 129, nothing left on the server' '
	start_slow onsftp &&
	for i in $(seq 100); do
		test -n "$(find "$SFTP_DIR" -name "*.odbk-tmp-*" 2>/dev/null)" && break; sleep 0.1
	done &&
	test -n "$(find "$SFTP_DIR" -name "*.odbk-tmp-*")" && sleep 0.5 &&
	stop_within HUP 129 &&
	test -z "$(find "$SFTP_DIR" -type f)" &&
	row_failed onsftp SIGHUP && children_gone
'

# systemctl stop sends SIGTERM to every process of the unit (KillMode=control-group, the default): the
# shell of ExecStart, odbk-create and pg_dump at once.  With KillMode=mixed only the shell got it, died
# without passing it on, and odbk-create was SIGKILLed after the timeout.
test_expect_success 'systemd: the unit stop signals odbk-create itself, which stops cleanly' '
	unit=$ODBK_SRC/dist/systemd/odbk.service &&
	! grep -Eq "^KillMode=(mixed|process|none)" "$unit" &&
	line=$(sed -n "s/^ExecStart=//p" "$unit" | sed "s|@BINDIR@|$ODBK_BUILD/bin|g; s/\\$\\$/\\$/g") &&
	test -n "$line" &&
	sed "s/^\\[policy\\]$/[policy]\\nschedule = @daily/" "$ODBK_CONF" | sed "/^\\[env ons3\\]/,/^$/d; /^\\[env onsftp\\]/,/^$/d" >unit.conf &&
	chmod 600 unit.conf &&
	rm -rf "$TRASH/storage/disk/prod" &&
	{ ODBK_CONFIG=$TRASH/unit.conf ODBK_CATALOG=$TRASH/unit.db ODBK_PG_BINDIR=$TRASH/slowbin \
		setsid sh -c "echo \$\$ >unit.sid; exec /bin/sh -c \"\$0\"" "$line" & UNIT=$!; } &&
	for i in $(seq 150); do
		test -n "$(find "$TRASH/storage/disk" -name "*.odbk-tmp-*" 2>/dev/null)" && break; sleep 0.1
	done &&
	test -n "$(find "$TRASH/storage/disk" -name "*.odbk-tmp-*")" && sleep 0.5 &&
	sid=$(cat unit.sid) && pgrep -s "$sid" -f odbk-create >/dev/null &&
	pkill -TERM -s "$sid" &&
	for i in $(seq 100); do pgrep -s "$sid" >/dev/null || break; sleep 0.1; done &&
	! pgrep -s "$sid" >/dev/null &&
	{ wait "$UNIT"; true; } &&
	test -z "$(find "$TRASH/storage/disk" -type f)" &&
	ODBK_CONFIG=$TRASH/unit.conf ODBK_CATALOG=$TRASH/unit.db odbk-list prod --json >rows.json &&
	test "$(jq length rows.json)" = 1 &&
	jq -e ".[0].status == \"failed\" and .[0].error == \"interrupted by SIGTERM\"" rows.json
'

test_expect_success 'after the stops, a backup of each env completes as usual' '
	odbk-create prod ons3 onsftp >ids &&
	test_line_count = 3 ids &&
	test "$(odbk-list --status completed --json | jq length)" = 3
'

test_done
