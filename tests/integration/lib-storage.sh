# lib-storage.sh - the storage driver contract, run against any `[storage NAME]` of a config file.
# Sourced by tests/integration/t*-storage-*.sh after test-lib.sh:
#     storage_contract CONFIG STORAGE [BIG_MB]
# Every driver must pass the same checks: what is put is what is got back, byte for byte; stat and list
# report sizes; an aborted write leaves nothing; remove is idempotent; a missing object is exit 66.

storage_contract() {
    local conf=$1 st=$2 big=${3:-12} T=odbk-test-storage pfx="contract-$$-$RANDOM"
    head -c $((big * 1024 * 1024 + 12345)) /dev/urandom > "$TRASH/big"
    printf 'hello storage\n' > "$TRASH/small"
    : > "$TRASH/empty"

    test_expect_success "$st: put and get a small object" "
        $T '$conf' '$st' put '$pfx/a/small.txt' < '$TRASH/small' &&
        $T '$conf' '$st' get '$pfx/a/small.txt' > '$TRASH/out' && cmp '$TRASH/small' '$TRASH/out'
    "
    test_expect_success "$st: put and get an empty object" "
        $T '$conf' '$st' put '$pfx/a/empty' < '$TRASH/empty' &&
        $T '$conf' '$st' get '$pfx/a/empty' > '$TRASH/out' && cmp '$TRASH/empty' '$TRASH/out'
    "
    test_expect_success "$st: put and get a ${big} MiB object" "
        $T '$conf' '$st' put '$pfx/b/big.bin' < '$TRASH/big' &&
        $T '$conf' '$st' get '$pfx/b/big.bin' > '$TRASH/out' && cmp '$TRASH/big' '$TRASH/out'
    "
    test_expect_success "$st: stat gives the size" "
        test \"\$($T '$conf' '$st' stat '$pfx/b/big.bin')\" = $((big * 1024 * 1024 + 12345))
    "
    test_expect_success "$st: list under a prefix gives every object with its size" "
        $T '$conf' '$st' list '$pfx/' > '$TRASH/list' &&
        printf '%s\n' '$pfx/a/empty 0' '$pfx/a/small.txt 14' '$pfx/b/big.bin $((big * 1024 * 1024 + 12345))' > '$TRASH/want' &&
        test_cmp '$TRASH/want' '$TRASH/list'
    "
    test_expect_success "$st: a put over an existing object replaces it" "
        printf 'v2\n' | $T '$conf' '$st' put '$pfx/a/small.txt' &&
        test \"\$($T '$conf' '$st' get '$pfx/a/small.txt')\" = v2
    "
    test_expect_success "$st: an aborted write leaves no object and no temporary" "
        test_expect_code_run 3 $T '$conf' '$st' put '$pfx/c/partial.bin' --abort-after 1 < '$TRASH/big' &&
        test_expect_code_run 66 $T '$conf' '$st' stat '$pfx/c/partial.bin' &&
        test -z \"\$($T '$conf' '$st' list '$pfx/c')\"
    "
    test_expect_success "$st: get of a missing object exits 66" "
        test_expect_code_run 66 $T '$conf' '$st' get '$pfx/nope'
    "
    test_expect_success "$st: remove, and remove again" "
        $T '$conf' '$st' rm '$pfx/a/small.txt' && $T '$conf' '$st' rm '$pfx/a/small.txt' &&
        test_expect_code_run 66 $T '$conf' '$st' stat '$pfx/a/small.txt'
    "
    test_expect_success "$st: remove a prefix" "
        $T '$conf' '$st' rmprefix '$pfx/' && test -z \"\$($T '$conf' '$st' list '$pfx/')\"
    "
}

# test_expect_code_run CODE CMD...: run CMD, succeed only if it exits with exactly CODE.
test_expect_code_run() {
    local want=$1 got=0
    shift
    "$@" || got=$?
    if [ "$got" != "$want" ]; then
        echo "# expected exit $want, got $got: $*" >&2
        return 1
    fi
}
