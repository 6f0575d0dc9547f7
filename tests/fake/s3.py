#!/usr/bin/env python3
"""tests/fake/s3.py - a scripted S3-like server for fault tests (standard library only).

    tests/fake/s3.py --port-file FILE [--max-seconds 300] [--faults JSON]

Listens on 127.0.0.1 on a free port (written to FILE once it listens), path-style (/BUCKET/KEY), and keeps
what it stores in memory.  It does NOT verify SigV4 signatures (any Authorization is accepted): the real
Ceph RGW of the testbed checks signing; this server is for the faults RGW cannot be made to show.  It does
check a body against its x-amz-content-sha256, as S3 does, and gives S3's ETags: the MD5 of an object
or a part, and for a multipart object the MD5 of its parts' MD5s with "-N".

Operations: PUT object, GET object (Range: bytes=N-, If-Match), HEAD, DELETE, ListObjectsV2, multipart
(initiate, upload part, complete, abort, list uploads).  Control, outside any bucket:
    GET  /_fake/state    JSON {"objects": {key: size}, "uploads": [key...], "log": ["OP key", ...]}
    PUT  /_fake/faults   body: JSON list of fault rules, replacing the current ones
A fault rule: {"op": OP, "part": N (upload-part only), "times": K (default: every time), and one of
    "status": 500|503|...   answer that status with an <Error> body
    "error_body": true      answer 200 with an <Error> body (as S3 can fail CompleteMultipartUpload)
    "no_etag": true         answer 200 with no ETag header
    "reset_after": BYTES    send the headers and BYTES of the body, then reset the connection
    "trickle": SECONDS      send the answer's body in small pieces over SECONDS
    "corrupt": true         answer as asked, one byte of the body changed (the bytes stored are not those
                            written: a read-back must see the SHA-256 differ)
    "corrupt_request": true one byte of the request's body changed as it arrives (in transit): the
                            x-amz-content-sha256 check answers 400 XAmzContentSHA256Mismatch, as RGW and AWS do
    "etag": "\"...\""       answer this ETag instead of the object's or the part's
    "size": BYTES           (head) answer this Content-Length instead of the object's
    "sse_kms": true         answer x-amz-server-side-encryption: aws:kms (whose ETags are not MD5s)
OP is one of put, get, head, delete, list, initiate, upload-part, complete, abort, list-uploads.
The server exits after --max-seconds whatever happens.
"""
import argparse
import hashlib
import json
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

LOCK = threading.Lock()
OBJECTS = {}   # key -> bytes
ETAGS = {}     # key -> its ETag
UPLOADS = {}   # upload id -> {"key": key, "parts": {n: bytes}}
FAULTS = []
LOG = []


def fails(fault):
    """Does the rule make the operation fail (so the server must not do it)?"""
    return bool(fault) and ("status" in fault or bool(fault.get("error_body")))


def take_fault(op, part=None):
    """The first rule matching op (and part), its use counted; None when none applies."""
    with LOCK:
        for rule in FAULTS:
            if rule.get("op") != op:
                continue
            if "part" in rule and rule["part"] != part:
                continue
            if rule.get("times", -1) == 0:
                continue
            if rule.get("times", -1) > 0:
                rule["times"] -= 1
            return rule
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):   # quiet: the test asks /_fake/state for what happened
        pass

    # ---- answering
    def answer(self, status, body=b"", headers=None, fault=None):
        if fault and "status" in fault:
            status = fault["status"]
            body = error_xml("InternalError" if status == 500 else "SlowDown", "injected fault")
            headers = {}
        elif fault and fault.get("error_body"):
            status = 200
            body = error_xml("InternalError", "injected error in a 200 answer")
            headers = {}
        headers = dict(headers or {})
        if fault and "etag" in fault:
            headers["ETag"] = fault["etag"]
        if fault and "size" in fault:
            headers["Content-Length"] = str(fault["size"])
        if fault and fault.get("sse_kms"):
            headers["x-amz-server-side-encryption"] = "aws:kms"
        if fault and fault.get("corrupt") and body:
            body = body[: len(body) // 2] + bytes([body[len(body) // 2] ^ 0xFF]) + body[len(body) // 2 + 1 :]
        if fault and fault.get("no_etag"):
            headers.pop("ETag", None)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault and "reset_after" in fault:
            self.wfile.write(body[: fault["reset_after"]])
            self.wfile.flush()
            # RST, not FIN: the client sees a reset connection mid-body
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if fault and "trickle" in fault:
            pieces = 20
            step = max(1, len(body) // pieces)
            for i in range(0, len(body), step):
                self.wfile.write(body[i : i + step])
                self.wfile.flush()
                time.sleep(fault["trickle"] / pieces)
            return
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = b""
        while len(data) < n:
            chunk = self.rfile.read(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def sha_mismatch(self, body, fault):
        """Is the body (changed by a corrupt_request rule) not what x-amz-content-sha256 says?"""
        if fault and fault.get("corrupt_request") and body:
            body = body[: len(body) // 2] + bytes([body[len(body) // 2] ^ 0xFF]) + body[len(body) // 2 + 1 :]
        want = self.headers.get("x-amz-content-sha256", "")
        return len(want) == 64 and hashlib.sha256(body).hexdigest() != want

    def refuse_sha(self):
        return self.answer(400, error_xml("XAmzContentSHA256Mismatch",
                                          "The provided 'x-amz-content-sha256' header does not match what was computed."))

    def route(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        parts = u.path.lstrip("/").split("/", 1)
        bucket = parts[0]
        key = unquote(parts[1]) if len(parts) > 1 else ""
        return bucket, key, q

    # ---- methods
    def do_PUT(self):
        bucket, key, q = self.route()
        body = self.read_body()
        if bucket == "_fake" and key == "faults":
            with LOCK:
                FAULTS[:] = json.loads(body or b"[]")
            return self.answer(200)
        if "uploadId" in q:
            n = int(q.get("partNumber", "0"))
            fault = take_fault("upload-part", n)
            with LOCK:
                LOG.append("upload-part %s %d" % (key, n))
                up = UPLOADS.get(q["uploadId"])
                if up is None:
                    return self.answer(404, error_xml("NoSuchUpload", "no such upload"))
                if self.sha_mismatch(body, fault):
                    return self.refuse_sha()
                if not fails(fault):
                    up["parts"][n] = body
            return self.answer(200, b"", {"ETag": etag(body)}, fault)
        fault = take_fault("put")
        with LOCK:
            LOG.append("put " + key)
            if self.sha_mismatch(body, fault):
                return self.refuse_sha()
            if not fails(fault):
                OBJECTS[key] = body
                ETAGS[key] = etag(body)
        return self.answer(200, b"", {"ETag": etag(body)}, fault)

    def do_POST(self):
        bucket, key, q = self.route()
        body = self.read_body()
        if "uploads" in q:
            fault = take_fault("initiate")
            uid = uuid.uuid4().hex
            with LOCK:
                LOG.append("initiate " + key)
                if not fails(fault):
                    UPLOADS[uid] = {"key": key, "parts": {}}
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult><Bucket>%s</Bucket>"
                   "<Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>" % (bucket, escape(key), uid))
            return self.answer(200, xml.encode(), {"Content-Type": "application/xml"}, fault)
        if "uploadId" in q:
            fault = take_fault("complete")
            with LOCK:
                LOG.append("complete " + key)
                up = UPLOADS.get(q["uploadId"])
                if up is None:
                    return self.answer(404, error_xml("NoSuchUpload", "no such upload"))
                tag = ""
                if not fails(fault):
                    parts = [up["parts"][n] for n in sorted(up["parts"])]
                    OBJECTS[key] = b"".join(parts)
                    tag = '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(),
                                       len(parts))
                    ETAGS[key] = tag
                    del UPLOADS[q["uploadId"]]
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult><Key>%s</Key>"
                   "<ETag>%s</ETag></CompleteMultipartUploadResult>" % (escape(key), escape(tag)))
            return self.answer(200, xml.encode(), {"Content-Type": "application/xml"}, fault)
        return self.answer(400, error_xml("InvalidRequest", "unknown POST"))

    def do_DELETE(self):
        bucket, key, q = self.route()
        if "uploadId" in q:
            fault = take_fault("abort")
            with LOCK:
                LOG.append("abort " + key)
                if not fails(fault):
                    UPLOADS.pop(q["uploadId"], None)
            return self.answer(204, b"", {}, fault)
        fault = take_fault("delete")
        with LOCK:
            LOG.append("delete " + key)
            if not fault:
                OBJECTS.pop(key, None)
                ETAGS.pop(key, None)
        return self.answer(204, b"", {}, fault)

    def do_HEAD(self):
        bucket, key, q = self.route()
        fault = take_fault("head")
        with LOCK:
            LOG.append("head " + key)
            data = OBJECTS.get(key)
            tag = ETAGS.get(key)
        if data is None:
            return self.answer(404)
        return self.answer(200, b"", {"Content-Length": str(len(data)), "ETag": tag,
                                      "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}, fault)

    def do_GET(self):
        bucket, key, q = self.route()
        if bucket == "_fake" and key == "state":
            with LOCK:
                state = {"objects": {k: len(v) for k, v in OBJECTS.items()},
                         "uploads": [u["key"] for u in UPLOADS.values()], "log": LOG[:]}
            return self.answer(200, json.dumps(state).encode(), {"Content-Type": "application/json"})
        if "uploads" in q:
            fault = take_fault("list-uploads")
            pfx = q.get("prefix", "")
            with LOCK:
                LOG.append("list-uploads " + pfx)
                ups = [(uid, u["key"]) for uid, u in UPLOADS.items() if u["key"].startswith(pfx)]
            xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
            for uid, k in ups:
                xml += ("<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiated>2024-01-01T00:00:00.000Z</Initiated>"
                        "</Upload>" % (escape(k), uid))
            xml += "</ListMultipartUploadsResult>"
            return self.answer(200, xml.encode(), {"Content-Type": "application/xml"}, fault)
        if q.get("list-type") == "2":
            fault = take_fault("list")
            pfx = q.get("prefix", "")
            with LOCK:
                LOG.append("list " + pfx)
                objs = sorted((k, len(v)) for k, v in OBJECTS.items() if k.startswith(pfx))
            xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><IsTruncated>false</IsTruncated>"
            for k, n in objs:
                xml += ("<Contents><Key>%s</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><Size>%d</Size>"
                        "</Contents>" % (escape(k), n))
            xml += "</ListBucketResult>"
            return self.answer(200, xml.encode(), {"Content-Type": "application/xml"}, fault)
        fault = take_fault("get")
        with LOCK:
            LOG.append("get " + key)
            data = OBJECTS.get(key)
            tag = ETAGS.get(key)
        if data is None:
            return self.answer(404, error_xml("NoSuchKey", "no such key"))
        if self.headers.get("If-Match") and self.headers["If-Match"] != tag:
            return self.answer(412, error_xml("PreconditionFailed", "etag changed"))
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            body = data[start:]
            return self.answer(206, body, {"ETag": tag, "Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))},
                               fault)
        return self.answer(200, data, {"ETag": tag}, fault)


def etag(data):
    return '"%s"' % hashlib.md5(data).hexdigest()


def error_xml(code, msg):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>%s</Message></Error>"
            % (code, msg)).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--faults", default="[]")
    a = ap.parse_args()
    FAULTS[:] = json.loads(a.faults)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    threading.Timer(a.max_seconds, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
