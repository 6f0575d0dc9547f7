#!/usr/bin/env bash
# t8011-pg-catalog-two-hosts.sh - two hosts (odbk.conf files with distinct [catalog] host =) share one
# PostgreSQL catalog and one S3 bucket: each sees the other's backups (and their host), odbk-list --rescan
# from one host fills a fresh PostgreSQL catalog from the bucket, and a restore on one host of the other's
# backup gives the source's data.  A --catalog URL holding a password is refused; the password given in
# [catalog] password-file reaches the server and no message.
. "$(dirname "$0")/test-lib.sh"
test_description 'a PostgreSQL catalog shared by two hosts and one bucket'
require_service pg s3
require_program odbk-create odbk-list odbk-restore jq

CAT_DB=$(test_db catalog)
CAT2_DB=$(test_db catalog2)
CAT_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/$CAT_DB"
CAT2_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/$CAT2_DB"

# host NAME ARGS...: odbk as host NAME (its own odbk.conf: the shared one plus [catalog])
host() {
    local h=$1; shift
    ODBK_CONFIG=$TRASH/$h.conf "$@"
}

test_expect_success 'setup: a fixture, two hosts with one S3 storage and one PostgreSQL catalog' '
    make_fixture src --db-mb 1 --fs-mb 1 --files 8 &&
    odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
    odbk_conf_env stage "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
    sql postgres "CREATE DATABASE \"$CAT_DB\"" && sql postgres "CREATE DATABASE \"$CAT2_DB\"" &&
    for h in hosta hostb; do
        cp "$ODBK_CONF" "$TRASH/$h.conf" &&
        printf "\n[catalog]\ncatalog = %s\nhost = %s\n" "$CAT_URL" "$h" >>"$TRASH/$h.conf" || return 1
    done &&
    fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'
unset ODBK_CATALOG
SRC_DB=$FIXTURE_DB

test_expect_success 'host a backs up prod, host b backs up stage' '
    host hosta odbk-create --quiet prod >id.a &&
    host hostb odbk-create --quiet stage >id.b &&
    test -s id.a && test -s id.b &&
    test "$(sql "$CAT_DB" "SELECT count(*) FROM backups WHERE status = '\''completed'\''")" = 2 &&
    test -z "$(find "$TRASH" -name catalog.db)"
'

test_expect_success 'each host sees both backups, and who made them' '
    host hosta odbk-list --json >a.json && host hostb odbk-list --json >b.json &&
    test "$(jq length a.json)" = 2 && test "$(jq length b.json)" = 2 &&
    jq -e --arg a "$(cat id.a)" --arg b "$(cat id.b)" "map(.id) | sort == ([\$a, \$b] | sort)" a.json &&
    host hostb odbk-list --backup "$(cat id.a)" --json >show.json &&
    jq -e ".host == \"hosta\" and .env == \"prod\"" show.json &&
    host hosta odbk-list --backup "$(cat id.b)" --json >show.json &&
    jq -e ".host == \"hostb\" and .env == \"stage\"" show.json &&
    host hosta odbk-list --envs --json >envs.json &&
    jq -e "map(select(.backups == 1)) | length == 2" envs.json
'

test_expect_success 'host a restores host b'\''s backup: the source'\''s data' '
    host hosta odbk-restore --progress none --db-owner "$TEST_OWNER" --new-db "$(test_db copy)" \
        --filestore "$TRASH/fs-copy" --no-safety-backup --confirm RESTORE "$(cat id.b)" 2>restore.err &&
    fingerprint "$(test_db copy)" "$TRASH/fs-copy" >fp.copy &&
    test_cmp fp.src fp.copy
'

test_expect_success 'odbk-list --rescan from host b fills a fresh PostgreSQL catalog from the bucket' '
    test "$(sql "$CAT2_DB" "SELECT to_regclass('\''backups'\'') IS NULL")" = t &&
    host hostb odbk-list --catalog "$CAT2_URL" --rescan >rescan.out 2>rescan.err &&
    test "$(sql "$CAT2_DB" "SELECT count(*) FROM backups WHERE status = '\''completed'\''")" = 2 &&
    test "$(sql "$CAT2_DB" "SELECT string_agg(id, '\'' '\'' ORDER BY id) FROM backups")" = \
        "$(sort id.a id.b | tr "\n" " " | sed "s/ \$//")" &&
    host hosta odbk-list --catalog "$CAT2_URL" --env prod --json >p.json &&
    jq -e --arg a "$(cat id.a)" "length == 1 and .[0].id == \$a" p.json
'

test_expect_code 64 'a password in a --catalog URL is refused, and not echoed' '
    host hosta odbk-list --catalog "postgresql://$PGUSER:s3cr3tpw@$PGHOST:$PGPORT/$CAT_DB" 2>pw.err; rc=$?
    cat pw.err >&2
    ! grep -q s3cr3tpw pw.err || exit 9
    grep -q "password in the URL" pw.err || exit 8
    exit $rc
'

test_expect_success 'a wrong [catalog] password-file: the server refuses it, no message shows it' '
    sql postgres "DO \$\$ BEGIN CREATE ROLE odbk_t8011 LOGIN PASSWORD '\''rightpw'\''; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" &&
    sql postgres "CREATE DATABASE \"$(test_db catalog3)\" OWNER odbk_t8011" &&
    test_when_finished "drop_db \"$(test_db catalog3)\" && sql postgres \"DROP ROLE IF EXISTS odbk_t8011\" || :" &&
    (umask 077 && echo wrongpw >"$TRASH/pw.wrong" && echo rightpw >"$TRASH/pw.right") &&
    cp "$ODBK_CONF" "$TRASH/pw.conf" &&
    printf "\n[catalog]\ncatalog = postgresql://odbk_t8011@%s:%s/%s\npassword-file = %s\n" "$PGHOST" "$PGPORT" \
        "$(test_db catalog3)" "$TRASH/pw.wrong" >>"$TRASH/pw.conf" &&
    (unset PGPASSWORD; test_must_fail env ODBK_CONFIG=$TRASH/pw.conf odbk-list 2>wrong.err) &&
    cat wrong.err >&2 && test_grep "password authentication failed" wrong.err && ! grep -q wrongpw wrong.err &&
    sed -i "s|pw.wrong|pw.right|" "$TRASH/pw.conf" &&
    { (unset PGPASSWORD; env ODBK_CONFIG=$TRASH/pw.conf odbk-list --no-header >right.out 2>right.err) ||
        { cat right.err >&2; false; }; } &&
    test "$(sql "$(test_db catalog3)" "SELECT version FROM schema_version")" -gt 0
'

test_done
