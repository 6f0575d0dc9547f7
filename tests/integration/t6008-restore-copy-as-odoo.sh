#!/usr/bin/env bash
# --copy changes what Odoo's own copy changes (restore_db(copy=True): ir.config_parameter init(force=True)),
# and nothing else: database.uuid, database.secret, database.create_date, web.base.url
# (http://localhost:<odoo.conf's http_port, else 8069>), base.login_cooldown_after (10) and
# base.login_cooldown_duration (60).
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-restore --copy: what Odoo copy changes'
require_service pg
require_program odbk-create odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 3 --version 17.0
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
odbk_conf prod "$SRC_DB" "$SRC_FS"

SIX="'database.uuid', 'database.secret', 'database.create_date', 'web.base.url', 'base.login_cooldown_after', 'base.login_cooldown_duration'"
icp() { sql "$1" "select value from ir_config_parameter where key = '$2'"; }
rest() { sql "$1" "select key, value from ir_config_parameter where key not in ($SIX) order by key"; }

test_expect_success 'setup: production values for the keys Odoo resets, and a backup' '
	sql "$SRC_DB" "delete from ir_config_parameter where key in ('\''web.base.url'\'', '\''base.login_cooldown_after'\'', '\''base.login_cooldown_duration'\'', '\''web.base.url.freeze'\'')" &&
	sql "$SRC_DB" "insert into ir_config_parameter (key, value) values ('\''web.base.url'\'', '\''https://erp.example.com'\''), ('\''base.login_cooldown_after'\'', '\''3'\''), ('\''web.base.url.freeze'\'', '\''True'\'')" &&
	ID=$(odbk-create prod --quiet) && echo "$ID" >id
'

test_expect_success '--copy: the six keys as Odoo sets them, every other parameter and row unchanged' '
	db=$(test_db copy1) &&
	odbk-restore "$(cat id)" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-c1" --copy --confirm RESTORE >/dev/null &&
	test "$(icp "$db" web.base.url)" = http://localhost:8069 &&
	test "$(icp "$db" base.login_cooldown_after)" = 10 &&
	test "$(icp "$db" base.login_cooldown_duration)" = 60 &&
	test "$(sql "$db" "select count(*) from ir_config_parameter where key in ($SIX)")" = 6 &&
	test "$(icp "$db" database.uuid)" != "$(icp "$SRC_DB" database.uuid)" &&
	test "$(icp "$db" database.secret)" != "$(icp "$SRC_DB" database.secret)" &&
	rest "$SRC_DB" >old && rest "$db" >new && test_cmp old new &&
	grep -q "^web.base.url.freeze|True$" new &&
	sql "$SRC_DB" "select count(*) from res_partner" >a && sql "$db" "select count(*) from res_partner" >b && test_cmp a b
'

test_expect_success 'without --copy the production values stay' '
	db=$(test_db copy0) &&
	odbk-restore "$(cat id)" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-c0" --confirm RESTORE >/dev/null &&
	test "$(icp "$db" web.base.url)" = https://erp.example.com &&
	test "$(icp "$db" base.login_cooldown_after)" = 3
'

test_expect_success 'the target env'\''s odoo.conf http_port gives web.base.url its port' '
	(umask 077 && printf "[options]\nhttp_port = 8169\n" >"$TRASH/odoo.conf") &&
	awk -v f="$TRASH/odoo.conf" "{print} /^\[env prod\]/{print \"odoo-conf = \" f}" "$ODBK_CONF" >conf.new &&
	cat conf.new >"$ODBK_CONF" &&
	db=$(test_db copy2) &&
	odbk-restore "$(cat id)" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-c2" --copy --confirm RESTORE >/dev/null &&
	test "$(icp "$db" web.base.url)" = http://localhost:8169
'

test_expect_success 'an http_port that is no port: 78 naming odoo.conf:line, nothing created' '
	(umask 077 && printf "[options]\nhttp_port = 80; rm -rf /\n" >"$TRASH/odoo.conf") &&
	db=$(test_db copy3) &&
	test_exit_code 78 odbk-restore "$(cat id)" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-c3" --copy --confirm RESTORE 2>err &&
	test_grep "odoo.conf:2: http_port .* is not a port number" err &&
	test "$(sql postgres "select count(*) from pg_database where datname like '\''${db}%'\''")" = 0
'

test_done
