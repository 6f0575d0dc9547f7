#!/usr/bin/env bash
# The incremental filestore, create side (issue 14), on S3, SFTP and FTP: the first backup stores packs and a
# list; a second one of an unchanged filestore stores no pack; a new attachment is the only member of the
# third one's pack; --verify read reads the packs back; a run killed once a pack is stored leaves nothing of
# its id after the next run.
. "$(dirname "$0")/test-lib.sh"
test_description 'incremental filestore on s3, sftp and ftp'
require_service pg
require_program odbk-create odbk-list odbk-test-storage

TEST_FILESTORE_MODE=incremental

test_expect_success 'a sample Odoo database and filestore; envs on s3, sftp and ftp' '
	make_fixture src --db-mb 1 --fs-mb 2 --files 60 &&
	odbk_conf vias3 "$FIXTURE_DB" "$FIXTURE_FS" s3 &&
	odbk_conf_storage sftp >/dev/null && odbk_conf_env viasftp "$FIXTURE_DB" "$FIXTURE_FS" sftp &&
	odbk_conf_storage ftp >/dev/null && odbk_conf_env viaftp "$FIXTURE_DB" "$FIXTURE_FS" ftp
'
FS=$FIXTURE_FS

# objects of storage $1 under prefix $2: "key size" lines
objects() { odbk-test-storage "$ODBK_CONF" "$1" list "$2"; }

for kind in s3 sftp ftp; do
	case $kind in
		s3) PREREQ=S3 ;;
		sftp) PREREQ=SFTP ;;
		ftp) PREREQ=FTP ;;
	esac
	env=via$kind

	test_expect_success $PREREQ "$kind: the first backup stores packs, a list and a version 2 manifest" '
		odbk-create '$env' >id1.'$kind' && id=$(cat id1.'$kind') &&
		objects '$kind' '$env'/$id/ | cut -d" " -f1 | sed "s|.*/||" | sort >files &&
		printf "%s\n" backup-$id-database.sql.gz backup-$id-filestore.list.gz backup-$id-manifest.json >want &&
		test_cmp want files &&
		objects '$kind' '$env'/packs/ >packs && test -n "$(grep "/$id-000001.tar.gz " packs)" &&
		odbk-test-storage "$ODBK_CONF" '$kind' get '$env'/$id/backup-$id-manifest.json >m.json &&
		jq -e ".odbk_manifest == 2 and .filestore_files == 60" m.json &&
		odbk-test-storage "$ODBK_CONF" '$kind' get '$env'/$id/backup-$id-filestore.list.gz | gzip -dc >list &&
		tail -1 list | grep -q "^end 60 " &&
		for p in $(jq -r ".packs[].name" m.json); do
			odbk-test-storage "$ODBK_CONF" '$kind' get '$env'/packs/$p | tar tz || return 1
		done | sort >members &&
		(cd "$FS" && find . -type f | sed "s|^\./||" | sort) >all && test_cmp all members &&
		! grep odbk-tmp packs
	'

	test_expect_success $PREREQ "$kind: a second backup of the unchanged filestore stores no pack" '
		objects '$kind' '$env'/packs/ >before &&
		odbk-create '$env' >id2.'$kind' && id=$(cat id2.'$kind') &&
		objects '$kind' '$env'/packs/ >after && test_cmp before after &&
		odbk-test-storage "$ODBK_CONF" '$kind' get '$env'/$id/backup-$id-manifest.json >m2.json &&
		jq -e ".parent == \"$(cat id1.'$kind')\" and ([.files[].size] | add) == .added_bytes" m2.json
	'

	test_expect_success $PREREQ "$kind: one new attachment is the one member of the next pack, read back by --verify read" '
		head -c 40000 /dev/urandom >new.bin && sha=$(sha1sum <new.bin | cut -c1-40) &&
		mkdir -p "$FS/${sha:0:2}" && cp new.bin "$FS/${sha:0:2}/$sha" &&
		odbk-create '$env' --verify read >id3.'$kind' && id=$(cat id3.'$kind') &&
		objects '$kind' '$env'/packs/ | grep "/$id-" >mine && test_line_count = 1 mine &&
		odbk-test-storage "$ODBK_CONF" '$kind' get "$(cut -d" " -f1 mine)" | tar tz >members3 &&
		echo "${sha:0:2}/$sha" >want3 && test_cmp want3 members3 &&
		odbk-list '$env' --json | jq -e ".[0].verified_by == \"read\"" &&
		rm "$FS/${sha:0:2}/$sha"
	'
done

test_expect_success S3 's3: killed once a pack is stored, the next run removes its folder and packs' '
	head -c 30000 /dev/urandom >"$FS/extra.bin" &&
	test_exit_code 137 env ODBK_FAILPOINT=create-after-pack odbk-create vias3 2>/dev/null &&
	dead=$(odbk-list --status in_progress --json | jq -r ".[0].id") &&
	test -n "$(objects s3 vias3/packs/ | grep "/$dead-")" &&
	odbk-create vias3 >/dev/null &&
	test -z "$(objects s3 vias3/packs/ | grep "/$dead-")" &&
	test -z "$(objects s3 vias3/$dead/)" &&
	rm "$FS/extra.bin"
'

PFX=${TEST_DB_PREFIX%_}
[ -n "${SFTP_DATA_DIR:-}" ] && rm -rf "$SFTP_DATA_DIR/$PFX"
[ -n "${FTP_DATA_DIR:-}" ] && rm -rf "$FTP_DATA_DIR/$PFX"
odbk-test-storage "$ODBK_CONF" s3 rmprefix "" >/dev/null 2>&1 || true
test_done
