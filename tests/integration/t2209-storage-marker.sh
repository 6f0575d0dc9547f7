#!/usr/bin/env bash
# A local storage's root holds .odbk-storage, written with its first backup.  When the catalog knows
# backups in a storage whose marker is missing and which shows no manifest (its disk not mounted: the
# empty mount point; a wrong path), every program that would write to it or judge it refuses with exit
# 74 and writes nothing there: create stores nothing, prune deletes nothing, rescan changes no row.  An
# odbk storage of before the marker (manifests, no marker) gets one, and odbk-list --rescan
# --init-storage NAME starts a storage anew.  require-mount = yes refuses a path that is no mount point.
. "$(dirname "$0")/test-lib.sh"
test_description 'local storage marker: an unmounted storage is refused, not written to or judged'
require_service pg
require_program odbk-create odbk-restore odbk-list odbk-prune sqlite3 jq

make_fixture src --db-mb 1 --fs-mb 1 --files 5
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
ST=$TRASH/storage/disk
rows() { sqlite3 "$ODBK_CATALOG" "SELECT id, status, verified, storage FROM backups ORDER BY id"; }
unmount() { mv "$ST" "$TRASH/away" && mkdir "$ST"; }
remount() { rmdir "$ST" && mv "$TRASH/away" "$ST"; }

test_expect_success 'the first backup writes the marker: version 1 and an id' '
	test_must_fail test -e "$ST/.odbk-storage" &&
	odbk-create prod --quiet >id1 &&
	head -1 "$ST/.odbk-storage" >line && echo "odbk-storage 1" >expect && test_cmp expect line &&
	grep -E "^id [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\$" "$ST/.odbk-storage" &&
	test "$(wc -l <"$ST/.odbk-storage")" = 2 &&
	cp "$ST/.odbk-storage" marker.orig &&
	odbk-create prod --quiet >id2 && test_cmp marker.orig "$ST/.odbk-storage"
'

test_expect_success 'unmounted (an empty directory in its place): create refuses with 74 and writes nothing' '
	unmount &&
	test_exit_code 74 odbk-create prod 2>err &&
	test_grep "storage .disk. at $ST has no .odbk-storage marker, and the catalog knows 2 backups in it: it is not mounted, or not odbk.s" err &&
	test_grep "hint: mount it; .*odbk-list --rescan --init-storage disk" err &&
	test -z "$(ls -A "$ST")" &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM backups WHERE status = '\''completed'\''")" = 2
'

test_expect_success 'unmounted: prune deletes nothing, rescan and verify judge nothing, restore refuses' '
	rows >rows.before &&
	test_exit_code 74 odbk-prune --backup "$(cat id1)" --force 2>err && test_grep "no .odbk-storage marker" err &&
	test_exit_code 74 odbk-list --rescan 2>err && test_grep "no .odbk-storage marker" err &&
	test_exit_code 74 odbk-list --verify 2>err && test_grep "no .odbk-storage marker" err &&
	test_exit_code 74 odbk-restore "$(cat id2)" --no-safety-backup --confirm RESTORE 2>err &&
	test_grep "no .odbk-storage marker" err &&
	test -z "$(ls -A "$ST")" &&
	rows >rows.after && test_cmp rows.before rows.after &&
	sqlite3 "$ODBK_CATALOG" "SELECT id, status, storage FROM backups WHERE status = '\''completed'\'' ORDER BY id" >c.after &&
	test "$(wc -l <c.after)" = 2 && grep -q "^$(cat id1)|completed|disk\$" c.after &&
	grep -q "^$(cat id2)|completed|disk\$" c.after
'

test_expect_success 'remounted: everything works again, the same marker' '
	remount &&
	test_cmp marker.orig "$ST/.odbk-storage" &&
	odbk-list --verify >/dev/null &&
	odbk-create prod --quiet >id3 && odbk-list --rescan 2>/dev/null >/dev/null &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM backups WHERE status = '\''completed'\''")" = 3
'

test_expect_success 'a storage of before the marker (manifests, no marker) gets one; nobody is locked out' '
	rm "$ST/.odbk-storage" &&
	odbk-list --rescan >/dev/null 2>err &&
	test_grep "^odbk-storage 1\$" "$ST/.odbk-storage" &&
	rm "$ST/.odbk-storage" &&
	odbk-create prod --quiet >/dev/null &&
	test -f "$ST/.odbk-storage"
'

test_expect_success 'a file that is no marker is refused (65), naming it; the storage is left as it is' '
	cp "$ST/.odbk-storage" good &&
	printf "odbk-storage 2\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\n" >"$ST/.odbk-storage" &&
	test_exit_code 65 odbk-create prod 2>err && test_grep "its .odbk-storage marker: it has format 2 .a newer odbk wrote it., this odbk knows 1" err &&
	head -c 100000 /dev/zero >"$ST/.odbk-storage" &&
	test_exit_code 65 odbk-list --rescan 2>err && test_grep "100000 bytes: it is no marker" err &&
	cp good "$ST/.odbk-storage"
'

test_expect_success 'moved for good: --init-storage writes a new marker there; rescan keeps the catalog rows' '
	unmount &&
	test_exit_code 64 odbk-list --init-storage disk 2>err && test_grep "goes with --rescan" err &&
	n=$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM backups WHERE status = '\''completed'\''") &&
	odbk-list --rescan --init-storage disk >/dev/null &&
	test_grep "^odbk-storage 1\$" "$ST/.odbk-storage" &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM backups WHERE status = '\''completed'\''")" = "$n" &&
	rm -rf "$ST" && mv "$TRASH/away" "$ST"
'

test_expect_success 'require-mount = yes: a directory that is no mount point is refused (74)' '
	cp "$ODBK_CONF" conf.plain &&
	sed -i "/^path = .*storage\/disk\$/a require-mount = yes" "$ODBK_CONF" &&
	test_exit_code 74 odbk-create prod 2>err &&
	test_grep "storage .disk. at $ST is not a mount point .require-mount = yes.: its disk is not mounted" err &&
	sed -i "s/^require-mount = yes/require-mount = maybe/" "$ODBK_CONF" &&
	test_exit_code 78 odbk-create prod 2>err
'

if [ "$(id -u)" = 0 ] && mkdir -p "$TRASH/mnt" && mount -t tmpfs -o size=64m tmpfs "$TRASH/mnt" 2>/dev/null; then
	umount "$TRASH/mnt"
	test_set_prereq MOUNT
fi
trap 'umount "$ST" 2>/dev/null; test_lib_exit' EXIT

test_expect_success MOUNT 'require-mount = yes: a mounted disk is taken; unmounted, refused' '
	sed -i "s/^require-mount = maybe/require-mount = yes/" "$ODBK_CONF" &&
	mv "$ST" "$TRASH/content" && mkdir "$ST" &&
	mount -t tmpfs -o size=64m tmpfs "$ST" &&
	cp -a "$TRASH/content/." "$ST/" &&
	odbk-create prod --quiet >/dev/null &&
	umount "$ST" &&
	test_exit_code 74 odbk-create prod 2>err && test_grep "is not a mount point" err &&
	test -z "$(ls -A "$ST")"
'

test_done
