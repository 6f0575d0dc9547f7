#!/usr/bin/env bash
# A restore killed at any point of its swap leaves nothing half-done once another writing odbk program
# ran (here odbk-list --rescan; a plain odbk-list only reports, t6122): the swap is journaled in the
# catalog (restore_temps) before the first rename, and that program completes it (the load had
# finished), database and filestore together, or, killed before the journal, drops the temporaries and
# leaves the target as it was.  Cleanup touches only what this host recorded: a user database that
# merely has a temporary's name, and another host's recorded temporaries, are never dropped.  ODBK_FAILPOINT=swap-* kills the restore with SIGKILL (lib/backup/swap.c).
. "$(dirname "$0")/test-lib.sh"
test_description 'a killed swap is completed or undone by the next run, and only what this host recorded is cleaned'
require_service pg
require_program odbk-create odbk-restore odbk-list

make_fixture src --db-mb 1 --fs-mb 1 --files 10
DB=$FIXTURE_DB FS=$FIXTURE_FS
odbk_conf prod "$DB" "$FS"
HOST=$(hostname)

# the target as it is now (differs from the backup in the database and in the filestore)
make_old() {
	sql "$DB" "update res_partner set name = 'current' where id = 5" &&
	echo current >"$FS/odbk-test-current"
}
rows() { sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps WHERE host = '$HOST'"; }
no_leftovers() {
	sql postgres "select datname from pg_database where datname ~ '^${TEST_DB_PREFIX}src_odbk_(tmp|old)_'" >dbs &&
	{ test ! -s dbs || { cat dbs; false; }; } &&
	{ test -z "$(ls -d "$FS".odbk-* 2>/dev/null)" || { ls -d "$FS".odbk-*; false; }; } &&
	test "$(rows)" = 0
}
# a pid that runs no process
dead_pid() {
	local p=99999
	while kill -0 $p 2>/dev/null; do p=$((p + 1)); done
	echo $p
}

test_expect_success 'setup: a backup (the new state) and a target that differs (the old state)' '
	fingerprint "$DB" "$FS" >"$TRASH/new.fp" &&
	ID=$(odbk-create prod --quiet) && echo "$ID" >"$TRASH/id" &&
	make_old &&
	fingerprint "$DB" "$FS" >"$TRASH/old.fp" &&
	! test_cmp "$TRASH/old.fp" "$TRASH/new.fp" >/dev/null
'
ID=$(cat "$TRASH/id" 2>/dev/null)

test_expect_success 'killed after the load, before the journal: the next run drops the temporaries, target old' '
	test_exit_code 137 env ODBK_FAILPOINT=swap-before-journal odbk-restore "$ID" --no-safety-backup \
		--confirm RESTORE 2>/dev/null &&
	sqlite3 "$ODBK_CATALOG" "SELECT step FROM restore_temps" >step && echo 0 >zero && test_cmp zero step &&
	test -n "$(ls -d "$FS".odbk-tmp-* 2>/dev/null)" &&
	odbk-list --rescan >/dev/null &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/old.fp" now.fp &&
	no_leftovers &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"restore-recover\" and
		(.detail | test(\"during its load\")))] | length == 1"
'

for point in swap-journaled swap-db-aside swap-db-in swap-dir-aside swap-dir-in; do
test_expect_success "killed at $point: the next odbk-list --rescan completes the swap, database and filestore new" '
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/old.fp" now.fp &&
	test_exit_code 137 env ODBK_FAILPOINT='$point' odbk-restore "$ID" --no-safety-backup --confirm RESTORE \
		2>/dev/null &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT step > 0 FROM restore_temps")" = 1 &&
	odbk-list --rescan >/dev/null &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/new.fp" now.fp &&
	no_leftovers &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"restore-recover\" and .result == \"ok\" and
		(.detail | test(\"swap completed\")))] | length >= 1" &&
	make_old
'
done

test_expect_success 'an unkilled restore leaves no row and no temporaries' '
	odbk-restore "$ID" --no-safety-backup --confirm RESTORE 2>err &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/new.fp" now.fp &&
	no_leftovers && make_old
'

test_expect_success 'a user database and directory that merely have a temporary name survive every run' '
	p=$(dead_pid) &&
	user=$(test_db src_odbk_tmp_$p) && userold=$(test_db src_odbk_old_$p) &&
	sql postgres "create database \"$user\"" && sql postgres "create database \"$userold\"" &&
	sql "$user" "create table keep (x int); insert into keep values (42)" &&
	mkdir "$FS.odbk-tmp-$p" && echo mine >"$FS.odbk-tmp-$p/file" &&
	odbk-restore "$ID" --no-safety-backup --confirm RESTORE 2>err &&
	odbk-list --rescan >/dev/null &&
	test "$(sql "$user" "select x from keep")" = 42 &&
	sql postgres "select count(*) from pg_database where datname = '\''$userold'\''" >n && echo 1 >one &&
	test_cmp one n &&
	test "$(cat "$FS.odbk-tmp-$p/file")" = mine &&
	drop_db "$user" "$userold" && rm -rf "$FS.odbk-tmp-$p" && make_old
'

test_expect_success 'temporaries another host recorded survive, loading or in the middle of a swap' '
	p=$(dead_pid) &&
	t1=$(test_db other_odbk_tmp_$p) && t2=$(test_db other2_odbk_tmp_$p) && o2=$(test_db other2_odbk_old_$p) &&
	for d in "$t1" "$t2" "$o2"; do sql postgres "create database \"$d\"" || return 1; done &&
	mkdir -p "$TRASH/other.odbk-tmp-$p" "$TRASH/other2.odbk-old-$p" &&
	sqlite3 "$ODBK_CATALOG" "INSERT INTO restore_temps (host, pid, created_at, pg, target_db, target_dir,
		tmp_db, tmp_dir, step) VALUES (\"elsewhere.example\", $p, 1, \"\", \"$(test_db other)\",
		\"$TRASH/other\", \"$t1\", \"$TRASH/other.odbk-tmp-$p\", 0);
		INSERT INTO restore_temps (host, pid, created_at, pg, target_db, target_dir, tmp_db, old_db, old_dir, step)
		VALUES (\"elsewhere.example\", $p, 1, \"\", \"$(test_db other2)\", \"$TRASH/other2\", \"$t2\", \"$o2\",
		\"$TRASH/other2.odbk-old-$p\", 2)" &&
	odbk-list --rescan >/dev/null &&
	odbk-restore "$ID" --no-safety-backup --confirm RESTORE 2>err &&
	sql postgres "select count(*) from pg_database where datname in ('\''$t1'\'', '\''$t2'\'', '\''$o2'\'')" >n &&
	echo 3 >three && test_cmp three n &&
	test -d "$TRASH/other.odbk-tmp-$p" && test -d "$TRASH/other2.odbk-old-$p" &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps WHERE host = \"elsewhere.example\"")" = 2 &&
	drop_db "$t1" "$t2" "$o2" && make_old
'

test_expect_success 'a recorded pid that now runs another process (start time differs) counts as dead' '
	tmp=$(test_db src_odbk_tmp_reuse) &&
	sql postgres "create database \"$tmp\"" &&
	sqlite3 "$ODBK_CATALOG" "INSERT INTO restore_temps (host, pid, pid_start, created_at, pg, target_db, tmp_db,
		step) VALUES (\"$HOST\", $$, \"1\", 1, \"host=$PGHOST port=$PGPORT user=$PGUSER\", \"$DB\", \"$tmp\", 0)" &&
	odbk-list --rescan >/dev/null &&
	sql postgres "select count(*) from pg_database where datname = '\''$tmp'\''" >n && echo 0 >zero &&
	test_cmp zero n && test "$(rows)" = 0 &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/old.fp" now.fp
'

test_done
