#!/usr/bin/env bash
# t8012-pg-catalog-due-20-hosts.sh - 20 hosts (processes with distinct [catalog] host =) run
# odbk-create --due at once, at one fire time (a daily schedule at the minute the test starts: the S3
# server refuses a request signed with a clock far off, so the clocks are the real one), for
# 60 envs against one PostgreSQL catalog and one S3 bucket: exactly one backup per env, all completed and
# scheduled, no run failed, every backup in the bucket has its row (a rescan into a fresh catalog finds
# the same 60), and a second round at the same fire time adds nothing.
. "$(dirname "$0")/test-lib.sh"
test_description '20 hosts, 60 envs, one fire time, one PostgreSQL catalog: one backup per env'
require_service pg s3
require_program odbk-create odbk-list jq

HOSTS=20
ENVS=60
CAT_DB=$(test_db catalog)
CAT_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/$CAT_DB"
FIRE="$(date -u +'%M %H') * * *"   # fired this minute (UTC), next in a day

test_expect_success "setup: $ENVS envs on S3, $HOSTS hosts of one PostgreSQL catalog" '
    make_fixture src --db-mb 1 --fs-mb 1 --files 4 &&
    odbk_conf e1 "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
    for i in $(seq 2 $ENVS); do odbk_conf_env "e$i" "$FIXTURE_DB" "$FIXTURE_FS" s3 || return 1; done &&
    printf "\n[policy]\nschedule = %s\n" "$FIRE" >>"$ODBK_CONF" &&
    sql postgres "CREATE DATABASE \"$CAT_DB\"" &&
    for h in $(seq $HOSTS); do
        cp "$ODBK_CONF" "$TRASH/h$h.conf" &&
        printf "\n[catalog]\ncatalog = %s\nhost = h%s\n" "$CAT_URL" "$h" >>"$TRASH/h$h.conf" || return 1
    done
'
unset ODBK_CATALOG

# round N: every host's odbk-create --due at once; each one's ids, messages and exit code in rN/
round() {
    mkdir -p "r$1" &&
    for h in $(seq $HOSTS); do
        (ODBK_CONFIG=$TRASH/h$h.conf odbk-create --due --progress none >"r$1/$h.ids" 2>"r$1/$h.err";
            echo $? >"r$1/$h.rc") &
    done
    wait
}

test_expect_success "$HOSTS hosts run --due at once: no failure, every id once" '
    round 1 &&
    cat r1/*.rc | sort | uniq -c >rcs && cat rcs >&2 &&
    test "$(cat r1/*.rc | sort -u)" = 0 &&
    cat r1/*.ids >ids && test "$(sort ids | uniq -d)" = "" &&
    ! grep -h "error" r1/*.err
'

test_expect_success "exactly one backup per env, completed and scheduled, made by several hosts" '
    test "$(sql "$CAT_DB" "SELECT count(*) FROM backups")" = $ENVS &&
    test "$(sql "$CAT_DB" "SELECT count(DISTINCT env) FROM backups WHERE status = '\''completed'\'' AND type = '\''scheduled'\''")" = $ENVS &&
    test "$(wc -l <ids)" = $ENVS &&
    sql "$CAT_DB" "SELECT host, count(*) FROM backups GROUP BY host ORDER BY 2 DESC" >hosts && cat hosts >&2 &&
    test "$(wc -l <hosts)" -gt 1 &&
    test "$(cat r1/*.err | grep -c "skipped")" -gt 0 &&
    test "$(sql "$CAT_DB" "SELECT sum(completed) FROM env_state")" = $ENVS &&
    test "$(sql "$CAT_DB" "SELECT count(*) FROM env_state WHERE running <> 0")" = 0
'

test_expect_success 'no row lost: a rescan of the bucket into a fresh catalog finds the same backups' '
    host1=$TRASH/h1.conf &&
    ODBK_CONFIG=$host1 odbk-list --catalog "$TRASH/rescan.db" --rescan >/dev/null 2>rescan.err &&
    ODBK_CONFIG=$host1 odbk-list --catalog "$TRASH/rescan.db" --json >rescan.json &&
    jq -r ".[].id" rescan.json | sort >ids.bucket && sort ids >ids.sorted &&
    test_cmp ids.sorted ids.bucket
'

test_expect_success 'a second round at the same fire time adds nothing' '
    round 2 &&
    test "$(cat r2/*.rc | sort -u)" = 0 &&
    test "$(cat r2/*.ids | wc -l)" = 0 &&
    test "$(sql "$CAT_DB" "SELECT count(*) FROM backups")" = $ENVS
'

test_done
