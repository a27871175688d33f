"""The installable app and Web Push on the volunteer page (PROTOCOL.md §8):
manifest and icons, the service worker at the root scope, pushes delivered
through the DevTools protocol (notification shown with the call's tag,
withdrawn by a call_update, accept and decline from the notification), and
the push settings against the server's §8 endpoints.

Headless Chromium reaches no real push service here, so
`ServiceWorker.deliverPushMessage` hands the plaintext to the worker's push
handler, and a notification button is pressed through the worker's
documented message hook (the same function the click handler calls).
Tests marked `push_api` need the server's §8 endpoints (push key,
subscriptions, alert area, PUT availability, receipts)."""

import json
import struct
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
import websocket  # PyPI websocket-client: a second DevTools client for ServiceWorker events
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By

from conftest import severe_logs
from pages import (
    click_css, grant_geolocation, js_click, text_in, visible, volunteer_ready, volunteer_signup, wait,
)


def http_get(url):
    with urllib.request.urlopen(url, timeout=10) as res:
        return res.status, res.headers.get("Content-Type", ""), res.read()


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def post_call(server, title, lat, lon, needed=2, radius=5):
    ends = (datetime.now(timezone.utc) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, call = server.api("POST", "/calls", token=server.org_token, body={
        "title": title, "location": {"lat": lat, "lon": lon}, "radiusKm": radius,
        "needed": needed, "endsAt": ends, "address": "Am Deich 1, Aachen"})
    assert status == 201, call
    return call


def push_payload(call, distance=1.2):
    return {"type": "alert", "callId": call["id"], "title": call["title"], "orgName": call.get("orgName", "Demo"),
            "address": call.get("address", ""), "distanceKm": distance, "startsAt": call["startsAt"],
            "endsAt": call["endsAt"], "needed": call["needed"], "confirmed": call.get("confirmed", 0)}


def worker_ready(d):
    """Wait for the active service worker; returns its scope."""
    return d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.serviceWorker.ready.then(r => done(r.scope), e => done('error: ' + e));")


def registration_id(d, base):
    """The worker's registration id, from ServiceWorker.workerRegistrationUpdated on a
    second DevTools connection (chromedriver's own connection does not pass events on)."""
    address = d.capabilities["goog:chromeOptions"]["debuggerAddress"]
    with urllib.request.urlopen(f"http://{address}/json", timeout=10) as res:
        targets = json.loads(res.read())
    page = next(t for t in targets if t.get("type") == "page" and t.get("url", "").startswith(base))
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
    try:
        ws.send(json.dumps({"id": 1, "method": "ServiceWorker.enable"}))
        deadline = time.time() + 10
        while time.time() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("method") != "ServiceWorker.workerRegistrationUpdated":
                continue
            for reg in msg["params"]["registrations"]:
                if reg["scopeURL"] == base + "/" and not reg.get("isDeleted"):
                    return reg["registrationId"]
        raise AssertionError("no service worker registration reported for " + base)
    finally:
        ws.close()


def deliver_push(d, base, reg_id, payload):
    d.execute_cdp_cmd("ServiceWorker.enable", {})  # chromedriver's session needs the domain on too
    d.execute_cdp_cmd("ServiceWorker.deliverPushMessage",
                      {"origin": base, "registrationId": reg_id, "data": json.dumps(payload)})


def push_until_shown(d, base, reg_id, payload, tag):
    """Delivers an alert push and waits for its notification. DevTools' deliverPushMessage is
    fire-and-forget: once in a CI run on a loaded machine the first one showed nothing within
    10 s. A push with the same tag replaces its notification, so a second delivery cannot
    make two; the count is still checked exactly."""
    for attempt in range(3):
        deliver_push(d, base, reg_id, payload)
        try:
            return wait_notifications(d, tag, 1, timeout=6)
        except TimeoutException:
            if attempt == 2:
                raise


def notifications(d, tag):
    return d.execute_async_script(
        "const tag = arguments[0], done = arguments[arguments.length - 1];"
        "navigator.serviceWorker.ready.then(r => r.getNotifications({tag}))"
        ".then(ns => done(ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data,"
        " requireInteraction: n.requireInteraction, actions: n.actions.map(a => [a.action, a.title])}))),"
        " e => done('error: ' + e));", tag)


def wait_notifications(d, tag, count, timeout=10):
    shown = []

    def check(_):
        nonlocal shown
        shown = notifications(d, tag)
        return isinstance(shown, list) and len(shown) == count

    wait(d, check, timeout, f"expected {count} notification(s) with tag {tag}")
    return shown


def share_token_with_worker(d):
    """What the page does when push is switched on: the token and language go to IndexedDB."""
    d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const p = JSON.parse(localStorage.getItem('helferruf.volunteer'));"
        "import('/js/volunteer/workerdata.js').then(m => m.shareWithWorker({token: p.token, lang: 'de'})).then(() => done(true));")


def worker_action(d, action, call_id):
    """Press a notification button through the worker's message hook; returns the result."""
    return d.execute_async_script(
        "const [action, callId] = arguments, done = arguments[arguments.length - 1];"
        "navigator.serviceWorker.ready.then(reg => {"
        "  const onMsg = (ev) => {"
        "    if (ev.data && ev.data.type === 'helferruf-action-done' && ev.data.callId === callId) {"
        "      navigator.serviceWorker.removeEventListener('message', onMsg); done({result: ev.data.result}); }"
        "  };"
        "  navigator.serviceWorker.addEventListener('message', onMsg);"
        "  reg.active.postMessage({type: 'helferruf-action', action, callId});"
        "});", action, call_id)


# ---------------------------------------------------------------- manifest and icons

def test_manifest_and_icons_load(server):
    status, ctype, raw = http_get(server.base + "/manifest.json")
    assert status == 200 and "json" in ctype, ctype
    m = json.loads(raw)
    assert m["lang"] == "de" and m["start_url"] == "/" and m["scope"] == "/" and m["display"] == "standalone"
    assert m["name"].startswith("Helferruf") and m["short_name"] == "Helferruf" and m["description"]
    assert m["theme_color"] == "#12324f" and m["background_color"] == "#f3f5f8"
    sizes = {}
    for icon in m["icons"]:
        status, ctype, raw = http_get(server.base + icon["src"])
        assert status == 200, icon
        if icon["type"] == "image/png":
            assert ctype.startswith("image/png"), (icon, ctype)
            w, h = png_size(raw)
            assert icon["sizes"] == f"{w}x{h}", (icon, w, h)
            sizes.setdefault(icon.get("purpose", "any"), set()).add(w)
        else:
            assert ctype.startswith("image/svg+xml"), (icon, ctype)
    assert {192, 512} <= sizes["any"]
    status, ctype, raw = http_get(server.base + "/img/apple-touch-icon.png")
    assert status == 200 and png_size(raw) == (180, 180)
    html = http_get(server.base + "/")[2].decode()
    assert '<link rel="manifest" href="/manifest.json">' in html
    assert 'rel="apple-touch-icon"' in html and 'name="theme-color"' in html
    status, ctype, _ = http_get(server.base + "/sw.js")
    assert status == 200 and "javascript" in ctype, ctype


def test_service_worker_registers_at_root_scope(server, browsers):
    d = browsers(360, 800)
    d.get(server.base + "/")
    visible(d, "#signup-form")
    assert worker_ready(d) == server.base + "/"
    # After activation it controls the page, and the shell is cached (never /api/).
    wait(d, lambda x: x.execute_script("return !!navigator.serviceWorker.controller"), 10, "page not controlled")
    cached = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "caches.keys().then(async names => { const out = [];"
        " for (const n of names) for (const r of await (await caches.open(n)).keys()) out.push(new URL(r.url).pathname);"
        " done(out); });")
    assert "/" in cached and "/js/volunteer.js" in cached and "/js/volunteer/push.js" in cached
    assert not [p for p in cached if p.startswith("/api/")]
    assert severe_logs(d) == []


def test_offline_shell_starts_without_the_server(server, browsers):
    d = browsers(360, 800)
    volunteer_signup(d, server.base, "Olli")
    worker_ready(d)
    wait(d, lambda x: x.execute_script("return !!navigator.serviceWorker.controller"), 10, "page not controlled")
    wait(d, lambda x: x.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "caches.keys().then(ns => Promise.all(ns.map(n => caches.open(n).then(c => c.match('/js/volunteer/push.js')))))"
        ".then(hits => done(hits.some(Boolean)));"), 10, "shell not cached")
    server.kill()
    try:
        d.refresh()
        # The page comes from the cache and shows the volunteer's page, waiting to reconnect.
        visible(d, "#app", timeout=10)
        text_in(d, "#hello", "Olli")
        wait(d, lambda x: x.find_element(By.ID, "conn").get_attribute("data-state") in ("waiting", "connecting"), 10)
    finally:
        server.start()
    wait(d, lambda x: x.find_element(By.ID, "conn").get_attribute("data-state") == "online", 40, "no reconnect")


def test_standing_availability_choices(server, browsers):
    d = browsers(360, 800)
    d.get(server.base + "/")
    visible(d, "#signup-form")
    out = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/js/volunteer/push.js').then(m => {"
        "  const at = (h, min) => new Date(2026, 11, 7, h, min);"
        "  const f = (c, d) => { const u = m.standingUntil(c, d); return u && [u.getDate(), u.getHours(), u.getMinutes()]; };"
        "  done({twoH: f('2h', at(10, 15)), tonight: f('tonight', at(10, 15)), lateTonight: f('tonight', at(21, 45)),"
        "        morning: f('morning', at(10, 15)), nightMorning: f('morning', at(2, 30)), none: f('none', at(10, 15))});"
        "});")
    assert out == {"twoH": [7, 12, 15], "tonight": [7, 22, 0], "lateTonight": [7, 23, 59],
                   "morning": [8, 8, 0], "nightMorning": [7, 8, 0], "none": None}


# ---------------------------------------------------------------- pushes through the DevTools protocol

def test_push_shows_notification_update_withdraws_and_actions_work(server, browsers):
    d = browsers(360, 800)
    volunteer_ready(d, server.base, "Paula", 50.7766, 6.0834)  # grants notifications too
    assert worker_ready(d) == server.base + "/"
    reg_id = registration_id(d, server.base)
    share_token_with_worker(d)

    # A call alerts the volunteer over the socket first (so an accept over HTTP is allowed).
    call = post_call(server, "Sandsäcke füllen an der Wurm", 50.7753, 6.0839, needed=1)
    visible(d, f'.alert-card[data-call-id="{call["id"]}"]', timeout=5)

    [n] = push_until_shown(d, server.base, reg_id, push_payload(call), call["id"])
    assert n["title"] == "Sandsäcke füllen an der Wurm"
    assert "1,2 km entfernt" in n["body"] and "von Demo" in n["body"] and "Am Deich 1" in n["body"]
    assert n["data"]["callId"] == call["id"] and n["requireInteraction"] is True
    assert n["actions"] == [["accept", "Ich komme"], ["decline", "Kann nicht"]]

    # An update that leaves the call open changes nothing; a filled or cancelled call withdraws it.
    deliver_push(d, server.base, reg_id, {"type": "call_update", "callId": call["id"], "status": "open",
                                          "confirmed": 0, "needed": 1})
    time.sleep(0.5)
    assert len(notifications(d, call["id"])) == 1
    deliver_push(d, server.base, reg_id, {"type": "call_update", "callId": call["id"], "status": "cancelled",
                                          "confirmed": 0, "needed": 1})
    wait_notifications(d, call["id"], 0)

    # "Ich komme" on the notification: confirmed over HTTP, without a page of its own.
    push_until_shown(d, server.base, reg_id, push_payload(call), call["id"])
    assert worker_action(d, "accept", call["id"]) == {"result": "confirmed"}
    status, body = server.api("GET", f"/calls/{call['id']}/confirmations", token=server.org_token)
    assert status == 200 and [c["displayName"] for c in body["confirmations"]] == ["Paula"]
    [n] = wait_notifications(d, call["id"], 1)  # the quiet answer replaces the alert
    assert n["body"] == "Danke! Du bist bestätigt." and not n["actions"]
    # The open page hears of it from the worker and shows the confirmation.
    visible(d, f'.confirmed-card[data-call-id="{call["id"]}"]', timeout=5)

    # "Kann nicht": no HTTP decline exists, so the worker closes the notification and the
    # page (here open) sends the socket's decline and hides the card.
    other = post_call(server, "Keller auspumpen", 50.7760, 6.0850)
    visible(d, f'.alert-card[data-call-id="{other["id"]}"]', timeout=5)
    push_until_shown(d, server.base, reg_id, push_payload(other, 0.4), other["id"])
    assert worker_action(d, "decline", other["id"]) == {"result": None}
    wait_notifications(d, other["id"], 0)
    wait(d, lambda x: not x.find_elements(By.CSS_SELECTOR, f'.alert-card[data-call-id="{other["id"]}"]'), 5,
         "declined card still shown")
    status, fresh = server.api("GET", f"/calls/{other['id']}", token=server.org_token)
    wait(d, lambda x: server.api("GET", f"/calls/{other['id']}", token=server.org_token)[1]["declined"] == 1, 5,
         "decline not recorded by the server")
    # The receipts endpoint is §8; on a server without it the worker's reports get 404.
    assert severe_logs(d, allow=(r"/receipts",)) == []


def test_english_notification_words(server, browsers):
    d = browsers(1280, 800)
    volunteer_signup(d, server.base, "Jo")
    js_click(d, d.find_element(By.ID, "lang"))
    wait(d, lambda x: x.execute_script("return document.documentElement.lang") == "en")
    grant_geolocation(d, server.base, 50.7766, 6.0834)
    worker_ready(d)
    reg_id = registration_id(d, server.base)
    d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/js/volunteer/workerdata.js').then(m => m.shareWithWorker({lang: 'en'})).then(() => done(true));")
    call = post_call(server, "Sandbags at the Wurm", 50.7753, 6.0839)
    [n] = push_until_shown(d, server.base, reg_id, push_payload(call, 12.3), call["id"])
    assert "12 km away" in n["body"] and "by Demo" in n["body"]
    assert n["actions"] == [["accept", "I'm coming"], ["decline", "Can't make it"]]


def test_sign_out_clears_what_the_worker_holds(server, browsers):
    d = browsers(360, 800)
    volunteer_signup(d, server.base, "Kim")
    worker_ready(d)
    share_token_with_worker(d)
    read = ("const done = arguments[arguments.length - 1];"
            "const o = indexedDB.open('helferruf-worker', 1);"
            "o.onupgradeneeded = () => o.result.createObjectStore('kv');"
            "o.onsuccess = () => { const r = o.result.transaction('kv').objectStore('kv').get('token');"
            " r.onsuccess = () => { o.result.close(); done(r.result || null); }; };")
    assert d.execute_async_script(read)
    js_click(d, d.find_element(By.ID, "forget"))
    js_click(d, visible(d, "#forget-confirm"))
    visible(d, "#signup-form")
    wait(d, lambda x: x.execute_async_script(read) is None, 5, "token still in IndexedDB after erasure")


# ---------------------------------------------------------------- push settings (server §8 endpoints)

STUB_PUSH = r"""
(() => {
  // Headless Chromium reaches no push service: stand in for the browser's
  // subscription (kept in localStorage across reloads) with a real P-256 key,
  // so that the server's checks apply.
  if (!window.PushManager) return;
  const KEY = "__stubPushSub";
  const b64 = (a) => btoa(String.fromCharCode(...a)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const wrap = (json) => json && {
    endpoint: json.endpoint,
    options: {applicationServerKey: Uint8Array.from(json.serverKey).buffer},
    toJSON() { return {endpoint: json.endpoint, expirationTime: null, keys: json.keys}; },
    async unsubscribe() {
      localStorage.removeItem(KEY);
      localStorage.setItem("__stubUnsubscribed", String(Number(localStorage.getItem("__stubUnsubscribed") || 0) + 1));
      return true;
    },
  };
  PushManager.prototype.subscribe = async function (opts) {
    const key = new Uint8Array(opts.applicationServerKey);
    const kp = await crypto.subtle.generateKey({name: "ECDH", namedCurve: "P-256"}, true, ["deriveBits"]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", kp.publicKey));
    const json = {
      endpoint: "ENDPOINT_BASE/push/" + Math.random().toString(36).slice(2),
      serverKey: Array.from(key), userVisibleOnly: opts.userVisibleOnly,
      keys: {p256dh: b64(raw), auth: b64(crypto.getRandomValues(new Uint8Array(16)))},
    };
    localStorage.setItem(KEY, JSON.stringify(json));
    return wrap(json);
  };
  PushManager.prototype.getSubscription = async function () {
    return wrap(JSON.parse(localStorage.getItem(KEY) || "null"));
  };
})();
"""


@pytest.mark.push_api
def test_push_switch_alert_area_and_standing_availability(server, browsers):
    d = browsers(360, 800)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                      {"source": STUB_PUSH.replace("ENDPOINT_BASE", server.push_origin)})
    volunteer_signup(d, server.base, "Mia")
    token = d.execute_script("return JSON.parse(localStorage.getItem('helferruf.volunteer')).token")
    grant_geolocation(d, server.base, 50.7766, 6.0834)
    worker_ready(d)
    toggle = visible(d, "#push-toggle")
    assert toggle.get_attribute("aria-checked") == "false"
    assert not d.find_element(By.ID, "push-settings").is_displayed()

    # On: permission (granted above), the server's key, subscribe, stored on the server.
    js_click(d, toggle)
    try:
        wait(d, lambda x: x.find_element(By.ID, "push-toggle").get_attribute("aria-checked") == "true", 10)
    except TimeoutException:
        raise AssertionError("push switch did not turn on: " + d.find_element(By.ID, "push-error").text)
    sub = json.loads(d.execute_script("return localStorage.getItem('__stubPushSub')"))
    assert sub["userVisibleOnly"] is True and len(sub["serverKey"]) == 65 and sub["serverKey"][0] == 4
    status, export = server.api("GET", "/volunteers/me/export", token=token)
    assert status == 200 and sub["endpoint"] in json.dumps(export)
    visible(d, "#push-settings")
    text_in(d, "#push-status", "Benachrichtigungsgebiet")

    # Standing availability needs an area first.
    js_click(d, d.find_element(By.ID, "standing-on"))
    text_in(d, "#standing-error", "Benachrichtigungsgebiet")

    # Alert area by place name, then from the current position; two decimals.
    box = d.find_element(By.ID, "area-input")
    box.send_keys("Köln")
    js_click(d, d.find_element(By.ID, "area-set"))
    text_in(d, "#area-status", "Köln")
    assert server.api("GET", "/volunteers/me", token=token)[1]["alertArea"] == {"lat": 50.94, "lon": 6.96}
    js_click(d, d.find_element(By.ID, "area-here"))
    text_in(d, "#area-status", "50,78, 6,08")
    assert server.api("GET", "/volunteers/me", token=token)[1]["alertArea"] == {"lat": 50.78, "lon": 6.08}
    text_in(d, "#push-status", "Eingeschaltet")

    # Available for two hours: the page's own switch follows.
    js_click(d, d.find_element(By.CSS_SELECTOR, 'input[name="standing"][value="2h"]'))
    js_click(d, d.find_element(By.ID, "standing-on"))
    text_in(d, "#standing-status", "verfügbar bis")
    assert d.find_element(By.ID, "avail").get_attribute("aria-checked") == "true"
    visible(d, "#standing-off")

    # With every page closed, the volunteer still counts as reachable at the area.
    d.get("about:blank")
    time.sleep(1)
    status, reach = server.api("GET", "/reach?lat=50.78&lon=6.08&radiusKm=5", token=server.org_token)
    assert status == 200 and reach["available"] >= 1, reach

    # Opened again: still on and still available (kept in this browser and on the server).
    d.get(server.base + "/")
    visible(d, "#app")
    wait(d, lambda x: x.find_element(By.ID, "push-toggle").get_attribute("aria-checked") == "true", 10)
    assert d.find_element(By.ID, "avail").get_attribute("aria-checked") == "true"

    # Off: unsubscribed here and deleted on the server.
    click_css(d, "#push-toggle")
    wait(d, lambda x: x.find_element(By.ID, "push-toggle").get_attribute("aria-checked") == "false", 10)
    assert d.execute_script("return localStorage.getItem('__stubUnsubscribed')") == "1"
    status, export = server.api("GET", "/volunteers/me/export", token=token)
    assert status == 200 and sub["endpoint"] not in json.dumps(export)
    assert severe_logs(d) == []
