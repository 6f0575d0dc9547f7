#!/usr/bin/env bash
# What a real filestore holds besides plain files: symbolic links (a filestore spread over disks), names
# that are not UTF-8, files being written while the backup reads them.  Each is stored as it is, or the
# backup is refused with an error naming it: never a completed backup that silently lacks a file.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create: links, non-UTF-8 names and files that change while read'
require_service pg
require_program odbk-create odbk-list odbk-restore

test_expect_success 'setup: a filestore with a folder link, a file link and a name with \xff' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	mkdir -p "$TRASH/disk2/zz" && printf "attachment on another disk\n" >"$TRASH/disk2/zz/f00d" &&
	head -c 3000 /dev/urandom >"$TRASH/disk2/zz/cafe" &&
	ln -s "$TRASH/disk2/zz" "$FIXTURE_FS/zz" &&
	printf "a file behind a link\n" >"$TRASH/outside" &&
	first=$(ls "$FIXTURE_FS" | head -1) &&
	ln -s "$TRASH/outside" "$FIXTURE_FS/$first/linked" &&
	printf "not utf-8\n" >"$FIXTURE_FS/$first/$(printf "name\377x")" &&
	printf "utf-8\n" >"$FIXTURE_FS/$first/$(printf "caf\303\251")"
'
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS

no_new_completed() {
	test "$(odbk-list --status completed --json | jq length)" = "$1"
}

test_expect_success 'links are followed: the files behind them are in the backup, as regular files' '
	id=$(odbk-create prod) &&
	tarball=$TRASH/storage/disk/prod/$id/backup-$id-filestore.tar.gz &&
	tar -tvzf "$tarball" >members &&
	grep -q "^-.* zz/f00d$" members && grep -q "^-.* zz/cafe$" members &&
	grep -q "^-.*/linked$" members && ! grep -q "^l" members &&
	odbk-restore "$id" --db-owner "$TEST_OWNER" --new-db "$(test_db r1)" --filestore "$TRASH/r1" --confirm RESTORE >/dev/null &&
	test -d "$TRASH/r1/zz" && test ! -L "$TRASH/r1/zz" &&
	cmp "$TRASH/disk2/zz/cafe" "$TRASH/r1/zz/cafe" &&
	first=$(ls "$SRC_FS" | head -1) &&
	test -f "$TRASH/r1/$first/linked" && test ! -L "$TRASH/r1/$first/linked" &&
	cmp "$TRASH/outside" "$TRASH/r1/$first/linked" &&
	diff -r "$SRC_FS" "$TRASH/r1"
'

test_expect_success 'a name that is not UTF-8 is stored and restored byte for byte (tar)' '
	first=$(ls "$SRC_FS" | head -1) &&
	name=$(printf "name\377x") &&
	test -f "$TRASH/r1/$first/$name" &&
	cmp "$SRC_FS/$first/$name" "$TRASH/r1/$first/$name" &&
	cmp "$SRC_FS/$first/$(printf "caf\303\251")" "$TRASH/r1/$first/$(printf "caf\303\251")"
'

test_expect_success 'the same in Odoo zip format' '
	id=$(odbk-create prod --format zip) &&
	zip=$TRASH/storage/disk/prod/$id/backup-$id.zip &&
	LC_ALL=C grep -aq "filestore/$(ls "$SRC_FS" | head -1)/$(printf "name\377x")" "$zip" &&
	odbk-restore "$id" --db-owner "$TEST_OWNER" --new-db "$(test_db r2)" --filestore "$TRASH/r2" --confirm RESTORE >/dev/null &&
	first=$(ls "$SRC_FS" | head -1) &&
	cmp "$SRC_FS/$first/$(printf "name\377x")" "$TRASH/r2/$first/$(printf "name\377x")" &&
	cmp "$TRASH/disk2/zz/cafe" "$TRASH/r2/zz/cafe"
'

test_expect_success 'a dangling link is refused, naming it (exit 66), no completed backup' '
	n=$(odbk-list --status completed --json | jq length) &&
	ln -s "$TRASH/gone" "$SRC_FS/dangling" &&
	test_when_finished "rm -f \"$SRC_FS/dangling\"" &&
	test_exit_code 66 odbk-create prod 2>err &&
	test_grep "symbolic link .*/dangling. points to .*gone., which does not exist" err &&
	no_new_completed "$n" &&
	test "$(odbk-list --status failed --json | jq ".[0].error" | grep -c dangling)" = 1
'

test_expect_success 'a folder link back to a parent is refused as a loop (exit 65)' '
	n=$(odbk-list --status completed --json | jq length) &&
	ln -s "$SRC_FS" "$TRASH/disk2/zz/back" &&
	test_when_finished "rm -f \"$TRASH/disk2/zz/back\"" &&
	test_exit_code 65 odbk-create prod 2>err &&
	test_grep "symbolic link .*zz/back. loops back to" err &&
	no_new_completed "$n"
'

test_expect_success 'a filestore deeper than 64 folders is refused (exit 65), naming the folder' '
	n=$(odbk-list --status completed --json | jq length) &&
	d="$SRC_FS/deep" && for i in $(seq 66); do d="$d/d"; done && mkdir -p "$d" && echo x >"$d/f" &&
	test_when_finished "rm -rf \"$SRC_FS/deep\"" &&
	test_exit_code 65 odbk-create prod 2>err &&
	test_grep "deep/d.* is more than 64 folders deep" err &&
	no_new_completed "$n"
'

test_expect_success 'a small file that grows once while read is read again: the backup holds it whole' '
	first=$(ls "$SRC_FS" | head -1) &&
	ODBK_FAILPOINT=grow-while-read:1 odbk-create prod >id &&
	id=$(cat id) &&
	odbk-restore "$id" --db-owner "$TEST_OWNER" --new-db "$(test_db r3)" --filestore "$TRASH/r3" --confirm RESTORE >/dev/null &&
	diff -r "$SRC_FS" "$TRASH/r3"
'

test_expect_success 'a file that keeps growing fails the backup (exit 75), naming it; no silent prefix' '
	n=$(odbk-list --status completed --json | jq length) &&
	test_exit_code 75 env ODBK_FAILPOINT=grow-while-read odbk-create prod 2>err &&
	test_grep "changed while being read" err &&
	no_new_completed "$n"
'

test_expect_success 'a big file (streamed, not held) that grows while read fails the backup (exit 75)' '
	mkdir -p "$TRASH/bigfs/ab" && head -c 3000000 /dev/urandom >"$TRASH/bigfs/ab/big" &&
	odbk_conf_env big "$SRC_DB" "$TRASH/bigfs" disk &&
	test_exit_code 75 env ODBK_FAILPOINT=grow-while-read odbk-create big 2>err &&
	test_grep "bigfs/ab/big. changed while being read" err &&
	test "$(odbk-list big --status completed --json | jq length)" = 0 &&
	test -z "$(find "$TRASH/storage/disk/big" -type f 2>/dev/null)"
'

test_expect_success 'the zip writer checks the same (exit 75)' '
	test_exit_code 75 env ODBK_FAILPOINT=grow-while-read odbk-create big --format zip 2>err &&
	test_grep "changed while being read" err &&
	test "$(odbk-list big --status completed --json | jq length)" = 0
'

test_done
