#!/usr/bin/env bash
# The incremental filestore, create side (issue 14), on local storage: the first backup stores every file in
# packs and a list; a second one of an unchanged filestore adds only its database, list and manifest, and
# reads no file whose name is its checksum; a changed checklist/ file of the same size is stored again; 1%
# new files store only those; links and unusual names behave as in the tar; --full-filestore and
# filestore-mode = full make the tar of before.
. "$(dirname "$0")/test-lib.sh"
test_description 'incremental filestore: what a backup stores'
require_service pg
require_program odbk-create odbk-list

TEST_FILESTORE_MODE=incremental
ST=$TRASH/storage/disk/prod

# bytes of every file under the storage's env folder
stored_bytes() { find "$ST" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
manifest() { echo "$ST/$1/backup-$1-manifest.json"; }
list_of() { gzip -dc "$ST/$1/backup-$1-filestore.list.gz"; }
packs_of() { ls "$ST/packs" | grep "^$1-" || true; }

test_expect_success 'a sample Odoo database and filestore of 100 attachments, with a checklist/ file' '
	make_fixture src --db-mb 1 --fs-mb 4 --files 100 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	mkdir -p "$FIXTURE_FS/checklist" &&
	printf "aaaaaaaa\n" >"$FIXTURE_FS/checklist/state" &&
	find "$FIXTURE_FS" -type f | wc -l >nfiles && test "$(cat nfiles)" = 101
'
FS=$FIXTURE_FS

test_expect_success 'the first backup: packs, a list of every file, a version 2 manifest' '
	odbk-create prod >id1 && ID1=$(cat id1) &&
	test -f "$ST/$ID1/backup-$ID1-filestore.list.gz" &&
	test ! -e "$ST/$ID1/backup-$ID1-filestore.tar.gz" &&
	jq -e ".odbk_manifest == 2 and .filestore_mode == \"incremental\" and .parent == \"\"" "$(manifest $ID1)" &&
	jq -e "[.files[].role] | sort == [\"database\", \"filelist\"]" "$(manifest $ID1)" &&
	jq -e ".filestore_files == 101" "$(manifest $ID1)" &&
	test -n "$(packs_of $ID1)" &&
	jq -r ".packs[].name" "$(manifest $ID1)" >packs.m && packs_of $ID1 >packs.s && test_cmp packs.m packs.s &&
	list_of $ID1 >list1 &&
	head -1 list1 | grep -qx "odbk-filelist 1" &&
	tail -1 list1 | grep -q "^end 101 " &&
	test "$(grep -c "^f " list1)" = 101 &&
	for p in $(cat packs.s); do tar tzf "$ST/packs/$p"; done | sort >members &&
	(cd "$FS" && find . -type f | sed "s|^\./||" | sort) >files &&
	test_cmp files members
'

test_expect_success 'each pack: its size and sha256 as the manifest says, a standard tar' '
	for p in $(cat packs.s); do
		test "$(stat -c %s "$ST/packs/$p")" = "$(jq -r ".packs[] | select(.name == \"$p\") | .size" "$(manifest $ID1)")" &&
		test "$(sha256sum <"$ST/packs/$p" | cut -d" " -f1)" = \
			"$(jq -r ".packs[] | select(.name == \"$p\") | .sha256" "$(manifest $ID1)")" || return 1
	done &&
	mkdir x && tar xzf "$ST/packs/$(head -1 packs.s)" -C x &&
	first=$(cd x && find . -type f | head -1) && cmp "x/$first" "$FS/$first"
'

test_expect_success 'the list gives each file its size and sha256' '
	f=$(cd "$FS" && find . -type f -path "./[0-9a-f][0-9a-f]/*" | sed "s|^\./||" | head -1) &&
	grep " $f\$" list1 >line &&
	test "$(cut -d" " -f2 line)" = "$(sha256sum <"$FS/$f" | cut -d" " -f1)" &&
	test "$(cut -d" " -f3 line)" = "$(stat -c %s "$FS/$f")"
'

test_expect_success 'a second backup of the unchanged filestore adds only its database, list and manifest' '
	before=$(stored_bytes) &&
	odbk-create prod >id2 && ID2=$(cat id2) &&
	after=$(stored_bytes) &&
	own=$(find "$ST/$ID2" -type f -printf "%s\n" | awk "{s += \$1} END {print s}") &&
	test $((after - before)) = "$own" &&
	test -z "$(packs_of $ID2)" &&
	jq -e ".parent == \"$ID1\"" "$(manifest $ID2)" &&
	jq -e "([.files[].size] | add) == .added_bytes" "$(manifest $ID2)" &&
	jq -S .packs "$(manifest $ID1)" >p1 && jq -S .packs "$(manifest $ID2)" >p2 && test_cmp p1 p2 &&
	list_of $ID2 | cut -d" " -f1-3,6- >l2 && cut -d" " -f1-3,6- list1 >l1 && test_cmp l1 l2
'

test_expect_success 'odbk-list: SIZE_MB what a restore reads, ADDED_MB what it added; --json size_bytes, added_bytes' '
	odbk-list prod --json >l.json &&
	own1=$(find "$ST/$ID1" -type f -printf "%s\n" | awk "{s += \$1} END {print s}") &&
	own2=$(find "$ST/$ID2" -type f -printf "%s\n" | awk "{s += \$1} END {print s}") &&
	packs=$(find "$ST/packs" -type f -printf "%s\n" | awk "{s += \$1} END {print s}") &&
	jq -e ".[] | select(.id == \"$ID2\") | .added_bytes == $own2 and .size_bytes == $own2 + $packs and .size == .size_bytes" l.json &&
	jq -e ".[] | select(.id == \"$ID1\") | .added_bytes == $own1 + $packs and .size_bytes == $own1 + $packs" l.json &&
	odbk-list prod >table && head -1 table | grep -q " SIZE_MB  ADDED_MB " &&
	grep "^$ID2 " table | awk "{print \$9}" >added2 && test "$(cat added2)" = "$(awk "BEGIN {printf \"%.1f\", $own2 / 1e6}")" &&
	odbk-list --backup $ID1 >show && grep -q "^added " show && grep -q "^  pack .* packs/$ID1-000001.tar.gz\$" show
'

test_expect_success 'it reads no attachment, only the checklist/ file (the grow-while-read failpoint appends to what is read)' '
	ODBK_FAILPOINT=grow-while-read:1 odbk-create prod >id3 && ID3=$(cat id3) &&
	(cd "$FS" && find . -type f -printf "%P %s\n" | sort) >sizes.now &&
	awk "\$1 == \"f\" {print \$7, \$3}" list1 | sort >sizes.listed &&
	diff sizes.listed sizes.now >sizes.diff;
	grep "^[<>]" sizes.diff >changed &&
	printf "< checklist/state 9\n> checklist/state 10\n" >want.changed && test_cmp want.changed changed &&
	tar tzf "$ST/packs/$(packs_of $ID3)" >members3 && echo checklist/state >want3 && test_cmp want3 members3
'

test_expect_success 'a checklist/ file changed to other bytes of the same size is stored again' '
	printf "aaaaaaaa\n" >"$FS/checklist/state" &&
	odbk-create prod >/dev/null &&
	printf "bbbbbbbb\n" >"$FS/checklist/state" &&
	touch -r "$TRASH/nfiles" "$FS/checklist/state" &&
	odbk-create prod >id3b && ID3=$(cat id3b) &&
	packs_of $ID3 >packs3 && test_line_count = 1 packs3 &&
	tar tzf "$ST/packs/$(cat packs3)" >members3 &&
	echo checklist/state >want3 && test_cmp want3 members3 &&
	list_of $ID3 | grep " checklist/state\$" | grep -q " $(cat packs3) " &&
	test "$(list_of $ID3 | grep " checklist/state\$" | cut -d" " -f2)" = "$(sha256sum <"$FS/checklist/state" | cut -d" " -f1)"
'

test_expect_success 'one new attachment in 101 files: only it is stored' '
	head -c 50000 /dev/urandom >new.bin &&
	sha=$(sha1sum <new.bin | cut -c1-40) &&
	mkdir -p "$FS/${sha:0:2}" && cp new.bin "$FS/${sha:0:2}/$sha" &&
	before=$(stored_bytes) &&
	odbk-create prod >id4 && ID4=$(cat id4) &&
	packs_of $ID4 >packs4 && test_line_count = 1 packs4 &&
	tar tzf "$ST/packs/$(cat packs4)" >members4 &&
	echo "${sha:0:2}/$sha" >want4 && test_cmp want4 members4 &&
	added=$(jq .added_bytes "$(manifest $ID4)") &&
	test $(( $(stored_bytes) - before )) -lt $((added + 10000)) &&
	test "$(list_of $ID4 | grep -c "^f ")" = 102 &&
	jq -e ".parent == \"$ID3\"" "$(manifest $ID4)"
'

test_expect_success 'an attachment deleted from the filestore leaves the list, and its pack the packs of the manifest' '
	rm "$FS/${sha:0:2}/$sha" &&
	odbk-create prod >id5 && ID5=$(cat id5) &&
	test "$(list_of $ID5 | grep -c "^f ")" = 101 &&
	! jq -e ".packs[] | select(.name == \"$(cat packs4)\")" "$(manifest $ID5)" >/dev/null
'

test_expect_success 'an attachment whose size changed under the same name is read and stored again' '
	f=$(cd "$FS" && find . -type f -path "./[0-9a-f][0-9a-f]/*" | sed "s|^\./||" | head -1) &&
	printf "x" >>"$FS/$f" &&
	odbk-create prod >id6 && ID6=$(cat id6) &&
	tar tzf "$ST/packs/$(packs_of $ID6)" >members6 &&
	echo "$f" >want6 && test_cmp want6 members6
'

test_expect_success 'links are followed and names kept byte for byte, as in the tar' '
	printf "linked\n" >outside.txt &&
	ln -s "$TRASH/outside.txt" "$FS/checklist/link" &&
	printf "odd\n" >"$FS/checklist/a b%c$(printf "\\303\\251")" &&
	odbk-create prod >id7 && ID7=$(cat id7) &&
	list_of $ID7 | grep -q " checklist/a%20b%25c%C3%A9\$" &&
	tar tzf "$ST/packs/$(packs_of $ID7)" | sort >members7 &&
	printf "checklist/a b%%c\\303\\251\nchecklist/link\n" | sort >want7 && test_cmp want7 members7 &&
	mkdir y && tar xzf "$ST/packs/$(packs_of $ID7)" -C y && test ! -L y/checklist/link &&
	cmp y/checklist/link outside.txt
'

test_expect_success 'a link to nothing fails the backup with 66, as in the tar, and leaves nothing of its id' '
	ln -s "$TRASH/nothing" "$FS/checklist/dangling" &&
	test_exit_code 66 odbk-create prod 2>err &&
	grep -q "dangling" err &&
	bad=$(odbk-list --status failed --json | jq -r ".[0].id") &&
	test ! -e "$ST/$bad" && test -z "$(packs_of $bad)" &&
	rm "$FS/checklist/dangling"
'

test_expect_success 'a path over 4096 bytes fails the backup with 65, naming it, nothing of its id left' '
	long=$(printf "d%.0s" $(seq 200)) &&
	(cd "$FS/checklist" && for i in $(seq 21); do mkdir $long && cd $long || exit 1; done && echo deep >f) &&
	test_when_finished "rm -rf \"$FS/checklist/$long\"" &&
	test_exit_code 65 odbk-create prod 2>err &&
	grep -q "longer than 4096 bytes cannot be backed up: .checklist/ddd" err &&
	bad=$(odbk-list --status failed --json | jq -r ".[0].id") &&
	test ! -e "$ST/$bad" && test -z "$(packs_of $bad)"
'

test_expect_success 'a failed database dump removes the packs the run had stored' '
	fake_pg_dump_dying "$TRASH/dyingbin" &&
	touch "$FS/checklist/new-one" &&
	head -c 3000000 /dev/urandom >"$FS/checklist/big-new" &&
	test_must_fail env ODBK_PG_BINDIR=$TRASH/dyingbin odbk-create prod 2>err &&
	bad=$(odbk-list --status failed --json | jq -r ".[0].id") &&
	test ! -e "$ST/$bad" && test -z "$(packs_of $bad)" &&
	! find "$ST" -name "*odbk-tmp*" | grep .
'

test_expect_success 'packs close at 16 MiB of files: 40 MiB of new files make three' '
	mkdir -p "$FS/checklist/bulk" &&
	for i in 1 2 3 4 5; do head -c 8388608 /dev/urandom >"$FS/checklist/bulk/f$i"; done &&
	odbk-create prod >id8 && ID8=$(cat id8) &&
	packs_of $ID8 >packs8 && test_line_count = 3 packs8 &&
	tar tzf "$ST/packs/$(head -1 packs8)" | grep -c bulk/ >n1 && test "$(cat n1)" = 2 &&
	for p in $(cat packs8); do tar tzf "$ST/packs/$p"; done | sort >members8 &&
	test "$(grep -c "^checklist/bulk/" members8)" = 5 &&
	rm -rf "$FS/checklist/bulk" "$FS/checklist/big-new"
'

test_expect_success 'killed (kill -9) once a pack is stored: the next run removes its folder and packs' '
	head -c 100000 /dev/urandom >"$FS/checklist/more" &&
	test_exit_code 137 env ODBK_FAILPOINT=create-after-pack odbk-create prod 2>/dev/null &&
	dead=$(odbk-list --status in_progress --json | jq -r ".[0].id") &&
	test -n "$(packs_of $dead)" &&
	odbk-create prod >id9 &&
	test "$(odbk-list --status failed --json | jq -r "[.[] | select(.id == \"$dead\")] | length")" = 1 &&
	test ! -e "$ST/$dead" && test -z "$(packs_of $dead)" &&
	test -n "$(packs_of $(cat id9))"
'

test_expect_success '--full-filestore makes one tar file, a version 1 manifest, no pack' '
	odbk-create prod --full-filestore >idf && IDF=$(cat idf) &&
	test -f "$ST/$IDF/backup-$IDF-filestore.tar.gz" &&
	test ! -e "$ST/$IDF/backup-$IDF-filestore.list.gz" &&
	jq -e ".odbk_manifest == 1 and (has(\"packs\") | not)" "$(manifest $IDF)" &&
	test -z "$(packs_of $IDF)"
'

test_expect_success 'the next incremental backup still starts from the last incremental one' '
	odbk-create prod >id10 && ID10=$(cat id10) &&
	jq -e ".parent == \"$(cat id9)\"" "$(manifest $ID10)" &&
	test -z "$(packs_of $ID10)"
'

test_expect_success 'filestore-mode = full in the env: the tar of before' '
	sed -i "s/^filestore-mode = incremental/filestore-mode = full/" "$ODBK_CONF" &&
	odbk-create prod >idc && IDC=$(cat idc) &&
	test -f "$ST/$IDC/backup-$IDC-filestore.tar.gz" &&
	sed -i "s/^filestore-mode = full/filestore-mode = incremental/" "$ODBK_CONF"
'

test_expect_success 'filestore-mode of another value: exit 78 naming the file, line and the values' '
	sed -i "s/^filestore-mode = incremental/filestore-mode = diff/" "$ODBK_CONF" &&
	test_exit_code 78 odbk-create prod 2>err &&
	grep -q "odbk.conf:[0-9]*: .*filestore-mode .diff. is not .incremental. or .full." err &&
	sed -i "s/^filestore-mode = diff/filestore-mode = incremental/" "$ODBK_CONF"
'

test_expect_success 'a damaged parent list: every file is stored again, with a warning' '
	last=$(odbk-list prod --json | jq -r "[.[] | select(.status == \"completed\")] | .[0].id") &&
	ID=$(cat id10) &&
	printf "garbage" >>"$ST/$ID/backup-$ID-filestore.list.gz" &&
	odbk-create prod >id11 2>err && ID11=$(cat id11) &&
	grep -q "warning: .*file list of backup $ID.*cannot be read" err &&
	jq -e ".parent == \"\"" "$(manifest $ID11)" &&
	test "$(for p in $(packs_of $ID11); do tar tzf "$ST/packs/$p"; done | wc -l)" = "$(list_of $ID11 | grep -c "^f ")"
'

test_done
