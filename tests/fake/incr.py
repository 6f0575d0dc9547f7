#!/usr/bin/env python3
"""incr.py - incremental backups written by hand, for tests (odbk(7): the file list and the packs).

  incr.py convert DIR [--per-pack N]   turn the full odbk backup folder DIR (DIR = ROOT/ENV/ID, a local
                                       storage's) into an incremental one: its filestore tar becomes packs
                                       ROOT/ENV/packs/ID-NNNNNN.tar.gz of N files each (default: all in one)
                                       and a file list; the manifest says so (version 2)
  incr.py list DIR                     print the decompressed file list of DIR
  incr.py set-list DIR < TEXT          store TEXT as DIR's file list (gzip), the manifest updated
  incr.py fix DIR                      the manifest's size and sha256 of DIR's list and of every pack it
                                       names made those of the files as they are now (what someone who can
                                       write to the storage can do)
  incr.py pack DIR NAME                print the path of pack NAME of DIR's env
Packs are standard tar streams (GNU tar reads them), their members named by filestore-relative path.
"""
import glob, gzip, hashlib, io, json, os, sys, tarfile


def esc(s):
    out = []
    for b in s.encode("utf-8", "surrogateescape"):
        out.append(chr(b) if 0x21 <= b <= 0x7E and b != 0x25 else "%%%02X" % b)
    return "".join(out)


def manifest_path(d):
    return glob.glob(os.path.join(d, "*-manifest.json"))[0]


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def packs_dir(d):
    return os.path.join(os.path.dirname(os.path.abspath(d)), "packs")


def fix(d):
    mp = manifest_path(d)
    m = json.load(open(mp))
    for f in m["files"]:
        p = os.path.join(d, f["name"])
        if os.path.exists(p):
            f["size"], f["sha256"] = os.path.getsize(p), sha(p)
    for p in m.get("packs", []):
        path = os.path.join(packs_dir(d), p["name"])
        if os.path.exists(path):
            p["size"], p["sha256"] = os.path.getsize(path), sha(path)
    json.dump(m, open(mp, "w"), indent=2)


def list_file(d, m):
    return os.path.join(d, [f for f in m["files"] if f["role"] == "filelist"][0]["name"])


def convert(d, per_pack):
    mp = manifest_path(d)
    m = json.load(open(mp))
    bid = m["id"]
    fs = [f for f in m["files"] if f["role"] == "filestore"][0]
    src = tarfile.open(os.path.join(d, fs["name"]), "r:gz")
    members = sorted((t for t in src.getmembers() if t.isfile()), key=lambda t: t.name.encode())
    os.makedirs(packs_dir(d), exist_ok=True)
    entries, packs, total = [], [], 0
    for i in range(0, max(len(members), 1), per_pack or max(len(members), 1)):
        chunk = members[i:i + (per_pack or max(len(members), 1))]
        if not chunk:
            break
        name = "%s-%06d.tar.gz" % (bid, len(packs) + 1)
        path = os.path.join(packs_dir(d), name)
        with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as out:
            for t in chunk:
                data = src.extractfile(t).read()
                out.addfile(t, io.BytesIO(data))
                entries.append((t.name, hashlib.sha256(data).hexdigest(), len(data), int(t.mtime), t.mode, name))
                total += len(data)
        packs.append({"name": name, "size": os.path.getsize(path), "sha256": sha(path)})
    entries.sort(key=lambda e: e[0].encode())
    text = "odbk-filelist 1\n" + "".join(
        "f %s %d %d %o %s %s\n" % (h, n, mt, mode & 0o7777, esc(pk), esc(p)) for p, h, n, mt, mode, pk in entries)
    text += "end %d %d\n" % (len(entries), total)
    lname = "backup-%s-filestore.list.gz" % bid
    with open(os.path.join(d, lname), "wb") as f:
        f.write(gzip.compress(text.encode()))
    os.unlink(os.path.join(d, fs["name"]))
    m["files"] = [f for f in m["files"] if f["role"] != "filestore"]
    m["files"].append({"name": lname, "role": "filelist", "size": 0, "sha256": "0" * 64, "compression": "gzip",
                       "raw_size": len(text)})
    m["odbk_manifest"] = 2
    m["filestore_mode"] = "incremental"
    m["parent"] = ""
    m["packs"] = sorted(packs, key=lambda p: p["name"])
    m["added_bytes"] = sum(p["size"] for p in packs)
    json.dump(m, open(mp, "w"), indent=2)
    fix(d)


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "convert":
        per = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--per-pack" else 0
        convert(d, per)
    elif cmd == "list":
        m = json.load(open(manifest_path(d)))
        sys.stdout.write(gzip.decompress(open(list_file(d, m), "rb").read()).decode())
    elif cmd == "set-list":
        m = json.load(open(manifest_path(d)))
        with open(list_file(d, m), "wb") as f:
            f.write(gzip.compress(sys.stdin.buffer.read()))
        fix(d)
    elif cmd == "fix":
        fix(d)
    elif cmd == "pack":
        print(os.path.join(packs_dir(d), sys.argv[3]))
    else:
        sys.exit("incr.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
