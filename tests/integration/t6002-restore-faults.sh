#!/usr/bin/env bash
# Whatever goes wrong before the swap, the target is exactly as it was (same fingerprint: row counts,
# checksums, filestore hashes) and no temporary database or directory is left once the next run cleaned up.
. "$(dirname "$0")/test-lib.sh"
test_description 'restore faults leave the target untouched'
require_service pg
require_program odbk-create odbk-restore odbk-list

make_fixture src --db-mb 1 --fs-mb 2 --files 12
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
odbk_conf prod "$SRC_DB" "$SRC_FS"
ID=$(odbk-create prod --quiet)
DIR=$TRASH/storage/disk/prod/$ID
# the target differs from the backup, so that a restore that went through would show
sql "$SRC_DB" "update res_partner set name = 'current' where id = 5"
fingerprint "$SRC_DB" "$SRC_FS" >"$TRASH/target.fp"

target_unchanged() {
	fingerprint "$SRC_DB" "$SRC_FS" >now.fp &&
	test_cmp "$TRASH/target.fp" now.fp
}
no_leftovers() {
	sql postgres "select datname from pg_database where datname ~ '^${TEST_DB_PREFIX}.*_odbk_(tmp|old)_[0-9]+$'" >dbs &&
	{ test ! -s dbs || { cat dbs; false; }; } &&
	test -z "$(ls -d "$SRC_FS".odbk-* 2>/dev/null)"
}
restore() { odbk-restore "$@" --no-safety-backup --confirm RESTORE; }
# rescan never rewrites a known backup: a test that edits one in storage rebuilds the catalog from scratch
forget_catalog() { rm -f "$ODBK_CATALOG" "$ODBK_CATALOG-wal" "$ODBK_CATALOG-shm"; }
# expect_rc 'CODE...' CMD...: CMD exits with one of the CODEs (its stderr in err, shown when it does not)
expect_rc() {
	local want=$1 rc; shift
	"$@" 2>err; rc=$?
	case " $want " in *" $rc "*) return 0 ;; esac
	{ echo "exit $rc, wanted $want:"; cat err; return 1; }
}

# a psql that loads the first 200 kB, then stalls: the restore is caught in the middle of its load
mkdir -p "$TRASH/slow-bin"
cat >"$TRASH/slow-bin/psql" <<SH
#!/bin/bash
echo \$\$ >"$TRASH/slow-psql.pid"
{ head -c 200000; sleep 15; cat; } | "${PG_BINDIR:-/usr/bin}/psql" "\$@"
SH
chmod +x "$TRASH/slow-bin/psql"

test_expect_success 'a byte changed in a stored file: checksum refused, target unchanged' '
	cp -a "$DIR" "$TRASH/orig" &&
	test_when_finished "rm -rf \"$DIR\" && cp -a \"$TRASH/orig\" \"$DIR\"" &&
	f=$(ls "$DIR"/*-filestore.tar.gz) &&
	printf "\\377" | dd of="$f" bs=1 seek=5000 conv=notrunc 2>/dev/null &&
	test_expect_code_rc=0 &&
	expect_rc 65 restore "$ID" &&
	test_grep "SHA-256|sha256|checksum|corrupt|damaged" err &&
	target_unchanged && no_leftovers
'

test_expect_success 'an SQL error in the middle of the dump: psql stops, target unchanged' '
	cp -a "$DIR" "$TRASH/orig2" &&
	test_when_finished "rm -rf \"$DIR\" && cp -a \"$TRASH/orig2\" \"$DIR\" && forget_catalog && odbk-list --rescan >/dev/null" &&
	db=$(ls "$DIR"/*-database.sql.gz) &&
	gunzip -c "$db" >dump.sql &&
	n=$(wc -l <dump.sql) &&
	{ head -n $((n / 2)) dump.sql; echo "SELECT * FROM odbk_no_such_table;"; tail -n +$((n / 2 + 1)) dump.sql; } | gzip >"$db" &&
	python3 - "$DIR" "$db" <<-PY &&
	import hashlib, json, os, sys, glob
	m = glob.glob(os.path.join(sys.argv[1], "*-manifest.json"))[0]
	j = json.load(open(m))
	data = open(sys.argv[2], "rb").read()
	for f in j["files"]:
	    if f["role"] == "database":
	        f["size"] = len(data); f["sha256"] = hashlib.sha256(data).hexdigest()
	json.dump(j, open(m, "w"), indent=2)
	PY
	forget_catalog && odbk-list --rescan >/dev/null &&
	expect_rc 1 restore "$ID" &&
	test_grep "odbk_no_such_table" err &&
	target_unchanged && no_leftovers
'

test_expect_success 'kill -9 during the load: target unchanged, the next run cleans up' '
	{ ODBK_PG_BINDIR=$TRASH/slow-bin odbk-restore "$ID" --no-safety-backup --confirm RESTORE >/dev/null 2>&1 &
	  pid=$!; } &&
	test_when_finished "kill -9 $pid 2>/dev/null; true" &&
	for i in $(seq 1 100); do
		test -s "$TRASH/slow-psql.pid" && break
		sleep 0.1
	done &&
	sleep 1 &&
	sql postgres "select count(*) from pg_database where datname ~ '\''_odbk_tmp_$pid\$'\''" >left &&
	echo 1 >one && test_cmp one left &&
	test -d "$SRC_FS.odbk-tmp-$pid" &&
	kill -9 $pid && { wait $pid 2>/dev/null; true; } &&
	target_unchanged &&
	test -d "$SRC_FS.odbk-tmp-$pid" &&
	restore "$ID" >/dev/null &&
	no_leftovers &&
	sql "$SRC_DB" "update res_partner set name = '\''current'\'' where id = 5" &&
	target_unchanged
'

test_expect_success 'a filestore directory that cannot be written: target unchanged' '
	mnt=$TRASH/ro && mkdir -p "$mnt" &&
	mount -t tmpfs -o size=8m tmpfs "$mnt" &&
	test_when_finished "umount \"$mnt\"" &&
	cp -a "$SRC_FS" "$mnt/fs" &&
	mount -o remount,ro "$mnt" &&
	odbk_conf_env rotarget "$SRC_DB" "$mnt/fs" disk &&
	expect_rc "74 77" restore "$ID" --to rotarget &&
	test_grep "Read-only|cannot create" err &&
	fingerprint "$SRC_DB" "$mnt/fs" >now.fp && test_cmp "$TRASH/target.fp" now.fp &&
	no_leftovers
'

test_expect_success 'a full disk while the filestore loads: target unchanged' '
	mnt=$TRASH/small && mkdir -p "$mnt" &&
	size=$(du -sk "$SRC_FS" | cut -f1) &&
	mount -t tmpfs -o size=$((size + size / 2))k tmpfs "$mnt" &&
	test_when_finished "umount \"$mnt\"" &&
	cp -a "$SRC_FS" "$mnt/fs" &&
	odbk_conf_env fulltarget "$SRC_DB" "$mnt/fs" disk &&
	{ restore "$ID" --to fulltarget 2>err; test $? -ne 0; } &&
	test_grep "No space left|cannot write|cannot extract" err &&
	fingerprint "$SRC_DB" "$mnt/fs" >now.fp && test_cmp "$TRASH/target.fp" now.fp &&
	test -z "$(ls -d "$mnt"/fs.odbk-* 2>/dev/null)" &&
	no_leftovers
'

test_expect_success 'after all that, the backup still restores' '
	restore "$ID" &&
	sql "$SRC_DB" "select name from res_partner where id = 5" >name &&
	test_must_fail grep -q "^current$" name
'

test_done
