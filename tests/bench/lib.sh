# tests/bench/lib.sh - what tests/bench/catalog and tests/bench/rescan share (sourced, after BENCH_NAME is
# set): the binaries measured (BENCH_BIN, default build/bin; BENCH_BASE_BIN a baseline beside them), a
# scratch directory $W (kept with BENCH_KEEP=1), bench_run and bench_table.  A command that fails is
# shown with its exit code and last error line, and makes the script exit 1 at the end (bench_done):
# a figure of a run that failed is no figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd -P)
BIN=${BENCH_BIN:-$ROOT/build/bin}
BASE=${BENCH_BASE_BIN:-}
[ -x "$BIN/odbk-list" ] || make -j2 >/dev/null
W=$(mktemp -d "/tmp/odbk-bench-$BENCH_NAME.XXXXXX")
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT
BENCH_FAILED=0

# bench_run CODES DIR PROG ARGS...: run DIR/PROG ARGS (output discarded) and print "SECONDS RSS_KIB"; an
# exit code not among CODES ("0", "0,1,2") prints "FAILED -" instead and is reported on stderr
bench_run() {
    local codes=$1 dir=$2 prog=$3 rc=0
    shift 3
    /usr/bin/time -o "$W/time" -f '%e %M' "$dir/$prog" "$@" </dev/null >/dev/null 2>"$W/stderr" || rc=$?
    case ",$codes," in
        *",$rc,"*) tail -1 "$W/time" ;;
        *) echo "bench: FAILED: $prog $* exited $rc: $(tail -1 "$W/stderr")" >&2
           echo "FAILED -" ;;
    esac
}

# bench_table PREFIX WIDTH RESULTS: one line per label of RESULTS (lines "DIR|LABEL|SECONDS RSS_KIB"): PREFIX,
# the label padded to WIDTH, seconds and MiB of $BIN, and with a baseline its seconds and the ratio
bench_table() {
    awk -F'|' -v pre="$1" -v w="$2" -v bin="$BIN" -v base="$BASE" '
        { split($3, r, " "); t[$1 "|" $2] = r[1]; k[$1 "|" $2] = r[2]; if (!($2 in seen)) { seen[$2] = 1; order[++c] = $2 } }
        END { for (i = 1; i <= c; i++) { l = order[i]; s = t[bin "|" l]; b = t[base "|" l]
              line = sprintf("%s%-*s %9s %9s", pre, w, l, s, s == "FAILED" ? "-" : sprintf("%.1f", k[bin "|" l] / 1024))
              if (base != "") line = line sprintf(" %12s %6s", b, s + 0 > 0 && b + 0 > 0 ? sprintf("%.2f", s / b) : "-")
              print line } }' "$3"
    if grep -q '|FAILED ' "$3"; then BENCH_FAILED=1; fi
}

# PostgreSQL catalogs (the testbed's environment: PGHOST, PGPORT, PGUSER, PGPASSWORD, PG_SUPERUSER...):
# pg_new DB makes a fresh database DB owned by $PGUSER, pg_url DB its URL (no password: libpq's
# PGPASSWORD), pg_admin CMD... runs a client tool as the superuser
pg_admin() { PGUSER=${PG_SUPERUSER:-$PGUSER} PGPASSWORD=${PG_SUPERPASSWORD:-$PGPASSWORD} PGDATABASE=postgres "$@"; }
pg_url() { printf 'postgresql://%s@%s:%s/%s' "$PGUSER" "$PGHOST" "$PGPORT" "$1"; }
pg_new() { pg_admin dropdb --if-exists "$1" 2>/dev/null && pg_admin createdb -O "$PGUSER" "$1"; }
pg_testbed() { [ "${BENCH_PG:-1}" != 0 ] && [ -n "${PGHOST:-}" ] && [ -n "${PGPORT:-}" ] && command -v createdb >/dev/null; }

bench_done() {
    if [ "$BENCH_FAILED" != 0 ]; then
        echo "bench: some runs FAILED (see above): their figures are not measurements" >&2
        exit 1
    fi
}
