#!/usr/bin/env bash
# The foundation's round trip through remote storage: odbk-create to SFTP and to FTP, then odbk-restore from
# each into a new database; the restored database and filestore equal the source.
. "$(dirname "$0")/test-lib.sh"
test_description 'create and restore through sftp and ftp storage'
require_service pg
require_program odbk-create odbk-restore odbk-list

test_expect_success 'a sample Odoo database and filestore; envs on sftp and on ftp' '
    make_fixture src --db-mb 2 --fs-mb 2 --files 40 &&
    odbk_conf viasftp "$FIXTURE_DB" "$FIXTURE_FS" sftp &&
    odbk_conf_storage ftp >/dev/null &&
    odbk_conf_env viaftp "$FIXTURE_DB" "$FIXTURE_FS" ftp &&
    fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src
'
SRC_FS=$FIXTURE_FS
PFX=${TEST_DB_PREFIX%_}

for kind in sftp ftp; do
    case $kind in
        sftp) PREREQ=SFTP; DATA=${SFTP_DATA_DIR:-/nonexistent} ;;
        ftp) PREREQ=FTP; DATA=${FTP_DATA_DIR:-/nonexistent} ;;
    esac

    test_expect_success $PREREQ "odbk-create to $kind stores the three files and no temporary" '
        odbk-create via'$kind' >id.'$kind' &&
        id=$(cat id.'$kind') &&
        dir=$DATA/$PFX/'$kind'/via'$kind'/$id &&
        test -f "$dir/backup-$id-database.sql.gz" &&
        test -f "$dir/backup-$id-filestore.tar.gz" &&
        test -f "$dir/backup-$id-manifest.json" &&
        ! find "$DATA/$PFX/'$kind'" -name "*odbk-tmp*" | grep . &&
        odbk-list via'$kind' >list && grep "^$id " list | grep -q " completed "
    '

    test_expect_success $PREREQ "restore from $kind into a new database gives the same data and files" '
        id=$(cat id.'$kind') &&
        db=$(test_db restored_'$kind') &&
        odbk-restore "$id" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-'$kind'" --confirm RESTORE >/dev/null &&
        fingerprint "$db" "$TRASH/fs-'$kind'" >fp.'$kind' &&
        test_cmp fp.src fp.'$kind' &&
        diff -r "$SRC_FS" "$TRASH/fs-'$kind'"
    '
done

[ -n "${SFTP_DATA_DIR:-}" ] && rm -rf "$SFTP_DATA_DIR/$PFX"
[ -n "${FTP_DATA_DIR:-}" ] && rm -rf "$FTP_DATA_DIR/$PFX"
test_done
