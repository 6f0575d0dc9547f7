#!/usr/bin/env bash
# A backup killed mid-way (kill -9) is found by the next run: its row becomes failed with the reason, and
# its partial files are removed from storage (SPEC §5).
. "$(dirname "$0")/test-lib.sh"
test_description 'a killed backup is reaped by the next run'
require_service pg
require_program odbk-create odbk-list

test_expect_success 'setup: a pg_dump that stalls after its first bytes' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	mkdir -p slowbin &&
	cat >slowbin/pg_dump <<-SCRIPT &&
	#!/bin/sh
	if [ "\$1" = --version ]; then exec "$(command -v pg_dump)" --version; fi
	"$(command -v pg_dump)" "\$@" | head -c 100000
	exec sleep 20
	SCRIPT
	chmod +x slowbin/pg_dump
'

test_expect_success 'kill -9 in the middle leaves an in_progress row and partial files' '
	ODBK_PG_BINDIR=$TRASH/slowbin odbk-create prod >/dev/null 2>&1 &
	pid=$! &&
	for i in $(seq 100); do
		test -n "$(find "$TRASH/storage" -name "*.odbk-tmp-*" 2>/dev/null)" && break
		sleep 0.1
	done &&
	sleep 0.5 &&
	kill -9 $pid && { wait $pid 2>/dev/null; true; } &&
	test "$(odbk-list --status in_progress --json | jq length)" = 1 &&
	test -n "$(find "$TRASH/storage" -type f)"
'

test_expect_success 'the next run marks it failed, removes its files, and makes its own backup' '
	id=$(odbk-create prod) &&
	odbk-list --status failed --json >failed.json &&
	test "$(jq length failed.json)" = 1 &&
	jq -e ".[0].error | test(\"interrupted\")" failed.json &&
	dead=$(jq -r ".[0].id" failed.json) &&
	test ! -e "$TRASH/storage/disk/prod/$dead" &&
	test -z "$(find "$TRASH/storage" -name "*.odbk-tmp-*")" &&
	test "$(odbk-list --status completed --json | jq -r ".[0].id")" = "$id" &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"reap\")] | length == 1"
'

test_expect_success 'a second backup of an env whose backup is running is refused with 75' '
	ODBK_PG_BINDIR=$TRASH/slowbin odbk-create prod >/dev/null 2>&1 &
	pid=$! &&
	for i in $(seq 100); do
		test "$(odbk-list --status in_progress --json | jq length)" = 1 && break
		sleep 0.1
	done &&
	test_exit_code 75 odbk-create prod 2>err &&
	test_grep "already running" err && test_grep "pid $pid" err &&
	kill -9 $pid && { wait $pid 2>/dev/null; true; }
'

test_done
