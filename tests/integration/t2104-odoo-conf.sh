#!/usr/bin/env bash
# An env with only `odoo-conf` and `storage`: the connection (db_host, db_port, db_user, db_password), the
# database (db_name) and the filestore (<data_dir>/filestore/<db>) come from Odoo's config; a backup and a
# restore work with no PG* variables set, the password is in no child's argv, the catalog, --json or stderr;
# explicit odbk keys win; a missing or hostile odoo.conf is a config error (78) naming file:line.
. "$(dirname "$0")/test-lib.sh"
test_description 'odoo-conf: connection, database and filestore from odoo.conf'
require_service pg
require_program odbk-create odbk-list odbk-restore odbk-policy

REAL_BIN=${PG_BINDIR:-$(dirname "$(command -v pg_dump)")}

# a pg_dump/psql/pg_restore that log their argv and whether they got a password, then run the real one
wrap_tools() {
	mkdir -p "$1" &&
	for t in pg_dump psql pg_restore; do
		cat >"$1/$t" <<SCRIPT && chmod +x "$1/$t" || return 1
#!/bin/sh
echo "$t \$*" >>"$TRASH/argv.log"
[ -n "\$PGPASSWORD" ] && echo "$t has PGPASSWORD" >>"$TRASH/argv.log"
exec "$REAL_BIN/$t" "\$@"
SCRIPT
	done
}

nopg() { env -u PGHOST -u PGPORT -u PGUSER -u PGPASSWORD -u PGDATABASE PGPASSFILE=/dev/null "$@"; }

test_expect_success 'setup: a fixture under <data_dir>/filestore/<db>, an odoo.conf (0600), an env of it' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 12 &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src &&
	mkdir -p "$TRASH/odoo-data/filestore" &&
	mv "$FIXTURE_FS" "$TRASH/odoo-data/filestore/$FIXTURE_DB" &&
	(umask 077 && cat >"$TRASH/odoo.conf" <<-EOF
	[options]
	addons_path = /opt/odoo/addons,/opt/custom-addons
	admin_passwd = False
	db_host = $PGHOST
	db_port = $PGPORT
	db_user = $PGUSER
	db_password = $PGPASSWORD
	db_name = $FIXTURE_DB
	dbfilter = ^%d\$
	data_dir = $TRASH/odoo-data
	list_db = False
	EOF
	) &&
	test -n "$PGPASSWORD" &&
	odbk_conf other "$FIXTURE_DB" "$TRASH/none" &&
	printf "\n[env prod]\nodoo-conf = %s\nstorage = disk\n" "$TRASH/odoo.conf" >>"$ODBK_CONF" &&
	wrap_tools "$TRASH/bin"
'

test_expect_success 'odbk-policy show says which setting came from odoo.conf' '
	odbk-policy show prod >out &&
	test_grep "^database +$FIXTURE_DB +odoo.conf$" out &&
	test_grep "^pg +host=.$PGHOST. port=.$PGPORT. user=.$PGUSER. +odoo.conf$" out &&
	test_grep "^filestore +$TRASH/odoo-data/filestore/$FIXTURE_DB +odoo.conf$" out &&
	test_grep "^addons-path +/opt/odoo/addons,/opt/custom-addons +odoo.conf$" out &&
	! grep -F -- "$PGPASSWORD" out
'

test_expect_success 'a backup with no PG* variables: from odoo.conf alone, no password in argv or stderr' '
	: >"$TRASH/argv.log" &&
	nopg env ODBK_PG_BINDIR="$TRASH/bin" odbk-create prod >id 2>err &&
	test_line_count = 1 id &&
	test_grep "^pg_dump " "$TRASH/argv.log" &&
	test_grep "^pg_dump has PGPASSWORD" "$TRASH/argv.log" &&
	! grep -F -- "$PGPASSWORD" err &&
	! grep -v "has PGPASSWORD" "$TRASH/argv.log" | grep -F -- "$PGPASSWORD"
'

test_expect_success 'the backup holds the database and the filestore of data_dir' '
	id=$(cat id) &&
	m=$TRASH/storage/disk/prod/$id/backup-$id-manifest.json &&
	jq -e ".files | map(.role) | index(\"filelist\")" "$m" >/dev/null &&
	gzip -dc "$TRASH/storage/disk/prod/$id/backup-$id-filestore.list.gz" | grep -q "[0-9a-f]\{40\}$"
'

test_expect_success 'restore with no PG* variables; the restored copy equals the source' '
	RESTORED=$(test_db restored) &&
	: >"$TRASH/argv.log" &&
	nopg env ODBK_PG_BINDIR="$TRASH/bin" odbk-restore "$(cat id)" --new-db "$RESTORED" \
		--filestore "$TRASH/restored-fs" --db-owner "$TEST_OWNER" --confirm RESTORE >out 2>err &&
	! grep -F -- "$PGPASSWORD" err out &&
	grep -Eq "^(psql|pg_restore) " "$TRASH/argv.log" &&
	! grep -v "has PGPASSWORD" "$TRASH/argv.log" | grep -F -- "$PGPASSWORD" &&
	fingerprint "$RESTORED" "$TRASH/restored-fs" >fp.restored &&
	test_cmp fp.src fp.restored
'

test_expect_success 'the password is not in the catalog nor in odbk-list --json' '
	odbk-list --json prod >list.json &&
	odbk-list --backup "$(cat id)" --json >>list.json &&
	! grep -F -- "$PGPASSWORD" list.json &&
	for f in "$ODBK_CATALOG"*; do ! grep -a -F -- "$PGPASSWORD" "$f" || return 1; done
'

test_expect_success 'odoo.conf password is used: a wrong one fails to connect (77), without echoing it' '
	sed "s/^db_password = .*/db_password = WrongPw-42;#x/" "$TRASH/odoo.conf" >"$TRASH/bad-pw.conf" &&
	printf "\n[env badpw]\nodoo-conf = %s\nstorage = disk\n" "$TRASH/bad-pw.conf" >>"$ODBK_CONF" &&
	test_exit_code 77 nopg odbk-create badpw 2>err &&
	! grep -F "WrongPw-42" err
'

test_expect_success 'explicit odbk keys win over odoo.conf' '
	printf "\n[env mixed]\nodoo-conf = %s\ndatabase = explicit_db\nfilestore = /srv/fs\nstorage = disk\n" \
		"$TRASH/odoo.conf" >>"$ODBK_CONF" &&
	odbk-policy show mixed >out &&
	test_grep "^database +explicit_db +odbk.conf$" out &&
	test_grep "^filestore +/srv/fs +odbk.conf$" out &&
	test_grep "^pg +host=.* +odoo.conf$" out
'

test_expect_success 'a missing odoo.conf: 78 naming the odbk.conf line and the file' '
	printf "\n[env gone]\nodoo-conf = %s\n" "$TRASH/nope/odoo.conf" >>"$ODBK_CONF" &&
	line=$(grep -n "nope/odoo.conf" "$ODBK_CONF" | cut -d: -f1) &&
	test_exit_code 78 odbk-create gone 2>err &&
	test_grep "odbk.conf:$line: \[env gone\] odoo-conf: .*$TRASH/nope/odoo.conf" err
'

hostile() {   # hostile NAME CONTENT: an env hostile-NAME of an odoo.conf holding CONTENT
	printf "%b" "$2" >"$TRASH/h-$1.conf" &&
	printf "\n[env h-%s]\nodoo-conf = %s\nstorage = disk\n" "$1" "$TRASH/h-$1.conf" >>"$ODBK_CONF"
}

test_expect_success 'hostile odoo.conf files: 78 with odoo.conf:line, the password never echoed' '
	hostile malformed "[options]\ndb_password = Secret-77\nnot a key line\n" &&
	test_exit_code 78 odbk-create h-malformed 2>err &&
	test_grep "h-malformed.conf:3: expected" err && ! grep -F Secret-77 err &&
	hostile nul "[options]\ndb_host = a\0b\n" &&
	test_exit_code 78 odbk-create h-nul 2>err && test_grep "h-nul.conf:2: NUL" err &&
	hostile space "[options]\ndb_name = my db\n" &&
	test_exit_code 78 odbk-create h-space 2>err && test_grep "h-space.conf:2: db_name is not a safe" err &&
	hostile slash "[options]\ndb_name = a/b\n" &&
	test_exit_code 78 odbk-create h-slash 2>err && test_grep "h-slash.conf:2: db_name" err &&
	hostile rel "[options]\ndata_dir = odoo-data\n" &&
	test_exit_code 78 odbk-create h-rel 2>err && test_grep "h-rel.conf:2: data_dir .* not an absolute" err &&
	hostile twice "[options]\ndb_password = one-pw\ndb_password = two-pw\n" &&
	test_exit_code 78 odbk-create h-twice 2>err && test_grep "h-twice.conf:3: key .db_password. is set twice" err &&
	! grep -E "one-pw|two-pw" err &&
	{ printf "[options]\ndb_host = "; head -c 100000 /dev/zero | tr "\\0" x; echo; } >"$TRASH/h-long.conf" &&
	printf "\n[env h-long]\nodoo-conf = %s\n" "$TRASH/h-long.conf" >>"$ODBK_CONF" &&
	test_exit_code 78 odbk-create h-long 2>err && test_grep "h-long.conf:2: line longer" err
'

test_expect_success 'db_name listing several databases names none: the env name is the database' '
	hostile list "[options]\ndb_name = a,b\ndata_dir = /srv/odoo\n" &&
	odbk-policy show h-list >out &&
	test_grep "^database +h-list +default$" out &&
	test_grep "^filestore +/srv/odoo/filestore/h-list +odoo.conf$" out
'

test_expect_success 'cleanup' '
	drop_db "$RESTORED"
'

test_done
