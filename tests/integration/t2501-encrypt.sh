#!/usr/bin/env bash
# Client-side encryption (encryption = passphrase): through every storage type a backup round-trips,
# and nothing stored (database, filestore, zip, manifest) shows a known plaintext of the fixture, read
# raw through a twin section of the same place without encryption; the storage driver contract holds
# on an encrypted storage; every tampering is exit 65 naming the file before anything is restored; a key
# change keeps old backups restorable; a missing passphrase names the key id; the passphrase file must be
# private; rescan and --verify read encrypted backups; each storage has its own random master key in a
# plain key object (odbk-keys/KEYID.json, random salt), never listed, and a tampered one is refused (65).
. "$(dirname "$0")/test-lib.sh"
. "$ODBK_SRC/tests/integration/lib-storage.sh"
test_description 'encrypted storage: round trips, nothing in plain, tampering refused, key change'
require_service pg
require_program odbk-create odbk-restore odbk-list odbk-download odbk-policy odbk-test-storage

CANARY=odbk-canary-7f3e9a1c-plaintext
SECRETS=$TRASH/secrets

# encrypt NAME PASSFILE: the last section of the config (storage NAME) gets encryption with PASSFILE;
# raw-NAME, its twin without encryption, reads the same place as it is
encrypt() {
    sed "/^\[storage $1\]$/,/^$/!d; s/^\[storage $1\]$/[storage raw-$1]/" "$ODBK_CONF" >"$TRASH/raw.section" &&
    printf 'encryption = passphrase\npassphrase-file = %s\n' "$2" >>"$ODBK_CONF" &&
    printf '\n' >>"$ODBK_CONF" && cat "$TRASH/raw.section" >>"$ODBK_CONF"
}

# no_plaintext STORAGE: every object under the raw twin holds neither the canary (raw or gunzipped) nor a
# plaintext of the manifest or the zip; each starts with the ODBKENC1 header
no_plaintext() {
    odbk-test-storage "$ODBK_CONF" "raw-$1" list "" >objs.$1 &&
    test -s objs.$1 &&
    while read -r key size; do
        case $key in .odbk-storage) continue ;; esac
        odbk-test-storage "$ODBK_CONF" "raw-$1" get "$key" >obj || return 1
        test "$(head -c 8 obj)" = ODBKENC1 || { echo "# $key: no header"; return 1; }
        for s in "$CANARY" odbk_version dump.sql ir_attachment "CREATE TABLE"; do
            ! grep -aq "$s" obj || { echo "# $key holds '$s'"; return 1; }
        done
        ! { zcat obj 2>/dev/null | grep -aq "$CANARY"; } || { echo "# $key gunzips to the canary"; return 1; }
    done <objs.$1
}

test_expect_success 'a fixture holding a known plaintext; passphrase files' '
    make_fixture src --db-mb 1 --fs-mb 1 --files 12 &&
    sql "$FIXTURE_DB" "update res_partner set name = '\''$CANARY'\'' where id = (select min(id) from res_partner)" &&
    sha=$(printf "%s\n" "$CANARY" | sha1sum | cut -c1-40) && mkdir -p "$FIXTURE_FS/${sha%${sha#??}}" &&
    printf "%s\n" "$CANARY" >"$FIXTURE_FS/${sha%${sha#??}}/$sha" &&
    fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >fp.src &&
    mkdir -p "$SECRETS" && chmod 700 "$SECRETS" &&
    (umask 077 && printf "first passphrase, long and random enough\n" >"$SECRETS/pass1" &&
        printf "second passphrase after the key change\n" >"$SECRETS/pass2" &&
        printf "a passphrase nobody configured\n" >"$SECRETS/pass3") &&
    odbk_conf plain "$FIXTURE_DB" "$FIXTURE_FS" &&
    odbk_conf_storage disk sec && encrypt sec "$SECRETS/pass1" &&
    odbk_conf_env prod "$FIXTURE_DB" "$FIXTURE_FS" sec
'
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS

test_expect_success 'control: a plain storage shows the known plaintext (the check below can see it)' '
    id=$(odbk-create plain --quiet) &&
    zcat "$TRASH/storage/disk/plain/$id/backup-$id-database.sql.gz" | grep -q "$CANARY"
'

test_expect_success 'local: create, list, --verify; nothing stored shows a plaintext' '
    odbk-create prod --quiet >id.sec && ID=$(cat id.sec) &&
    odbk-create prod --format zip --quiet >id.zip &&
    odbk-list prod --json | jq -e "length == 2 and all(.[]; .status == \"completed\" and .verified)" &&
    odbk-list plain --json | jq -e "all(.[]; has(\"key_id\") | not)" &&
    odbk-list --verify prod >/dev/null &&
    no_plaintext sec
'
ID=$(cat id.sec 2>/dev/null)

# key_object STORAGE KEYID: the key object of KEYID, read raw through the twin, into ko.KEYID
key_object() {
    odbk-test-storage "$ODBK_CONF" "raw-$1" get "odbk-keys/$2.json" >"ko.$2" &&
    jq -e --arg id "$2" '.version == 1 and .kdf == "argon2id13" and .id == $id and (.salt | test("^[0-9a-f]{32}$"))
        and (.sealed | test("^[0-9a-f]{96}$")) and .opslimit >= 1 and .memlimit >= 8192' "ko.$2" >/dev/null
}

test_expect_success 'local: a key object of a random salt holds the master key; files name its key id' '
    kid=$(odbk-list prod --json | jq -r ".[0].key_id") && test ${#kid} = 16 &&
    key_object sec "$kid" &&
    test -f "$TRASH/storage/sec/odbk-keys/$kid.json" &&
    ! grep -q "$(printf odbk-kdf-salt-v1 | od -An -tx1 | tr -d " \n")" "ko.$kid" &&
    ! grep -q "passphrase" "ko.$kid" &&
    test "$(od -An -tu1 -j9 -N1 "$TRASH/storage/sec/prod/$ID/backup-$ID-database.sql.gz" | tr -d " ")" = 2 &&
    ! odbk-test-storage "$ODBK_CONF" raw-sec list "" | grep -q odbk-keys &&
    ! odbk-test-storage "$ODBK_CONF" sec list "" | grep -q odbk-keys &&
    echo "$kid" >kid.sec
'

test_expect_success 'a tampered key object is refused (65) naming it, before anything is restored' '
    kid=$(cat kid.sec) && ko=$TRASH/storage/sec/odbk-keys/$kid.json &&
    cp "$ko" ko.saved && jq --arg id 0000000000000000 ".id = \$id" ko.saved >"$ko" &&
    db=$(test_db ko) &&
    test_exit_code 65 odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-ko" --confirm RESTORE 2>err;
    rc=$?; cp ko.saved "$ko"; test $rc = 0 &&
    test_grep "odbk-keys/$kid.json" err && test ! -e "$TRASH/fs-ko" &&
    odbk-restore "$ID" --test >/dev/null
'

test_expect_success 'local: restore (odbk and zip formats) gives the same data and files' '
    db=$(test_db r_local) &&
    odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-local" --confirm RESTORE >/dev/null &&
    fingerprint "$db" "$TRASH/fs-local" >fp.local && test_cmp fp.src fp.local &&
    db=$(test_db r_zip) &&
    odbk-restore "$(cat id.zip)" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-zip" --confirm RESTORE >/dev/null &&
    fingerprint "$db" "$TRASH/fs-zip" >fp.zip && test_cmp fp.src fp.zip
'

test_expect_success 'local: odbk-restore --test reads it' '
    odbk-restore "$ID" --test >/dev/null
'

test_expect_success 'odbk-download --output writes the plain files; --decrypt turns a stored file back' '
    odbk-download "$ID" --output dl >/dev/null &&
    zcat "dl/backup-$ID-database.sql.gz" | grep -q "$CANARY" &&
    stored=$TRASH/storage/sec/prod/$ID/backup-$ID-database.sql.gz &&
    odbk-download --decrypt "$stored" >plain.sql.gz &&
    cmp plain.sql.gz "dl/backup-$ID-database.sql.gz" &&
    odbk-download --decrypt "$TRASH/storage/sec/prod/$ID/backup-$ID-manifest.json" >m.json &&
    test "$(jq -r .id m.json)" = "$ID"
'

# a copy of the backup folder with one file damaged, put back in place for one restore, then undone
tamper_case() {
    local what=$1 file=$2 dir=$TRASH/storage/sec/prod/$ID
    rm -rf saved && cp -a "$dir" saved &&
    case $what in
        flip) printf "\\x01" | dd of="$dir/$file" bs=1 seek=70000 conv=notrunc status=none ;;
        cut) truncate -s -100 "$dir/$file" ;;
        cutchunk) truncate -s $((65536 + 17 + 68 + ${#ID} * 2 + 30)) "$dir/$file" ;;
        swap) cp "$TRASH/storage/sec/prod/$OTHER/backup-$OTHER-${file#backup-$ID-}" "$dir/$file" ;;
        plain) cp "$TRASH/storage/disk/plain/$PLAIN/backup-$PLAIN-${file#backup-$ID-}" "$dir/$file" ;;
    esac
    db=$(test_db tamper) &&
    test_exit_code 65 odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-t" --confirm RESTORE 2>err
    rc=$?
    rm -rf "$dir" && mv saved "$dir"
    test $rc = 0 && test_grep "$file" err && test ! -e "$TRASH/fs-t" &&
        test -z "$(sql postgres "select 1 from pg_database where datname = '\''$db'\''")"
}

test_expect_success 'a second backup and a plain one, for swapping' '
    odbk-create prod --quiet >id.other && odbk-create plain --quiet >id.plain
'
OTHER=$(cat id.other 2>/dev/null) PLAIN=$(cat id.plain 2>/dev/null)

for c in "flip database.sql.gz" "flip filestore.tar.gz" "cut database.sql.gz" "cut filestore.tar.gz" \
         "cutchunk filestore.tar.gz" "swap database.sql.gz" "swap filestore.tar.gz" "plain database.sql.gz"; do
    set -- $c
    test_expect_success "tampering refused with 65 naming the file: $1 $2" '
        tamper_case '"$1"' "backup-$ID-'"$2"'"
    '
done

test_expect_success 'a tampered manifest is skipped by rescan, the good ones imported' '
    dir=$TRASH/storage/sec/prod/$OTHER &&
    printf "\\x01" | dd of="$dir/backup-$OTHER-manifest.json" bs=1 seek=200 conv=notrunc status=none &&
    mv "$ODBK_CATALOG" cat.saved &&
    test_exit_code 65 odbk-list --rescan --storage sec --json >rescan.json 2>err &&
    test_grep "backup-$OTHER-manifest.json" err &&
    odbk-list prod --json | jq -e "length == 2 and all(.[]; .key_id | test(\"^[0-9a-f]{16}$\"))" &&
    odbk-list prod --json | jq -e "map(.id) | index(\"$ID\") != null"
'

test_expect_success 'rescan imported backups restore' '
    db=$(test_db r_rescan) &&
    odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-rescan" --confirm RESTORE >/dev/null &&
    fingerprint "$db" "$TRASH/fs-rescan" >fp.rescan && test_cmp fp.src fp.rescan
'

test_expect_success 'key change: the old passphrase for reading, a new one for writing' '
    sed -i "s|^passphrase-file = $SECRETS/pass1$|passphrase-file = $SECRETS/pass2\nold-passphrase-files = $SECRETS/pass1|" "$ODBK_CONF" &&
    test_grep "^old-passphrase-files" "$ODBK_CONF" &&
    odbk-create prod --quiet >id.new &&
    old_kid=$(odbk-list prod --json | jq -r ".[] | select(.id == \"$ID\") | .key_id") &&
    new_kid=$(odbk-list prod --json | jq -r ".[] | select(.id == \"$(cat id.new)\") | .key_id") &&
    echo "$old_kid $new_kid" >kids &&
    test ${#old_kid} = 16 && test ${#new_kid} = 16 && test "$old_kid" != "$new_kid" &&
    db=$(test_db r_old) &&
    odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-old" --confirm RESTORE >/dev/null &&
    fingerprint "$db" "$TRASH/fs-old" >fp.old && test_cmp fp.src fp.old
'

test_expect_success 'without the old passphrase the old backup says which key id it needs (78)' '
    sed -i "/^old-passphrase-files/d" "$ODBK_CONF" &&
    db=$(test_db r_nokey) &&
    test_exit_code 78 odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-nokey" --confirm RESTORE 2>err &&
    read -r old_kid new_kid <kids &&
    test_grep "key id $old_kid; the configured passphrases open key id $new_kid" err && test ! -e "$TRASH/fs-nokey" &&
    odbk-restore "$(cat id.new)" --test >/dev/null
'

test_expect_success 'a passphrase file others can read is refused (77), and named' '
    test_when_finished "chmod 600 \"$SECRETS/pass2\"" &&
    chmod 644 "$SECRETS/pass2" &&
    test_exit_code 77 odbk-list --verify prod 2>err &&
    test_grep "pass2" err && test_grep "chmod 600" err
'

test_expect_success 'odbk-policy check refuses an unknown encryption, a passphrase without it, or none (78)' '
    for body in "encryption = yes" "passphrase-file = $SECRETS/pass1" "encryption = passphrase"; do
        (umask 077 && printf "[storage x]\ntype = local\npath = %s\n%s\n" "$TRASH/x" "$body" >bad.conf) &&
        test_exit_code 78 odbk-policy check --config bad.conf >err 2>&1 &&
        test_grep "\[storage x\]" err || return 1
    done
'

test_expect_success 'the passphrase shows in no output, catalog or storage' '
    ! grep -rq "second passphrase" "$TRASH/storage" err &&
    ! sqlite3 "$ODBK_CATALOG" .dump | grep -q "passphrase after"
'

storage_contract "$ODBK_CONF" sec 3

for kind in s3 sftp ftp; do
    case $kind in s3) PREREQ=S3 ;; sftp) PREREQ=SFTP ;; ftp) PREREQ=FTP ;; esac
    test_expect_success $PREREQ "$kind: an encrypted storage and an env on it" '
        odbk_conf_storage '$kind' e'$kind' && encrypt e'$kind' "$SECRETS/pass2" &&
        odbk_conf_env via'$kind' "$SRC_DB" "$SRC_FS" e'$kind'
    '
    test_expect_success $PREREQ "$kind: create, verify; nothing stored shows a plaintext" '
        odbk-create via'$kind' --quiet >id.'$kind' &&
        odbk-list --verify via'$kind' >/dev/null &&
        no_plaintext e'$kind'
    '
    test_expect_success $PREREQ "$kind: restore gives the same data and files" '
        db=$(test_db r_'$kind') &&
        odbk-restore "$(cat id.'$kind')" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-'$kind'" --confirm RESTORE >/dev/null &&
        fingerprint "$db" "$TRASH/fs-'$kind'" >fp.'$kind' && test_cmp fp.src fp.'$kind'
    '
    test_expect_success $PREREQ "$kind: its own key object: a salt and key id no other storage of the passphrase has" '
        kid=$(odbk-list via'$kind' --json | jq -r ".[0].key_id") &&
        key_object e'$kind' "$kid" &&
        read -r old_kid new_kid <kids &&
        test "$kid" != "$new_kid" && key_object sec "$new_kid" &&
        test "$(jq -r .salt "ko.$kid")" != "$(jq -r .salt "ko.$new_kid")"
    '
done

test_expect_success S3 's3: expiring links say the files are encrypted and how to decrypt them' '
    odbk-download "$(cat id.s3)" >links 2>err &&
    test_grep "encrypted" err && test_grep "decrypt" err &&
    url=$(grep database links) && curl -sf "$url" -o got &&
    test "$(head -c 8 got)" = ODBKENC1 &&
    odbk-download --decrypt got | zcat | grep -q "$CANARY"
'

PFX=${TEST_DB_PREFIX%_}
[ -n "${SFTP_DATA_DIR:-}" ] && rm -rf "$SFTP_DATA_DIR/$PFX"
[ -n "${FTP_DATA_DIR:-}" ] && rm -rf "$FTP_DATA_DIR/$PFX"
test_done
