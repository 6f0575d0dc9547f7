#!/usr/bin/env bash
# A restored dump is data, never a script: psql meta-commands in it are refused before anything is
# touched (exit 65), and its SQL runs as a role that owns only the temporary database, so programs, server
# files, untrusted languages, ALTER SYSTEM, roles and other databases are out of its reach.  Real dumps
# (pg_dump's \restrict lines, COPY data full of backslashes, trusted extensions) still restore exactly.
. "$(dirname "$0")/test-lib.sh"
test_description 'restoring an untrusted dump runs nothing'
require_service pg
require_program odbk-create odbk-restore odbk-list

make_fixture src --db-mb 1 --fs-mb 1 --files 6
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
make_fixture target --db-mb 1 --fs-mb 1 --files 4 --seed 7
T_DB=$FIXTURE_DB T_FS=$FIXTURE_FS
odbk_conf prod "$T_DB" "$T_FS"
odbk_conf_env src "$SRC_DB" "$SRC_FS" disk
fingerprint "$T_DB" "$T_FS" >"$TRASH/target.fp"
OTHER=$(test_db other)
PWNED=$TRASH/pwned

restore() { odbk-restore "$@" --confirm RESTORE; }

# no load role of a finished restore is left (others' restores may be running: their pids live)
no_dead_load_role() {
	sql postgres "select coalesce(shobj_description(oid, 'pg_authid'), 'none 0') from pg_roles where rolname ~ '^odbk_load_'" |
	while read -r _ _ _ pid; do
		if kill -0 "${pid:-0}" 2>/dev/null; then continue; fi
		echo "load role of dead pid ${pid:-?} left" >&2; return 1
	done
}

# nothing outside the restore's own temporaries changed
untouched() {
	fingerprint "$T_DB" "$T_FS" >now.fp && test_cmp "$TRASH/target.fp" now.fp &&
	test ! -e "$PWNED" &&
	test "$(sql "$OTHER" "select count(*) from keep")" = 1 &&
	test -z "$(sql postgres "select rolname from pg_roles where rolname = 'odbk_evil'")" && no_dead_load_role &&
	test -z "$(sql postgres "select datname from pg_database where datname ~ '^${TEST_DB_PREFIX}.*_odbk_(tmp|old)_'")" &&
	! grep -q 12345kB "$PG_DATA/postgresql.auto.conf" 2>/dev/null &&
	test -z "$(ls -d "$T_FS".odbk-* 2>/dev/null)"
}

# make_zip NAME SQL: an Odoo zip (dump.sql first, manifest, filestore) around the SQL file
make_zip() {
	python3 - "$1" "$2" "$SRC_FS" <<-'PY'
	import os, sys, zipfile
	name, sql, fs = sys.argv[1:]
	with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as z:
	    z.write(sql, "dump.sql")
	    z.writestr("manifest.json", '{"odoo_dump": "1", "db_name": "src", "version": "17.0"}')
	    for root, dirs, files in os.walk(fs):
	        for f in sorted(files):
	            p = os.path.join(root, f)
	            z.write(p, "filestore/" + os.path.relpath(p, fs))
	PY
}

# make_folder NAME SQL: a copy of the odbk backup folder whose database file is the SQL file, its
# manifest updated to match (what someone who can write to the storage can do)
make_folder() {
	cp -r "$FOLDER" "$1" &&
	db=$(ls "$1"/*-database.sql.gz) && gzip -c "$2" >"$db" &&
	python3 - "$1" "$2" <<-'PY'
	import glob, hashlib, json, os, sys
	d, sql = sys.argv[1:]
	mp = glob.glob(d + "/*-manifest.json")[0]
	m = json.load(open(mp))
	for f in m["files"]:
	    if f["role"] == "database":
	        data = open(os.path.join(d, f["name"]), "rb").read()
	        f["size"], f["sha256"], f["raw_size"] = len(data), hashlib.sha256(data).hexdigest(), os.path.getsize(sql)
	json.dump(m, open(mp, "w"))
	PY
}

test_expect_success 'setup: another database, the source dump and an odbk backup folder' '
	sql postgres "create database $OTHER" && sql "$OTHER" "create table keep (x int); insert into keep values (1)" &&
	pg_dump --no-owner "$SRC_DB" >src.sql &&
	test_grep "^\\\\restrict " src.sql &&
	id=$(odbk-create src --quiet) &&
	FOLDER=$TRASH/storage/disk/src/$id && test -d "$FOLDER" &&
	echo "FOLDER=$FOLDER" >folder.env &&
	untouched
'
. ./folder.env 2>/dev/null || FOLDER=

# name|how it must end|SQL or psql line appended to a real dump
cat >attacks <<EOF_ATTACKS
shell|meta|\\! touch $PWNED
copy-program|meta|\\copy (select 1) to program 'touch $PWNED'
pipe|meta|\\o |touch $PWNED
sql-copy-program|copy|COPY (select 1) TO PROGRAM 'touch $PWNED';
dynamic-copy-program|sql|DO \$\$ BEGIN EXECUTE 'COPY (select 1) TO PROGRAM ''touch $PWNED'''; END \$\$;
drop-database|sql|DROP DATABASE $OTHER;
alter-system|sql|ALTER SYSTEM SET work_mem = '12345kB';
create-role|sql|CREATE ROLE odbk_evil SUPERUSER LOGIN;
read-file|sql|CREATE TABLE public.stolen AS SELECT pg_read_file('/etc/passwd') AS t;
untrusted-language|sql|CREATE FUNCTION public.evil(text) RETURNS int LANGUAGE c AS 'libc.so.6', 'system'; SELECT public.evil('touch $PWNED');
EOF_ATTACKS

while IFS='|' read -r name how line; do
	test_expect_success "attack $name: refused or powerless, in an Odoo zip and in a backup folder" "
		{ cat src.sql && printf '%s\n' \"\$line\"; } >$name.sql &&
		make_zip $name.zip $name.sql && make_folder $name.dir $name.sql &&
		for src in $name.zip $name.dir; do
			case $how in
			meta) test_exit_code 65 restore --from-file \$src --to prod --no-safety-backup 2>err &&
				test_grep \"psql meta-command .* at line [0-9]+ is not allowed\" err ;;
			copy) test_exit_code 65 restore --from-file \$src --to prod --no-safety-backup 2>err &&
				test_grep \"COPY statement other than\" err ;;
			sql) test_must_fail restore --from-file \$src --to prod --no-safety-backup 2>err &&
				test_grep \"permission denied|must be (owner|superuser)\" err ;;
			esac || return 1
			untouched || return 1
		done
	"
done <attacks

test_expect_success 'the meta-command refusal names the line; the new database is not created' '
	test_exit_code 65 restore --from-file shell.dir --db-owner "$TEST_OWNER" --new-db "$(test_db never)" 2>err &&
	n=$(grep -c "" shell.sql) &&
	test_grep "psql meta-command .\\\\!. at line $n is not allowed" err &&
	test -z "$(sql postgres "select 1 from pg_database where starts_with(datname, '\''$(test_db never)'\'')")"
'

test_expect_success 'real dumps still restore exactly: pg_dump with \restrict, an odbk backup, a folder' '
	make_zip legit.zip src.sql &&
	db=$(test_db legitzip) &&
	restore --from-file legit.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-legitzip" &&
	fingerprint "$db" "$TRASH/fs-legitzip" >actual && fingerprint "$SRC_DB" "$SRC_FS" >expect &&
	test_cmp expect actual &&
	db=$(test_db legitdir) &&
	restore --from-file "$FOLDER" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-legitdir" &&
	fingerprint "$db" "$TRASH/fs-legitdir" >actual && test_cmp expect actual &&
	test_grep "^\\\\restrict " src.sql && untouched &&
	test "$(sql "$db" "select pg_get_userbyid(datdba) from pg_database where datname = current_database()")" = "$TEST_OWNER" &&
	test -z "$(sql "$db" "select c.relname from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname ~ '\''^odbk_load_'\''")"
'

test_expect_success 'a user that may not create roles is refused (77); one with CREATEROLE restores' '
	weak=$(test_db weak) && able=$(test_db able) &&
	sql postgres "create role $weak login createdb password '\''$PGPASSWORD'\''" &&
	sql postgres "create role $able login createdb createrole password '\''$PGPASSWORD'\''" &&
	test_when_finished "sql postgres \"drop role if exists $weak; drop role if exists $able\"" &&
	test_exit_code 77 restore --from-file legit.zip --new-db "$(test_db weakdb)" --filestore "$TRASH/fs-weak" \
		--pg "host=$PGHOST port=$PGPORT user=$weak" 2>err &&
	test_grep "may not create roles" err && test_grep "CREATEROLE" err &&
	db=$(test_db abledb) &&
	restore --from-file legit.zip --new-db "$db" --filestore "$TRASH/fs-able" --pg "host=$PGHOST port=$PGPORT user=$able" &&
	fingerprint "$db" "$TRASH/fs-able" >actual && fingerprint "$SRC_DB" "$SRC_FS" >expect && test_cmp expect actual &&
	test "$(sql "$db" "select pg_get_userbyid(datdba) from pg_database where datname = current_database()")" = "$able" &&
	drop_db "$db" && untouched
'

test_expect_success 'a dump granting to a role the server lacks fails naming the role, target unchanged' '
	{ cat src.sql && echo "GRANT SELECT ON public.res_partner TO odbk_no_such_role;"; } >grant.sql &&
	make_zip grant.zip grant.sql &&
	test_must_fail restore --from-file grant.zip --to prod --no-safety-backup 2>err &&
	test_grep "role \"odbk_no_such_role\" does not exist" err &&
	test_grep "CREATE ROLE" err &&
	untouched
'

test_expect_success 'the load role of a restore killed outright is dropped by the next restore' '
	sh -c "exit 0" & dead=$! && wait $dead &&
	left=$(test_db left) &&
	sql postgres "create role $left login; comment on role $left is '\''odbk restore $(hostname) $dead'\''" &&
	name=odbk_load_T6101x$(printf %010d "$dead") &&
	sql postgres "alter role $left rename to \"$name\"" &&
	db=$(test_db afterkill) &&
	restore --from-file legit.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-afterkill" &&
	test -z "$(sql postgres "select 1 from pg_roles where rolname = '\''$name'\''")" &&
	drop_db "$db" && untouched
'

test_expect_success 'a role that only carries the label (any CREATEROLE role can write it), or has rights odbk never gives, is not dropped' '
	sh -c "exit 0" & dead=$! && wait $dead &&
	victim=$(test_db victim) && odd=odbk_load_V6101x$(printf %010d "$dead") &&
	test_when_finished "sql postgres \"drop role if exists $victim\"; sql postgres \"drop role if exists \\\"$odd\\\"\"" &&
	sql postgres "create role $victim login; comment on role $victim is '\''odbk restore $(hostname) $dead'\''" &&
	sql postgres "create role \"$odd\" login createdb; comment on role \"$odd\" is '\''odbk restore $(hostname) $dead'\''" &&
	db=$(test_db afterlabel) &&
	restore --from-file legit.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-afterlabel" &&
	test "$(sql postgres "select count(*) from pg_roles where rolname in ('\''$victim'\'', '\''$odd'\'')")" = 2 &&
	drop_db "$db"
'

test_expect_success 'COPY data with backslashes, trusted extensions: the data come back byte for byte' '
	tricky=$(test_db tricky) &&
	sql postgres "create database $tricky" &&
	sql "$tricky" "create extension pg_trgm; create extension unaccent" &&
	sql "$tricky" "create table t (id int primary key, v text, b bytea)" &&
	printf "%s\n" "1	\\\\! touch $PWNED	\\\\x00" "2	back\\\\slash \\\\\\\\ and \\\\. and a '\''quote	\\\\x5c2e" \
		"3	\\\\.x	\\\\x0a" "4	line\\\\nbreak\\\\ttab	\\\\x27" >rows &&
	sql "$tricky" "\\copy t from rows" &&
	sql "$tricky" "create index t_trgm on t using gin (v gin_trgm_ops); create table u as select unaccent(v) v from t" &&
	sql "$tricky" "select * from t order by id" >expect &&
	grep -q "^1|\\\\! touch" expect &&
	odbk_conf_env tricky "$tricky" "$TRASH/fs-tricky" disk &&
	id=$(odbk-create tricky --no-filestore --quiet) &&
	zcat "$TRASH/storage/disk/tricky/$id"/*-database.sql.gz >tricky.sql &&
	test_grep "^\\\\\\\\! touch" tricky.sql &&
	db=$(test_db trickyback) &&
	restore "$id" --db-owner "$TEST_OWNER" --new-db "$db" &&
	sql "$db" "select * from t order by id" >actual && test_cmp expect actual &&
	sql "$db" "select count(*) from u" >n && test "$(cat n)" = 4 &&
	test "$(sql "$db" "select count(*) from pg_extension where extname in ('\''pg_trgm'\'', '\''unaccent'\'')")" = 2 &&
	untouched
'

test_done
