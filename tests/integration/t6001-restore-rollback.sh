#!/usr/bin/env bash
# odbk-restore rolls an environment back: the data equal the backup's source, and the pre-restore
# safety backup holds what was replaced; the same from S3, SFTP and FTP storage.
. "$(dirname "$0")/test-lib.sh"
test_description 'rollback of an environment with its safety backup, from every storage'
require_service pg
require_program odbk-create odbk-restore odbk-list

make_fixture src --db-mb 1 --fs-mb 1 --files 12
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS

# rollback STORAGE: backup, change, restore, compare; the safety backup restores the changed state
rollback() {
	odbk_conf prod "$SRC_DB" "$SRC_FS" "$1" &&
	id=$(odbk-create prod --quiet) &&
	fingerprint "$SRC_DB" "$SRC_FS" >expect &&
	sql "$SRC_DB" "update res_partner set name = 'changed by $1' where id in (3, 4)" &&
	sql "$SRC_DB" "delete from account_move_line where id < 20" &&
	f=$(sql "$SRC_DB" "select store_fname from ir_attachment where store_fname is not null order by id limit 1") &&
	echo extra >"$SRC_FS/extra-file" &&
	fingerprint "$SRC_DB" "$SRC_FS" >changed &&
	test_must_fail test_cmp expect changed >/dev/null &&
	odbk-restore "$id" --confirm RESTORE 2>err &&
	fingerprint "$SRC_DB" "$SRC_FS" >actual &&
	test_cmp expect actual &&
	test_grep "safety backup of the previous state" err &&
	safety=$(sed -n "s/.*safety backup of the previous state: //p" err) &&
	odbk-list prod --type pre-restore --json >list.json &&
	grep -q "\"id\":[[:space:]]*\"$safety\"" list.json &&
	copy=$(test_db "pre_$1") &&
	odbk-restore "$safety" --db-owner "$TEST_OWNER" --new-db "$copy" --filestore "$TRASH/fs-pre-$1" --confirm RESTORE >block &&
	fingerprint "$copy" "$TRASH/fs-pre-$1" >pre &&
	test_cmp changed pre &&
	test_grep "^\[env $copy\]" block
}

test_expect_success 'rollback from local storage' 'rollback disk'

test_expect_success 'the audit log has the restore: who, source, target, options, result' '
	odbk-list --audit --json >audit.json &&
	python3 - "$id" "$SRC_DB" <<-PY
	import json, sys
	a = [e for e in json.load(open("audit.json")) if e["action"] == "restore" and e["backup_id"] == sys.argv[1]]
	assert a, "no restore entry"
	e = a[0]
	assert e["result"] == "ok" and e["user"] and e["host"] and e["at"], e
	assert e["source"] == sys.argv[1] and e["target"].startswith(sys.argv[2]), e
	assert "rollback" in e["options"] and "format=odbk" in e["options"], e
	assert "safety backup" in e["detail"], e
	PY
	odbk-list --audit >audit.txt &&
	test_grep "restore +$id" audit.txt
'

test_expect_success 'no temporary database or directory is left' '
	sql postgres "select datname from pg_database where datname like '\''${TEST_DB_PREFIX}%_odbk_%'\''" >dbs &&
	test_must_fail test -s dbs &&
	test -z "$(ls -d "$SRC_FS".odbk-* 2>/dev/null)"
'

test_expect_success S3 'rollback from S3' 'rollback s3'
test_expect_success SFTP 'rollback from SFTP' 'rollback sftp'
test_expect_success FTP 'rollback from FTP' 'rollback ftp'

test_expect_success 'a refused restore is audited too' '
	odbk_conf prod "$SRC_DB" "$SRC_FS" &&
	test_must_fail odbk-restore no-such-backup --confirm RESTORE &&
	odbk-list --audit --json >audit.json &&
	python3 -c "import json; a=json.load(open(\"audit.json\")); assert any(e[\"action\"]==\"restore\" and e[\"result\"]==\"refused\" and \"no-such-backup\" in e[\"source\"] for e in a)"
'

test_done
