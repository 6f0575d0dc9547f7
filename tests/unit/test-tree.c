/* test-tree.c - the trees root works on while a hostile user may change them (lib/common/util.c,
 * lib/backup/owners.c): rm -rf and the hand-over of owners never follow a link, the top must be the
 * directory odbk made, and the filestore walk refuses a link through which root would read what the
 * filestore's owner cannot.  Run as root for the owner cases (others are skipped). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/owners.h"
#include "common/util.h"
#include "tap.h"

#define NOBODY 65534

static char base[256];

static char *at(const char *rel)
{
    static char buf[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", base, rel);
    return buf[i];
}

static void put(const char *rel, const char *text, mode_t mode)
{
    FILE *f = fopen(at(rel), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(at(rel), mode);
}

static int exists(const char *rel)
{
    struct stat sb;
    return lstat(at(rel), &sb) == 0;
}

static struct stat st(const char *rel)
{
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    lstat(at(rel), &sb);
    return sb;
}

struct count {
    int files;
};

static int count_entry(void *ctx, const char *rel, const char *full, const struct stat *sb, struct odbk_err *err)
{
    (void)rel;
    (void)full;
    (void)err;
    if (sb && S_ISREG(sb->st_mode))
        ((struct count *)ctx)->files++;
    return 0;
}

static void test_rmtree(void)
{
    struct odbk_err err = {0};
    struct stat other;
    mkdir(at("keep"), 0700);
    put("keep/precious", "x", 0600);
    mkdir(at("t"), 0755);
    mkdir(at("t/sub"), 0755);
    put("t/sub/f", "y", 0644);
    symlink(at("keep"), at("t/sub/dirlink"));
    symlink(at("keep/precious"), at("t/filelink"));
    is_int(odbk_rmtree(at("t"), &err), 0, "rmtree: a tree with links to outside");
    ok(!exists("t"), "rmtree: the tree is gone");
    ok(exists("keep/precious"), "rmtree: what its links pointed to is kept");

    symlink(at("keep"), at("link-top"));
    is_int(odbk_rmtree(at("link-top"), &err), 0, "rmtree: a link as the top");
    ok(!exists("link-top") && exists("keep/precious"), "rmtree: the link goes, not what it points to");
    is_int(odbk_rmtree(at("missing"), &err), 0, "rmtree: a missing path is not an error");

    /* expect: only the directory recorded is removed */
    mkdir(at("made"), 0700);
    other = st("keep");
    is_int(odbk_rmtree_expect(at("made"), &other, &err), 1, "rmtree_expect: another folder there is left (1)");
    ok(exists("made"), "rmtree_expect: ... and kept");
    other = st("made");
    is_int(odbk_rmtree_expect(at("made"), &other, &err), 0, "rmtree_expect: the recorded folder goes");
    ok(!exists("made"), "rmtree_expect: ... gone");
    mkdir(at("made2"), 0700);
    other = st("made2");
    rename(at("made2"), at("made2.moved"));
    symlink(at("keep"), at("made2"));
    is_int(odbk_rmtree_expect(at("made2"), &other, &err), 0, "rmtree_expect: a link put in its place...");
    ok(!exists("made2") && exists("keep/precious") && exists("made2.moved"), "... only the link is removed");
    rmdir(at("made2.moved"));
}

static void test_take_owner(void)
{
    struct odbk_err err = {0};
    struct stat sb, id;
    if (geteuid() != 0) {
        ok(1, "# SKIP take_owner needs root");
        return;
    }
    mkdir(at("decoy"), 0700);
    put("decoy/shadow", "s", 0600);
    mkdir(at("stage"), 0700);
    mkdir(at("stage/ab"), 0755);
    put("stage/ab/f", "data", 0644);
    symlink(at("decoy/shadow"), at("stage/ab/l"));
    id = st("stage");
    is_int(odbk_tree_take_owner_expect(at("stage"), NOBODY, NOBODY, 040710, &id, &err), 0, "take_owner: a staged tree");
    sb = st("stage/ab/f");
    ok(sb.st_uid == NOBODY && sb.st_gid == NOBODY, "take_owner: a file gets the owner");
    sb = st("stage/ab/l");
    ok(sb.st_uid == NOBODY && S_ISLNK(sb.st_mode), "take_owner: a link itself gets it");
    sb = st("decoy/shadow");
    ok(sb.st_uid == 0 && (sb.st_mode & 07777) == 0600, "take_owner: what a link points to is untouched");
    sb = st("stage");
    ok(sb.st_uid == NOBODY && (sb.st_mode & 07777) == 0710, "take_owner: the top gets owner and mode");

    /* the top swapped for a link, or for another folder */
    mkdir(at("stage2"), 0700);
    id = st("stage2");
    rename(at("stage2"), at("stage2.moved"));
    symlink(at("decoy"), at("stage2"));
    ok(odbk_tree_take_owner_expect(at("stage2"), NOBODY, NOBODY, 040710, &id, &err) < 0 && err.code == ODBK_E_PERM,
       "take_owner: a link as the top is refused (77)");
    ok(odbk_tree_take_owner(at("stage2"), NOBODY, NOBODY, 040710, &err) < 0, "take_owner: also without expect");
    sb = st("decoy");
    ok(sb.st_uid == 0 && (sb.st_mode & 07777) == 0700, "take_owner: the decoy keeps owner and mode");
    unlink(at("stage2"));
    mkdir(at("stage2"), 0700);
    ok(odbk_tree_take_owner_expect(at("stage2"), NOBODY, NOBODY, 040710, &id, &err) < 0 && err.code == ODBK_E_PERM,
       "take_owner: another folder put in its place is refused");
    chown(at("stage2"), NOBODY, NOBODY);
    ok(odbk_tree_take_owner(at("stage2"), NOBODY, NOBODY, 040710, &err) < 0 && err.code == ODBK_E_PERM,
       "take_owner: without expect, a top root does not own is refused");

    /* a file with another hard link (linked in from elsewhere) */
    mkdir(at("stage3"), 0700);
    link(at("decoy/shadow"), at("stage3/hard"));
    id = st("stage3");
    ok(odbk_tree_take_owner_expect(at("stage3"), NOBODY, NOBODY, 040710, &id, &err) < 0 && err.code == ODBK_E_PERM &&
           strstr(err.msg, "hard links"), "take_owner: a file with another hard link is refused");
    sb = st("decoy/shadow");
    ok(sb.st_uid == 0, "take_owner: ... and keeps its owner");
    unlink(at("stage3/hard"));
    rmdir(at("stage3"));
    rmdir(at("stage2"));
    rmdir(at("stage2.moved"));
}

static void test_walk_links(void)
{
    struct odbk_err err = {0};
    struct count c = {0};
    if (geteuid() != 0) {
        ok(1, "# SKIP link owners need root");
        return;
    }
    mkdir(at("fs"), 0755);
    mkdir(at("fs/ab"), 0755);
    put("fs/ab/f", "a", 0644);
    put("secret", "s", 0600);
    put("owned", "o", 0644);
    chown(at("owned"), NOBODY, NOBODY);
    chown(at("fs"), NOBODY, NOBODY);
    chown(at("fs/ab"), NOBODY, NOBODY);
    chown(at("fs/ab/f"), NOBODY, NOBODY);

    symlink(at("secret"), at("fs/ab/planted"));
    lchown(at("fs/ab/planted"), NOBODY, NOBODY);
    ok(odbk_walk(at("fs"), count_entry, &c, &err) < 0 && err.code == ODBK_E_PERM && strstr(err.msg, "planted") &&
           strstr(err.msg, "secret"), "walk: the owner's link to a root file is refused (77), both named");
    lchown(at("fs/ab/planted"), 0, 0);
    c.files = 0;
    is_int(odbk_walk(at("fs"), count_entry, &c, &err), 0, "walk: the same link made by root is followed");
    is_int(c.files, 2, "walk: ... and its file counted");
    unlink(at("fs/ab/planted"));

    symlink(at("owned"), at("fs/ab/own"));
    lchown(at("fs/ab/own"), NOBODY, NOBODY);
    c.files = 0;
    is_int(odbk_walk(at("fs"), count_entry, &c, &err), 0, "walk: the owner's link to its own file is followed");
    is_int(c.files, 2, "walk: ... counted");
    unlink(at("fs/ab/own"));

    mkdir(at("rootdir"), 0700);
    put("rootdir/key", "k", 0600);
    symlink(at("rootdir"), at("fs/zz"));
    lchown(at("fs/zz"), NOBODY, NOBODY);
    ok(odbk_walk(at("fs"), count_entry, &c, &err) < 0 && err.code == ODBK_E_PERM && strstr(err.msg, "zz"),
       "walk: the owner's folder link to a root folder is refused");
    unlink(at("fs/zz"));

    /* a filestore root owns: root reads nothing through it that its owner could not */
    chown(at("fs"), 0, 0);
    symlink(at("secret"), at("fs/ab/planted"));
    lchown(at("fs/ab/planted"), NOBODY, NOBODY);
    memset(&err, 0, sizeof(err));
    ok(odbk_walk(at("fs"), count_entry, &c, &err) < 0 && err.code == ODBK_E_PERM,
       "walk: a filestore of root's does not follow another user's link to root's files (77)");
    unlink(at("fs/ab/planted"));
}

static void test_open_below(void)
{
    struct odbk_err err = {0};
    int top, fd;
    mkdir(at("x"), 0700);
    mkdir(at("out"), 0700);
    top = odbk_dir_open_made(at("x"), NULL, &err);
    ok(top >= 0, "open_made: a directory of ours");
    fd = odbk_open_below(top, "ab/cd/f", "x/ab/cd/f", O_WRONLY | O_CREAT | O_EXCL, 0640, 0750, &err);
    ok(fd >= 0 && exists("x/ab/cd/f"), "open_below: folders on the way made, the file created");
    if (fd >= 0)
        close(fd);
    symlink(at("out"), at("x/ln"));
    ok(odbk_open_below(top, "ln/f", "x/ln/f", O_WRONLY | O_CREAT | O_EXCL, 0640, 0750, &err) < 0 &&
           err.code == ODBK_E_DATA && !exists("out/f"), "open_below: a link on the way is refused, nothing outside");
    symlink(at("out/new"), at("x/ln2"));   /* to a file that does not exist: following it would create it */
    ok(odbk_open_below(top, "ln2", "x/ln2", O_WRONLY | O_CREAT, 0640, 0750, &err) < 0 && !exists("out/new"),
       "open_below: a link as the file is not followed, nothing made where it points");
    ok(odbk_open_below(top, "ab/cd/f", "x/ab/cd/f", O_WRONLY | O_CREAT | O_EXCL, 0640, 0750, &err) < 0 &&
           err.code == ODBK_E_DATA, "open_below: a second member of one name is bad data");
    if (top >= 0)
        close(top);
    rename(at("x"), at("x.moved"));
    symlink(at("out"), at("x"));
    ok(odbk_dir_open_made(at("x"), NULL, &err) < 0 && err.code == ODBK_E_PERM, "open_made: a link in its place is refused");
    if (geteuid() == 0) {
        unlink(at("x"));
        mkdir(at("x"), 0700);
        chown(at("x"), NOBODY, NOBODY);
        ok(odbk_dir_open_made(at("x"), NULL, &err) < 0 && err.code == ODBK_E_PERM,
           "open_made: another user's folder in its place is refused");
        rmdir(at("x"));
    } else {
        unlink(at("x"));
    }
}

/* A tree deeper than any backup holds: refused with an error naming it, never a crash or a half-removal
 * that reports success; one at the limit goes. */
static void test_deep(void)
{
    struct odbk_err err = {0};
    char rel[1024] = "deep";
    int i;
    mkdir(at("deep"), 0755);
    for (i = 0; i < ODBK_TREE_DEPTH_MAX + 5; i++) {
        strcat(rel, "/d");
        mkdir(at(rel), 0755);
    }
    ok(odbk_rmtree(at("deep"), &err) < 0 && err.code == ODBK_E_DATA && strstr(err.msg, "folders deep"),
       "rmtree: a tree deeper than a backup holds is refused");
    diag("%s", err.msg);
    ok(exists("deep"), "rmtree: ... and left");
    strcpy(rel, "deep");
    for (i = 0; i < 10; i++)
        strcat(rel, "/d");
    odbk_err_clear(&err);
    /* deep/d x10 holds 59 more levels: within the limit */
    is_int(odbk_rmtree(at(rel), &err), 0, "rmtree: a tree within the limit goes");
    memset(&err, 0, sizeof err);
    is_int(odbk_rmtree(at("deep"), &err), 0, "rmtree: then the rest");
}

int main(void)
{
    struct odbk_err err = {0};
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/test-tree-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base))
        return 1;
    test_rmtree();
    test_deep();
    test_take_owner();
    test_walk_links();
    test_open_below();
    is_int(odbk_rmtree(base, &err), 0, "cleanup");
    return done_testing();
}
