#!/usr/bin/env bash
# t4102 - restore's and download's sources read through storages (lib/backup/source.c on
# odbk_storage_open_path/_url): a backup folder and a single file on disk say what they said when they
# were read by hand, the path named as given, no storage name, the same exit codes; and they stay
# read-only.
. "$(dirname "$0")/test-lib.sh"
test_description 'restore sources as read-only storages: folder and file messages'
require_service pg
require_program odbk-create odbk-restore odbk-download jq

make_fixture src --db-mb 1 --fs-mb 1 --files 6
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
restore() { odbk-restore "$@" --db-owner "$TEST_OWNER" --new-db "$(test_db r)" --confirm RESTORE; }

test_expect_success 'setup: a backup, copied out as a folder' '
	odbk-create prod >id && id=$(cat id) &&
	cp -r "$TRASH/storage/disk/prod/$id" folder &&
	db=$(jq -r ".files[] | select(.role == \"database\") | .name" folder/backup-$id-manifest.json) &&
	test -n "$db" && echo "$db" >dbname
'

test_expect_success 'a folder whose database file is gone: exit 66, the file named by its path' '
	cp -r folder gone && rm "gone/$(cat dbname)" &&
	test_exit_code 66 restore --from-file gone 2>err &&
	test_grep "cannot open '\''gone/$(cat dbname)'\'': No such file or directory" err &&
	! grep -q "storage '\''" err
'

test_expect_success 'a folder whose database file is damaged: exit 65, the checksum names the path' '
	cp -r folder bad && printf X | dd of="bad/$(cat dbname)" bs=1 seek=100 conv=notrunc 2>/dev/null &&
	test_exit_code 65 restore --from-file bad 2>err &&
	test_grep "bad/$(cat dbname)" err
'

test_expect_success 'a folder downloads whole (odbk-download --output reads the same storage)' '
	odbk-download "$(cat id)" --output dl >/dev/null &&
	for f in folder/*; do cmp "$f" "dl/$(basename "$f")" || return 1; done
'

test_expect_success 'a single file that cannot be read: exit 66 naming it, nothing written next to it' '
	b=$(ls | grep -vx err) &&
	test_exit_code 66 restore --from-file missing.zip 2>err &&
	test_grep "cannot open '\''missing.zip'\''" err &&
	test "$(ls | grep -vx err)" = "$b"
'

test_expect_success 'the folder source is left as it was (read-only)' '
	(cd folder && find . -type f | sort | xargs sha256sum) >sums.now &&
	(cd "$TRASH/storage/disk/prod/$(cat id)" && find . -type f | sort | xargs sha256sum) >sums.orig &&
	test_cmp sums.orig sums.now && ! find folder -name "*odbk-tmp*" | grep .
'

test_done
