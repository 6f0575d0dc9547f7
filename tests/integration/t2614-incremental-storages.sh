#!/usr/bin/env bash
# Real incremental backups (odbk-create, filestore-mode = incremental) restored from every kind of storage:
# local disk, S3, SFTP and FTP.  Three backups of a filestore that changes between them (files added, one
# removed); each restores to exactly the filestore it was made of, from its own list over packs of three
# backups, after a rescan that rebuilt the catalog from storage alone (sizes: the later backups added less
# than they hold); odbk-download --output assembles the same tree.
. "$(dirname "$0")/test-lib.sh"
test_description 'incremental backups restored from local, S3, SFTP and FTP storage'
require_service pg
require_program odbk-create odbk-restore odbk-download odbk-list

export TEST_FILESTORE_MODE=incremental
make_fixture src --db-mb 1 --fs-mb 2 --files 30
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
odbk_conf viadisk "$SRC_DB" "$SRC_FS" disk
for kind in s3 sftp ftp; do
	odbk_conf_storage $kind >/dev/null 2>&1 && odbk_conf_env via$kind "$SRC_DB" "$SRC_FS" $kind
done

# change_fs N: add N attachment-shaped files and remove one, then keep a copy of the tree as it is
change_fs() {
	python3 - "$SRC_FS" "$1" <<-'PY'
	import hashlib, os, sys
	fs, n = sys.argv[1], int(sys.argv[2])
	names = sorted(os.path.join(r, f) for r, _, fl in os.walk(fs) for f in fl)
	os.unlink(names[0])
	for i in range(n):
	    data = os.urandom(1000 + 37 * i)
	    h = hashlib.sha1(data).hexdigest()
	    os.makedirs(os.path.join(fs, h[:2]), exist_ok=True)
	    open(os.path.join(fs, h[:2], h), "wb").write(data)
	PY
}

# a list holds files, not folders: the folders a removal left empty are not restored (odbk-restore(1))
test_expect_success 'three states of the filestore: 30 files, then 4 new and 1 gone, then 7 new and 1 gone' '
	cp -a "$SRC_FS" state1 &&
	change_fs 4 && cp -a "$SRC_FS" state2 &&
	change_fs 7 && cp -a "$SRC_FS" state3 &&
	rm -rf "$SRC_FS" && cp -a state1 "$SRC_FS" &&
	find state3 -type d -empty | grep -q . &&
	find state1 state2 state3 -type d -empty -delete
'

for kind in disk s3 sftp ftp; do
	case $kind in disk) PREREQ= ;; *) PREREQ=$(echo $kind | tr a-z A-Z) ;; esac
	test_expect_success $PREREQ "$kind: three incremental backups, each restores to its own state" '
		rm -rf "$SRC_FS" && cp -a state1 "$SRC_FS" && b1=$(odbk-create via'$kind' --quiet) &&
		rm -rf "$SRC_FS" && cp -a state2 "$SRC_FS" && b2=$(odbk-create via'$kind' --quiet) &&
		rm -rf "$SRC_FS" && cp -a state3 "$SRC_FS" && b3=$(odbk-create via'$kind' --quiet) &&
		if [ '$kind' = disk ]; then test $(ls "$TRASH/storage/disk/viadisk/packs" | wc -l) = 3 || return 1; fi &&
		rm -f "$ODBK_CATALOG" && odbk-list --rescan --storage '$kind' >/dev/null &&
		odbk-list via'$kind' --json >l.json &&
		jq -e --arg b1 $b1 --arg b2 $b2 --arg b3 $b3 "map({(.id): .}) | add |
			(.[\$b2].added_bytes < .[\$b2].size_bytes) and (.[\$b3].added_bytes < .[\$b3].size_bytes) and
			(.[\$b1].size_bytes < .[\$b3].size_bytes)" l.json >/dev/null &&
		for n in 3 2 1; do
			eval id=\$b$n &&
			db=$(test_db r'$kind'$n) &&
			odbk-restore "$id" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-'$kind'$n" --confirm RESTORE >/dev/null &&
			diff -r state$n "$TRASH/fs-'$kind'$n" || return 1
		done &&
		odbk-restore --test "$b2" >test.out &&
		grep -E "^\(filestore files\) +([0-9]+) +\1  ok$" test.out && ! grep MISMATCH test.out &&
		odbk-download "$b3" --output dl-'$kind' >/dev/null &&
		mkdir x-'$kind' && tar xzf dl-'$kind'/backup-$b3-filestore.tar.gz -C x-'$kind' && diff -r state3 x-'$kind'
	'
done

test_done
