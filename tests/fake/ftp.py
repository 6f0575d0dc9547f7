#!/usr/bin/python3
"""tests/fake/ftp.py - a scripted FTP server for fault tests (pyftpdlib, as the testbed's FTP server).

    tests/fake/ftp.py --root DIR --port-file FILE --log FILE [--faults-file FILE] [--max-seconds 300]
                      [--user U --password P]

Listens on 127.0.0.1 on a free port (written to FILE once it listens) and serves DIR (read-write) to one
user (default odbk/odbk); passive mode only.  Each command it receives is appended to the --log file as one
line "CMD ARG" (PASS hidden), each fault it plays as "fault CMD ARG: WHAT", each finished upload as
"stored PATH BYTES" and each cut one as "incomplete PATH BYTES", so a test counts attempts with grep.

Faults come from --faults-file, a JSON list of rules, read again whenever the file changes (write a new
file and rename it over the old one; the use counts start again).  A rule:
    {"op": CMD, "match": SUBSTRING, "after": K, "times": T, and one of the actions}
CMD is a command in lower case (stor, retr, size, mdtm, mlsd, list, rnfr, rnto, dele, mkd, ...); "match"
(optional) must occur in the command's argument; the first K commands the rule matches pass untouched
("after", default 0), then it acts T times ("times", default: every time).  Actions:
    "reply": "451 text"       answer that instead of running the command (421 also closes the control
                              connection); on stor/retr the data connection is closed unused
    "reply_after": BYTES      (stor/retr) move BYTES of data, then close the data connection and answer
                              "reply" (default "426 Connection closed; transfer aborted.")
    "reset_after": BYTES      (stor/retr) move BYTES of data, then reset the data connection (RST)
    "stall_after": BYTES      (stor/retr) move BYTES of data, then move nothing more, connection kept open
    "trickle": BYTES_PER_S    (stor/retr) move the data at that rate
    "truncate": BYTES         (stor) receive everything, answer 226, but keep only the first BYTES
    "size": N / "mdtm": S     (size/mdtm) answer "213 N" / "213 S" whatever the file is
    "listing": TEXT           (mlsd/list) send TEXT as the listing
    "delay": SECONDS          act (run the command, or play the rule's other action) that much later; the
                              other connections go on meanwhile
The server exits after --max-seconds whatever happens.
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
from pyftpdlib.servers import FTPServer

ARGS = None
RULES = {"stamp": None, "rules": [], "seen": []}   # seen[i]: commands rule i matched so far
XFER_OPS = ("stor", "retr", "appe")


def log(line):
    with open(ARGS.log, "a") as f:
        f.write(line.replace("\n", " ") + "\n")


def load_rules():
    try:
        st = os.stat(ARGS.faults_file)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except (OSError, TypeError):
        stamp = None
    if stamp == RULES["stamp"]:
        return
    RULES["stamp"] = stamp
    rules = []
    if stamp:
        with open(ARGS.faults_file) as f:
            rules = json.load(f)
    RULES["rules"] = rules
    RULES["seen"] = [0] * len(rules)


def take_rule(op, arg):
    """The rule that acts on this command (its use counted), or None."""
    load_rules()
    for i, rule in enumerate(RULES["rules"]):
        if rule.get("op") != op or rule.get("match", "") not in arg:
            continue
        RULES["seen"][i] += 1
        n = RULES["seen"][i] - rule.get("after", 0)
        if n <= 0 or ("times" in rule and n > rule["times"]):
            continue
        return rule
    return None


class FaultDTP(ThrottledDTPHandler):
    """The data connection: counts what it moves and plays the transfer's rule."""
    timeout = 0          # never kick a stalled client: the client's own timeout is under test
    rule = None
    moved = 0
    stalled = False

    def play(self, n):
        rule = self.rule
        if not rule or self._closed:
            return
        self.moved += n
        if "reset_after" in rule and self.moved >= rule["reset_after"]:
            log("fault %s: reset after %d bytes" % (self.cmd_channel.xfer, self.moved))
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._resp = ("426 Connection reset; transfer aborted.", lambda *a: None)
            self.close()
        elif "reply_after" in rule and self.moved >= rule["reply_after"]:
            reply = rule.get("reply", "426 Connection closed; transfer aborted.")
            log("fault %s: %s after %d bytes" % (self.cmd_channel.xfer, reply, self.moved))
            self._resp = (reply, lambda *a: None)
            self.close()
        elif "stall_after" in rule and self.moved >= rule["stall_after"] and not self.stalled:
            log("fault %s: stalled after %d bytes" % (self.cmd_channel.xfer, self.moved))
            self.stalled = True
            self._cancel_throttler()
            self.del_channel()    # the socket stays open; nothing is read or written any more

    def limit(self, n):
        """At most n, and never past the byte where the rule acts."""
        rule = self.rule or {}
        for key in ("reset_after", "reply_after", "stall_after"):
            if key in rule and self.moved < rule[key]:
                n = min(n, rule[key] - self.moved)
        return max(1, n)

    def recv(self, buffer_size):
        return super().recv(self.limit(buffer_size))

    def handle_read(self):
        before = self.tot_bytes_received
        super().handle_read()
        if self.tot_bytes_received > before:
            self.play(self.tot_bytes_received - before)

    handle_read_event = handle_read

    def send(self, data):
        n = super().send(data[: self.limit(len(data))])
        self.play(n)
        return n


class FaultFTP(FTPHandler):
    dtp_handler = FaultDTP
    xfer = ""
    xfer_rule = None

    def pre_process_command(self, line, cmd, arg):
        arg = arg or ""
        log("%s %s" % (cmd, "******" if cmd == "PASS" else arg))
        rule = take_rule(cmd.lower(), arg) if cmd not in ("USER", "PASS") else None
        if rule and "delay" in rule:
            log("fault %s %s: delayed %s s" % (cmd, arg, rule["delay"]))
            self.ioloop.call_later(float(rule["delay"]), self.act, line, cmd, arg, rule)
            return
        return self.act(line, cmd, arg, rule)

    def act(self, line, cmd, arg, rule):
        if rule and "reply" in rule and not (cmd.lower() in XFER_OPS and "reply_after" in rule):
            log("fault %s %s: %s" % (cmd, arg, rule["reply"]))
            self.respond(rule["reply"])
            if self.data_channel is not None:
                self.data_channel.close()
                self.data_channel = None
            self._shutdown_connecting_dtp()
            if rule["reply"].startswith("421"):
                self.close_when_done()
            return
        self.pending_rule = rule
        return super().pre_process_command(line, cmd, arg)

    def arm(self, cmd, path):
        """Hand the transfer's rule to the data connection (now, or once it connects)."""
        rule = self.pending_rule
        self.xfer = "%s %s" % (cmd, self.fs.fs2ftp(path))
        self.xfer_rule = rule
        if self.data_channel is not None:
            self.apply(self.data_channel)

    def apply(self, dtp):
        rule = self.xfer_rule
        dtp.rule = rule
        dtp.moved = 0
        if rule and "trickle" in rule:
            dtp.read_limit = dtp.write_limit = int(rule["trickle"])
            dtp.ac_in_buffer_size = dtp.ac_out_buffer_size = max(512, min(65536, int(rule["trickle"]) // 4))

    def _on_dtp_connection(self):
        if self.data_channel is not None:
            self.apply(self.data_channel)
        return super()._on_dtp_connection()

    def ftp_STOR(self, file, mode="w"):
        self.arm("APPE" if "a" in mode else "STOR", file)
        return super().ftp_STOR(file, mode)

    def ftp_RETR(self, file):
        self.arm("RETR", file)
        return super().ftp_RETR(file)

    def on_file_received(self, file):
        rule = self.xfer_rule
        size = os.path.getsize(file)
        if rule and "truncate" in rule and size > rule["truncate"]:
            os.truncate(file, rule["truncate"])
            log("fault STOR %s: kept %d of %d bytes" % (self.fs.fs2ftp(file), rule["truncate"], size))
        log("stored %s %d" % (self.fs.fs2ftp(file), size))

    def on_incomplete_file_received(self, file):
        log("incomplete %s %d" % (self.fs.fs2ftp(file), os.path.getsize(file)))

    def ftp_SIZE(self, path):
        rule = self.pending_rule
        if rule and "size" in rule:
            log("fault SIZE %s: %s" % (self.fs.fs2ftp(path), rule["size"]))
            return self.respond("213 %s" % rule["size"])
        return super().ftp_SIZE(path)

    def ftp_MDTM(self, path):
        rule = self.pending_rule
        if rule and "mdtm" in rule:
            log("fault MDTM %s: %s" % (self.fs.fs2ftp(path), rule["mdtm"]))
            return self.respond("213 %s" % rule["mdtm"])
        return super().ftp_MDTM(path)

    def listing(self, cmd, path, real):
        rule = self.pending_rule
        if rule and "listing" in rule:
            log("fault %s %s: a made-up listing" % (cmd, self.fs.fs2ftp(path)))
            return self.push_dtp_data(rule["listing"].replace("\n", "\r\n").encode(), cmd=cmd)
        return real(path)

    def ftp_MLSD(self, path):
        return self.listing("MLSD", path, super().ftp_MLSD)

    def ftp_LIST(self, path):
        return self.listing("LIST", path, super().ftp_LIST)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--faults-file")
    ap.add_argument("--user", default="odbk")
    ap.add_argument("--password", default="odbk")
    ap.add_argument("--max-seconds", type=float, default=300)
    ARGS = ap.parse_args()
    auth = DummyAuthorizer()
    auth.add_user(ARGS.user, ARGS.password, ARGS.root, perm="elradfmwMT")
    FaultFTP.authorizer = auth
    FaultFTP.permit_foreign_addresses = False
    FaultFTP.banner = "odbk fake ftp ready"
    import logging
    logging.basicConfig(level=logging.WARNING)
    srv = FTPServer(("127.0.0.1", 0), FaultFTP)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.address[1])
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    threading.Timer(ARGS.max_seconds, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
