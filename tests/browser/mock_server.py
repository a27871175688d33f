#!/usr/bin/env python3
"""A small stand-in for the Helferruf server, for developing the web pages.

It implements enough of PROTOCOL.md sections 1-5 (in memory, standard library
only) to click through the pages: static files, the HTTP API, /ws/volunteer and
/ws/dashboard. It is NOT the server and not used by the browser tests, which
run against the real binary. Run:

    python3 tests/browser/mock_server.py --port 8099 --web web
"""

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import json
import math
import mimetypes
import os
import secrets
import struct
import uuid
from urllib.parse import urlsplit, parse_qs

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def now():
    return dt.datetime.now(dt.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def parse_time(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def haversine(a, b):
    r = 6371.0088
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * r * math.asin(min(1, math.sqrt(h)))


class WS:
    def __init__(self, reader, writer):
        self.r, self.w = reader, writer
        self.closed = False

    async def recv(self):
        while True:
            h = await self.r.readexactly(2)
            op = h[0] & 0x0F
            ln = h[1] & 0x7F
            if ln == 126:
                ln = struct.unpack(">H", await self.r.readexactly(2))[0]
            elif ln == 127:
                ln = struct.unpack(">Q", await self.r.readexactly(8))[0]
            mask = await self.r.readexactly(4) if h[1] & 0x80 else b"\0\0\0\0"
            data = bytearray(await self.r.readexactly(ln))
            for i in range(len(data)):
                data[i] ^= mask[i % 4]
            if op == 8:
                await self.close(1000)
                return None
            if op == 9:
                self._frame(0xA, bytes(data))
                continue
            if op in (1, 2):
                return data.decode()

    def _frame(self, op, payload):
        ln = len(payload)
        if ln < 126:
            head = struct.pack(">BB", 0x80 | op, ln)
        elif ln < 65536:
            head = struct.pack(">BBH", 0x80 | op, 126, ln)
        else:
            head = struct.pack(">BBQ", 0x80 | op, 127, ln)
        self.w.write(head + payload)

    def send(self, obj):
        if not self.closed:
            self._frame(1, json.dumps(obj).encode())

    async def close(self, code, reason=""):
        if self.closed:
            return
        self.closed = True
        try:
            self._frame(8, struct.pack(">H", code) + reason.encode())
            await self.w.drain()
            self.w.close()
        except Exception:
            pass


class State:
    def __init__(self):
        self.orgs = {}  # token -> org
        self.vols = {}  # token -> vol
        self.calls = {}  # id -> call
        self.vol_socks = {}  # vol id -> set(WS)
        self.dash_socks = {}  # org id -> set(WS)
        self.live = {}  # vol id -> {available, until, loc}
        self.alerted = {}  # call id -> set(vol id)
        self.conf = {}  # call id -> list of (vol id, time)
        self.declined = {}  # call id -> set(vol id)
        self.sent = {}  # WS -> set(call id)

    def eligible(self, vid, call):
        st = self.live.get(vid)
        vol = next((v for v in self.vols.values() if v["id"] == vid), None)
        if not st or not vol or not st.get("available") or not st.get("loc") or call["status"] != "open":
            return None
        if st.get("until") and st["until"] < now():
            return None
        if vid in self.declined.get(call["id"], set()):
            return None
        d = haversine(st["loc"], (call["location"]["lat"], call["location"]["lon"]))
        if d > min(call["radiusKm"], vol["maxDistanceKm"]):
            return None
        if not set(call["skills"]) <= set(vol["skills"]):
            return None
        return d

    def push_alerts(self, vid):
        for ws in self.vol_socks.get(vid, set()):
            for call in self.calls.values():
                d = self.eligible(vid, call)
                if d is not None and call["id"] not in self.sent[ws]:
                    self.sent[ws].add(call["id"])
                    self.alerted.setdefault(call["id"], set()).add(vid)
                    call["alerted"] = len(self.alerted[call["id"]])
                    ws.send({"type": "alert", "call": {**call, "distanceKm": round(d, 3)}})
                    self.dash(call)

    def dash(self, call):
        for ws in self.dash_socks.get(call["orgId"], set()):
            ws.send({"type": "call", "call": call})

    def update(self, call):
        msg = {"type": "call_update", "callId": call["id"], "status": call["status"],
               "confirmed": call["confirmed"], "needed": call["needed"]}
        for vid in self.alerted.get(call["id"], set()):
            for ws in self.vol_socks.get(vid, set()):
                ws.send(msg)
        self.dash(call)


S = State()
DB = None


def save():
    if not DB:
        return
    data = {"orgs": S.orgs, "vols": S.vols, "calls": S.calls,
            "alerted": {k: sorted(v) for k, v in S.alerted.items()},
            "declined": {k: sorted(v) for k, v in S.declined.items()},
            "conf": {k: [[vid, iso(t)] for vid, t in v] for k, v in S.conf.items()}}
    with open(DB + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(DB + ".tmp", DB)


def load():
    if not DB or not os.path.exists(DB):
        return False
    data = json.load(open(DB))
    S.orgs, S.vols, S.calls = data["orgs"], data["vols"], data["calls"]
    S.alerted = {k: set(v) for k, v in data["alerted"].items()}
    S.declined = {k: set(v) for k, v in data["declined"].items()}
    S.conf = {k: [(vid, parse_time(t)) for vid, t in v] for k, v in data["conf"].items()}
    return True


def err(status, code, message, field=None):
    e = {"code": code, "message": message}
    if field:
        e["field"] = field
    return status, {"error": e}


def accept(vid, call_id):
    call = S.calls.get(call_id)
    if not call:
        return "not_found"
    confs = S.conf.setdefault(call_id, [])
    if any(v == vid for v, _ in confs):
        return "confirmed"
    if call["status"] in ("cancelled", "expired"):
        return "closed"
    if vid not in S.alerted.get(call_id, set()) and S.eligible(vid, call) is None:
        return "not_eligible"
    if len(confs) >= call["needed"]:
        return "full"
    confs.append((vid, now()))
    call["confirmed"] = len(confs)
    if call["confirmed"] >= call["needed"]:
        call["status"] = "filled"
    S.update(call)
    return "confirmed"


def withdraw(vid, call_id):
    call = S.calls.get(call_id)
    if not call:
        return "not_found"
    if call["status"] in ("cancelled", "expired"):
        return "closed"
    confs = S.conf.setdefault(call_id, [])
    S.conf[call_id] = [c for c in confs if c[0] != vid]
    call["confirmed"] = len(S.conf[call_id])
    if call["status"] == "filled" and call["confirmed"] < call["needed"]:
        call["status"] = "open"
    S.update(call)
    return "withdrawn"


def api(method, path, query, token, body):
    org = S.orgs.get(token)
    vol = S.vols.get(token)
    parts = path.strip("/").split("/")
    if path == "/volunteers" and method == "POST":
        name = (body.get("displayName") or "").strip()
        if not name or len(name) > 60:
            return err(422, "validation_failed", "displayName must be 1-60 characters", "displayName")
        v = {"id": str(uuid.uuid4()), "displayName": name, "skills": list(dict.fromkeys(body.get("skills") or [])),
             "maxDistanceKm": body.get("maxDistanceKm") or 10, "contact": body.get("contact")}
        tok = secrets.token_urlsafe(24)
        S.vols[tok] = v
        return 201, {**{k: v[k] for k in ("id", "displayName", "skills", "maxDistanceKm")}, "token": tok}
    if parts[0] == "volunteers" and len(parts) >= 2 and parts[1] == "me":
        if not vol:
            return err(401, "unauthorized", "unknown token")
        if len(parts) == 3 and parts[2] == "export":
            return 200, {"profile": vol}
        if method == "GET":
            return 200, vol
        if method == "PATCH":
            vol.update({k: body[k] for k in ("displayName", "skills", "maxDistanceKm", "contact") if k in body})
            return 200, vol
        if method == "DELETE":
            del S.vols[token]
            for ws in list(S.vol_socks.get(vol["id"], set())):
                asyncio.ensure_future(ws.close(4401))
            return 204, None
    if parts[0] == "reach":
        if not org:
            return err(401, "unauthorized", "no")
        lat, lon, r = float(query["lat"][0]), float(query["lon"][0]), float(query["radiusKm"][0])
        skills = [s for s in query.get("skills", [""])[0].split(",") if s]
        avail = conn = 0
        for v in S.vols.values():
            st = S.live.get(v["id"])
            if not st or not st.get("loc") or not S.vol_socks.get(v["id"]):
                continue
            d = haversine(st["loc"], (lat, lon))
            if d <= min(r, v["maxDistanceKm"]):
                conn += 1
                if st.get("available") and set(skills) <= set(v["skills"]):
                    avail += 1
        return 200, {"available": avail, "connected": conn}
    if parts[0] == "calls":
        if len(parts) == 3 and parts[2] in ("accept", "withdraw") and vol:
            res = (accept if parts[2] == "accept" else withdraw)(vol["id"], parts[1])
            if res == "not_found":
                return err(404, "not_found", "no such call")
            return 200, {"callId": parts[1], "result": res}
        if not org:
            return err(401 if not vol else 403, "unauthorized" if not vol else "forbidden", "no")
        if len(parts) == 1 and method == "GET":
            calls = sorted([c for c in S.calls.values() if c["orgId"] == org["id"]], key=lambda c: c["createdAt"], reverse=True)
            return 200, {"calls": calls}
        if len(parts) == 1 and method == "POST":
            title = (body.get("title") or "").strip()
            if not title:
                return err(422, "validation_failed", "title must be 1-120 characters", "title")
            loc = body.get("location") or {}
            if not isinstance(loc.get("lat"), (int, float)) or not -90 <= loc["lat"] <= 90:
                return err(422, "validation_failed", "lat must be -90..90", "location.lat")
            try:
                ends = parse_time(body["endsAt"])
            except Exception:
                return err(422, "validation_failed", "endsAt is required", "endsAt")
            if ends < now():
                return err(422, "validation_failed", "endsAt must lie in the future", "endsAt")
            starts = parse_time(body["startsAt"]) if body.get("startsAt") else now()
            c = {"id": str(uuid.uuid4()), "orgId": org["id"], "orgName": org["name"], "title": title,
                 "description": body.get("description", ""), "address": body.get("address", ""),
                 "location": loc, "radiusKm": body.get("radiusKm", 5), "needed": body.get("needed", 1),
                 "skills": body.get("skills", []), "startsAt": iso(starts), "endsAt": iso(ends),
                 "createdAt": iso(now()), "status": "open", "confirmed": 0, "alerted": 0, "declined": 0, "endedAt": None}
            S.calls[c["id"]] = c
            S.dash(c)
            for vid in list(S.vol_socks):
                S.push_alerts(vid)
            return 201, c
        call = S.calls.get(parts[1])
        if not call or call["orgId"] != org["id"]:
            return err(404, "not_found", "no such call")
        if len(parts) == 2:
            return 200, call
        if parts[2] == "cancel":
            call["status"] = "cancelled"
            call["endedAt"] = iso(now())
            S.update(call)
            return 200, call
        if parts[2] == "confirmations":
            by_id = {v["id"]: v for v in S.vols.values()}
            out = []
            for vid, t in S.conf.get(call["id"], []):
                v = by_id.get(vid)
                out.append({"volunteerId": vid, "displayName": v["displayName"] if v else None,
                            "contact": v.get("contact") if v else None, "confirmedAt": iso(t)})
            return 200, {"confirmations": out}
    return err(404, "not_found", "no route")


async def volunteer_ws(ws):
    msg = json.loads(await ws.recv())
    vol = S.vols.get(msg.get("token"))
    if msg.get("type") != "hello" or not vol:
        await ws.close(4401)
        return
    vid = vol["id"]
    S.vol_socks.setdefault(vid, set()).add(ws)
    S.sent[ws] = set()
    alerts = []
    for c in S.calls.values():
        d = S.eligible(vid, c)
        if d is not None:
            S.sent[ws].add(c["id"])
            alerts.append({**c, "distanceKm": round(d, 3)})
    confirmed = [c for c in S.calls.values() if c["status"] in ("open", "filled")
                 and any(v == vid for v, _ in S.conf.get(c["id"], []))]
    ws.send({"type": "welcome", "volunteerId": vid, "alerts": alerts, "confirmed": confirmed})
    try:
        while True:
            raw = await ws.recv()
            if raw is None:
                break
            m = json.loads(raw)
            save()
            st = S.live.setdefault(vid, {})
            t = m.get("type")
            if t == "availability":
                st["available"] = m.get("status") == "available"
                st["until"] = parse_time(m["until"]) if m.get("until") else None
                S.push_alerts(vid)
            elif t == "location":
                st["loc"] = (m["lat"], m["lon"])
                S.push_alerts(vid)
            elif t in ("accept", "withdraw"):
                res = (accept if t == "accept" else withdraw)(vid, m["callId"])
                if res == "not_found":
                    ws.send({"type": "error", "code": "not_found", "message": "no call", "requestId": m.get("requestId")})
                else:
                    ws.send({"type": "accept_result", "callId": m["callId"], "requestId": m.get("requestId"), "result": res})
                save()
            elif t == "decline":
                S.declined.setdefault(m["callId"], set()).add(vid)
                c = S.calls.get(m["callId"])
                if c:
                    c["declined"] = len(S.declined[m["callId"]])
                    S.dash(c)
            else:
                ws.send({"type": "error", "code": "unknown_type", "message": "unknown type " + str(t)})
    finally:
        S.vol_socks[vid].discard(ws)


async def dashboard_ws(ws):
    msg = json.loads(await ws.recv())
    org = S.orgs.get(msg.get("token"))
    if msg.get("type") != "hello" or not org:
        await ws.close(4401)
        return
    S.dash_socks.setdefault(org["id"], set()).add(ws)
    ws.send({"type": "snapshot", "calls": [c for c in S.calls.values() if c["orgId"] == org["id"]]})
    try:
        while await ws.recv() is not None:
            pass
    finally:
        S.dash_socks[org["id"]].discard(ws)


async def handle(reader, writer, web):
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            method, target, _ = line.decode().split(" ", 2)
            headers = {}
            while True:
                h = (await reader.readline()).decode()
                if h in ("\r\n", "\n", ""):
                    break
                k, v = h.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            body = b""
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            url = urlsplit(target)
            path = url.path
            if headers.get("upgrade", "").lower() == "websocket":
                key = headers["sec-websocket-key"]
                accept_key = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
                writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              f"Sec-WebSocket-Accept: {accept_key}\r\n\r\n").encode())
                ws = WS(reader, writer)
                try:
                    await (volunteer_ws if path == "/ws/volunteer" else dashboard_ws)(ws)
                except (asyncio.IncompleteReadError, ConnectionError):
                    pass
                return
            ctype = "application/json"
            if path.startswith("/api/v1/"):
                token = headers.get("authorization", "")[7:]
                try:
                    data = json.loads(body) if body else {}
                except ValueError:
                    data = None
                if data is None or not isinstance(data, dict):
                    status, obj = err(400, "bad_json", "bad json")
                else:
                    status, obj = api(method, path[7:], parse_qs(url.query), token, data)
                    save()
                payload = b"" if obj is None else json.dumps(obj).encode()
            else:
                f = {"/": "volunteer.html", "/console": "console.html", "/dashboard": "dashboard.html"}.get(path, path.lstrip("/"))
                fp = os.path.normpath(os.path.join(web, f))
                if fp.startswith(os.path.abspath(web)) and os.path.isfile(fp):
                    status = 200
                    payload = open(fp, "rb").read()
                    ctype = mimetypes.guess_type(fp)[0] or "application/octet-stream"
                    if fp.endswith(".js"):
                        ctype = "text/javascript"
                else:
                    status, payload = 404, b"{}"
            reason = {200: "OK", 201: "Created", 204: "No Content"}.get(status, "Error")
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                         "Cache-Control: no-store\r\n\r\n".encode() + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--web", default="web")
    ap.add_argument("--db", default=None)
    ap.add_argument("--rate-limits", default="on")
    ap.add_argument("command", nargs="?", default="serve")
    a = ap.parse_args()
    web = os.path.abspath(a.web)
    global DB
    DB = a.db
    if not load():
        org = {"id": str(uuid.uuid4()), "name": "Demo"}
        tok = secrets.token_urlsafe(24)
        S.orgs[tok] = org
        print(json.dumps({**org, "token": tok}), flush=True)
        save()
    server = await asyncio.start_server(lambda r, w: handle(r, w, web), a.host, a.port, reuse_address=True)
    print(f"listening on http://{a.host}:{a.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
