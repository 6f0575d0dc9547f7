#!/usr/bin/env bash
# odbk-create runs as root and follows the filestore's links (as Odoo's own copy does), but never a link
# through which root would read what the filestore's owner cannot: a link the Odoo user planted to
# /etc/shadow or /root fails the backup (77) naming the link, its target and the fix, never skipped.  A link
# root made (an admin spreading the filestore over disks), or one to the owner's own files, is followed.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create as root: a link the Odoo user planted to a root-only file is refused'
require_service pg
require_program odbk-create odbk-list odbk-restore

[ "$(id -u)" = 0 ] || skip_all "needs root (chown, another user)"
id odbktest >/dev/null 2>&1 || useradd --system --no-create-home odbktest || fail_setup "cannot create user odbktest"

make_fixture src --db-mb 1 --fs-mb 1 --files 8
DB=$FIXTURE_DB FS=$FIXTURE_FS
completed() { odbk-list --status completed --json | jq length; }

test_expect_success 'setup: the filestore belongs to the Odoo user; root-only secrets next to it' '
	odbk_conf prod "$DB" "$FS" &&
	chown -R odbktest:odbktest "$FS" &&
	echo "root:secret-hash:19000::::::" >"$TRASH/shadow" && chmod 0600 "$TRASH/shadow" &&
	mkdir -m 0700 "$TRASH/rootdir" && echo "root key" >"$TRASH/rootdir/id_rsa" &&
	SUB=$(ls "$FS" | head -1) && echo "$SUB" >sub &&
	completed >before
'
SUB=$(cat sub 2>/dev/null)

for fmt in odbk zip; do
test_expect_success "a file link the Odoo user made to a root-only file: 77, named, no backup completed ($fmt)" '
	ln -s "$TRASH/shadow" "$FS/$SUB/planted" && chown -h odbktest:odbktest "$FS/$SUB/planted" &&
	test_exit_code 77 odbk-create prod --format '$fmt' 2>err &&
	test_grep "symbolic link .*$SUB/planted.* points to .*$TRASH/shadow" err &&
	test_grep "not followed" err && test_grep "root owns it" err &&
	test "$(completed)" = "$(cat before)" &&
	odbk-list --status failed --json | jq -e "length >= 1" >/dev/null &&
	! grep -rqa "secret-hash" "$TRASH/storage" &&
	rm "$FS/$SUB/planted"
'
done

test_expect_success 'a folder link the Odoo user made to a root-only folder: 77, named' '
	ln -s "$TRASH/rootdir" "$FS/zz" && chown -h odbktest:odbktest "$FS/zz" &&
	test_exit_code 77 odbk-create prod 2>err &&
	test_grep "symbolic link .*/zz.* points to .*rootdir" err &&
	test "$(completed)" = "$(cat before)" &&
	! grep -rqa "root key" "$TRASH/storage" &&
	rm "$FS/zz"
'

test_expect_success 'a link root made, and an Odoo-user link to the Odoo user'"'"'s own file, are followed: bytes restored' '
	ln -s "$TRASH/shadow" "$FS/$SUB/by-root" &&
	mkdir "$TRASH/disk2" && echo "attachment on another disk" >"$TRASH/disk2/f00d" &&
	chown -R odbktest:odbktest "$TRASH/disk2" &&
	ln -s "$TRASH/disk2/f00d" "$FS/$SUB/own" && chown -h odbktest:odbktest "$FS/$SUB/own" &&
	ln -s "$TRASH/disk2" "$FS/yy" && chown -h odbktest:odbktest "$FS/yy" &&
	id=$(odbk-create prod --quiet) &&
	odbk-restore "$id" --db-owner "$TEST_OWNER" --new-db "$(test_db r1)" --filestore "$TRASH/r1" \
		--confirm RESTORE >/dev/null &&
	cmp "$TRASH/shadow" "$TRASH/r1/$SUB/by-root" && test ! -L "$TRASH/r1/$SUB/by-root" &&
	cmp "$TRASH/disk2/f00d" "$TRASH/r1/$SUB/own" && cmp "$TRASH/disk2/f00d" "$TRASH/r1/yy/f00d" &&
	drop_db "$(test_db r1)" && rm "$FS/$SUB/by-root" "$FS/$SUB/own" "$FS/yy"
'

test_expect_success 'the first file read swapped for such a link after the walk saw it: 75, the secret not stored' '
	last=$(cd "$FS" && find . -type f | LC_ALL=C sort | head -1) &&
	rm -f ready &&
	{ ODBK_FAILPOINT=pause-before-read:1 ODBK_FAILPOINT_READY=$TRASH/ready odbk-create prod >out 2>err & pid=$!; } &&
	for i in $(seq 100); do test -e ready && break; sleep 0.1; done && test -e ready &&
	mv "$FS/$last" "$TRASH/moved" && ln -s "$TRASH/shadow" "$FS/$last" && chown -h odbktest:odbktest "$FS/$last" &&
	{ wait $pid; rc=$?; } &&
	rm "$FS/$last" && mv "$TRASH/moved" "$FS/$last" &&
	test "$rc" = 75 && test_grep "was replaced while being read" err &&
	! grep -rqa "secret-hash" "$TRASH/storage"
'

test_expect_success 'the filestore itself a link the Odoo user pointed at a root-only folder: 77; made by root: followed' '
	odbk_conf_env linked "$DB" "$TRASH/fslink" disk &&
	ln -s "$TRASH/rootdir" "$TRASH/fslink" && chown -h odbktest:odbktest "$TRASH/fslink" &&
	test_exit_code 77 odbk-create linked 2>err &&
	test_grep "symbolic link .*fslink.* points to .*rootdir" err &&
	! grep -rqa "root key" "$TRASH/storage" &&
	chown -h root:root "$TRASH/fslink" &&
	odbk-create linked --quiet >/dev/null
'

test_expect_success 'cleanup' '
	drop_db "$DB"
'

test_done
