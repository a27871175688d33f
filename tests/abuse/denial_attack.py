#!/usr/bin/env python3
"""The scripted denial-of-help attack of PROTOCOL.md §11 (OWASP OAT-021), against the real
server binary on loopback.

One client address registers volunteers as fast as it can and lets every account accept
every open call it is alerted for. An organisation has posted ten overlapping calls of ten
places each (100 places). The script runs the attack twice, each against a fresh server:

  before  the old defaults: --limit-registrations 10000/h:10000 and no overlap rule to speak
          of (--max-overlapping 100);
  after   the §11 defaults: --limit-registrations 100/h:20 and --max-overlapping 3.

Then, on the "after" server, the organisation removes and blocks every attacker account
through the API, and the script checks that every place taken is free again.

The clock is compressed: registrations run for REGISTER_SECONDS (3 s), not a minute. The
first minute's figure is what was measured in those seconds plus what the limit lets
through in the rest of the minute: for the token bucket of `100/h:20` that is the burst
(measured) plus 100/3600 per second (computed); for the old limit the measured rate times
sixty, up to its burst of 10,000. The attack on the calls uses at most MAX_ACCOUNTS
accounts, enough to take every place before.

Usage: denial_attack.py BINARY  (prints one JSON line of figures; exit 1 on a failed check)
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import websockets

REGISTER_SECONDS = 3.0
CALLS = 10
NEEDED = 10
MAX_ACCOUNTS = 60
SPOT = {"lat": 50.7753, "lon": 6.0839}


class Server:
    def __init__(self, binary, args):
        self.tmp = tempfile.mkdtemp(prefix="helferruf-attack-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.lines = []
        self.proc = subprocess.Popen(
            [os.path.abspath(binary), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--db", os.path.join(self.tmp, "db.sqlite"),
             "--log-level", "warning"] + args,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=self.tmp)
        listening = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(line.strip())
                if line.startswith("listening on"):
                    listening.set()
        threading.Thread(target=read, daemon=True).start()
        if not listening.wait(90):
            self.stop()
            raise RuntimeError("server did not start")
        self.org_token = next(json.loads(l)["token"] for l in self.lines if l.startswith("{"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def api(self, method, path, token=None, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + "/api/v1" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None), dict(r.headers)
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, (json.loads(text) if text else None), dict(e.headers)


def register_flood(server):
    """Registers as fast as one client can for REGISTER_SECONDS; returns the accounts made,
    the refusals and the Retry-After of the first refusal."""
    accounts, refused, retry_after = [], 0, None
    started = time.monotonic()
    while time.monotonic() - started < REGISTER_SECONDS:
        status, body, headers = server.api("POST", "/volunteers", body={"displayName": f"Bot {len(accounts)}", "skills": []})
        if status == 201:
            accounts.append(body)
        elif status == 429:
            refused += 1
            if retry_after is None:
                retry_after = int(headers.get("Retry-After", "0"))
        else:
            raise RuntimeError(f"registration answered {status}: {body}")
    return accounts, refused, retry_after, time.monotonic() - started


def post_calls(server):
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
    ids = []
    for i in range(CALLS):
        status, call, _ = server.api("POST", "/calls", server.org_token, {
            "title": f"Sandsäcke {i + 1}", "location": SPOT, "radiusKm": 5, "needed": NEEDED, "endsAt": ends})
        assert status == 201, call
        ids.append(call["id"])
    return ids


async def take_places(server, account, calls):
    """One attacker account: connect, become available at the calls' spot, accept every call
    alerted. Returns the results by call."""
    results = {}
    async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws/volunteer", max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": account["token"]}))
        await ws.send(json.dumps({"type": "location", **SPOT}))
        await ws.send(json.dumps({"type": "availability", "status": "available"}))
        alerted = set()
        deadline = time.monotonic() + 10
        while len(results) < len(calls) and time.monotonic() < deadline:
            try:
                msg = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            if msg.get("type") == "welcome":
                for a in msg.get("alerts", []):
                    alerted.add(a["call"]["id"])
                    await ws.send(json.dumps({"type": "accept", "callId": a["call"]["id"], "requestId": a["call"]["id"]}))
            elif msg.get("type") == "alert" and msg["call"]["id"] not in alerted:
                alerted.add(msg["call"]["id"])
                await ws.send(json.dumps({"type": "accept", "callId": msg["call"]["id"], "requestId": msg["call"]["id"]}))
            elif msg.get("type") == "accept_result" and msg.get("requestId"):
                results[msg["callId"]] = msg["result"]
    return results


async def attack_calls(server, accounts, calls):
    per_account = await asyncio.gather(*(take_places(server, a, calls) for a in accounts))
    return per_account


def confirmed_total(server, calls):
    total, filled = 0, 0
    for cid in calls:
        _, call, _ = server.api("GET", f"/calls/{cid}", server.org_token)
        total += call["confirmed"]
        filled += call["status"] == "filled"
    return total, filled


def run(binary, label, args):
    server = Server(binary, args)
    try:
        accounts, refused, retry_after, seconds = register_flood(server)
        calls = post_calls(server)
        attackers = accounts[:MAX_ACCOUNTS]
        results = asyncio.run(attack_calls(server, attackers, calls))
        held = [sum(1 for r in rs.values() if r == "confirmed") for rs in results]
        taken, filled = confirmed_total(server, calls)
        figures = {
            "registered": len(accounts), "refused": refused, "retry_after_s": retry_after,
            "register_seconds": round(seconds, 2), "registrations_per_s": round(len(accounts) / seconds, 1),
            "attackers": len(attackers), "places": CALLS * NEEDED, "places_taken": taken, "calls_filled": filled,
            "max_places_per_account": max(held, default=0),
            "limit_answers": sum(1 for rs in results for r in rs.values() if r == "limit"),
        }
        if label == "after":
            figures["cleanup"] = clean_up(server, attackers, calls)
        return figures
    finally:
        server.stop()


def clean_up(server, attackers, calls):
    """The organisation removes every attacker from every call and blocks them, over the API."""
    started = time.monotonic()
    removed = 0
    for a in attackers:
        status, _, _ = server.api("POST", "/blocks", server.org_token, {"volunteerId": a["id"]})
        assert status == 201, status
        for cid in calls:
            status, _, _ = server.api("POST", f"/calls/{cid}/confirmations/{a['id']}/remove", server.org_token)
            assert status in (200, 404), status
            removed += status == 200
    seconds = time.monotonic() - started
    taken, _ = confirmed_total(server, calls)
    return {"removed": removed, "blocked": len(attackers), "api_seconds": round(seconds, 2), "places_taken_after": taken}


def main(binary):
    before = run(binary, "before", ["--limit-registrations", "10000/h:10000", "--max-overlapping", "100"])
    after = run(binary, "after", [])
    before["accounts_first_minute"] = min(10000, round(before["registrations_per_s"] * 60))
    # Token bucket 100/h:20: the burst (as measured) plus the refill over the rest of the minute.
    after["accounts_first_minute"] = round(after["registered"] + 100 / 3600 * (60 - after["register_seconds"]), 1)
    report = {"before": before, "after": after}
    print(json.dumps(report))
    return report


def check(report):
    """The §11 targets; returns the failures."""
    b, a = report["before"], report["after"]
    failures = []
    if b["places_taken"] != b["places"]:
        failures.append(f"before: the attack took {b['places_taken']} of {b['places']} places, expected all")
    if a["registered"] != 20:
        failures.append(f"after: {a['registered']} registrations in the burst, expected 20")
    if a["refused"] < 1 or not a["retry_after_s"]:
        failures.append("after: no 429 with Retry-After")
    if a["accounts_first_minute"] > 22:
        failures.append(f"after: {a['accounts_first_minute']} accounts in the first minute")
    if a["max_places_per_account"] > 3:
        failures.append(f"after: an account held {a['max_places_per_account']} overlapping places")
    if a["places_taken"] > 3 * a["registered"]:
        failures.append(f"after: {a['places_taken']} places taken by {a['registered']} accounts")
    if a["cleanup"]["places_taken_after"] != 0:
        failures.append(f"after clean-up: {a['cleanup']['places_taken_after']} places still taken")
    return failures


if __name__ == "__main__":
    report = main(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/helferruf")
    problems = check(report)
    for p in problems:
        print("FAILED:", p, file=sys.stderr)
    sys.exit(1 if problems else 0)
