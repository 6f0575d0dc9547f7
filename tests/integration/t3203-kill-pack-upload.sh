#!/usr/bin/env bash
# t3203 - incremental backups on the testbed's Ceph RGW killed in the middle of a pack's multipart upload
# (16 MiB packs, 5 MiB parts, the moment seen through the counting proxy: part 2 of a pack sent), and two
# odbk commands at once on one env (issue 14).  SIGKILL: every kept backup still restores equal to its
# state, the next collection's session reaps the run (its packs and its unfinished upload go), the next
# create succeeds; a killed run nothing reaped (its row failed elsewhere) has its unfinished upload aborted
# by the collection itself.  SIGTERM: exit 143 and nothing of it left, not even an unfinished upload.
# A create beside odbk-prune --backup of an older backup, beside --collect, and another env's create into
# the same bucket during a collection: no kept backup loses a file.
. "$(dirname "$0")/test-lib.sh"
test_description 'RGW: a pack upload killed mid-way, and concurrent commands, never cost a kept backup'
require_service pg s3
require_program odbk-create odbk-prune odbk-restore odbk-test-storage sqlite3 jq python3 curl

export TZ=UTC TEST_FILESTORE_MODE=incremental GC_TYPE=s3

# shellcheck source=tests/integration/lib-gc.sh
. "$ODBK_SRC/tests/integration/lib-gc.sh"

python3 "$ODBK_SRC/tests/fake/count-proxy.py" --target "${S3_ENDPOINT#http://}" --port-file "$TRASH/proxy.port" \
	--log "$TRASH/proxy.log" --max-seconds 1200 >"$TRASH/proxy.out" 2>&1 &
PROXY_PID=$!
trap 'kill $PROXY_PID 2>/dev/null; test_lib_exit' EXIT
for i in $(seq 50); do [ -s "$TRASH/proxy.port" ] && break; sleep 0.1; done

# add_mb N: N MiB of new incompressible attachment-shaped files (512 KiB each) in the filestore
add_mb() {
	python3 - "$FIXTURE_FS" "$1" <<-'PY'
	import hashlib, os, sys
	fs, n = sys.argv[1], int(sys.argv[2]) * 2
	for i in range(n):
	    data = os.urandom(512 * 1024)
	    h = hashlib.sha1(data).hexdigest()
	    os.makedirs(os.path.join(fs, h[:2]), exist_ok=True)
	    open(os.path.join(fs, h[:2], h), "wb").write(data)
	PY
}
# snap NAME: the filestore as it is now, kept as state NAME
snap() { rm -rf "$TRASH/state-$1" && cp -a "$FIXTURE_FS" "$TRASH/state-$1"; }
# in_pack_upload ENV: wait until part 2 of a pack of ENV went to the store (a pack half uploaded)
in_pack_upload() {
	for i in $(seq 600); do
		grep -q "^PUT .*/$1/packs/[^?]*?partNumber=2&" "$TRASH/proxy.log" && return 0
		sleep 0.05
	done
	echo "# no pack upload of $1 seen" >&2
	return 1
}
# start_create ENV: odbk-create ENV in the background ($cpid), once the proxy log is emptied
start_create() {
	: >"$TRASH/proxy.log"
	odbk-create --quiet "$1" >"$TRASH/create.out" 2>"$TRASH/create.err" &
	cpid=$!
}
# held_create ENV: odbk-create ENV in the background ($cpid) paused 3 s before it reads its first filestore
# file (its row in progress, its parent's list read), for a second command meanwhile
held_create() {
	: >"$TRASH/proxy.log"
	rm -f "$TRASH/ready"
	ODBK_FAILPOINT=pause-before-read:1 ODBK_FAILPOINT_READY=$TRASH/ready \
		odbk-create --quiet "$1" >"$TRASH/create.out" 2>"$TRASH/create.err" &
	cpid=$!
	for i in $(seq 600); do [ -e "$TRASH/ready" ] && return 0; sleep 0.05; done
	echo "# $1: the create never paused" >&2
	return 1
}
# uploads PREFIX: the number of unfinished multipart uploads under PREFIX (of the storage), asked of RGW
# itself (curl's SigV4; "error" when it cannot be asked)
uploads() {
	local p
	p=$(printf '%s' "${TEST_DB_PREFIX%_}/s3/$1" | sed 's|/|%2F|g')
	curl -sf --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" \
		"$S3_ENDPOINT/$S3_BUCKET?prefix=$p&uploads=" >"$TRASH/uploads.xml" || { echo error; return 1; }
	grep -q "<ListMultipartUploadsResult" "$TRASH/uploads.xml" || { echo error; return 1; }
	grep -o "<UploadId>" "$TRASH/uploads.xml" | wc -l
}
# restores_as ID STATE: backup ID restores to a new database and folder; the filestore equals state STATE
# and the database the fixture's
restores_as() {
	local db dir
	db=$(test_db "r$RANDOM") && dir=$TRASH/restored-$1 &&
	rm -rf "$dir" &&
	odbk-restore "$1" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$dir" --confirm RESTORE >/dev/null &&
	diff -r "$TRASH/state-$2" "$dir" &&
	fingerprint "$db" >"$TRASH/fp-$1" && test_cmp "$TRASH/fp-src" "$TRASH/fp-$1"
}
of_id() { gc_store list prod/ | awk '{print $1}' | grep -c -- "$1" || true; }

test_expect_success 'setup: env prod on RGW through the proxy (5 MiB parts), a first incremental backup' '
	test -s "$TRASH/proxy.port" &&
	make_fixture src --db-mb 1 --fs-mb 1 --files 10 &&
	fingerprint "$FIXTURE_DB" >fp-src &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
	sed -i "s|^endpoint = $S3_ENDPOINT\$|endpoint = http://127.0.0.1:$(cat "$TRASH/proxy.port")\npart-size = 5MiB|" "$ODBK_CONF" &&
	gc_store rmprefix prod/ && gc_store rmprefix other/ &&
	snap 1 && r1=$(odbk-create --quiet prod) &&
	test "$(uploads prod/)" = 0
'

test_expect_success 'SIGKILL with a pack half uploaded: kept backup whole; the collection reaps it, uploads gone' '
	add_mb 40 &&
	start_create prod && in_pack_upload prod && kill -KILL $cpid; wait $cpid; test $? = 137 &&
	k=$(sqlite3 "$ODBK_CATALOG" "select id from backups where status = '\''in_progress'\''") && test -n "$k" &&
	test "$(uploads prod/packs/$k-)" -ge 1 &&
	restores_as $r1 1 &&
	odbk-prune --collect prod >out 2>err &&
	test "$(sqlite3 "$ODBK_CATALOG" "select status from backups where id = '\''$k'\''")" = failed &&
	test "$(of_id $k)" = 0 && test "$(uploads prod/)" = 0 &&
	gc_kept_backups_whole $r1
'

test_expect_success 'the next create succeeds; both backups restore to their states' '
	snap 2 && r2=$(odbk-create --quiet prod) &&
	test "$(gc_packs | grep -c "^$r2-")" -ge 3 &&
	restores_as $r2 2 && restores_as $r1 1
'

test_expect_success 'SIGTERM with a pack half uploaded: exit 143, nothing of it left, no unfinished upload' '
	add_mb 20 &&
	start_create prod && in_pack_upload prod && kill -TERM $cpid; wait $cpid; rc=$?
	test $rc = 143 &&
	k=$(sqlite3 "$ODBK_CATALOG" "select id from backups order by created_at desc, rowid desc limit 1") &&
	test "$(sqlite3 "$ODBK_CATALOG" "select status from backups where id = '\''$k'\''")" = failed &&
	test "$(of_id $k)" = 0 && test "$(uploads prod/)" = 0 &&
	gc_kept_backups_whole $r1 $r2
'

test_expect_success 'a killed run nothing reaped: the collection aborts its unfinished upload (a pack no backup needs)' '
	start_create prod && in_pack_upload prod && kill -KILL $cpid; wait $cpid; test $? = 137 &&
	k=$(sqlite3 "$ODBK_CATALOG" "select id from backups where status = '\''in_progress'\''") && test -n "$k" &&
	sqlite3 "$ODBK_CATALOG" "update backups set status = '\''failed'\'', pid = 0 where id = '\''$k'\''" &&
	test "$(uploads prod/packs/$k-)" = 1 &&
	odbk-prune --collect prod >out 2>err &&
	test_grep "1 unfinished upload of such packs aborted" err &&
	test "$(uploads prod/)" = 0 && test "$(gc_packs | grep -c "^$k-")" = 0 &&
	odbk-prune --collect --json prod >c.json && test "$(jq ".[0].packs[0].uploads_aborted" c.json)" = 0 &&
	gc_kept_backups_whole $r1 $r2
'

test_expect_success 'a create beside odbk-prune --backup of an older backup: both done, kept backups whole' '
	add_mb 20 && snap 3 &&
	held_create prod &&
	test_exit_code 75 odbk-prune --backup $r1 >out 2>err &&
	echo $r1 >expect && test_cmp expect out &&
	test_grep "packs of .prod. not collected: backup [0-9a-fTZ-]+ of it is running" err &&
	wait $cpid && r3=$(cat create.out) && test -n "$r3" &&
	restores_as $r3 3 && restores_as $r2 2 &&
	odbk-prune --force prod >out 2>err &&
	test_grep "prod: s3: [0-9]+ unreferenced packs? deleted" err &&
	gc_kept_backups_whole $r2 $r3 && restores_as $r2 2
'

test_expect_success 'a create beside odbk-prune --collect: the collection is refused, the backup made' '
	add_mb 20 && snap 4 &&
	held_create prod &&
	gc_packs >before &&
	test_exit_code 75 odbk-prune --collect prod >out 2>err &&
	test_grep "of it is running" err &&
	gc_packs >after && comm -23 before after >gone && test_must_be_empty gone &&
	wait $cpid && r4=$(cat create.out) && test -n "$r4" &&
	restores_as $r4 4 && gc_kept_backups_whole $r2 $r3 $r4
'

test_expect_success 'another env backing up into the same bucket during a collection: both whole' '
	odbk_conf_env other "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
	gc_put_pack "20200101T000000Z-abcdef-000001.tar.gz" &&
	held_create other &&
	odbk-prune --collect prod >out 2>err &&
	test_grep "prod: s3: 1 unreferenced pack deleted" err &&
	wait $cpid && o1=$(cat create.out) && test -n "$o1" &&
	restores_as $o1 4 && restores_as $r4 4 && restores_as $r2 2 &&
	gc_kept_backups_whole $r2 $r3 $r4
'

test_done
