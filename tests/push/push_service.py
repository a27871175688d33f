#!/usr/bin/env python3
"""A test push service (RFC 8030) on loopback that checks what a Web Push sender sends.

It stands in for FCM, Mozilla's or Apple's push service in tests: every POST to a
subscription endpoint is verified the way a browser and a strict push service would,
recorded as one JSON line, and answered with a scripted status.

For each POST to /push/<id> it checks
  * Authorization: vapid t=JWT, k=KEY (RFC 8292): header {"typ":"JWT","alg":"ES256"}, an ES256
    signature (raw r||s, 64 bytes) that verifies against k, aud equal to this service's own
    origin, exp in (now, now + 24 h], sub a mailto: or https: URI;
  * Content-Encoding: aes128gcm, TTL (an integer 0..2419200), Urgency (very-low, low, normal,
    high; optional), Topic (optional, at most 32 base64url characters);
  * the body decrypts (RFC 8291, with PyPI's http_ece) with that subscription's private key and
    auth secret, and is at most 4096 bytes.
A request that fails a check is answered 403 (VAPID) or 400 (anything else); an unknown
subscription 410; otherwise the script decides (default 201).

Requirements: PyPI's cryptography and http_ece (pip install cryptography http_ece).

Usage:
  push_service.py [--host 127.0.0.1] [--port 0] [--subscriber KEY:AUTH ...] [--subscriptions N]
                  [--log FILE] [--script 201[,STATUS...]] [--script-file FILE] [--ready-file FILE]

On startup it prints one JSON line to stdout (and writes it to --ready-file if given):
  {"origin": "http://127.0.0.1:PORT",
   "subscriptions": [{"endpoint": ".../push/1", "keys": {"p256dh": "...", "auth": "..."}}, ...]}
Each subscription is a PushSubscription.toJSON(): /push/1, /push/2, ... first those given with
--subscriber (base64url private scalar and auth secret, e.g. a browser's keys exported for a
test), then --subscriptions more with fresh key pairs (default 1 when none is given).

Scripted answers. --script is a comma-separated list of answers used for each subscription
that has no override: the n-th request to a subscription gets the n-th answer, the last one
repeats (so "429,201" means throttle once, then accept). An answer is a status, optionally with
a Retry-After value after a colon: "429:1" or "503:Sun, 06 Nov 1994 08:49:37 GMT".
--script-file names a JSON file {"/push/2": "410", "/push/3": "429:1,201"} of per-path
overrides; it is re-read on every request, so a test may rewrite it while the service runs.

Control endpoints (never valid push endpoints):
  POST /_control/subscriptions      makes one more subscription, answers its JSON
  GET  /_control/subscriptions      all subscriptions
  PUT  /_control/script             body {"/push/2": "410"}: same as --script-file, in memory
  GET  /_control/messages           every recorded message so far, as a JSON array

Log lines (--log, JSON lines, appended): {"time", "path", "answered", "problems": [...],
"headers": {"ttl", "urgency", "topic", "content_encoding", "content_type"},
"vapid": {"aud", "sub", "exp", "k"} or null, "payload": decrypted JSON (or {"text": ...}
when not JSON) or null, "body_length"}. "problems" is empty for a well-formed push.
"""

import argparse
import base64
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
URGENCIES = {"very-low", "low", "normal", "high"}


def b64url_decode(text):
    if not B64URL.match(text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Subscription:
    def __init__(self, path, origin, private_key=None, auth=None):
        self.path = path
        self.private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        self.auth = auth or os.urandom(16)
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.json = {"endpoint": origin + path, "keys": {"p256dh": b64url_encode(public), "auth": b64url_encode(self.auth)}}


def parse_answers(text):
    """'429:1,201' -> [(429, '1'), (201, None)]"""
    answers = []
    for item in str(text).split(","):
        status, _, retry_after = item.strip().partition(":")
        answers.append((int(status), retry_after.strip() or None))
    if not answers:
        raise ValueError("empty script")
    return answers


def verify_vapid(authorization, origin, now):
    """Returns (claims dict, problems list)."""
    match = re.fullmatch(r"vapid t=([A-Za-z0-9_.-]+), ?k=([A-Za-z0-9_-]+)", authorization or "")
    if not match:
        return None, ["Authorization is not 'vapid t=JWT, k=KEY'"]
    token, key_text = match.groups()
    parts = token.split(".")
    if len(parts) != 3:
        return None, ["JWT does not have three parts"]
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key_text))
    except (ValueError, TypeError) as error:
        return None, [f"JWT or key unreadable: {error}"]
    problems = []
    if header != {"typ": "JWT", "alg": "ES256"}:
        problems.append(f"JWT header {header}")
    if len(signature) != 64:
        problems.append(f"signature is {len(signature)} bytes, not raw r||s (64)")
    else:
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        try:
            key.verify(encode_dss_signature(r, s), f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            problems.append("ES256 signature does not verify against k")
    if claims.get("aud") != origin:
        problems.append(f"aud {claims.get('aud')!r} is not {origin!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or not (now < exp <= now + 86400):
        problems.append(f"exp {exp!r} not in (now, now + 24 h]")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not (sub.startswith("mailto:") or sub.startswith("https://")):
        problems.append(f"sub {sub!r} is not a mailto: or https: URI")
    claims["k"] = key_text
    return claims, problems


class PushService:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.subscriptions = {}
        self.counts = {}
        self.messages = []
        self.script_override = {}
        self.default_answers = parse_answers(args.script)
        self.origin = None

    def add_subscription(self, private_key=None, auth=None):
        with self.lock:
            path = f"/push/{len(self.subscriptions) + 1}"
            subscription = Subscription(path, self.origin, private_key, auth)
            self.subscriptions[path] = subscription
            return subscription.json

    def answers_for(self, path):
        overrides = dict(self.script_override)
        if self.args.script_file:
            try:
                with open(self.args.script_file) as file:
                    overrides.update(json.load(file))
            except FileNotFoundError:
                pass
        return parse_answers(overrides[path]) if path in overrides else self.default_answers

    def handle_push(self, path, headers, body):
        """Returns (status, extra headers, record)."""
        now = int(time.time())
        record = {"time": time.time(), "path": path, "problems": [], "body_length": len(body), "vapid": None, "payload": None,
                  "headers": {"ttl": headers.get("TTL"), "urgency": headers.get("Urgency"), "topic": headers.get("Topic"),
                              "content_encoding": headers.get("Content-Encoding"),
                              "content_type": headers.get("Content-Type")}}
        with self.lock:
            subscription = self.subscriptions.get(path)
            index = self.counts.get(path, 0)
            self.counts[path] = index + 1
        if subscription is None:
            record["problems"].append("no such subscription")
            return 410, {}, record
        claims, vapid_problems = verify_vapid(headers.get("Authorization"), self.origin, now)
        record["vapid"] = claims
        record["problems"] += vapid_problems
        problems = []
        if headers.get("Content-Encoding") != "aes128gcm":
            problems.append("Content-Encoding is not aes128gcm")
        ttl = headers.get("TTL")
        if ttl is None or not ttl.isdigit() or int(ttl) > 2419200:
            problems.append(f"TTL {ttl!r} is not an integer 0..2419200")
        if headers.get("Urgency") is not None and headers.get("Urgency") not in URGENCIES:
            problems.append(f"Urgency {headers.get('Urgency')!r}")
        topic = headers.get("Topic")
        if topic is not None and not (0 < len(topic) <= 32 and B64URL.match(topic)):
            problems.append(f"Topic {topic!r} is not 1..32 base64url characters")
        if len(body) > 4096:
            problems.append(f"body is {len(body)} bytes, more than 4096")
        try:
            plaintext = http_ece.decrypt(body, private_key=subscription.private_key, auth_secret=subscription.auth,
                                         version="aes128gcm")
            try:
                record["payload"] = json.loads(plaintext)
            except ValueError:
                record["payload"] = {"text": plaintext.decode("utf-8", "replace")}
        except Exception as error:  # http_ece raises several types for a bad body
            problems.append(f"body does not decrypt: {error!r}")
        record["problems"] += problems
        if vapid_problems:
            return 403, {}, record
        if problems:
            return 400, {}, record
        answers = self.answers_for(path)
        status, retry_after = answers[min(index, len(answers) - 1)]
        return status, ({"Retry-After": retry_after} if retry_after else {}), record

    def record(self, record):
        with self.lock:
            self.messages.append(record)
            if self.args.log:
                with open(self.args.log, "a") as file:
                    file.write(json.dumps(record, ensure_ascii=False) + "\n")


def make_handler(service):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, payload=None, headers=None):
            body = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def read_body(self):
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return body
                    body += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def do_POST(self):
            body = self.read_body()
            if self.path == "/_control/subscriptions":
                return self.reply(201, service.add_subscription())
            status, headers, record = service.handle_push(self.path, self.headers, body)
            record["answered"] = status
            service.record(record)
            self.reply(status, None, headers)

        def do_GET(self):
            if self.path == "/_control/subscriptions":
                with service.lock:
                    return self.reply(200, [s.json for s in service.subscriptions.values()])
            if self.path == "/_control/messages":
                with service.lock:
                    return self.reply(200, list(service.messages))
            self.reply(404)

        def do_PUT(self):
            if self.path != "/_control/script":
                return self.reply(404)
            try:
                overrides = json.loads(self.read_body())
                for answers in overrides.values():
                    parse_answers(answers)
            except (ValueError, AttributeError) as error:
                return self.reply(400, {"error": str(error)})
            service.script_override = overrides
            self.reply(204)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--subscriber", action="append", default=[], metavar="KEY:AUTH",
                        help="a subscription with these keys: base64url of the 32-byte P-256 private scalar and of "
                             "the 16-byte auth secret (repeatable; these come first, as /push/1, /push/2, ...)")
    parser.add_argument("--subscriptions", type=int, default=None,
                        help="subscriptions with fresh keys made at startup (default 1, or 0 with --subscriber)")
    parser.add_argument("--log", help="append one JSON line per received push")
    parser.add_argument("--script", default="201", help="answers for paths without override, e.g. 429:1,201")
    parser.add_argument("--script-file", help="JSON {path: answers} overrides, re-read on each request")
    parser.add_argument("--ready-file", help="also write the startup JSON here")
    args = parser.parse_args()
    parse_answers(args.script)

    service = PushService(args)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(service))
    server.daemon_threads = True
    service.origin = f"http://{args.host}:{server.server_address[1]}"
    subscriptions = []
    for given in args.subscriber:
        key_text, _, auth_text = given.partition(":")
        try:
            private_key = ec.derive_private_key(int.from_bytes(b64url_decode(key_text), "big"), ec.SECP256R1())
            auth = b64url_decode(auth_text)
            if len(auth) != 16:
                raise ValueError("the auth secret must be 16 bytes")
        except ValueError as error:
            parser.error(f"--subscriber {given!r}: {error}")
        subscriptions.append(service.add_subscription(private_key, auth))
    generated = args.subscriptions if args.subscriptions is not None else (0 if args.subscriber else 1)
    subscriptions += [service.add_subscription() for _ in range(generated)]
    ready = json.dumps({"origin": service.origin, "subscriptions": subscriptions})
    if args.ready_file:
        with open(args.ready_file, "w") as file:
            file.write(ready + "\n")
    print(ready, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
