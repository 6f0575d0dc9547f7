#!/usr/bin/env bash
# t5001 - differential test: odbk's retention engine against the real restic (Debian's 0.14).
#
# Random histories become real restic snapshots (`restic backup --time`, one host per history, so one
# `restic forget` call plans every history); random policies are planned by `restic forget --dry-run
# --json` and by tests/helper/odbk-retention-plan, and the kept sets must be equal.  restic 0.14 predates
# 0.17's "keep the oldest when a count rule has counts left" clause, so odbk runs with --no-keep-oldest;
# the unit tests cover that clause.  restic knows no `w` unit, so the policies use y, m, d, h only, and
# 0.14 knows no `unlimited`, so restic gets a count larger than the history instead.
#
# Every restic call costs ~0.8 s of scrypt, so the sizes are small by default; for a deeper run:
#   T5001_HOSTS=4 T5001_SNAPSHOTS=40 T5001_POLICIES=40 T5001_SEED=123 tests/integration/t5001-...sh
set -u

B=${ODBK_BUILD:-build}
PLAN=$B/tests/odbk-retention-plan
HOSTS=${T5001_HOSTS:-2}
SNAPSHOTS=${T5001_SNAPSHOTS:-12}
POLICIES=${T5001_POLICIES:-10}
SEED=${T5001_SEED:-$(( $(date +%s) % 100000 ))}

if ! command -v restic >/dev/null || ! command -v jq >/dev/null; then
    echo "1..0 # SKIP restic or jq not installed"
    exit 0
fi
if [ ! -x "$PLAN" ]; then
    echo "1..0 # SKIP $PLAN not built (make)"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TZ=UTC RESTIC_REPOSITORY=$tmp/repo RESTIC_PASSWORD=odbk-t5001 RESTIC_CACHE_DIR=$tmp/cache
mkdir -p "$tmp/data"
echo "t5001" >"$tmp/data/file"

echo "1..$((POLICIES + 1))"
echo "# seed $SEED (T5001_SEED=$SEED reproduces this run)"
RANDOM=$SEED

# ---- histories: clustered random times between 2019-06 and 2024-06, some around ISO 2020-W53
lo=$(date -u -d 2019-06-01 +%s)
hi=$(date -u -d 2024-06-01 +%s)
w53=$(date -u -d 2020-12-27T12:00:00 +%s)
rand() { echo $(( (RANDOM << 15 | RANDOM) % $1 )); }

for h in $(seq 1 "$HOSTS"); do
    centers=()
    for _ in 1 2 3 4; do centers+=("$(( lo + $(rand $(( hi - lo ))) ))"); done
    [ $((RANDOM % 2)) = 0 ] && centers+=("$w53")
    declare -A seen=()
    n=0
    while [ "$n" -lt "$SNAPSHOTS" ]; do
        c=${centers[$((RANDOM % ${#centers[@]}))]}
        scales=(3600 86400 864000 5184000 34560000)
        s=${scales[$((RANDOM % 5))]}
        t=$(( c + $(rand $((2 * s))) - s ))
        [ -n "${seen[$t]:-}" ] && continue
        seen[$t]=1
        echo "$t" >>"$tmp/host$h.epochs"
        n=$((n + 1))
    done
    unset seen
    sort -n "$tmp/host$h.epochs" | while read -r t; do date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ; done >"$tmp/host$h.times"
done

# ---- the restic repository: two backups at a time (scrypt is the cost)
restic init -q >"$tmp/init.log" 2>&1 || { echo "not ok 1 - restic init"; cat "$tmp/init.log" | sed 's/^/# /'; exit 1; }
fail=0
for h in $(seq 1 "$HOSTS"); do
    i=0
    while read -r t; do
        restic backup -q --no-cache --host "h$h" --time "$(date -u -d "$t" '+%Y-%m-%d %H:%M:%S')" "$tmp/data" \
            >>"$tmp/backup.log" 2>&1 || echo fail >>"$tmp/backup.failed" &
        i=$((i + 1))
        [ $((i % 2)) = 0 ] && wait
    done <"$tmp/host$h.times"
    wait
done
if [ -e "$tmp/backup.failed" ]; then
    echo "not ok 1 - $((HOSTS * SNAPSHOTS)) restic snapshots created"
    sed 's/^/# /' "$tmp/backup.log"
    exit 1
fi
got=$(restic snapshots -q --no-cache --json | jq length)
if [ "$got" = $((HOSTS * SNAPSHOTS)) ]; then
    echo "ok 1 - $got restic snapshots created over $HOSTS histories"
else
    echo "not ok 1 - $((HOSTS * SNAPSHOTS)) restic snapshots created (got $got)"
    fail=1
fi

# ---- random policies
duration() {
    local d="" u
    for u in y m d h; do
        if [ $((RANDOM % 3)) = 0 ]; then
            case $u in y) d+="$((1 + RANDOM % 3))y" ;; m) d+="$((1 + RANDOM % 18))m" ;;
                       d) d+="$((1 + RANDOM % 60))d" ;; h) d+="$((1 + RANDOM % 72))h" ;; esac
        fi
    done
    [ -n "$d" ] || d="$((1 + RANDOM % 400))d"
    echo "$d"
}
policy() {
    local args=() r
    while [ ${#args[@]} = 0 ]; do
        for r in last hourly daily weekly monthly yearly; do
            if [ $((RANDOM % 4)) = 0 ]; then
                if [ $((RANDOM % 8)) = 0 ]; then args+=("--keep-$r" unlimited)
                else args+=("--keep-$r" "$((1 + RANDOM % 8))"); fi
            fi
        done
        for r in "" -hourly -daily -weekly -monthly -yearly; do
            [ $((RANDOM % 7)) = 0 ] && args+=("--keep-within$r" "$(duration)")
        done
    done
    echo "${args[@]}"
}

# restic 0.14 has no `unlimited` (0.15 added it; 0.14 silently keeps nothing for -1): a count larger than
# the history is the same thing there.
for k in $(seq 1 "$POLICIES"); do
    read -r -a pol <<<"$(policy)"
    rpol=("${pol[@]/#unlimited/99999}")
    restic forget -q --no-cache --no-lock --dry-run --json "${rpol[@]}" >"$tmp/forget$k.json" 2>"$tmp/forget$k.err" &
    [ $((k % 2)) = 0 ] && wait
    echo "${pol[*]}" >"$tmp/policy$k"
done
wait

for k in $(seq 1 "$POLICIES"); do
    read -r -a pol <"$tmp/policy$k"
    bad=""
    for h in $(seq 1 "$HOSTS"); do
        jq -r --arg h "h$h" '.[] | select(.host == $h) | .keep[] | .time' "$tmp/forget$k.json" 2>/dev/null |
            sort >"$tmp/restic.keep" || true
        "$PLAN" --tz UTC --no-keep-oldest "${pol[@]}" <"$tmp/host$h.times" >"$tmp/odbk.plan" 2>"$tmp/odbk.err"
        awk '$2 == "keep" { print $1 }' "$tmp/odbk.plan" | sort >"$tmp/odbk.keep"
        if [ ! -s "$tmp/restic.keep" ] || ! cmp -s "$tmp/restic.keep" "$tmp/odbk.keep"; then
            bad+=" h$h"
            echo "# policy: ${pol[*]}   history h$h:"
            sed 's/^/#   restic: /' "$tmp/forget$k.err"
            diff "$tmp/restic.keep" "$tmp/odbk.keep" | sed 's/^/#   restic vs odbk: /'
            sed 's/^/#   odbk plan: /' "$tmp/odbk.plan" "$tmp/odbk.err"
        fi
    done
    n_keep=$(jq '[.[] | .keep | length] | add' "$tmp/forget$k.json" 2>/dev/null)
    if [ -z "$bad" ]; then
        echo "ok $((k + 1)) - ${pol[*]}: same $n_keep kept as restic"
    else
        echo "not ok $((k + 1)) - ${pol[*]}: differs from restic on$bad"
        fail=1
    fi
done
exit $fail
