#!/usr/bin/env bash
# t4101 - the directory semantics the storage core (lib/storage/storage.c) gives every store with
# directories, checked on the bytes each server keeps: local, SFTP and FTP alike create a missing root
# and the folders of a key, prune the folders a removal or an aborted write leaves empty (not the root,
# not a folder still holding something), list recursively under any prefix (a partial name too), and
# leave no temporary name.  Also the storage contract on local storage (t3001/t4001/t4002 run it on the
# remote ones).
. "$(dirname "$0")/test-lib.sh"
. "$ODBK_SRC/tests/integration/lib-storage.sh"
test_description 'storage core: directories of local, sftp and ftp'
require_service sftp ftp
require_program odbk-test-storage

(umask 077 && : >"$ODBK_CONF")
odbk_conf_storage disk
odbk_conf_storage sftp
odbk_conf_storage ftp
T=odbk-test-storage
PFX=${TEST_DB_PREFIX%_}
rm -rf "$TRASH/storage/disk"   # a root that does not exist yet: the first write makes it

storage_contract "$ODBK_CONF" disk 4

# root NAME: where the server keeps storage NAME's root
root() {
    case $1 in
        disk) echo "$TRASH/storage/disk" ;;
        sftp) echo "$SFTP_DATA_DIR/$PFX/sftp" ;;
        ftp) echo "$FTP_DATA_DIR/$PFX/ftp" ;;
    esac
}

for st in disk sftp ftp; do
    R=$(root "$st")
    test_expect_success "$st: a write makes the missing root and every folder of its key" "
        rm -rf '$R' &&
        echo deep | $T '$ODBK_CONF' $st put dirs/a/b/c/deep.txt &&
        echo keep | $T '$ODBK_CONF' $st put dirs/a/keep &&
        test \"\$(cat '$R/dirs/a/b/c/deep.txt')\" = deep &&
        test \"\$(cat '$R/dirs/a/keep')\" = keep &&
        ! find '$R' -name '*odbk-tmp*' | grep .
    "
    test_expect_success "$st: listing is recursive, under a folder or a partial name" "
        $T '$ODBK_CONF' $st list dirs/ >list &&
        printf '%s\n' 'dirs/a/b/c/deep.txt 5' 'dirs/a/keep 5' >want && test_cmp want list &&
        $T '$ODBK_CONF' $st list dirs/a/ke >list && echo 'dirs/a/keep 5' >want && test_cmp want list &&
        $T '$ODBK_CONF' $st list dirs/a/b/c/deep.txt >list && echo 'dirs/a/b/c/deep.txt 5' >want &&
        test_cmp want list &&
        test -z \"\$($T '$ODBK_CONF' $st list dirs/nope/)\"
    "
    test_expect_success "$st: a removal prunes the folders it empties, up to one that holds something" "
        $T '$ODBK_CONF' $st rm dirs/a/b/c/deep.txt &&
        ! test -e '$R/dirs/a/b' &&
        test \"\$(cat '$R/dirs/a/keep')\" = keep &&
        $T '$ODBK_CONF' $st rm dirs/a/keep &&
        ! test -e '$R/dirs' && test -d '$R'
    "
    test_expect_success "$st: an aborted write in new folders leaves neither a file nor a folder" "
        head -c 3000000 /dev/urandom >big &&
        test_expect_code_run 3 $T '$ODBK_CONF' $st put new/x/y/partial.bin --abort-after 1 <big &&
        ! test -e '$R/new' && test -d '$R'
    "
    test_expect_success "$st: removing a prefix leaves the root and nothing under it" "
        echo 1 | $T '$ODBK_CONF' $st put p/one/1 && echo 2 | $T '$ODBK_CONF' $st put p/two/deep/2 &&
        echo 3 | $T '$ODBK_CONF' $st put top &&
        $T '$ODBK_CONF' $st rmprefix p/ &&
        ! test -e '$R/p' && test \"\$(cat '$R/top')\" = 3 &&
        $T '$ODBK_CONF' $st rm top && test -d '$R' && test -z \"\$(ls -A '$R')\"
    "
done

test_expect_success 'disk: a link in the storage is not listed, nor followed out of it' '
    R=$(root disk) && mkdir -p "$TRASH/outside/sub" && echo secret >"$TRASH/outside/sub/s" &&
    echo in | $T "$ODBK_CONF" disk put l/in &&
    ln -s "$TRASH/outside" "$R/l/out" && ln -s "$TRASH/outside/sub/s" "$R/l/file" &&
    $T "$ODBK_CONF" disk list l/ >list && echo "l/in 3" >want && test_cmp want list
'

test_done
