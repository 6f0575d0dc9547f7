#!/usr/bin/python3
"""tests/fake/sftp.py - a fault-injecting filter in front of OpenSSH's real sftp-server (standard library only).

    tests/fake/sftp.py --faults-file FILE --log FILE --state FILE [--max-seconds 300] -- SFTP-SERVER ARGS...

Run by sshd as the session's command (ForceCommand, see t7003): it starts the real sftp-server and passes
the SFTP packets of both ways through, so every answer is OpenSSH's own, except where a rule of the
faults file says otherwise.  Each request is appended to the --log file as "OP PATH" (OP in lower case:
open, close, read, write, stat, lstat, fstat, opendir, readdir, remove, mkdir, rmdir, realpath, rename,
fsync, ...; PATH the file a handle was opened on), each fault played as "fault OP PATH: WHAT".

--faults-file holds a JSON list of rules, read again when it changes (write a new file and rename it over
the old one).  A rule:
    {"op": OP, "match": SUBSTRING, "after": K, "times": T, and one of the actions}
the first K requests the rule matches pass untouched (default 0), then it acts T times (default: every
time).  The counts are kept in --state across the connections (one filter process each) and start again
when the faults file changes.  Actions:
    "status": CODE       answer SSH_FXP_STATUS CODE instead of the server (4: SSH_FX_FAILURE, which is what
                         OpenSSH answers for a full disk; 3: permission denied); the server never sees it
    "drop": true         kill the session's sshd: the TCP connection goes, as when the network or the
                         server dies
    "drop_after": BYTES  (write) let BYTES of written data through on this connection, then drop it
                         (each use of the rule is one connection)
    "stall": true        from this request on, pass nothing either way (the connection stays open)
    "delay": SECONDS     hold the server's answer to the request that long
The filter exits when the client's side closes, or after --max-seconds.
"""
import argparse
import fcntl
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time

NAMES = {3: "open", 4: "close", 5: "read", 6: "write", 7: "lstat", 8: "fstat", 9: "setstat", 10: "fsetstat",
         11: "opendir", 12: "readdir", 13: "remove", 14: "mkdir", 15: "rmdir", 16: "realpath", 17: "stat",
         18: "rename", 19: "readlink", 20: "symlink", 200: "extended"}
PATH_OPS = (3, 7, 9, 11, 13, 14, 15, 16, 17, 18, 19, 20)   # requests whose first field is a path
HANDLE_OPS = (4, 5, 6, 8, 10, 12)                         # requests whose first field is a handle
FXP_STATUS, FXP_HANDLE = 101, 102

ARGS = None
OUT_LOCK = threading.Lock()
HANDLES = {}        # handle bytes -> path
OPENS = {}          # request id of an open/opendir -> path
DELAYS = {}         # request id -> seconds to hold the answer
STALLED = threading.Event()
WRITTEN = [0]      # bytes of write requests passed on this connection
ARMED = []          # the drop_after rule this connection plays


def log(line):
    with open(ARGS.log, "a") as f:
        f.write(line.replace("\n", " ") + "\n")


def take_rule(op, path):
    """The rule that acts on this request (its use counted in the state file), or None."""
    try:
        st = os.stat(ARGS.faults_file)
        stamp = [st.st_mtime_ns, st.st_size, st.st_ino]
        with open(ARGS.faults_file) as f:
            rules = json.load(f)
    except (OSError, ValueError):
        return None
    fd = os.open(ARGS.state, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.read(fd, 1 << 20)
        state = json.loads(raw) if raw else {}
        if state.get("stamp") != stamp:
            state = {"stamp": stamp, "seen": [0] * len(rules)}
        hit = None
        for i, rule in enumerate(rules):
            if rule.get("op") != op or rule.get("match", "") not in path:
                continue
            state["seen"][i] += 1
            n = state["seen"][i] - rule.get("after", 0)
            if n <= 0 or ("times" in rule and n > rule["times"]):
                continue
            hit = rule
            break
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(state).encode())
        return hit
    finally:
        os.close(fd)


def read_exact(f, n):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_packet(f):
    head = read_exact(f, 4)
    if head is None:
        return None
    body = read_exact(f, struct.unpack(">I", head)[0])
    return body


def sstring(buf, off):
    n = struct.unpack(">I", buf[off:off + 4])[0]
    return buf[off + 4:off + 4 + n], off + 4 + n


def send(out, body):
    with OUT_LOCK:
        out.write(struct.pack(">I", len(body)) + body)
        out.flush()


def status(rid, code, msg):
    m = msg.encode()
    return struct.pack(">BII", FXP_STATUS, rid, code) + struct.pack(">I", len(m)) + m + struct.pack(">I", 0)


def drop(what):
    """Kill the sshd process of this session: its TCP connection goes without a goodbye."""
    log("fault %s: connection dropped" % what)
    pid = os.getppid()
    while pid > 1:
        try:
            with open("/proc/%d/comm" % pid) as f:
                comm = f.read().strip()
            with open("/proc/%d/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        if comm.startswith("sshd"):
            os.kill(pid, signal.SIGKILL)
            break
        pid = ppid
    os._exit(0)


def client_to_server(inp, child, out):
    while True:
        body = read_packet(inp)
        if body is None:
            break
        if STALLED.is_set():
            continue
        kind = body[0]
        if kind == 1:    # INIT: no request id
            child.write(struct.pack(">I", len(body)) + body)
            child.flush()
            continue
        rid = struct.unpack(">I", body[1:5])[0]
        op, path, nbytes = NAMES.get(kind, str(kind)), "", 0
        try:
            if kind in PATH_OPS:
                path = sstring(body, 5)[0].decode("utf-8", "replace")
                if kind == 18:
                    path += " -> " + sstring(body, sstring(body, 5)[1])[0].decode("utf-8", "replace")
                if kind in (3, 11):
                    OPENS[rid] = path
            elif kind in HANDLE_OPS:
                h, off = sstring(body, 5)
                path = HANDLES.get(h, "?")
                if kind == 6:
                    nbytes = len(sstring(body, off + 8)[0])
                if kind == 4:
                    HANDLES.pop(h, None)
            elif kind == 200:
                name, off = sstring(body, 5)
                op = name.decode("ascii", "replace").split("@")[0]
                if op == "fsync":
                    path = HANDLES.get(sstring(body, off)[0], "?")
                else:
                    path = sstring(body, off)[0].decode("utf-8", "replace")
        except (struct.error, IndexError):
            pass
        if op != "read":   # reads come in thousands; a test counts opens
            log("%s %s" % (op, path))
        rule = take_rule(op, path) if not (ARMED and op == "write") else None
        if rule and "drop_after" in rule:
            ARMED.append(rule)     # counted once per connection: it watches every write from now on
        if ARMED and kind == 6 and WRITTEN[0] + nbytes > ARMED[0]["drop_after"]:
            drop("%s %s after %d bytes" % (op, path, WRITTEN[0]))
        if rule:
            if "status" in rule:
                log("fault %s %s: status %d" % (op, path, rule["status"]))
                send(out, status(rid, rule["status"], "injected fault"))
                continue
            if rule.get("drop"):
                drop("%s %s" % (op, path))
            if rule.get("stall"):
                log("fault %s %s: stalled" % (op, path))
                STALLED.set()
                continue
            if "delay" in rule:
                log("fault %s %s: answer held %s s" % (op, path, rule["delay"]))
                DELAYS[rid] = rule["delay"]
        WRITTEN[0] += nbytes
        child.write(struct.pack(">I", len(body)) + body)
        child.flush()
    try:
        child.close()
    except OSError:
        pass


def server_to_client(src, out):
    while True:
        body = read_packet(src)
        if body is None:
            break
        if STALLED.is_set():
            continue
        if body[0] == FXP_HANDLE:
            rid = struct.unpack(">I", body[1:5])[0]
            if rid in OPENS:
                HANDLES[sstring(body, 5)[0]] = OPENS.pop(rid)
        if len(body) >= 5 and body[0] != 2:
            delay = DELAYS.pop(struct.unpack(">I", body[1:5])[0], 0)
            if delay:
                time.sleep(delay)
        send(out, body)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--faults-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("server", nargs=argparse.REMAINDER)
    ARGS = ap.parse_args()
    cmd = ARGS.server[1:] if ARGS.server[:1] == ["--"] else ARGS.server
    threading.Timer(ARGS.max_seconds, lambda: os._exit(0)).start()
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    inp, out = sys.stdin.buffer.raw, sys.stdout.buffer
    up = threading.Thread(target=server_to_client, args=(child.stdout, out), daemon=True)
    up.start()
    client_to_server(inp, child.stdin, out)
    if STALLED.is_set():
        os._exit(0)
    up.join(5)
    child.wait(5)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
