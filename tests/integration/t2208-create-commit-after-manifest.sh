#!/usr/bin/env bash
# Once its manifest is stored a backup is complete (SPEC §5), and what odbk-create reports is true to
# that: a read-back ended by a stop signal or a store that does not answer (503, a reset) leaves the
# backup completed and not verified (exit 143 / 75), a catalog that cannot record it leaves it stored
# (exit 74) for the next odbk-create or odbk-list --rescan to list as completed; each says so in one
# line naming the backup, the cause and the fix, and odbk-list --verify later reads it back.  Only bytes
# in storage that are not what was written (a changed byte) still fail and remove it (65).  A stop that
# arrives after a restore's swap does not undo it, and the restore says it is done.
# Failpoints (ODBK_FAILPOINT, lib/common/util.c): create-verify-sigterm raises SIGTERM as the read-back
# starts, create-committed-sigterm once the row is completed; catalog-readonly makes the catalog refuse
# every write from the completed row on; restore-swapped-sigterm raises SIGTERM once the swap is done.
# The fake S3 (tests/fake/s3.py) fails the read-back's GETs (env fake: a full filestore, so that its
# GETs are the read-back's only; env fakeinc: incremental, whose first GET is the parent's file list).  Both storages have `verify = read` (the
# read-back; t3201 does the same for the store's confirmation, the default).
. "$(dirname "$0")/test-lib.sh"
test_description 'a backup whose manifest is stored is never deleted for a read-back or catalog fault'
require_service pg
require_program odbk-create odbk-list odbk-restore

fake_s3_start
# the fake's objects of backup ID, one "key size" a line
fake_objects() { state | jq -r ".objects | to_entries[] | select(.key | contains(\"/$1/\")) | \"\(.key) \(.value)\""; }
# row ID as odbk-list --json shows it
row() { odbk-list --json | jq -c ".[] | select(.id == \"$1\") | {status, verified, error}"; }
# ID is completed and not verified; odbk-list --verify ENV then reads it back and marks it verified
kept_not_verified() {
	test "$(row "$1")" = "{\"status\":\"completed\",\"verified\":false,\"error\":null}"
}
verified_later() {
	odbk-list --verify "$2" 2>verify.err &&
	test "$(row "$1")" = "{\"status\":\"completed\",\"verified\":true,\"error\":null}"
}
disk_files() { find "$TRASH/storage/disk/prod/$1" -type f 2>/dev/null | wc -l; }
# odbk-create ENV (stdout in id, stderr in err) with the fake's GETs trickling; SIGTERM a second after its
# first GET: true when it exits 143 within 5 s
term_while_get_trickles() {
	local pid rc i t0 t1
	state | jq "[.log[] | select(startswith(\"get \"))] | length" >gets.n &&
	faults "[{\"op\": \"get\", \"trickle\": 20}]" &&
	{ odbk-create "$1" >id 2>err & pid=$!; } &&
	for i in $(seq 100); do
		state | jq -e "[.log[] | select(startswith(\"get \"))] | length > $(cat gets.n)" >/dev/null && break
		sleep 0.1
	done &&
	sleep 1 && t0=$(date +%s) && kill -TERM $pid &&
	for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done &&
	t1=$(date +%s) && { wait $pid; rc=$?; } ; faults "[]" &&
	echo "# exit $rc after $((t1 - t0)) s" >&2 &&
	test "$rc" = 143 && test $((t1 - t0)) -le 5
}

test_expect_success 'setup: env prod on disk, env fake on the fake S3 (2 retries), both verify = read' '
	test -n "$URL" &&
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	sed -i "/^\[storage disk\]\$/a verify = read" "$ODBK_CONFIG" &&
	fake_s3_storage fake "verify = read" &&
	printf "\n[env fake]\ndatabase = %s\nfilestore = %s\nstorage = fake\nfilestore-mode = full\n" "$FIXTURE_DB" \
		"$FIXTURE_FS" >>"$ODBK_CONFIG" &&
	printf "\n[env fakeinc]\ndatabase = %s\nfilestore = %s\nstorage = fake\n" "$FIXTURE_DB" "$FIXTURE_FS" >>"$ODBK_CONFIG" &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'

test_expect_success 'SIGTERM as the read-back starts: exit 143, the backup completed, not verified, and says so' '
	test_exit_code 143 env ODBK_FAILPOINT=create-verify-sigterm odbk-create prod >id 2>err &&
	id=$(cat id) && test -n "$id" &&
	test_grep "stopped during the read-back: backup $id is stored and complete, not verified" err &&
	test_grep "odbk-list --verify prod" err &&
	test "$(grep -c . err)" = 1 &&
	kept_not_verified "$id" &&
	test "$(disk_files "$id")" = 3 &&
	verified_later "$id" prod
'

test_expect_success 'SIGTERM once the row is completed: exit 143, and it says the backup is kept, verified' '
	test_exit_code 143 env ODBK_FAILPOINT=create-committed-sigterm odbk-create prod >id 2>err &&
	id=$(cat id) && test -n "$id" &&
	test_grep "SIGTERM arrived once backup $id was complete: it is kept, verified" err &&
	test "$(grep -c . err)" = 1 &&
	test "$(row "$id")" = "{\"status\":\"completed\",\"verified\":true,\"error\":null}" &&
	test "$(disk_files "$id")" = 3
'

test_expect_success 'the catalog refuses the completed row: exit 74, the backup stays, odbk-list --rescan lists it completed' '
	test_exit_code 74 env ODBK_FAILPOINT=catalog-readonly odbk-create prod >id 2>err &&
	id=$(cat id) && test -n "$id" &&
	test_grep "error: backup $id is stored and complete, but the catalog cannot record it: .*readonly.*; the next odbk-create or .odbk-list --rescan. records it" err &&
	test "$(grep -c . err)" = 1 &&
	test "$(disk_files "$id")" = 3 &&
	odbk-list --json | jq -e ".[] | select(.id == \"$id\") | .status == \"uploading\"" &&
	odbk-list --rescan >/dev/null &&
	kept_not_verified "$id" &&
	test "$(disk_files "$id")" = 3 &&
	verified_later "$id" prod &&
	db=$(test_db fromrescan) &&
	odbk-restore --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-rescan" --confirm RESTORE "$id" 2>/dev/null &&
	fingerprint "$db" "$TRASH/fs-rescan" >fp.copy && test_cmp fp.src fp.copy
'

test_expect_success 'the catalog refuses the completed row: the next odbk-create lists it completed' '
	test_exit_code 74 env ODBK_FAILPOINT=catalog-readonly odbk-create --no-verify prod >id 2>err &&
	id=$(cat id) && test -n "$id" &&
	odbk-create prod >next &&
	kept_not_verified "$id" &&
	test "$(disk_files "$id")" = 3
'

for fault in 'status 503' 'reset_after 100'; do
test_expect_success "S3: every read-back GET answered with $fault: exit 75, the backup kept, completed, not verified" '
	faults "[{\"op\": \"get\", \"'${fault% *}'\": '${fault#* }'}]" &&
	test_exit_code 75 odbk-create fake >id 2>err &&
	faults "[]" &&
	id=$(cat id) && test -n "$id" &&
	test_grep "error: backup $id is stored and complete, not verified: the read-back failed: .*; .odbk-list --verify fake. reads it back" err &&
	test "$(grep -c . err)" = 1 &&
	kept_not_verified "$id" &&
	test "$(fake_objects "$id" | wc -l)" = 3 &&
	verified_later "$id" fake
'
done

test_expect_success 'S3: SIGTERM while a read-back GET trickles: it ends at once, exit 143, completed, not verified' '
	term_while_get_trickles fake &&
	id=$(cat id) && test -n "$id" &&
	test_grep "stopped during the read-back: backup $id is stored and complete, not verified" err &&
	kept_not_verified "$id" &&
	test "$(fake_objects "$id" | wc -l)" = 3
'

test_expect_success 'S3: a read-back GET answers one byte changed: a real mismatch, exit 65, failed and removed' '
	faults "[{\"op\": \"get\", \"corrupt\": true, \"times\": 1}]" &&
	test_exit_code 65 odbk-create fake >id 2>err &&
	faults "[]" &&
	test ! -s id &&
	id=$(odbk-list fake --json | jq -r ".[0].id") &&
	odbk-list --json | jq -e ".[] | select(.id == \"$id\") | .status == \"failed\" and (.error | test(\"checksum mismatch\"))" &&
	test_grep "verification after upload failed: checksum mismatch" err &&
	test -z "$(fake_objects "$id")"
'

test_expect_success 'S3, incremental: SIGTERM while the parent'"'"'s file list GET trickles: exit 143 at once, nothing stored' '
	odbk-create --quiet fakeinc >parent.id &&
	state | jq -r "[.objects | keys[] | select(contains(\"/fakeinc/\"))] | sort | .[]" >objects.before &&
	term_while_get_trickles fakeinc &&
	test ! -s id &&
	state | jq -r "[.objects | keys[] | select(contains(\"/fakeinc/\"))] | sort | .[]" >objects.after &&
	test_cmp objects.before objects.after
'

test_expect_success 'odbk-restore: SIGTERM once the swap is done: exit 143, the restore stands and says so' '
	odbk-create prod >id.src &&
	db=$(test_db target) && rm -rf "$TRASH/fs-target" &&
	odbk-restore --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-target" --confirm RESTORE "$(cat id.src)" >/dev/null 2>&1 &&
	printf "\n[env target]\ndatabase = %s\nfilestore = %s\nstorage = disk\n" "$db" "$TRASH/fs-target" >>"$ODBK_CONFIG" &&
	odbk-create target >id.other &&
	sql "$db" "CREATE TABLE changed_since (x int)" &&
	test_exit_code 143 env ODBK_FAILPOINT=restore-swapped-sigterm odbk-restore --to target --confirm RESTORE "$(cat id.src)" >out 2>err &&
	test_grep "restored database" err &&
	test_grep "SIGTERM arrived after the swap: the restore is done and was not undone" err &&
	! grep -i "unchanged" err &&
	fingerprint "$db" "$TRASH/fs-target" >fp.target && test_cmp fp.src fp.target &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"restore\")][0].result == \"ok\""
'

test_expect_success 'odbk-restore: SIGTERM in the safety backup read-back: exit 143, nothing restored, the safety backup kept' '
	sql "$(test_db target)" "CREATE TABLE changed_again (x int)" &&
	fingerprint "$(test_db target)" "$TRASH/fs-target" >fp.before &&
	test_exit_code 143 env ODBK_FAILPOINT=create-verify-sigterm odbk-restore --to target --confirm RESTORE "$(cat id.src)" >out 2>err &&
	test_grep "nothing was restored: stopped during the read-back: backup .* is stored and complete, not verified" err &&
	sb=$(odbk-list target --json | jq -r ".[0].id") &&
	test "$(odbk-list target --json | jq -r ".[0].type")" = pre-restore &&
	kept_not_verified "$sb" &&
	test -n "$(find "$TRASH/storage/disk/target/$sb" -name "*-manifest.json")" &&
	fingerprint "$(test_db target)" "$TRASH/fs-target" >fp.after && test_cmp fp.before fp.after
'

test_done
