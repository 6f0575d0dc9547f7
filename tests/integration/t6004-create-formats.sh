#!/usr/bin/env bash
# odbk-create --format zip writes Odoo's own zip (Odoo's restore procedure gives the same data);
# --format dump writes pg_dump's custom format (pg_restore gives the same data); odbk restores both.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-create --format zip and --format dump'
require_service pg
require_program odbk-create odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 15
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
odbk_conf prod "$SRC_DB" "$SRC_FS"
fingerprint "$SRC_DB" "$SRC_FS" >"$TRASH/src.fp"
fingerprint "$SRC_DB" >"$TRASH/src-db.fp"

test_expect_success 'a zip backup has Odoo layout: dump.sql, manifest.json (Odoo'"'"'s keys), filestore/xx/sha1' '
	id=$(odbk-create prod --format zip --quiet) &&
	zip=$TRASH/storage/disk/prod/$id/backup-$id.zip &&
	test -f "$zip" && test -f "$TRASH/storage/disk/prod/$id/backup-$id-manifest.json" &&
	python3 - "$zip" "$SRC_DB" <<-PY
	import json, sys, zipfile
	z = zipfile.ZipFile(sys.argv[1])
	assert z.testzip() is None
	names = z.namelist()
	assert names[0] == "dump.sql" and names[1] == "manifest.json", names[:3]
	assert all(n.startswith("filestore/") and n.count("/") == 2 for n in names[2:]), names
	assert len(names) == 2 + 15, len(names)
	m = json.loads(z.read("manifest.json"))
	for k in ("odoo_dump", "db_name", "version", "version_info", "major_version", "pg_version", "modules"):
	    assert k in m, k
	assert m["odoo_dump"] == "1" and m["db_name"] == sys.argv[2] and m["modules"]["base"].startswith("17.0")
	assert m["version_info"] == [17, 0, 0, "final", 0, ""], m["version_info"]
	PY
'

test_expect_success 'Odoo restores it its own way: unzip, psql -f dump.sql, move the filestore' '
	mkdir odoo && (cd odoo && python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall()" "$zip") &&
	db=$(test_db odoo_way) &&
	sql postgres "create database $db encoding '\''unicode'\'' template template0" &&
	psql -X -q -d "$db" -f odoo/dump.sql >/dev/null 2>psql.err &&
	mv odoo/filestore "$TRASH/fs-odoo" &&
	fingerprint "$db" "$TRASH/fs-odoo" >actual &&
	test_cmp "$TRASH/src.fp" actual
'

test_expect_success 'odbk restores a zip backup' '
	db=$(test_db zip_odbk) &&
	odbk-restore "$id" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-zip" --confirm RESTORE >/dev/null &&
	fingerprint "$db" "$TRASH/fs-zip" >actual &&
	test_cmp "$TRASH/src.fp" actual
'

test_expect_success 'a dump backup restores with pg_restore' '
	did=$(odbk-create prod --format dump --quiet) &&
	dump=$TRASH/storage/disk/prod/$did/backup-$did.dump &&
	test "$(head -c 5 "$dump")" = PGDMP &&
	db=$(test_db pgrestore) &&
	sql postgres "create database $db template template0" &&
	pg_restore --no-owner --exit-on-error -d "$db" "$dump" &&
	fingerprint "$db" >actual && test_cmp "$TRASH/src-db.fp" actual &&
	db=$(test_db dump_odbk) &&
	odbk-restore "$did" --db-owner "$TEST_OWNER" --new-db "$db" --confirm RESTORE >/dev/null &&
	fingerprint "$db" >actual && test_cmp "$TRASH/src-db.fp" actual
'

test_expect_success 'a zip backup rolls its environment back' '
	sql "$SRC_DB" "update res_partner set name = '\''changed'\'' where id = 2" &&
	odbk-restore "$id" --confirm RESTORE 2>/dev/null &&
	fingerprint "$SRC_DB" "$SRC_FS" >actual &&
	test_cmp "$TRASH/src.fp" actual
'

test_expect_success 'a zip of an env without filestore folder holds the database only, with a warning (as Odoo); odbk format still refuses' '
	odbk_conf_env nofs "$SRC_DB" "$TRASH/no-such-filestore" disk &&
	id=$(odbk-create nofs --format zip --quiet 2>err) &&
	test_grep "warning: nofs: filestore directory .*no-such-filestore. does not exist: the zip holds the database only" err &&
	python3 -c "import sys, zipfile; n = zipfile.ZipFile(sys.argv[1]).namelist(); assert n == [\"dump.sql\", \"manifest.json\"], n" \
		"$TRASH/storage/disk/nofs/$id/backup-$id.zip" &&
	odbk-list --backup "$id" --json >b.json &&
	jq -e ".status == \"completed\" and .verified == true and .has_filestore == false" b.json >/dev/null &&
	test ! -e "$TRASH/no-such-filestore" &&
	db=$(test_db nofs_back) &&
	odbk-restore "$id" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --confirm RESTORE 2>/dev/null &&
	fingerprint "$db" >actual && test_cmp "$TRASH/src-db.fp" actual &&
	test_exit_code 66 odbk-create nofs 2>err2 && test_grep "pass --no-filestore" err2
'

test_done
