#!/usr/bin/env bash
# A run killed after its manifest was stored (or during the read-back) made a complete backup: the next
# run's reaper finds the manifest and every file it lists, and the row becomes completed, not verified
# (nothing was read back; odbk-list --verify does that), instead of failed and deleted.  A manifest whose
# files are not all there is no backup: that run is failed and removed as before.
# ODBK_FAILPOINT kills the run with SIGKILL at a named point (odbk_crash_point in lib/common/util.c).
. "$(dirname "$0")/test-lib.sh"
test_description 'a run killed after its manifest is finished by the reaper'
require_service pg
require_program odbk-create odbk-list odbk-restore

test_expect_success 'setup' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'

for point in create-after-manifest create-verify; do
test_expect_success "killed at $point: the next run completes it, its files stay, it restores" '
	test_exit_code 137 env ODBK_FAILPOINT='$point' odbk-create prod 2>/dev/null &&
	id=$(odbk-list --status uploading --json | jq -r ".[0].id") && test -n "$id" &&
	test -n "$(find "$TRASH/storage/disk/prod/$id" -name "*-manifest.json")" &&
	odbk-create prod >next &&
	odbk-list --json | jq ".[] | select(.id == \"$id\")" >row.json &&
	jq -e ".status == \"completed\" and .verified == false and .error == null and .size > 0" row.json &&
	test "$(find "$TRASH/storage/disk/prod/$id" -type f | wc -l)" = 3 &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"reap\" and .backup_id == \"$id\" and
		(.detail | test(\"completed, not verified\")))] | length == 1" &&
	db=$(test_db '$point') &&
	odbk-restore --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-'$point'" --no-safety-backup --confirm RESTORE "$id" \
		2>/dev/null &&
	fingerprint "$db" "$TRASH/fs-'$point'" >fp.copy && test_cmp fp.src fp.copy
'
done

test_expect_success 'killed after the manifest, but a file it lists is short: failed and removed' '
	test_exit_code 137 env ODBK_FAILPOINT=create-after-manifest odbk-create prod 2>/dev/null &&
	id=$(odbk-list --status uploading --json | jq -r ".[0].id") && test -n "$id" &&
	f=$(find "$TRASH/storage/disk/prod/$id" -name "*-filestore.tar.gz") && test -n "$f" &&
	truncate -s 100 "$f" &&
	odbk-create prod >next &&
	odbk-list --json | jq ".[] | select(.id == \"$id\")" | jq -e ".status == \"failed\" and (.error | test(\"interrupted\"))" &&
	test ! -e "$TRASH/storage/disk/prod/$id"
'

test_done
