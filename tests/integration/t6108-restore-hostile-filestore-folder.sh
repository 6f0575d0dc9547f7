#!/usr/bin/env bash
# Restore runs as root while the folder holding the filestore belongs to the Odoo user, who must be taken
# as hostile: whatever that user swaps in its own folder (the staging directory renamed and a link to a
# root-only folder put in its place, at the moment the restore gives the files their owner or during a
# dead swap's recovery), root never chowns, chmods, renames or removes anything but the directories the
# restore made and recorded.  A filestore that is itself a link (another disk) is restored behind its link.
# ODBK_FAILPOINT=pause-before-owner (pause-before-load, pause-in-load) holds the restore 3 s after it
# creates $ODBK_FAILPOINT_READY.
. "$(dirname "$0")/test-lib.sh"
test_description 'restore as root: a hostile owner of the filestore folder cannot redirect it'
require_service pg
require_program odbk-create odbk-restore odbk-list

[ "$(id -u)" = 0 ] || skip_all "needs root (chown, another user)"
id odbktest >/dev/null 2>&1 || useradd --system --no-create-home odbktest || fail_setup "cannot create user odbktest"
# what the Odoo user runs: its own uid and gid, no other group
as_odoo() { setpriv --reuid=odbktest --regid=odbktest --clear-groups -- "$@"; }

make_fixture src --db-mb 1 --fs-mb 1 --files 8
DB=$FIXTURE_DB
ODOO=$TRASH/odoo FS=$TRASH/odoo/prod
HOST=$(hostname)
rows() { sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps WHERE host = '$HOST'"; }
# a root-only folder the attacker would like root to hand over: /etc or /root
decoy_state() { (cd "$TRASH/decoy" && find . -printf "%p %u:%g %m %s\n" | sort); }
# each case from a known state (so that one failing does not take the next down): a fresh decoy, the
# target a real folder (a copy of the original when a case left a link there), no leftover temporaries
fresh() {
	rm -rf "$TRASH/decoy" && mkdir -m 0700 "$TRASH/decoy" "$TRASH/decoy/sub" &&
	echo secret >"$TRASH/decoy/shadow" && chmod 0600 "$TRASH/decoy/shadow" && echo x >"$TRASH/decoy/sub/file" &&
	decoy_state >decoy.before &&
	{ test -d "$FS" && test ! -L "$FS" || { rm -f "$FS" && cp -a "$TRASH/fs.orig" "$FS"; }; } &&
	rm -rf "$FS".odbk-* && sqlite3 "$ODBK_CATALOG" "DELETE FROM restore_temps" &&
	echo current >"$FS/odbk-current" && chown odbktest:odbktest "$FS/odbk-current"
}

test_expect_success 'setup: the Odoo user owns the filestore and its folder; a backup; a root-only decoy' '
	chmod 0711 "$TRASH" &&
	mkdir -m 0750 "$ODOO" && mv "$FIXTURE_FS" "$FS" &&
	chown -R odbktest:odbktest "$ODOO" && chmod 0710 "$FS" &&
	odbk_conf prod "$DB" "$FS" &&
	ID=$(odbk-create prod --quiet) && echo "$ID" >id &&
	echo current >"$FS/odbk-current" && chown odbktest:odbktest "$FS/odbk-current" &&
	cp -a "$FS" "$TRASH/fs.orig" &&
	as_odoo touch "$ODOO/the-odoo-user-can-write-here"
'
ID=$(cat id 2>/dev/null)

test_expect_success 'the staging directory is root'"'"'s alone (0700) until it is handed over' '
	rm -f ready &&
	{ ODBK_FAILPOINT=pause-before-owner ODBK_FAILPOINT_READY=$TRASH/ready odbk-restore "$ID" \
		--no-safety-backup --confirm RESTORE >/dev/null 2>&1 & pid=$!; } &&
	for i in $(seq 100); do test -e ready && break; sleep 0.1; done && test -e ready &&
	staging=$(ls -d "$FS".odbk-tmp-*) &&
	mode=$(stat -c "%U %a" "$staging") && { as_odoo ls "$staging" >/dev/null 2>&1; odoo_in=$?; } &&
	wait $pid &&
	test "$mode" = "root 700" && test "$odoo_in" != 0 &&
	test "$(stat -c "%U:%G %a" "$FS")" = "odbktest:odbktest 710" &&
	find "$FS" ! -user odbktest >wrong && test_must_be_empty wrong &&
	test ! -e "$FS/odbk-current" && test "$(rows)" = 0
'

test_expect_success 'staging swapped for a link to a root-only folder while owners are given: refused, decoy and target untouched' '
	fresh &&
	sql "$DB" "update res_partner set name = '\''current'\'' where id = 3" &&
	fingerprint "$DB" "$FS" >old.fp &&
	rm -f ready &&
	{ ODBK_FAILPOINT=pause-before-owner ODBK_FAILPOINT_READY=$TRASH/ready odbk-restore "$ID" \
		--no-safety-backup --confirm RESTORE >out 2>err & pid=$!; } &&
	for i in $(seq 100); do test -e ready && break; sleep 0.1; done && test -e ready &&
	staging=$(ls -d "$FS".odbk-tmp-*) &&
	as_odoo mv "$staging" "$staging.moved" && as_odoo ln -s "$TRASH/decoy" "$staging" &&
	test_exit_code 77 wait $pid &&
	test_grep "no longer the directory odbk made" err && test_grep "target is unchanged" err &&
	decoy_state >decoy.after && test_cmp decoy.before decoy.after &&
	test -d "$FS" && test ! -L "$FS" &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp old.fp now.fp &&
	test "$(stat -c "%U:%G %a" "$FS")" = "odbktest:odbktest 710" &&
	test "$(rows)" = 0 &&
	odbk-list --rescan >/dev/null && decoy_state >decoy.after && test_cmp decoy.before decoy.after &&
	rm -f "$staging" && rm -rf "$staging.moved"
'

for fmt in odbk zip; do
test_expect_success "staging swapped for a link during the load ($fmt): nothing written to the decoy, refused" '
	fresh &&
	id=$(odbk-create prod --quiet --format '$fmt') && rm -f "$FS/odbk-current" &&
	echo current >"$FS/odbk-current" && chown odbktest:odbktest "$FS/odbk-current" &&
	fingerprint "$DB" "$FS" >old.fp && rm -f ready &&
	{ ODBK_FAILPOINT=pause-in-load:1 ODBK_FAILPOINT_READY=$TRASH/ready odbk-restore "$id" \
		--no-safety-backup --confirm RESTORE >out 2>err & pid=$!; } &&
	for i in $(seq 100); do test -e ready && break; sleep 0.1; done && test -e ready &&
	staging=$(ls -d "$FS".odbk-tmp-*) &&
	as_odoo mv "$staging" "$staging.moved" && as_odoo ln -s "$TRASH/decoy" "$staging" &&
	test_exit_code 77 wait $pid && test_grep "no longer the directory odbk made" err &&
	test_grep "target is unchanged" err &&
	decoy_state >decoy.after && test_cmp decoy.before decoy.after &&
	test -d "$FS" && test ! -L "$FS" && fingerprint "$DB" "$FS" >now.fp && test_cmp old.fp now.fp &&
	test "$(rows)" = 0 && rm -f "$staging" && rm -rf "$staging.moved"
'
done

for fmt in odbk zip; do
test_expect_success "staging swapped for another directory of root's before the load ($fmt): refused, nothing extracted into it" '
	fresh &&
	id=$(odbk-create prod --quiet --format '$fmt') &&
	fingerprint "$DB" "$FS" >old.fp && rm -f ready &&
	{ ODBK_FAILPOINT=pause-before-load ODBK_FAILPOINT_READY=$TRASH/ready odbk-restore "$id" \
		--no-safety-backup --confirm RESTORE >out 2>err & pid=$!; } &&
	for i in $(seq 100); do test -e ready && break; sleep 0.1; done && test -e ready &&
	staging=$(ls -d "$FS".odbk-tmp-*) &&
	mv "$staging" "$staging.moved" && mkdir -m 0700 "$staging" &&
	test_exit_code 77 wait $pid && test_grep "no longer the directory odbk made" err &&
	test_grep "target is unchanged" err &&
	find "$staging" -mindepth 1 >inside && test_must_be_empty inside &&
	test -d "$FS" && test ! -L "$FS" && fingerprint "$DB" "$FS" >now.fp && test_cmp old.fp now.fp &&
	test "$(rows)" = 0 && rm -rf "$staging" "$staging.moved"
'
done

test_expect_success 'staging swapped for a link before a killed swap is completed: nothing renamed or removed, then completed once put back' '
	fresh &&
	test_exit_code 137 env ODBK_FAILPOINT=swap-db-in odbk-restore "$ID" --no-safety-backup \
		--confirm RESTORE 2>/dev/null &&
	staging=$(ls -d "$FS".odbk-tmp-*) &&
	as_odoo mv "$staging" "$staging.moved" && as_odoo ln -s "$TRASH/decoy" "$staging" &&
	odbk-list --rescan >/dev/null 2>err; test "$(rows)" = 1 &&
	decoy_state >decoy.after && test_cmp decoy.before decoy.after &&
	test -d "$FS" && test ! -L "$FS" && test -e "$FS/odbk-current" && test -L "$staging" &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"restore-recover\" and .result == \"failed\" and
		(.detail | test(\"not the directory the restore recorded\")))] | length >= 1" >/dev/null &&
	as_odoo rm "$staging" && as_odoo mv "$staging.moved" "$staging" &&
	odbk-list --rescan >/dev/null && test "$(rows)" = 0 &&
	test -d "$FS" && test ! -e "$FS/odbk-current" && test -z "$(ls -d "$FS".odbk-* 2>/dev/null)" &&
	decoy_state >decoy.after && test_cmp decoy.before decoy.after
'

test_expect_success 'the set-aside original swapped for a link before its removal: the link goes, not the decoy' '
	fresh &&
	test_exit_code 137 env ODBK_FAILPOINT=swap-dir-in odbk-restore "$ID" --no-safety-backup \
		--confirm RESTORE 2>/dev/null &&
	old=$(ls -d "$FS".odbk-old-*) &&
	as_odoo mv "$old" "$ODOO/kept" && as_odoo ln -s "$TRASH/decoy" "$old" &&
	odbk-list --rescan >/dev/null && test "$(rows)" = 0 &&
	decoy_state >decoy.after && test_cmp decoy.before decoy.after &&
	test ! -L "$old" && test ! -e "$old" && test -e "$ODOO/kept/odbk-current" && rm -rf "$ODOO/kept"
'

test_expect_success 'a filestore that is a link (another disk) is restored behind it: the link stays, its target holds the backup' '
	fresh && mkdir -m 0755 "$TRASH/disk2" && mv "$FS" "$TRASH/disk2/prod" && ln -s "$TRASH/disk2/prod" "$FS" &&
	odbk-restore "$ID" --no-safety-backup --confirm RESTORE >/dev/null &&
	test -L "$FS" && test "$(readlink "$FS")" = "$TRASH/disk2/prod" &&
	test ! -e "$TRASH/disk2/prod/odbk-current" &&
	test "$(stat -c "%U:%G %a" "$TRASH/disk2/prod")" = "odbktest:odbktest 710" &&
	find "$TRASH/disk2/prod" ! -user odbktest >wrong && test_must_be_empty wrong &&
	test "$(find "$TRASH/disk2/prod" -type f | wc -l)" -gt 0 &&
	test -z "$(ls -d "$FS".odbk-* "$TRASH"/disk2/prod.odbk-* 2>/dev/null)" && test "$(rows)" = 0 &&
	sql "$DB" "select name from res_partner where id = 3" >name && ! grep -q "^current$" name
'

test_expect_success 'a filestore link to nothing: refused (66) before anything is made, naming the link' '
	rm -rf "$FS" && ln -s "$TRASH/disk3/prod" "$FS" &&
	test_exit_code 66 odbk-restore "$ID" --no-safety-backup --confirm RESTORE 2>err &&
	test_grep "is a symbolic link to .*disk3/prod.*which does not exist" err &&
	test -L "$FS" && test ! -e "$TRASH/disk3" && test "$(rows)" = 0
'

test_expect_success 'cleanup' '
	drop_db "$DB"
'

test_done
