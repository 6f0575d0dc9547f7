#!/usr/bin/env bash
# t2625 - the collection of packs runs only where it is due (issue 14): a prune that removes nothing reads
# no storage (S3 through the counting proxy: not one request; local disk: strace shows no access to the packs
# folder, which --collect does open), a prune that expires something collects (and then the pair is no longer due), a create
# SIGKILLed with a pack stored leaves the env's storage due (the reaper's removal, then the next prune
# collects), and odbk-prune --collect deletes orphan packs a killed create left that nothing made due
# (--dry-run first says what would go).
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-prune collects where a deletion made it due; --collect whatever'
require_service pg
require_program odbk-create odbk-prune odbk-test-storage sqlite3 jq python3 strace

export TZ=UTC TEST_FILESTORE_MODE=incremental

# shellcheck source=tests/integration/lib-gc.sh
. "$ODBK_SRC/tests/integration/lib-gc.sh"

# traced CMD...: CMD under strace, its file calls in ./trace (LeakSanitizer cannot run under ptrace)
traced() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=%file -o trace "$@"; }

due() { sqlite3 "$ODBK_CATALOG" "select count(*) from gc_due where env = 'prod'"; }

# add_files N: N new attachment-shaped files in the filestore
add_files() {
	python3 - "$FIXTURE_FS" "$1" <<-'PY'
	import hashlib, os, sys
	fs, n = sys.argv[1], int(sys.argv[2])
	for i in range(n):
	    data = os.urandom(3000 + 71 * i)
	    h = hashlib.sha1(data).hexdigest()
	    os.makedirs(os.path.join(fs, h[:2]), exist_ok=True)
	    open(os.path.join(fs, h[:2], h), "wb").write(data)
	PY
}

# killed_create: new files, then odbk-create SIGKILLed once it stored a pack; $k its id (row in progress)
killed_create() {
	add_files 4 &&
	test_exit_code 137 env ODBK_FAILPOINT=create-after-pack odbk-create --quiet prod &&
	k=$(sqlite3 "$ODBK_CATALOG" "select id from backups where status = 'in_progress'") &&
	test -n "$k"
}

if test_have_prereq S3; then
	python3 "$ODBK_SRC/tests/fake/count-proxy.py" --target "${S3_ENDPOINT#http://}" --port-file "$TRASH/proxy.port" \
		--log "$TRASH/proxy.log" --max-seconds 900 >"$TRASH/proxy.out" 2>&1 &
	PROXY_PID=$!
	trap 'kill $PROXY_PID 2>/dev/null; test_lib_exit' EXIT
	for i in $(seq 50); do [ -s "$TRASH/proxy.port" ] && break; sleep 0.1; done
fi

test_expect_success 'setup: the fixture' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 10
'

for type in ${T2625_TYPES:-disk s3}; do
	P=$(echo "$type" | tr a-z A-Z)
	[ "$type" = disk ] && P=PG
	test_have_prereq "$P" || { test_expect_success "$P" "$type: collections due" 'true'; continue; }
	export GC_TYPE=$type

	test_expect_success "$P" "$type: two incremental backups; a prune that expires one collects, then nothing is due" '
		odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" '"$type"' &&
		printf "\n[policy]\nkeep-within-daily =\nkeep-within-weekly =\nkeep-within-monthly =\nkeep-within-yearly =\nkeep-last =\nkeep-daily = 1\n" >>"$ODBK_CONF" &&
		if [ '"$type"' = s3 ]; then
			sed -i "s|^endpoint = $S3_ENDPOINT\$|endpoint = http://127.0.0.1:$(cat "$TRASH/proxy.port")|" "$ODBK_CONF"
		fi &&
		rm -f "$ODBK_CATALOG" && gc_store rmprefix prod/ &&
		r1=$(odbk-create --quiet prod) && add_files 3 && r2=$(odbk-create --quiet prod) &&
		gc_backdate $r1 "2026-01-01 03:00:00" && gc_backdate $r2 "2026-01-02 03:00:00" &&
		test "$(due)" = 0 &&
		: >"$TRASH/proxy.log" &&
		odbk-prune prod >out 2>err &&
		echo $r1 >expect && test_cmp expect out &&
		test_grep "prod: '"$type"': 0 unreferenced packs deleted .* 2 kept" err &&
		test "$(due)" = 0 &&
		if [ '"$type"' = s3 ]; then
			test -s "$TRASH/proxy.log"
		fi &&
		sed -i "s/^keep-daily = 1$/keep-daily = 9/" "$ODBK_CONF"
	'

	test_expect_success "$P" "$type: a prune that expires nothing reads no storage" '
		add_files 2 && r3=$(odbk-create --quiet prod) && gc_backdate $r3 "2026-01-03 03:00:00" &&
		: >"$TRASH/proxy.log" &&
		if [ '"$type"' = disk ]; then
			traced odbk-prune prod >out 2>err
		else
			odbk-prune prod >out 2>err
		fi &&
		test_must_be_empty out &&
		test_grep ! "unreferenced" err &&
		if [ '"$type"' = s3 ]; then
			test_must_be_empty "$TRASH/proxy.log"
		else
			test_grep ! "/prod/packs" trace &&
			traced odbk-prune --collect prod >out 2>err &&
			test_grep "/prod/packs" trace
		fi &&
		gc_kept_backups_whole $r2 $r3
	'

	test_expect_success "$P" "$type: a create killed with a pack stored: reaped, its storage due; the next prune collects" '
		killed_create &&
		test "$(gc_packs | grep -c "^$k-")" = 1 &&
		odbk-prune --force prod >out 2>err &&
		test "$(sqlite3 "$ODBK_CATALOG" "select status from backups where id = '\''$k'\''")" = failed &&
		test "$(gc_packs | grep -c "^$k-")" = 0 &&
		test_grep "prod: '"$type"': 0 unreferenced packs deleted" err &&
		test "$(due)" = 0 &&
		gc_kept_backups_whole $r2 $r3
	'

	test_expect_success "$P" "$type: orphan packs of a killed create nothing made due: prune leaves them, --collect deletes them" '
		killed_create &&
		sqlite3 "$ODBK_CATALOG" "update backups set status = '\''failed'\'', pid = 0 where id = '\''$k'\''" &&
		gc_put_pack "$k-000002.tar.gz.odbk-tmp-99-1" &&
		gc_packs >before &&
		test "$(grep -c "^$k-" before)" = 2 &&
		odbk-prune --force prod >out 2>err &&
		test_grep ! "unreferenced" err &&
		gc_packs >after && test_cmp before after &&
		odbk-prune --collect --dry-run prod >out 2>err &&
		grep "^  delete " out | awk "{print \$2}" | sort >actual &&
		grep "^$k-" before >expect && test_cmp expect actual &&
		test_grep "prod: '"$type"': 2 unreferenced packs would be deleted" err &&
		gc_packs >after && test_cmp before after &&
		odbk-prune --collect --env prod --storage '"$type"' >out 2>err &&
		test_grep "prod: '"$type"': 2 unreferenced packs deleted" err &&
		test "$(gc_packs | grep -c "^$k-")" = 0 &&
		gc_kept_backups_whole $r2 $r3 &&
		odbk-prune --collect --json prod >c.json &&
		jq -e ".[0].env == \"prod\" and (.[0].packs[0].removed == []) and (.[0] | has(\"error\")) and .[0].error == null" c.json >/dev/null
	'
done

test_expect_success 'usage: --storage needs --collect, --collect takes no --backup' '
	test_exit_code 64 odbk-prune --storage disk prod 2>err &&
	test_grep "pass --collect" err &&
	test_exit_code 64 odbk-prune --collect --backup 2026 2>err &&
	test_grep "takes no --backup" err
'

test_done
