#!/usr/bin/env bash
# Who owns a restored database and filestore, explicit first: --db-owner > the env's db-owner > the
# replaced database's owner > the env's odoo.conf db_user > the connecting user; --filestore-owner > the
# env's filestore-owner > the replaced folder's uid/gid/mode > for a new folder its parent's owner, mode
# 0700.  An unknown user, group or role is 67 naming it and where it came from, a malformed key 78, a
# superuser 64, an owner other than oneself as non-root 77: each before anything is changed.
. "$(dirname "$0")/test-lib.sh"
test_description 'db-owner, filestore-owner: options, env keys and defaults'
require_service pg
require_program odbk-create odbk-restore odbk-policy odbk-list

[ "$(id -u)" = 0 ] || skip_all "needs root (chown)"
for u in odbkfs odbkodoo; do
	id "$u" >/dev/null 2>&1 || useradd --system --no-create-home --user-group "$u" || fail_setup "cannot create user $u"
done
getent group odbkgrp >/dev/null || groupadd --system odbkgrp || fail_setup "cannot create group odbkgrp"

make_fixture prod --db-mb 1 --fs-mb 1 --files 8
DB=$FIXTURE_DB FS=$FIXTURE_FS
R_KEY=${TEST_DB_PREFIX}keyrole R_OPT=${TEST_DB_PREFIX}optrole R_ODOO=${TEST_DB_PREFIX}odoorole
NOROLE=${TEST_DB_PREFIX}norole

# conf KEY=VALUE...: odbk.conf with env prod (and env fresh, a database that does not exist yet, its
# filestore under $TRASH/odoo-home/filestore), each KEY = VALUE added to both
conf() {
	odbk_conf prod "$DB" "$FS" &&
	odbk_conf_env fresh "$(test_db fresh)" "$TRASH/odoo-home/filestore/fresh" disk &&
	local kv extra=
	for kv in "$@"; do extra="$extra${kv%%=*} = ${kv#*=}\n"; done
	awk -v extra="$extra" '{print} /^\[env /{printf "%s", extra}' "$ODBK_CONF" >"$ODBK_CONF.new" &&
	mv "$ODBK_CONF.new" "$ODBK_CONF" && chmod 0600 "$ODBK_CONF"
}

db_owner() { sql postgres "select pg_get_userbyid(datdba) from pg_database where datname = '$1'"; }

# objects_owned DB ROLE: the database and every relation of its schema public belong to ROLE (and there are some)
objects_owned() {
	test "$(db_owner "$1")" = "$2" &&
	test "$(sql "$1" "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = 'public'")" -gt 5 &&
	sql "$1" "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = 'public' and pg_get_userbyid(c.relowner) <> '$2'" >left && test_must_be_empty left
}

# files_owned DIR U:G MODE (find -printf: %u names, %U ids): every file and folder under DIR (DIR included) is U:G (names or ids), DIR has MODE
files_owned() {
	test "$(find "$1" -type f | wc -l)" -gt 0 &&
	if [ "${2%%:*}" -eq "${2%%:*}" ] 2>/dev/null; then f=%U:%G; else f=%u:%g; fi &&
	find "$1" -printf "$f\n" | sort -u >owners && echo "$2" >expect && test_cmp expect owners &&
	test "$(stat -c %a "$1")" = "$3"
}

# the target as it is: contents, owners, modes; no temporaries, no new backup
snapshot() {
	fingerprint "$DB" "$FS" && db_owner "$DB" &&
	find "$FS" -printf "%P %u:%g %m\n" | sort &&
	odbk-list prod --json | jq length
}
# what this script's restores may leave (other scripts run beside it under prove -j2: their databases
# have another prefix, their load roles are labelled with other pids)
no_leftovers() {
	sql postgres "select datname from pg_database where datname like '${TEST_DB_PREFIX}%odbk_tmp%' or datname like '${TEST_DB_PREFIX}%odbk_old%'" >dbs &&
	test_must_be_empty dbs &&
	find "$TRASH/filestore" "$TRASH/odoo-home" -maxdepth 2 -name "*odbk-tmp*" >dirs && test_must_be_empty dirs &&
	: >roles && for pid in $(cat "$TRASH/restore.pids" 2>/dev/null); do
		sql postgres "select rolname from pg_roles where rolname like 'odbk_load_%' and shobj_description(oid, 'pg_authid') like 'odbk restore % $pid'" >>roles || return 1
	done && test_must_be_empty roles
}
# odbk-restore, its pid noted for no_leftovers (the load role's label names it)
odbk_restore_noted() { sh -c 'echo $$ >>"$0"; exec odbk-restore "$@"' "$TRASH/restore.pids" "$@"; }

restore() { odbk_restore_noted --confirm RESTORE --no-safety-backup "$@"; }

test_expect_success 'setup: three roles, a backup of prod, an odoo home owned by odbkodoo' '
	for r in $R_KEY $R_OPT $R_ODOO; do sql postgres "create role $r nologin" || return 1; done &&
	conf && chown -R odbkfs:odbkfs "$FS" && chmod 0710 "$FS" &&
	odbk-create prod --quiet >id &&
	mkdir -p "$TRASH/odoo-home/filestore" && chown -R odbkodoo:odbkodoo "$TRASH/odoo-home" &&
	(umask 077 && printf "[options]\ndb_user = %s\n" "$R_ODOO" >"$TRASH/odoo.conf")
'

test_expect_success 'odbk-policy show: db-owner and filestore-owner, set and unset' '
	odbk-policy show prod >out &&
	test_grep "^db-owner +- +default$" out && test_grep "^filestore-owner +- +default$" out &&
	conf "db-owner=$R_KEY" "filestore-owner=odbkfs:odbkgrp" &&
	odbk-policy show prod >out &&
	test_grep "^db-owner +$R_KEY +odbk.conf$" out && test_grep "^filestore-owner +odbkfs:odbkgrp +odbk.conf$" out &&
	odbk-policy check >out && test_grep "^ok" out
'

test_expect_success 'rollback with the env keys: they win over the owners kept; the mode is kept' '
	conf "db-owner=$R_KEY" "filestore-owner=odbkfs:odbkgrp" &&
	restore "$(cat id)" &&
	objects_owned "$DB" "$R_KEY" && files_owned "$FS" odbkfs:odbkgrp 710
'

test_expect_success 'the options win over the env keys; USER alone takes its primary group' '
	restore "$(cat id)" --db-owner "$R_OPT" --filestore-owner odbkfs &&
	objects_owned "$DB" "$R_OPT" && files_owned "$FS" odbkfs:odbkfs 710
'

test_expect_success 'numeric ids, even without a user or group of that id' '
	restore "$(cat id)" --filestore-owner 4242:4343 &&
	files_owned "$FS" 4242:4343 710 && objects_owned "$DB" "$R_KEY"
'

test_expect_success 'without keys or options a rollback keeps the owners it replaces' '
	conf && chown -R odbkodoo:odbkgrp "$FS" && chmod 0750 "$FS" &&
	sql postgres "alter database $DB owner to $R_OPT" &&
	restore "$(cat id)" &&
	objects_owned "$DB" "$R_OPT" && files_owned "$FS" odbkodoo:odbkgrp 750
'

test_expect_success '--to an env whose database and filestore do not exist: odoo.conf db_user, the parent owner, 0700' '
	conf "odoo-conf=$TRASH/odoo.conf" &&
	restore "$(cat id)" --to fresh &&
	objects_owned "$(test_db fresh)" "$R_ODOO" &&
	files_owned "$TRASH/odoo-home/filestore/fresh" odbkodoo:odbkodoo 700 &&
	drop_db "$(test_db fresh)" && rm -rf "$TRASH/odoo-home/filestore/fresh"
'

test_expect_success '--new-db: a parent folder it creates goes to the owner too; db-owner wins over odoo.conf' '
	conf "odoo-conf=$TRASH/odoo.conf" "db-owner=$R_KEY" &&
	n=$(test_db new1) &&
	restore "$(cat id)" --new-db "$n" --filestore "$TRASH/odoo-home/filestore/sub/$n" &&
	objects_owned "$n" "$R_KEY" &&
	files_owned "$TRASH/odoo-home/filestore/sub/$n" odbkodoo:odbkodoo 700 &&
	test "$(stat -c %U:%G "$TRASH/odoo-home/filestore/sub")" = odbkodoo:odbkodoo &&
	drop_db "$n"
'

test_expect_success '--new-db: the source env odoo.conf db_user when no db-owner; --filestore-owner wins' '
	conf "odoo-conf=$TRASH/odoo.conf" &&
	n=$(test_db new2) &&
	restore "$(cat id)" --new-db "$n" --filestore "$TRASH/odoo-home/filestore/$n" --filestore-owner odbkfs:odbkgrp &&
	objects_owned "$n" "$R_ODOO" && files_owned "$TRASH/odoo-home/filestore/$n" odbkfs:odbkgrp 700 &&
	drop_db "$n"
'

# refused KEY=VALUE... -- CODE PATTERN RESTORE-ARGS...: the restore fails with CODE, its error matches
# PATTERN, and the target, the catalog and the server are as before
refused() {
	local kvs=() code pattern
	while [ "$1" != -- ]; do kvs+=("$1"); shift; done; shift
	code=$1 pattern=$2; shift 2
	conf "${kvs[@]}" && snapshot >before &&
	test_exit_code "$code" odbk_restore_noted --confirm RESTORE "$@" 2>err &&
	test_line_count = 1 <(grep "error:" err) && test_grep "$pattern" err &&
	snapshot >after && test_cmp before after && no_leftovers
}

test_expect_success 'an unknown role: 67 naming it and --db-owner, the target unchanged' '
	refused -- 67 "error: --db-owner: role .$NOROLE., to own the restored database, does not exist" \
		"$(cat id)" --db-owner "$NOROLE"
'

test_expect_success 'an unknown role in db-owner: 67 naming the key and its line' '
	refused "db-owner=$NOROLE" -- 67 "error: $ODBK_CONF:[0-9]*: \[env prod\] db-owner: role .$NOROLE." "$(cat id)"
'

test_expect_success 'an unknown role as odoo.conf db_user (a new database): 67 naming odoo.conf' '
	printf "[options]\ndb_user = %s\n" "$NOROLE" >"$TRASH/odoo-bad.conf" && chmod 0600 "$TRASH/odoo-bad.conf" &&
	n=$(test_db new3) &&
	refused "odoo-conf=$TRASH/odoo-bad.conf" -- 67 "error: db_user of $TRASH/odoo-bad.conf: role .$NOROLE." \
		"$(cat id)" --new-db "$n" --filestore "$TRASH/odoo-home/filestore/$n" &&
	test -z "$(sql postgres "select 1 from pg_database where datname = '\''$n'\''")" &&
	test ! -e "$TRASH/odoo-home/filestore/$n"
'

test_expect_success 'an unknown user or group: 67 naming it and the option or key' '
	refused -- 67 "error: --filestore-owner: unknown user .odbk-nosuchuser." "$(cat id)" \
		--filestore-owner odbk-nosuchuser &&
	refused "filestore-owner=odbkfs:odbk-nosuchgroup" -- 67 \
		"error: $ODBK_CONF:[0-9]*: \[env prod\] filestore-owner: unknown group .odbk-nosuchgroup." "$(cat id)" &&
	refused "filestore-owner=odbk-nosuchuser" -- 67 "filestore-owner: unknown user" "$(cat id)" --to prod
'

test_expect_success 'a superuser in db-owner: 64 naming the key' '
	refused "db-owner=$PGUSER" -- 64 "\[env prod\] db-owner: role .$PGUSER. is a superuser" "$(cat id)"
'

test_expect_success 'malformed keys: 78 from odbk-policy check and odbk-restore, with file:line' '
	refused "filestore-owner=odbkfs:a:b" -- 78 "\[env prod\] filestore-owner: .odbkfs:a:b. is not USER\[:GROUP\]" \
		"$(cat id)" &&
	test_exit_code 78 odbk-policy check >out && test_grep "filestore-owner" out &&
	long=$(printf "r%.0s" $(seq 64)) &&
	refused "db-owner=$long" -- 78 "\[env prod\] db-owner: .$long. is not a PostgreSQL role name" "$(cat id)" &&
	refused "filestore-owner=4294967295" -- 78 "id out of range" "$(cat id)"
'

test_expect_success '--filestore-owner goes with a filestore; --test takes no owner' '
	refused -- 64 "exclude each other" "$(cat id)" --no-filestore --filestore-owner odbkfs &&
	refused -- 64 "filestore-owner" "$(cat id)" --test --filestore-owner odbkfs
'

test_expect_success 'as another user than root: giving the files to someone else is refused (77) before anything' '
	conf && mkdir -p nr && cp "$ODBK_CONF" "$ODBK_CATALOG" nr/ && chown -R odbkfs:odbkfs nr &&
	chmod o+x "$TRASH" && chmod -R o+rX "$TRASH/storage" &&
	snapshot >before &&
	test_exit_code 77 runuser -u odbkfs -- env ODBK_CONFIG="$PWD/nr/odbk.conf" ODBK_CATALOG="$PWD/nr/catalog.db" \
		odbk-restore "$(cat id)" --confirm RESTORE --filestore-owner odbkodoo 2>err &&
	test_grep "error: --filestore-owner: only root can give the restored files to another user" err &&
	test_exit_code 77 runuser -u odbkfs -- env ODBK_CONFIG="$PWD/nr/odbk.conf" ODBK_CATALOG="$PWD/nr/catalog.db" \
		odbk-restore "$(cat id)" --confirm RESTORE --filestore-owner odbkfs:odbkgrp 2>err &&
	test_grep "error: --filestore-owner: only root can give the restored files to group" err &&
	snapshot >after && test_cmp before after && no_leftovers &&
	test "$(sqlite3 nr/catalog.db "select count(*) from backups")" = "$(sqlite3 "$ODBK_CATALOG" "select count(*) from backups")"
'

test_expect_success 'cleanup: the roles own nothing left' '
	drop_db "$DB" && for r in $R_KEY $R_OPT $R_ODOO; do sql postgres "drop role $r" || return 1; done
'

test_done
