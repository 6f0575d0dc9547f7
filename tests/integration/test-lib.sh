# test-lib.sh - TAP library for odbk's integration tests (git's t/test-lib.sh style).
#
# A test script tests/integration/tNNNN-name.sh looks like:
#
#   #!/usr/bin/env bash
#   . "$(dirname "$0")/test-lib.sh"
#   test_description 'odbk-create and odbk-restore on local storage'
#   require_service pg
#   make_fixture src                         # sets FIXTURE_DB, FIXTURE_FS
#   test_expect_success 'backup succeeds' '
#       odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
#       odbk-create prod >id
#   '
#   test_done
#
# Bodies run in the test script's own shell (variables they set persist), in
# $TRASH, a fresh scratch directory removed at the end (ODBK_TEST_KEEP=1 keeps
# it). Chain commands with &&: a body's status is its last command's status.
# Every database whose name starts with $TEST_DB_PREFIX (see test_db) is dropped
# at the end, so tests run in parallel (prove -j) against one testbed.
#
# Environment: ODBK_BUILD (default build, relative to the repo root): its bin/
# and tests/ come first on PATH; the testbed's variables (start-all.sh);
# ODBK_TEST_STRICT=1 (make check): a missing service or program fails instead
# of skipping; ODBK_TEST_VERBOSE=1 (or -v): show every body's output;
# ODBK_TEST_KEEP=1: keep $TRASH and the test databases.
#
# Under ASan/UBSan (ASAN_OPTIONS/UBSAN_OPTIONS set), sanitizer reports are
# written to $TRASH/.sanitizer/ and a test after which a report appears fails,
# whatever exit code the program returned.

# ------------------------------------------------------------------ setup
ODBK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
ODBK_BUILD=${ODBK_BUILD:-build}
case $ODBK_BUILD in /*) ;; *) ODBK_BUILD=$ODBK_SRC/$ODBK_BUILD ;; esac
export ODBK_SRC ODBK_BUILD
PATH=$ODBK_BUILD/bin:$ODBK_BUILD/tests:$ODBK_SRC/tests:$PATH
export PATH

TEST_NAME=$(basename "$0" .sh)
TEST_NUMBER=${TEST_NAME%%-*}; TEST_NUMBER=${TEST_NUMBER#t}
case $TEST_NUMBER in *[!0-9]*|'') TEST_NUMBER=0 ;; esac
# unique per run: parallel scripts and repeated runs never share a database
TEST_DB_PREFIX="t${TEST_NUMBER}_$$_"
export TEST_NAME TEST_NUMBER TEST_DB_PREFIX

for arg in "$@"; do
    case $arg in -v|--verbose) ODBK_TEST_VERBOSE=1 ;; esac
done

test_count=0 test_failed=0 test_fixed=0 test_broken=0 test_skipped_all=0
test_cleanup=

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/odbk-$TEST_NAME.XXXXXX") || { echo "Bail out! cannot create a scratch dir"; exit 1; }
chmod 0755 "$TRASH"   # so that server processes (postgres, bkptest) may read files handed to them
export TRASH
mkdir -p "$TRASH/.out" "$TRASH/home"
# nothing from the user's own setup leaks in
export HOME=$TRASH/home XDG_CONFIG_HOME=$TRASH/home/.config XDG_STATE_HOME=$TRASH/home/.local/state
unset ODBK_CONFIG
# never the host's catalog (/var/lib/odbk/catalog.db for root), even in a test that writes no config
export ODBK_CATALOG=$TRASH/catalog.db
if [ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ]; then
    mkdir -p "$TRASH/.sanitizer"
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TRASH/.sanitizer/asan"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$TRASH/.sanitizer/ubsan"
fi
cd "$TRASH" || exit 1

test_lib_exit() {
    local rc=$?
    cd / || :
    if [ "${ODBK_TEST_KEEP:-0}" != 1 ]; then
        drop_test_dbs
        rm -rf "$TRASH"
    else
        echo "# kept $TRASH and the databases ${TEST_DB_PREFIX}*" >&2
    fi
    return $rc
}
trap test_lib_exit EXIT

# ------------------------------------------------------------------ the fake S3 (tests/fake/s3.py)
# fake_s3_start: start it for this script (killed at the end) and set URL to it.  faults JSON replaces its
# fault rules; state prints what it holds and was asked.  fake_s3_storage NAME [LINE...] appends a
# [storage NAME] on it to $ODBK_CONFIG (path-style, bucket b, prefix odbk/, retries 2, timeout 20, any
# key: it checks no signature), with each LINE ("part-size = 5MiB") added.
fake_s3_start() {
    python3 "$ODBK_SRC/tests/fake/s3.py" --port-file "$TRASH/s3.port" --max-seconds 900 >"$TRASH/fake.log" 2>&1 &
    FAKE_PID=$!
    trap 'kill $FAKE_PID 2>/dev/null; test_lib_exit' EXIT
    for i in $(seq 50); do [ -s "$TRASH/s3.port" ] && break; sleep 0.1; done
    URL=http://127.0.0.1:$(cat "$TRASH/s3.port" 2>/dev/null)
}
faults() { curl -sf -X PUT --data-binary "$1" "$URL/_fake/faults" >/dev/null; }
state() { curl -sf "$URL/_fake/state"; }
# fake_s3_put_manifests ENV N: N backups of ENV stored in the fake under odbk/ as odbk writes them (a
# manifest, and the two 10-byte files it lists), put with plain HTTP: what a rescan finds
fake_s3_put_manifests() {
    python3 - "$URL/b/odbk" "$1" "$2" <<'PY'
import datetime, json, random, sys, urllib.request
base, env, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(7)
t0 = datetime.datetime(2025, 3, 1, tzinfo=datetime.timezone.utc)
def put(key, body):
    urllib.request.urlopen(urllib.request.Request("%s/%s" % (base, key), data=body, method="PUT")).read()
for i in range(n):
    t = t0 + datetime.timedelta(hours=i)
    bid = t.strftime("%Y%m%dT%H%M%SZ") + "-%06x" % rnd.getrandbits(24)
    files = []
    for role, kind in (("database", "database.sql.gz"), ("filestore", "filestore.tar.gz")):
        name = "backup-%s-%s" % (bid, kind)
        put("%s/%s/%s" % (env, bid, name), b"x" * 10)
        files.append({"name": name, "role": role, "size": 10, "sha256": "%064x" % rnd.getrandbits(256),
                      "compression": "gzip"})
    iso = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    m = {"odbk_manifest": 1, "id": bid, "uuid": "00000000-0000-4000-8000-%012x" % i, "env": env,
         "project": "", "database": env, "type": "manual", "format": "odbk", "created_at": iso,
         "finished_at": iso, "retention": "", "comment": "", "host": "h", "odbk_version": "0.1.0",
         "modules": {}, "files": files}
    put("%s/%s/backup-%s-manifest.json" % (env, bid, bid), json.dumps(m).encode())
PY
}

fake_s3_storage() {
    local name=$1 line; shift
    printf "id\n" >"$TRASH/s3.id" && printf "secret\n" >"$TRASH/s3.secret" &&
    chmod 600 "$TRASH/s3.id" "$TRASH/s3.secret" &&
    printf "\n[storage %s]\ntype = s3\nendpoint = %s\nregion = us-east-1\nbucket = b\nprefix = odbk/\nuri-style = path\naccess-key-id-file = %s\nsecret-access-key-file = %s\nretries = 2\ntimeout = 20\n" \
        "$name" "$URL" "$TRASH/s3.id" "$TRASH/s3.secret" >>"$ODBK_CONFIG" || return 1
    for line in "$@"; do printf "%s\n" "$line" >>"$ODBK_CONFIG" || return 1; done
}

# ------------------------------------------------------------------ TAP core
test_description() {
    printf '# %s: %s\n' "$TEST_NAME" "$1"
}

say_diag() { sed 's/^/# /' >&2; }

# run_body BODY: 0 when BODY (and its test_when_finished cleanups) succeeded
run_body() {
    local body=$1 log=$TRASH/.out/$((test_count + 1)).log rc
    test_cleanup=
    if [ "${ODBK_TEST_VERBOSE:-0}" = 1 ]; then
        # the tee's pid is taken at once: $! after the body would be the body's own last background job
        local tee_pid
        exec 8> >(tee "$log" | sed 's/^/# /' >&2)
        tee_pid=$!
        eval "$body" >&8 2>&1 </dev/null
        rc=$?
        exec 8>&-
        wait "$tee_pid" 2>/dev/null
    else
        eval "$body" >"$log" 2>&1 </dev/null
        rc=$?
    fi
    if [ -n "$test_cleanup" ]; then
        test_cleanup_failed=0
        eval "$test_cleanup" >>"$log" 2>&1 </dev/null
        [ "$test_cleanup_failed" = 0 ] || { echo "test_when_finished: a cleanup failed" >>"$log"; rc=1; }
        test_cleanup=
    fi
    if [ -d "$TRASH/.sanitizer" ] && [ -n "$(ls -A "$TRASH/.sanitizer")" ]; then
        echo "sanitizer reports:" >>"$log"
        cat "$TRASH/.sanitizer/"* >>"$log"
        mkdir -p "$TRASH/.sanitizer-seen"
        mv "$TRASH/.sanitizer/"* "$TRASH/.sanitizer-seen/"
        rc=1
    fi
    return $rc
}

show_failure() {
    local desc=$1 body=$2 log=$TRASH/.out/$test_count.log
    {
        printf 'failed: %s (%s)\n' "$desc" "$TEST_NAME"
        printf '%s\n' "$body" | sed -e '/^[[:space:]]*$/d'
        echo "--- output (last 60 lines) ---"
        tail -n 60 "$log"
    } | say_diag
}

# test_expect_success [PREREQ,...] 'description' 'commands'
# PREREQ: PG, S3, SFTP or FTP (a testbed service), or one set by test_set_prereq;
# a test whose prerequisite is missing is skipped (under ODBK_TEST_STRICT=1 a
# missing service fails it)
test_expect_success() {
    if [ $# = 3 ]; then
        check_prereqs "$1" "$2" || return 0
        shift
    fi
    [ $# = 2 ] || { echo "Bail out! test_expect_success needs 2 or 3 arguments, got $#"; exit 1; }
    if run_body "$2"; then
        test_count=$((test_count + 1)); echo "ok $test_count - $1"
    else
        test_count=$((test_count + 1)); test_failed=$((test_failed + 1))
        echo "not ok $test_count - $1"; show_failure "$1" "$2"
    fi
}

# test_expect_failure [PREREQ,...] 'description' 'commands': a known bug (TAP TODO)
test_expect_failure() {
    if [ $# = 3 ]; then
        check_prereqs "$1" "$2" || return 0
        shift
    fi
    [ $# = 2 ] || { echo "Bail out! test_expect_failure needs 2 arguments, got $#"; exit 1; }
    if run_body "$2"; then
        test_count=$((test_count + 1)); test_fixed=$((test_fixed + 1))
        echo "ok $test_count - $1 # TODO known breakage vanished"
    else
        test_count=$((test_count + 1)); test_broken=$((test_broken + 1))
        echo "not ok $test_count - $1 # TODO known breakage"
    fi
}

# test_expect_code CODE [PREREQ,...] 'description' 'commands': the body must
# exit with exactly CODE
test_expect_code() {
    local code=$1; shift
    case $# in
        2) test_expect_success "$1" "test_exit_code $code test_subshell $(printf %q "$2")" ;;
        3) test_expect_success "$1" "$2" "test_exit_code $code test_subshell $(printf %q "$3")" ;;
        *) echo "Bail out! test_expect_code needs 3 or 4 arguments"; exit 1 ;;
    esac
}

test_prereqs=" "
# test_set_prereq NAME: declare a prerequisite satisfied
test_set_prereq() { test_prereqs="$test_prereqs$1 "; }

# test_have_prereq NAME: 0 when satisfied (services: their testbed variable is set)
test_have_prereq() {
    case $1 in
        PG) [ -n "${PGPORT:-}" ] ;; S3) [ -n "${S3_ENDPOINT:-}" ] ;;
        SFTP) [ -n "${SFTP_URL:-}" ] ;; FTP) [ -n "${FTP_URL:-}" ] ;;
        *) case $test_prereqs in *" $1 "*) return 0 ;; *) return 1 ;; esac ;;
    esac
}

# check_prereqs LIST DESC: 0 to run the test; else reports it skipped (or failed)
check_prereqs() {
    local p missing=
    for p in ${1//,/ }; do test_have_prereq "$p" || missing="$missing $p"; done
    [ -z "$missing" ] && return 0
    test_count=$((test_count + 1))
    case " $missing " in
        *" PG "*|*" S3 "*|*" SFTP "*|*" FTP "*)
            if [ "${ODBK_TEST_STRICT:-0}" = 1 ]; then
                test_failed=$((test_failed + 1))
                echo "not ok $test_count - $2 (testbed service missing:$missing)"
                return 1
            fi ;;
    esac
    echo "ok $test_count # skip $2 (missing$missing)"
    return 1
}

# test_when_finished 'commands': run after the current test, pass or fail
# (latest registered first); a cleanup that fails fails the test
test_when_finished() {
    test_cleanup="{ $*
} || test_cleanup_failed=1; $test_cleanup"
}

# skip_all 'reason': skip the whole script (TAP "1..0 # SKIP")
skip_all() {
    echo "1..0 # SKIP $*"
    test_skipped_all=1
    exit 0
}

# test_done: print the plan and leave with the script's status
test_done() {
    echo "1..$test_count"
    if [ "$test_fixed" -gt 0 ]; then echo "# $test_fixed known breakage(s) vanished; turn them into test_expect_success" >&2; fi
    if [ "$test_broken" -gt 0 ]; then echo "# still have $test_broken known breakage(s)"; fi
    if [ "$test_failed" -gt 0 ]; then
        echo "# failed $test_failed among $test_count test(s)"
        [ "${ODBK_TEST_KEEP:-0}" = 1 ] || echo "# ODBK_TEST_KEEP=1 keeps the scratch dir and databases; -v shows every output" >&2
        exit 1
    fi
    echo "# passed all $test_count test(s)"
    exit 0
}

# ------------------------------------------------------------------ assertions
# test_cmp EXPECTED ACTUAL: files must be equal (diff shown otherwise)
test_cmp() {
    diff -u -- "$1" "$2"
}

# test_exit_code CODE CMD...: CMD must exit with exactly CODE (not merely fail)
test_exit_code() {
    local want=$1 rc; shift
    "$@"; rc=$?
    if [ "$rc" = "$want" ]; then return 0; fi
    echo "test_exit_code: '$*' exited with $rc, wanted $want" >&2
    return 1
}

# test_subshell 'commands': eval in a subshell, so that even `exit N` only ends it
test_subshell() { ( eval "$1" ); }

# test_must_fail CMD...: CMD must fail with an ordinary error (1..125), not
# succeed, and not die from a signal or a sanitizer abort
test_must_fail() {
    local rc
    "$@"; rc=$?
    if [ "$rc" = 0 ]; then echo "test_must_fail: '$*' succeeded" >&2; return 1; fi
    if [ "$rc" -gt 125 ]; then echo "test_must_fail: '$*' died (exit $rc)" >&2; return 1; fi
    return 0
}

# test_line_count OP N FILE: the number of lines of FILE compares with N (e.g. = 1)
test_line_count() {
    local n; n=$(wc -l <"$3") || return 1
    [ "$n" "$1" "$2" ] || { echo "test_line_count: $3 has $n lines, wanted $1 $2:" >&2; cat "$3" >&2; return 1; }
}

# test_must_be_empty FILE: FILE exists and is empty (shown otherwise)
test_must_be_empty() {
    [ -f "$1" ] && [ ! -s "$1" ] || { echo "test_must_be_empty: $1 is not empty:" >&2; cat "$1" >&2; return 1; }
}

# test_file_mode MODE FILE: e.g. test_file_mode 600 odbk.conf
test_file_mode() {
    local m; m=$(stat -c %a "$2") || return 1
    [ "$m" = "$1" ] || { echo "test_file_mode: $2 has mode $m, wanted $1" >&2; return 1; }
}

# test_grep PATTERN FILE / test_grep ! PATTERN FILE: with the file shown on failure
test_grep() {
    local neg=
    [ "$1" = ! ] && { neg=1; shift; }
    if [ -n "$neg" ]; then
        ! grep -E -- "$1" "$2" >/dev/null || { echo "test_grep: '$1' found in $2:" >&2; cat "$2" >&2; return 1; }
    else
        grep -E -- "$1" "$2" >/dev/null || { echo "test_grep: '$1' not found in $2:" >&2; cat "$2" >&2; return 1; }
    fi
}

# ------------------------------------------------------------------ services
fail_setup() {   # a required thing is missing in strict mode: one failing test
    echo "not ok 1 - $*"
    echo "1..1"
    exit 1
}

# require_service pg|s3|sftp|ftp: skip the script when the testbed does not
# provide it (fail instead under ODBK_TEST_STRICT=1)
require_service() {
    local s var
    for s in "$@"; do
        case $s in
            pg) var=PGPORT ;; s3) var=S3_ENDPOINT ;; sftp) var=SFTP_URL ;; ftp) var=FTP_URL ;;
            *) echo "Bail out! require_service: unknown service '$s'"; exit 1 ;;
        esac
        if [ -z "${!var:-}" ]; then
            local why="testbed service '$s' not running (\$$var unset; eval \"\$(tests/testbed/start-all.sh DIR)\")"
            [ "${ODBK_TEST_STRICT:-0}" = 1 ] && fail_setup "$why"
            skip_all "$why"
        fi
    done
}

# require_program NAME...: skip (strict: fail) when a program is not built
require_program() {
    local p
    for p in "$@"; do
        if ! command -v "$p" >/dev/null 2>&1; then
            local why="program '$p' not found in $ODBK_BUILD/bin (make)"
            [ "${ODBK_TEST_STRICT:-0}" = 1 ] && fail_setup "$why"
            skip_all "$why"
        fi
    done
}

# ------------------------------------------------------------------ PostgreSQL
# test_db NAME: the database name this script uses for NAME (unique per run)
test_db() {
    printf '%s%s\n' "$TEST_DB_PREFIX" "$1"
}

# sql DB 'SQL': run SQL, print unaligned tuples only
sql() {
    "${PG_BINDIR:+$PG_BINDIR/}psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# drop_db DB...: drop databases if they exist (closing other sessions)
drop_db() {
    local d
    for d in "$@"; do
        echo 'DROP DATABASE IF EXISTS :"d" WITH (FORCE)' |
            "${PG_BINDIR:+$PG_BINDIR/}psql" -X -q -d postgres -v ON_ERROR_STOP=1 -v d="$d" >/dev/null || return 1
    done
}

drop_test_dbs() {
    [ -n "${PGPORT:-}" ] || return 0
    local dbs
    dbs=$(sql postgres "SELECT datname FROM pg_database WHERE starts_with(datname, '$TEST_DB_PREFIX')" 2>/dev/null) || return 0
    [ -z "$dbs" ] || drop_db $dbs
}

# fake_pg_dump_dying DIR: DIR/pg_dump writes a first line, then fails with "simulated failure"
# (run odbk with ODBK_PG_BINDIR=DIR)
fake_pg_dump_dying() {
    mkdir -p "$1" && cat >"$1/pg_dump" <<SCRIPT && chmod +x "$1/pg_dump"
#!/bin/sh
if [ "\$1" = --version ]; then exec "$(command -v pg_dump)" --version; fi
echo "-- PostgreSQL database dump"
echo "pg_dump: error: simulated failure" >&2
exit 1
SCRIPT
}

# TEST_OWNER: a role without superuser (NOLOGIN, shared by all scripts, made by test_owner_role) that
# owns the fixtures' databases and is the --db-owner of new ones, as the role Odoo connects as would be:
# odbk gives restored objects to no superuser (the testbed connects as one)
TEST_OWNER=odbk_test_owner
test_owner_role() {
    sql postgres "DO \$\$ BEGIN CREATE ROLE $TEST_OWNER NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END \$\$"
}

# make_fixture NAME [make-odoo-fixture options]: create database $(test_db NAME)
# (owned by $TEST_OWNER) and filestore $TRASH/filestore/NAME; sets FIXTURE_DB, FIXTURE_FS and
# FIXTURE_JSON (the generator's JSON line, also in $TRASH/NAME.fixture.json)
make_fixture() {
    local name=$1; shift
    FIXTURE_DB=$(test_db "$name")
    FIXTURE_FS=$TRASH/filestore/$name
    make-odoo-fixture --db "$FIXTURE_DB" --filestore "$FIXTURE_FS" "$@" >"$TRASH/$name.fixture.json" || {
        echo "make_fixture: make-odoo-fixture failed for $name" >&2; return 1; }
    test_owner_role && sql postgres "ALTER DATABASE \"$FIXTURE_DB\" OWNER TO $TEST_OWNER" || {
        echo "make_fixture: cannot give $FIXTURE_DB to $TEST_OWNER" >&2; return 1; }
    FIXTURE_JSON=$(cat "$TRASH/$name.fixture.json")
}

# fingerprint DB [FILESTORE]: key=value lines that equal databases share
fingerprint() {
    make-odoo-fixture --fingerprint --db "$1" ${2:+--filestore "$2"}
}

# ------------------------------------------------------------------ odbk.conf
# odbk_conf ENV DB [FILESTORE [STORAGE]]: write $TRASH/odbk.conf (mode 0600)
# with env ENV on the testbed's PostgreSQL and storage STORAGE: disk (local,
# $TRASH/storage, the default), s3, sftp or ftp (the testbed's servers, under
# a prefix unique to this script); export ODBK_CONFIG and ODBK_CATALOG
# ($TRASH/catalog.db). Append more sections with odbk_conf_storage/odbk_conf_env.
ODBK_CONF=$TRASH/odbk.conf
odbk_conf() {
    local env=$1 db=$2 fs=${3:-$TRASH/filestore/$1} storage=${4:-disk}
    (umask 077 && : >"$ODBK_CONF") || return 1
    chmod 0600 "$ODBK_CONF"
    odbk_conf_storage disk || return 1
    [ "$storage" = disk ] || odbk_conf_storage "$storage" || return 1
    odbk_conf_env "$env" "$db" "$fs" "$storage" || return 1
    export ODBK_CONFIG=$ODBK_CONF ODBK_CATALOG=$TRASH/catalog.db
    if [ "${ODBK_TEST_CATALOG:-}" = postgresql ]; then   # the script's catalog in a database of its own
        sql postgres "DROP DATABASE IF EXISTS \"$(test_db catalog)\"" >/dev/null 2>&1
        sql postgres "CREATE DATABASE \"$(test_db catalog)\"" || return 1
        export ODBK_CATALOG="postgresql://$PGUSER@$PGHOST:$PGPORT/$(test_db catalog)"
    fi
}

# odbk_conf_env ENV DB FILESTORE STORAGE: append an [env] section, its filestore-mode
# $TEST_FILESTORE_MODE (default full: the scripts written before the incremental filestore check its
# tar; TEST_FILESTORE_MODE=incremental runs them against odbk's own default)
odbk_conf_env() {
    cat >>"$ODBK_CONF" <<EOF

[env $1]
database = $2
filestore = $3
pg = host=$PGHOST port=$PGPORT user=$PGUSER
storage = $4
filestore-mode = ${TEST_FILESTORE_MODE:-full}
EOF
}

# odbk_conf_storage disk|s3|sftp|ftp [NAME]: append a [storage NAME] section
# (NAME defaults to the type) for the testbed's server of that type
odbk_conf_storage() {
    local type=$1 name=${2:-$1} secrets=$TRASH/secrets
    mkdir -p "$secrets" && chmod 0700 "$secrets"
    case $type in
        disk)
            mkdir -p "$TRASH/storage/$name"
            printf '\n[storage %s]\ntype = local\npath = %s\n' "$name" "$TRASH/storage/$name" ;;
        s3)
            [ -n "${S3_ENDPOINT:-}" ] || { echo "odbk_conf_storage: testbed service s3 not running" >&2; return 1; }
            (umask 077 && printf '%s\n' "$S3_ACCESS_KEY" >"$secrets/s3.id" &&
                printf '%s\n' "$S3_SECRET_KEY" >"$secrets/s3.secret")
            printf '\n[storage %s]\ntype = s3\nendpoint = %s\nregion = %s\nbucket = %s\nprefix = %s/%s/\nuri-style = path\naccess-key-id-file = %s\nsecret-access-key-file = %s\n' \
                "$name" "$S3_ENDPOINT" "$S3_REGION" "$S3_BUCKET" "${TEST_DB_PREFIX%_}" "$name" \
                "$secrets/s3.id" "$secrets/s3.secret" ;;
        sftp)
            [ -n "${SFTP_URL:-}" ] || { echo "odbk_conf_storage: testbed service sftp not running" >&2; return 1; }
            printf '\n[storage %s]\ntype = sftp\nhost = %s\nport = %s\nuser = %s\nprivate-key = %s\nknown-hosts = %s\npath = %s/%s/%s\n' \
                "$name" "$SFTP_HOST" "$SFTP_PORT" "$SFTP_USER" "$SFTP_KEY" "$SFTP_KNOWN_HOSTS" \
                "$SFTP_DATA_DIR" "${TEST_DB_PREFIX%_}" "$name" ;;
        ftp)
            [ -n "${FTP_URL:-}" ] || { echo "odbk_conf_storage: testbed service ftp not running" >&2; return 1; }
            (umask 077 && printf '%s\n' "$FTP_PASSWORD" >"$secrets/ftp.pw")
            printf '\n[storage %s]\ntype = ftp\nurl = %s%s/%s\ntls = none\nuser = %s\npassword-file = %s\n' \
                "$name" "$FTP_URL" "${TEST_DB_PREFIX%_}" "$name" "$FTP_USER" "$secrets/ftp.pw" ;;
        *) echo "odbk_conf_storage: unknown storage type '$type'" >&2; return 1 ;;
    esac >>"$ODBK_CONF"
}

# ------------------------------------------------------------------ stalled runs
# slow_pg_dump [NOISE_BYTES]: write $TRASH/slowbin/pg_dump (use it with ODBK_PG_BINDIR=$TRASH/slowbin), a
# pg_dump that writes the real dump's first 100 kB, then NOISE_BYTES random bytes (default 0: enough for
# a multipart upload when above the part size), then stalls for 60 s; its pid is in $TRASH/dump.pid.
slow_pg_dump() {
    mkdir -p "$TRASH/slowbin" &&
    cat >"$TRASH/slowbin/pg_dump" <<SCRIPT &&
#!/bin/sh
if [ "\$1" = --version ]; then exec "$(command -v pg_dump)" --version; fi
echo \$\$ >"$TRASH/dump.pid"
"$(command -v pg_dump)" "\$@" | head -c 100000
head -c ${1:-0} /dev/urandom
exec sleep 60
SCRIPT
    chmod +x "$TRASH/slowbin/pg_dump"
}
