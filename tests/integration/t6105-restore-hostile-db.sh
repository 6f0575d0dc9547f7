#!/usr/bin/env bash
# What a database defines never runs as odbk's connection (the testbed's is a superuser, the dangerous
# setup): after the load, the series check, --neutralize and --copy work on the loaded database as the
# load role; the target before a restore and the live database of odbk-create are read through the
# catalogs and a plain ir_module_module only, with search_path = pg_catalog.  Each planted object (a
# view, a trigger, an operator, a database search_path) tries COPY ... TO PROGRAM and notes who ran it.
. "$(dirname "$0")/test-lib.sh"
test_description 'a hostile database runs nothing as the admin'
require_service pg
require_program odbk-create odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 2
SRC_DB=$FIXTURE_DB
make_fixture target --db-mb 1 --fs-mb 1 --files 4 --seed 7
T_DB=$FIXTURE_DB T_FS=$FIXTURE_FS
odbk_conf prod "$T_DB" "$T_FS"
OWNER=$(test_db owner)
# written by the server's own user: a directory it can write to
MARK=/tmp/odbk-$TEST_DB_PREFIX-pwned
rm -f "$MARK"

restore() { odbk-restore "$@" --confirm RESTORE; }

# make_zip NAME SQL: an Odoo zip holding only the SQL file as its dump
make_zip() {
	python3 - "$1" "$2" <<-'PY'
	import sys, zipfile
	with zipfile.ZipFile(sys.argv[1], "w") as z:
	    z.write(sys.argv[2], "dump.sql")
	    z.writestr("manifest.json", '{"odoo_dump": "1", "db_name": "src", "version": "17.0"}')
	PY
}

# the planted code: notes current_user in seen, tries a program on the server
cat >"$TRASH/pwn.sql" <<'EOS'
CREATE TABLE public.seen (who text, su boolean);
CREATE FUNCTION public.pwn() RETURNS varchar LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO public.seen SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
  BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''id > @MARK@'''; EXCEPTION WHEN others THEN NULL; END;
  RETURN 'base';
END $f$;
EOS

# what the load runs as; and a load that tries a program on the server, without catching its error
cat >"$TRASH/who.sql" <<'EOS'
CREATE TABLE public.who AS SELECT current_user::text AS u, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS su;
EOS
cat >"$TRASH/evil.sql" <<'EOS'
DO $d$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''id > @MARK@'''; END $d$;
EOS
sed -i "s|@MARK@|$MARK|" "$TRASH/evil.sql"
# a SECURITY DEFINER function that whoever owns it runs for anyone
cat >"$TRASH/secdef.sql" <<'EOS'
CREATE FUNCTION public.helper() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $f$
BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''id > @MARK@'''; END $f$;
EOS
sed -i "s|@MARK@|$MARK|" "$TRASH/secdef.sql"

# hostile NAME SQL...: NAME.zip of PWN and the SQL lines
hostile() {
	local name=$1; shift
	{ cat "$TRASH/pwn.sql"; printf '%s\n' "$@"; } | sed "s|@MARK@|$MARK|" >"$name.sql" && make_zip "$name.zip" "$name.sql"
}

# nothing ran as a superuser, no program ran; the planted code ran at least once when $2 says so
ran_as_load_role() {
	test ! -e "$MARK" &&
	test "$(sql "$1" "select count(*) from seen where su or who !~ '^odbk_load_'")" = 0 &&
	if [ "${2:-}" = ran ]; then test "$(sql "$1" "select count(*) from seen")" -gt 0; fi
}

ODOO_TABLES="CREATE TABLE public.ir_module_module (id serial, name varchar, state varchar, latest_version varchar);
INSERT INTO public.ir_module_module (name, state, latest_version) VALUES ('base', 'installed', '17.0.1.0');"

test_expect_success 'setup: the owner role of new databases' '
	sql postgres "create role $OWNER"
'

test_expect_success 'a view for ir_module_module: the series check after the load runs none of it as the admin' '
	hostile view "CREATE VIEW public.ir_module_module AS SELECT public.pwn() AS name, \$\$17.0.1.0\$\$::varchar AS latest_version, \$\$installed\$\$::varchar AS state;" &&
	restore --from-file view.zip --to prod --no-safety-backup &&
	ran_as_load_role "$T_DB"
'

test_expect_success 'odbk-create of that database (the view is its ir_module_module) runs nothing of it' '
	before=$(sql "$T_DB" "select count(*) from seen") &&
	id=$(odbk-create prod --quiet) && test -n "$id" &&
	ran_as_load_role "$T_DB" &&
	test "$(sql "$T_DB" "select count(*) from seen")" = "$before"
'

test_expect_success '--neutralize: a trigger on ir_mail_server fires as the load role' '
	N=$(test_db neutral) &&
	hostile trigger "$ODOO_TABLES" \
		"CREATE TABLE public.ir_mail_server (id serial, active boolean); INSERT INTO public.ir_mail_server (active) VALUES (true);" \
		"CREATE TABLE public.ir_config_parameter (id serial, key varchar, value text);" \
		"CREATE FUNCTION public.trg() RETURNS trigger LANGUAGE plpgsql AS \$t\$ BEGIN PERFORM public.pwn(); RETURN NEW; END \$t\$;" \
		"CREATE TRIGGER t BEFORE UPDATE ON public.ir_mail_server FOR EACH ROW EXECUTE FUNCTION public.trg();" &&
	restore --from-file trigger.zip --new-db "$N" --no-filestore --db-owner "$OWNER" --neutralize --copy &&
	ran_as_load_role "$N" ran &&
	test "$(sql "$N" "select active from ir_mail_server")" = f &&
	test "$(sql "$N" "select value from ir_config_parameter where key = '"'"'database.is_neutralized'"'"'")" = true &&
	test "$(sql "$N" "select count(*) from ir_config_parameter where key = '"'"'database.uuid'"'"'")" = 1
'

test_expect_success 'an operator =(varchar, varchar) and a database search_path in the dump: run as the load role only' '
	hostile operator "$ODOO_TABLES" \
		"CREATE FUNCTION public.eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS \$e\$ BEGIN PERFORM public.pwn(); RETURN \$1::text OPERATOR(pg_catalog.=) \$2::text; END \$e\$;" \
		"CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.eq);" \
		"DO \$d\$ BEGIN EXECUTE format(\$x\$ALTER DATABASE %I SET search_path = public, pg_catalog\$x\$, current_database()); END \$d\$;" &&
	restore --from-file operator.zip --to prod --no-safety-backup &&
	ran_as_load_role "$T_DB" &&
	test "$(sql "$T_DB" "select setconfig::text from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase where d.datname = current_database()")" = "{\"search_path=public, pg_catalog\"}"
'

test_expect_success 'odbk-create and the next restore read that live database as the catalogs say, the operator unused' '
	sql "$T_DB" "delete from seen" &&
	id=$(odbk-create prod --quiet) && test -n "$id" &&
	ran_as_load_role "$T_DB" && test "$(sql "$T_DB" "select count(*) from seen")" = 0 &&
	pg_dump --no-owner "$SRC_DB" >src.sql && make_zip src.zip src.sql &&
	restore --from-file src.zip --to prod --no-safety-backup &&
	test ! -e "$MARK" &&
	test -z "$(sql "$T_DB" "select 1 from pg_class where relname = '"'"'seen'"'"'")" &&
	test "$(sql "$T_DB" "select latest_version from ir_module_module where name = '"'"'base'"'"'")" = 17.0.1.3
'

test_expect_success 'a service naming the superuser (pg = service=NAME, PGSERVICE set): the load runs as the load role' '
	printf "[odbksvc]\nhost=%s\nport=%s\nuser=%s\npassword=%s\n" "$PGHOST" "$PGPORT" "$PGUSER" "$PGPASSWORD" >svc.conf &&
	chmod 600 svc.conf && make_zip who.zip who.sql && make_zip evil.zip evil.sql &&
	db=$(test_db svc) && db2=$(test_db svcevil) &&
	(unset PGUSER PGPASSWORD PGHOST PGPORT && export PGSERVICEFILE=$TRASH/svc.conf PGSERVICE=odbksvc &&
	 restore --from-file who.zip --new-db "$db" --no-filestore --db-owner "$OWNER" --pg "service=odbksvc" >/dev/null &&
	 test_must_fail restore --from-file evil.zip --new-db "$db2" --no-filestore --db-owner "$OWNER" \
		--pg "service=odbksvc" 2>err) &&
	test "$(sql "$db" "select su from who")" = f && sql "$db" "select u from who" | grep -q "^odbk_load_" &&
	test_grep "permission denied|must be superuser|pg_execute_server_program" err &&
	test ! -e "$MARK" && test -z "$(sql postgres "select 1 from pg_database where datname = '"'"'$db2'"'"'")"
'

test_expect_success 'a psql that connects as someone else than the load role: its first statement stops the load' '
	mkdir -p wrap && real=$(command -v psql) &&
	printf "#!/bin/sh\n# drops --username, logs in as the superuser\nfor a; do shift; case \$a in --username=*) ;; *) set -- \"\$@\" \"\$a\" ;; esac; done\nPGUSER=%s PGPASSWORD=%s PGPASSFILE= exec %s \"\$@\"\n" "$PGUSER" "$PGPASSWORD" "$real" >wrap/psql &&
	chmod +x wrap/psql && make_zip evil.zip evil.sql && db=$(test_db wrapped) &&
	ODBK_PG_BINDIR=$TRASH/wrap test_must_fail restore --from-file evil.zip --new-db "$db" --no-filestore \
		--db-owner "$OWNER" 2>err &&
	test_grep "not as its load role" err && test ! -e "$MARK" &&
	test -z "$(sql postgres "select 1 from pg_database where datname = '"'"'$db'"'"'")"
'

test_expect_success '--new-db as a superuser without --db-owner, or with a superuser --db-owner: refused (64)' '
	make_zip secdef.zip secdef.sql && db=$(test_db secdef) &&
	test_exit_code 64 restore --from-file secdef.zip --new-db "$db" --no-filestore 2>err &&
	test_grep "connecting user .$PGUSER., a superuser" err && test_grep "db-owner" err &&
	test_exit_code 64 restore --from-file secdef.zip --new-db "$db" --no-filestore --db-owner "$PGUSER" 2>err &&
	test_grep "is a superuser" err &&
	test -z "$(sql postgres "select 1 from pg_database where datname = '"'"'$db'"'"'")"
'

test_expect_success 'a SECURITY DEFINER function of the backup belongs to --db-owner: anyone calling it gets no superuser' '
	db=$(test_db secdef) && nobody=$(test_db nobody) &&
	restore --from-file secdef.zip --new-db "$db" --no-filestore --db-owner "$OWNER" >/dev/null &&
	test "$(sql "$db" "select pg_get_userbyid(proowner) from pg_proc where proname = '"'"'helper'"'"'")" = "$OWNER" &&
	sql postgres "create role $nobody login password '"'"'x'"'"'" &&
	test_when_finished "sql postgres \"drop role if exists $nobody\"" &&
	test_must_fail env PGPASSWORD=x psql -X -q -h "$PGHOST" -p "$PGPORT" -U "$nobody" -d "$db" -c "select public.helper()" &&
	test ! -e "$MARK"
'

test_expect_success 'a rollback of a database a superuser owns: refused (64) unless --db-owner names another role' '
	sql postgres "alter database $T_DB owner to $PGUSER" && fingerprint "$T_DB" >before.fp &&
	test_exit_code 64 restore --from-file secdef.zip --to prod --no-safety-backup 2>err &&
	test_grep "its owner .$PGUSER., a superuser" err && test_grep "db-owner" err &&
	fingerprint "$T_DB" >after.fp && test_cmp before.fp after.fp &&
	test_exit_code 64 restore --from-file secdef.zip --to prod --no-safety-backup --db-owner "$PGUSER" 2>err &&
	restore --from-file secdef.zip --to prod --no-safety-backup --db-owner "$OWNER" &&
	test "$(sql postgres "select pg_get_userbyid(datdba) from pg_database where datname = '"'"'$T_DB'"'"'")" = "$OWNER" &&
	test -z "$(sql "$T_DB" "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_roles r on r.oid = c.relowner where n.nspname = '"'"'public'"'"' and r.rolsuper")" &&
	test "$(sql "$T_DB" "select r.rolsuper from pg_proc p join pg_roles r on r.oid = p.proowner where proname = '"'"'helper'"'"'")" = f
'

test_expect_success 'cleanup: the owner role' '
	drop_db "$N" $(sql postgres "select datname from pg_database where datdba = (select oid from pg_roles where rolname = '"'"'$OWNER'"'"')") &&
	sql postgres "drop role $OWNER" && rm -f "$MARK"
'

test_done
