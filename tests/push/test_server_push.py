"""The server's Web Push end to end, over the wire (PROTOCOL.md §8).

push_service.py stands in for a browser's push service: it checks every request's VAPID token
(ES256, aud, exp, sub) and decrypts its body with the subscriber's keys (PyPI's cryptography and
http_ece). The helferruf binary (HELFERRUF_BIN, default .build/debug/helferruf) runs with that
service as its only allowed push origin and a 2-second fallback, on a temporary database.

Each scenario alerts near a town of its own, so that the volunteers of one scenario are never
eligible for another's calls. Every wait has a deadline; a failing test prints the tail of the
server's and the push service's output.

Run from the repository root after `swift build`:
    pip install pytest cryptography http_ece websockets
    python3 -m pytest tests/push/test_server_push.py
"""

import asyncio
import base64
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

websockets = pytest.importorskip("websockets")

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# Relative to the directory pytest runs in (the processes themselves run in a temp dir).
BINARY = os.path.abspath(os.environ.get("HELFERRUF_BIN", str(ROOT / ".build/debug/helferruf")))
SUBJECT = "mailto:leitstelle@example.org"
FALLBACK_SECONDS = 2
ALERT_FIELDS = {"type", "callId", "title", "orgName", "address", "distanceKm", "startsAt", "endsAt", "needed", "confirmed"}
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
# One town per scenario: (lat, lon) of the call; volunteers stand or live within 1 km.
AACHEN, KOELN, BONN, DUEREN, SIEGEN = (50.7753, 6.0839), (50.9375, 6.9603), (50.7374, 7.0982), (50.8045, 6.4927), (50.8748, 8.0243)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=10.0, interval=0.1):
    """Polls `check` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Process:
    """A child process whose output is kept (for the failure report) and scanned by a thread."""

    def __init__(self, command, cwd, env=None):
        self.lines = []
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     cwd=cwd, env=env)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def first_line(self, pattern, timeout):
        def found():
            if self.proc.poll() is not None:
                raise AssertionError("exited early:\n" + self.tail())
            return next((line for line in list(self.lines) if re.search(pattern, line)), None)
        try:
            return wait_for(f"a line matching {pattern!r}", found, timeout)
        except AssertionError as error:
            raise AssertionError(f"{error}; output so far:\n{self.tail()}") from None

    def tail(self, n=60):
        return "\n".join(self.lines[-n:])

    def stop(self):
        """SIGTERM, then SIGKILL after 15 s; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class Stack:
    """push_service.py and the server, wired to each other."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.push = self.server = None

    def start(self):
        tmp = self.tmp
        key = ec.generate_private_key(ec.SECP256R1())
        self.subscriber = (b64url(key.private_numbers().private_value.to_bytes(32, "big")), b64url(os.urandom(16)))
        self.push = Process([sys.executable, str(HERE / "push_service.py"), "--port", "0",
                             "--subscriber=" + ":".join(self.subscriber)], cwd=tmp)
        ready = json.loads(self.push.first_line(r'^\{"origin"', 30))
        self.origin = ready["origin"]
        self.first_subscription = ready["subscriptions"][0]
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, SWIFT_BACKTRACE="enable=yes,interactive=no,threads=all")
        self.server = Process([BINARY, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                               "--db", os.path.join(tmp, "helferruf.sqlite"), "--rate-limits", "off",
                               "--push-endpoints", self.origin, "--push-fallback-seconds", str(FALLBACK_SECONDS),
                               "--push-subject", SUBJECT], cwd=tmp, env=env)
        self.server.first_line(r"listening on http://", 90)
        demo = next(json.loads(line) for line in self.server.lines if line.startswith("{") and '"token"' in line)
        self.org_token = demo["token"]

    def stop(self):
        for process in (self.server, self.push):
            if process is not None:
                process.stop()

    # --- HTTP -------------------------------------------------------------------------------

    def request(self, url, method="GET", token=None, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, json.loads(text) if text else None

    def api(self, method, path, token=None, body=None):
        return self.request(self.base + "/api/v1" + path, method, token, body)

    def control(self, method, path, body=None):
        return self.request(self.origin + "/_control" + path, method, body=body)

    # --- Helpers ----------------------------------------------------------------------------

    def new_subscription(self):
        status, subscription = self.control("POST", "/subscriptions")
        assert status == 201
        return subscription

    def volunteer(self, name, subscription=None, alert_area=None, available=False):
        status, v = self.api("POST", "/volunteers", body={"displayName": name, "skills": [], "maxDistanceKm": 10})
        assert status == 201, v
        if subscription is not None:
            status, body = self.api("POST", "/volunteers/me/push", v["token"], subscription)
            assert status == 201, body
        if alert_area is not None:
            status, body = self.api("PATCH", "/volunteers/me", v["token"], {"alertArea": {"lat": alert_area[0], "lon": alert_area[1]}})
            assert status == 200, body
        if available:
            status, body = self.api("PUT", "/volunteers/me/availability", v["token"], {"status": "available"})
            assert status == 200 and body["status"] == "available", body
        return v

    def call(self, place, minutes=60, title="Sandsäcke füllen"):
        ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + minutes * 60))
        status, call = self.api("POST", "/calls", self.org_token, {
            "title": title, "address": "Am Markt 1", "location": {"lat": place[0], "lon": place[1]}, "radiusKm": 5,
            "needed": 3, "skills": [], "endsAt": ends})
        assert status == 201, call
        return call

    def messages(self, subscription):
        path = "/" + subscription["endpoint"].split("/", 3)[3]
        status, messages = self.control("GET", "/messages")
        assert status == 200
        return [m for m in messages if m["path"] == path]

    def pushes(self, subscription, kind, call_id):
        return [m for m in self.messages(subscription)
                if (m["payload"] or {}).get("type") == kind and m["payload"].get("callId") == call_id]


@pytest.fixture(scope="module")
def stack():
    if not os.path.exists(BINARY):
        message = f"no server binary at {BINARY} (swift build first, or set HELFERRUF_BIN)"
        if "HELFERRUF_BIN" in os.environ:
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="helferruf-push-") as tmp:
        s = Stack(tmp)
        try:
            s.start()
            yield s
        finally:
            s.stop()


@pytest.fixture(autouse=True)
def logs_on_failure(request, stack):
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        print("---- server output (tail) ----\n" + stack.server.tail())
        print("---- push service output (tail) ----\n" + stack.push.tail())


def check_vapid_and_headers(stack, message):
    assert message["problems"] == [], message["problems"]
    assert message["answered"] == 201
    vapid = message["vapid"]
    assert vapid["aud"] == stack.origin
    assert message["time"] < vapid["exp"] <= message["time"] + 86400
    assert vapid["sub"] == SUBJECT
    headers = message["headers"]
    assert headers["content_encoding"] == "aes128gcm"
    assert headers["topic"] and TOPIC.fullmatch(headers["topic"])


def test_an_alert_push_and_its_retraction(stack):
    subscription = stack.first_subscription
    v = stack.volunteer("Anna", subscription, alert_area=AACHEN, available=True)
    posted = time.time()
    call = stack.call(AACHEN, minutes=30)

    alert = wait_for("the alert push", lambda: stack.pushes(subscription, "alert", call["id"]))[0]
    check_vapid_and_headers(stack, alert)
    assert set(alert["payload"]) == ALERT_FIELDS
    assert alert["payload"]["title"] == "Sandsäcke füllen" and alert["payload"]["needed"] == 3
    ends = datetime.fromisoformat(call["endsAt"].replace("Z", "+00:00")).timestamp()
    ttl = int(alert["headers"]["ttl"])
    # Seconds to endsAt when the push was made: after the call was posted, before it arrived.
    assert 0 < ttl <= 86400 and ends - alert["time"] - 2 <= ttl <= ends - posted + 1, (ttl, ends - posted)
    assert alert["headers"]["urgency"] == "high"
    status, fetched = stack.api("GET", f"/calls/{call['id']}", stack.org_token)
    assert status == 200 and fetched["alerted"] == 1

    time.sleep(1)  # nothing more may follow
    assert len(stack.pushes(subscription, "alert", call["id"])) == 1

    status, cancelled = stack.api("POST", f"/calls/{call['id']}/cancel", stack.org_token)
    assert status == 200 and cancelled["status"] == "cancelled"
    update = wait_for("the call_update push", lambda: stack.pushes(subscription, "call_update", call["id"]))[0]
    check_vapid_and_headers(stack, update)
    assert update["payload"] == {"type": "call_update", "callId": call["id"], "status": "cancelled", "confirmed": 0, "needed": 3}
    assert update["headers"]["topic"] == alert["headers"]["topic"]
    assert update["headers"]["urgency"] == "normal"
    assert len(stack.messages(subscription)) == 2
    # Off duty, so that this volunteer stays out of the other scenarios.
    assert stack.api("PUT", "/volunteers/me/availability", v["token"], {"status": "unavailable"})[0] == 200


def test_a_subscription_answered_410_is_deleted(stack):
    subscription = stack.new_subscription()
    path = "/" + subscription["endpoint"].split("/", 3)[3]
    assert stack.control("PUT", "/script", {path: "410"})[0] == 204
    v = stack.volunteer("Ben", subscription, alert_area=KOELN, available=True)
    status, export = stack.api("GET", "/volunteers/me/export", v["token"])
    assert status == 200 and [s["endpoint"] for s in export["pushSubscriptions"]] == [subscription["endpoint"]]

    first = stack.call(KOELN)
    wait_for("the push answered 410", lambda: stack.messages(subscription))
    assert stack.messages(subscription)[0]["answered"] == 410

    def deleted():
        status, export = stack.api("GET", "/volunteers/me/export", v["token"])
        return status == 200 and export["pushSubscriptions"] == []
    wait_for("the subscription's deletion", deleted)

    second = stack.call(KOELN)
    time.sleep(2)
    assert len(stack.messages(subscription)) == 1
    status, fetched = stack.api("GET", f"/calls/{second['id']}", stack.org_token)
    assert status == 200 and fetched["alerted"] == 0
    assert first["id"] != second["id"]


async def socket_volunteer(stack, token, place):
    ws = await websockets.connect(f"ws://127.0.0.1:{stack.port}/ws/volunteer", open_timeout=10)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert welcome["type"] == "welcome", welcome
    await ws.send(json.dumps({"type": "location", "lat": place[0] + 0.001, "lon": place[1] + 0.001}))
    await ws.send(json.dumps({"type": "availability", "status": "available"}))
    return ws


async def next_alert(ws, call_id):
    async def read():
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "alert" and message["call"]["id"] == call_id:
                return message
    return await asyncio.wait_for(read(), 10)


def test_the_fallback_push_goes_only_to_a_socket_that_did_not_confirm_receipt(stack):
    silent_sub, receiving_sub = stack.new_subscription(), stack.new_subscription()
    silent = stack.volunteer("Clara", silent_sub)
    receiving = stack.volunteer("Dana", receiving_sub)

    async def scenario():
        silent_ws = await socket_volunteer(stack, silent["token"], BONN)
        receiving_ws = await socket_volunteer(stack, receiving["token"], BONN)
        try:
            await asyncio.sleep(0.3)  # availability and location are applied in order, before the call
            call = await asyncio.to_thread(stack.call, BONN)
            await next_alert(silent_ws, call["id"])
            await next_alert(receiving_ws, call["id"])
            alerted_at = time.time()
            await receiving_ws.send(json.dumps({"type": "received", "callId": call["id"]}))
            pushes = await asyncio.to_thread(
                wait_for, "the fallback push", lambda: stack.pushes(silent_sub, "alert", call["id"]), FALLBACK_SECONDS + 8)
            waited = pushes[0]["time"] - alerted_at
            assert FALLBACK_SECONDS - 0.5 <= waited <= FALLBACK_SECONDS + 3, waited
            check_vapid_and_headers(stack, pushes[0])
            await asyncio.sleep(FALLBACK_SECONDS + 1)
            assert stack.messages(receiving_sub) == []
            assert len(stack.pushes(silent_sub, "alert", call["id"])) == 1
        finally:
            await silent_ws.close()
            await receiving_ws.close()

    asyncio.run(scenario())


def test_a_volunteer_without_a_socket_is_pushed_at_once(stack):
    subscription = stack.new_subscription()
    stack.volunteer("Emil", subscription, alert_area=DUEREN, available=True)
    call = stack.call(DUEREN)
    alert = wait_for("the alert push", lambda: stack.pushes(subscription, "alert", call["id"]), 5)[0]
    check_vapid_and_headers(stack, alert)


def test_an_endpoint_not_on_the_list_is_refused_at_subscribe(stack):
    status, v = stack.api("POST", "/volunteers", body={"displayName": "Frieda", "skills": []})
    assert status == 201
    subscription = stack.new_subscription()
    for endpoint in ["https://fcm.googleapis.com/fcm/send/x", f"http://127.0.0.1:{free_port()}/push/1",
                     subscription["endpoint"].replace("127.0.0.1", "localhost")]:
        status, body = stack.api("POST", "/volunteers/me/push", v["token"], dict(subscription, endpoint=endpoint))
        assert status == 422 and body["error"]["field"] == "endpoint", (endpoint, body)
    status, export = stack.api("GET", "/volunteers/me/export", v["token"])
    assert status == 200 and export["pushSubscriptions"] == []


def test_sigterm_with_a_push_waiting_for_its_retry_stops_cleanly(tmp_path):
    """A push service answering 503 leaves a retry pending; SIGTERM gives it up (abandoned)
    and the server still exits 0 within the contract's 10 seconds."""
    if not os.path.exists(BINARY):
        pytest.skip(f"no server binary at {BINARY}")
    s = Stack(str(tmp_path))
    try:
        s.start()
        subscription = s.new_subscription()
        path = "/" + subscription["endpoint"].split("/", 3)[3]
        assert s.control("PUT", "/script", {path: "503:30"})[0] == 204
        s.volunteer("Gerd", subscription, alert_area=SIEGEN, available=True)
        s.call(SIEGEN)
        wait_for("the first try", lambda: s.messages(subscription))
        started = time.monotonic()
        code = s.server.stop()
        took = time.monotonic() - started
        assert code == 0 and took < 10, (code, took, s.server.tail())
        assert len(s.messages(subscription)) == 1
    finally:
        s.stop()
