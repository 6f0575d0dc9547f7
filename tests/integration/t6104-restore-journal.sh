#!/usr/bin/env bash
# The restore journal (catalog table restore_temps) keeps no secret and is acted on by one program at a
# time: a conninfo given with password=... is stored without it (the next run reconnects through the env
# of the config, or ~/.pgpass / PGPASSWORD for a --new-db); a recovering program claims a row atomically,
# so a row another live program holds is left alone and a dead claimer's row is taken over.  The loader
# (psql, pg_restore) logs in as the load role whatever PGUSER or PGSERVICE the environment has.
. "$(dirname "$0")/test-lib.sh"
test_description 'the restore journal keeps no password, rows are claimed, the load role is not overridden'
require_service pg
require_program odbk-create odbk-restore odbk-list

make_fixture src --db-mb 1 --fs-mb 1 --files 6
DB=$FIXTURE_DB FS=$FIXTURE_FS
odbk_conf prod "$DB" "$FS"
# the env's conninfo carries the password (what the documentation advises against, and what must not leak)
sed -i "s|^pg = .*|pg = host=$PGHOST port=$PGPORT user=$PGUSER password=$PGPASSWORD|" "$ODBK_CONF"
PW=$PGPASSWORD
HOST=$(hostname)

rows() { sqlite3 "$ODBK_CATALOG" "SELECT count(*) FROM restore_temps WHERE host = '$HOST'"; }
# the catalog and its journal files hold the password nowhere
no_password() {
	for f in "$ODBK_CATALOG"*; do
		if grep -a -q -F "$PW" "$f"; then echo "password found in $f" >&2; return 1; fi
	done
}
# (odbk-list --rescan recovers what it can first)
recoveries() { odbk-list --audit --json | jq "[.[] | select(.action == \"restore-recover\")] | length"; }
killed_restore() {
	test_exit_code 137 env -u PGPASSWORD ODBK_FAILPOINT=swap-journaled odbk-restore "$ID" --no-safety-backup \
		--confirm RESTORE 2>/dev/null && test "$(rows)" = 1
}
# start time of a pid as /proc/PID/stat field 22 has it
pid_start() { sed 's/.*) //' "/proc/$1/stat" | cut -d" " -f20; }

test_expect_success 'setup: a backup, then the target changes' '
	fingerprint "$DB" "$FS" >"$TRASH/new.fp" &&
	ID=$(env -u PGPASSWORD odbk-create prod --quiet) && echo "$ID" >"$TRASH/id" &&
	sql "$DB" "update res_partner set name = '\''current'\'' where id = 4" &&
	fingerprint "$DB" "$FS" >"$TRASH/old.fp"
'
ID=$(cat "$TRASH/id" 2>/dev/null)

test_expect_success 'a killed rollback: the row has the env and no password; the next run completes it' '
	killed_restore &&
	no_password &&
	test "$(sqlite3 "$ODBK_CATALOG" "SELECT env FROM restore_temps")" = prod &&
	sqlite3 "$ODBK_CATALOG" "SELECT pg FROM restore_temps" >pg && test_grep "port=.$PGPORT" pg &&
	env -u PGPASSWORD odbk-list --rescan >/dev/null &&
	test "$(rows)" = 0 &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/new.fp" now.fp &&
	sql "$DB" "update res_partner set name = '\''current'\'' where id = 4"
'

test_expect_success 'a killed --new-db with password= in --pg: stored without it, completed with PGPASSWORD' '
	db=$(test_db newpw) &&
	test_exit_code 137 env -u PGPASSWORD ODBK_FAILPOINT=swap-journaled odbk-restore "$ID" --new-db "$db" --db-owner "$TEST_OWNER" \
		--filestore "$TRASH/fs-newpw" --pg "host=$PGHOST port=$PGPORT user=$PGUSER password=$PW" \
		--confirm RESTORE 2>/dev/null &&
	no_password &&
	odbk-list --rescan >/dev/null && test "$(rows)" = 0 &&
	test "$(sql "$db" "select count(*) from res_partner")" -gt 0 && test -d "$TRASH/fs-newpw" &&
	drop_db "$db" &&
	db=$(test_db newpw2) &&
	env -u PGPASSWORD odbk-restore "$ID" --new-db "$db" --db-owner "$TEST_OWNER" --filestore "$TRASH/fs-newpw2" \
		--pg "host=$PGHOST port=$PGPORT user=$PGUSER password=$PW" --confirm RESTORE >block 2>/dev/null &&
	test_grep "^pg = .*port=.$PGPORT." block && ! grep -F "$PW" block && no_password &&
	drop_db "$db"
'

test_expect_success 'a row claimed by a live program is left alone; once it is gone the row is taken over' '
	killed_restore &&
	{ sleep 60 & holder=$!; } &&
	test_when_finished "kill $holder 2>/dev/null; true" &&
	sqlite3 "$ODBK_CATALOG" "UPDATE restore_temps SET claim_pid = $holder, claim_start = \"$(pid_start $holder)\"" &&
	before=$(recoveries) &&
	odbk-list --rescan >/dev/null &&
	test "$(rows)" = 1 && test "$(recoveries)" = "$before" &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/old.fp" now.fp &&
	{ kill $holder; wait $holder 2>/dev/null; true; } &&
	odbk-list --rescan >/dev/null &&
	test "$(rows)" = 0 && test "$(recoveries)" = $((before + 1)) &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/new.fp" now.fp &&
	sql "$DB" "update res_partner set name = '\''current'\'' where id = 4"
'

test_expect_success 'two programs recovering at once: one acts, the other leaves the row to it' '
	before=$(recoveries) &&
	killed_restore &&
	{ ODBK_FAILPOINT=recover-claimed odbk-list --rescan --rescan >/dev/null 2>&1 & first=$!; } &&
	claimer() { sqlite3 "$ODBK_CATALOG" "SELECT coalesce(claim_pid, 0) FROM restore_temps"; } &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
		test "$(claimer)" != 0 && break
		sleep 0.2
	done &&
	claimed=$(claimer) && test "$claimed" != 0 && kill -0 "$claimed" &&
	odbk-list --rescan >/dev/null &&
	test "$(rows)" = 1 &&
	wait $first &&
	test "$(rows)" = 0 && test "$(recoveries)" = $((before + 1)) &&
	odbk-list --audit --json | jq -e "[.[] | select(.action == \"restore-recover\" and .result != \"ok\")] | length == 0" &&
	fingerprint "$DB" "$FS" >now.fp && test_cmp "$TRASH/new.fp" now.fp
'

make_zip() {
	python3 - "$1" "$2" <<-'PY'
	import sys, zipfile
	with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
	    z.write(sys.argv[2], "dump.sql")
	    z.writestr("manifest.json", '{"odoo_dump": "1", "db_name": "who", "version": "17.0"}')
	PY
}

test_expect_success 'PGUSER and a PGSERVICE naming the superuser do not change who loads' '
	printf "[odbksvc]\nuser=%s\n" "$PG_SUPERUSER" >"$TRASH/pg_service.conf" &&
	printf "CREATE TABLE public.who AS SELECT current_user::text AS u, session_user::text AS s;\n" >who.sql &&
	make_zip who.zip who.sql &&
	db=$(test_db who) &&
	env PGUSER="$PG_SUPERUSER" PGSERVICE=odbksvc PGSERVICEFILE="$TRASH/pg_service.conf" \
		odbk-restore --from-file who.zip --new-db "$db" --db-owner "$TEST_OWNER" --no-filestore --confirm RESTORE \
		--pg "host=$PGHOST port=$PGPORT user=$PGUSER" &&
	sql "$db" "select u || '\'' '\'' || s from who" >who &&
	test_grep "^odbk_load_[a-z0-9]+ odbk_load_[a-z0-9]+$" who &&
	test "$(sql "$db" "select pg_get_userbyid(relowner) from pg_class where relname = '\''who'\''")" = "$TEST_OWNER" &&
	drop_db "$db"
'

test_done
