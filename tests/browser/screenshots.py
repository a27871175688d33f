"""Regenerate the PNG screenshots in docs/screenshots/ with realistic content.

Starts the server (HELFERRUF_BIN, default .build/debug/helferruf) on a temp
database, connects a handful of simulated volunteers over WebSocket, posts a
few calls, and photographs the three pages at phone (360x800) and desktop
(1280x800) width. Run through scripts/screenshots.
"""

import base64
import json
import os
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))

from selenium.webdriver.common.by import By  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from conftest import ROOT, Server, make_driver, set_viewport  # noqa: E402
from pages import (  # noqa: E402
    click_css, console_fill_call, js_click, org_signin, text_in, visible, volunteer_set_available, volunteer_signup,
    volunteer_type_location, wait,
)

warnings.filterwarnings("ignore", category=DeprecationWarning)

OUT = os.path.join(ROOT, "docs", "screenshots")
CENTER = (50.9375, 6.9603)


class SimVolunteer:
    """A volunteer without a browser: a WebSocket that is available nearby."""

    def __init__(self, server, name, skills, offset):
        status, res = server.api("POST", "/volunteers", body={"displayName": name, "skills": skills,
                                                              "maxDistanceKm": 20, "contact": f"0170 55{offset:04d}"})
        assert status == 201, res
        self.token = res["token"]
        self.alerts = {}
        self.ws = connect(server.base.replace("http", "ws") + "/ws/volunteer")
        self.ws.send(json.dumps({"type": "hello", "token": self.token}))
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        lat = CENTER[0] + 0.004 * ((offset % 5) - 2)
        lon = CENTER[1] + 0.006 * ((offset % 3) - 1)
        self.send({"type": "location", "lat": lat, "lon": lon})
        self.send({"type": "availability", "status": "available"})

    def _read(self):
        try:
            for raw in self.ws:
                msg = json.loads(raw)
                if msg.get("type") == "alert":
                    self.alerts[msg["call"]["id"]] = msg["call"]
                    # Funnel receipts (protocol 1.1), as the web page sends them.
                    self.send({"type": "received", "callId": msg["call"]["id"]})
                    self.send({"type": "seen", "callId": msg["call"]["id"]})
                elif msg.get("type") == "welcome":
                    for c in msg.get("alerts", []):
                        self.alerts[c["id"]] = c
        except Exception:
            pass

    def send(self, obj):
        with self.lock:
            self.ws.send(json.dumps(obj))

    def accept(self, call_id):
        self.send({"type": "accept", "callId": call_id, "requestId": "s"})

    def decline(self, call_id):
        self.send({"type": "decline", "callId": call_id})


def post_call(server, **kw):
    now = time.time()
    body = {
        "title": kw["title"], "description": kw.get("description", ""), "address": kw.get("address", ""),
        "location": {"lat": kw.get("lat", CENTER[0]), "lon": kw.get("lon", CENTER[1])},
        "radiusKm": kw.get("radiusKm", 8), "needed": kw["needed"], "skills": kw.get("skills", []),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + kw.get("hours", 4) * 3600)),
    }
    status, call = server.api("POST", "/calls", token=server.org_token, body=body)
    assert status == 201, call
    return call


def shoot(driver, name, width, height=800, full=True):
    set_viewport(driver, width, height)
    time.sleep(0.4)
    if full:
        h = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
        set_viewport(driver, width, min(max(h, height), 4000))
        time.sleep(0.4)
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    set_viewport(driver, width, height)
    print("wrote", os.path.relpath(path, ROOT))


def main():
    os.makedirs(OUT, exist_ok=True)
    binary = os.environ.get("HELFERRUF_BIN", os.path.join(ROOT, ".build", "debug", "helferruf"))
    if not os.path.isabs(binary):
        binary = os.path.join(ROOT, binary)
    server = Server(binary)
    server.start()
    drivers = []
    try:
        names = ["Jonas", "Mia", "Leon", "Emma", "Paul", "Hannah", "Ali", "Sofia", "Lukas", "Marie", "Elias", "Lea"]
        sims = [SimVolunteer(server, n, ["sandbags", "lifting"] if i % 2 == 0 else ["cooking", "first-aid"], i)
                for i, n in enumerate(names)]
        time.sleep(0.5)

        a = post_call(server, title="Sandsäcke füllen am Rheinufer", needed=8, skills=["sandbags"], radiusKm=10,
                      description="Der Pegel steigt. Wir füllen Sandsäcke am Bauhof und bringen sie zum Ufer.\n"
                                  "Bitte feste Schuhe und Arbeitshandschuhe mitbringen.",
                      address="Bauhof Rheinuferstraße 12, Köln")
        b = post_call(server, title="Essensausgabe Notunterkunft", needed=4, skills=[], radiusKm=6,
                      description="Ausgabe des Abendessens in der Turnhalle.", address="Turnhalle Süd, Köln")
        c = post_call(server, title="Fahrdienst Seniorenheim", needed=3, skills=[], radiusKm=6,
                      description="Bewohnerinnen zur Notunterkunft fahren.", address="Seniorenheim am Park, Köln")
        time.sleep(1.0)
        for s in sims[:5]:
            if a["id"] in s.alerts:
                s.accept(a["id"])
        for s in sims[5:9]:
            if b["id"] in s.alerts:
                s.accept(b["id"])
        for s in sims[9:11]:
            if c["id"] in s.alerts:
                s.decline(c["id"])
        time.sleep(0.5)
        server.api("POST", f"/calls/{c['id']}/cancel", token=server.org_token)

        # The volunteer in a browser: sign-up first, then an alert and a confirmation.
        vol = make_driver(360, 800, True)
        drivers.append(vol)
        vol.get(server.base + "/")
        visible(vol, "#signup-form")
        vol.find_element(By.ID, "su-name").send_keys("Anna")
        js_click(vol, vol.find_element(By.CSS_SELECTOR, '#su-skills [data-skill="sandbags"]'))
        js_click(vol, vol.find_element(By.CSS_SELECTOR, '#su-skills [data-skill="first-aid"]'))
        shoot(vol, "volunteer-signup-phone.png", 360)
        vol.find_element(By.ID, "su-name").clear()
        volunteer_signup(vol, server.base, "Anna", skills=["sandbags", "first-aid"], contact="0170 1234567")
        volunteer_type_location(vol, "50.9413, 6.9583")
        wait(vol, lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "online")
        volunteer_set_available(vol)
        wait(vol, lambda d: d.find_elements(By.CSS_SELECTOR, f'.alert-card[data-call-id="{a["id"]}"]'), 5)
        click_css(vol, f'.alert-card[data-call-id="{a["id"]}"] [data-action="accept"]')
        visible(vol, f'.confirmed-card[data-call-id="{a["id"]}"]', 5)
        # On site, with a message from the organisation (protocol 1.1).
        click_css(vol, f'.confirmed-card[data-call-id="{a["id"]}"] [data-action="checkin"]')
        server.api("POST", f"/calls/{a['id']}/messages", token=server.org_token,
                   body={"text": "Treffpunkt ist jetzt Tor 2 am Bauhof. Gummistiefel sind da."})
        d_call = post_call(server, title="Erste Hilfe beim Stadtfest", needed=6, skills=["first-aid"], radiusKm=5,
                           lat=50.9360, lon=6.9500, hours=6,
                           description="Sanitätsdienst braucht Unterstützung am Info-Zelt. "
                                       "Ersthelfer-Kurs von höchstens zwei Jahren nötig.",
                           address="Heumarkt, Köln")
        wait(vol, lambda d: d.find_elements(By.CSS_SELECTOR, f'.alert-card[data-call-id="{d_call["id"]}"]'), 5)
        for s in sims[1:4:2]:
            if d_call["id"] in s.alerts:
                s.accept(d_call["id"])
        time.sleep(1.0)
        vol.execute_script("window.scrollTo(0, 0)")
        shoot(vol, "volunteer-phone.png", 360)
        shoot(vol, "volunteer-desktop.png", 1280)

        con = make_driver(1280, 800)
        drivers.append(con)
        org_signin(con, server.base, server.org_token, "/console")
        console_fill_call(con, "Deich sichern Deutz", 50.9370, 6.9700, description="Sandsäcke am Deich verlegen.",
                          address="Deutzer Werft, Köln", radius=8, needed=12, skills=["sandbags"])
        js_click(con, con.find_element(By.ID, "c-mode-waves"))
        js_click(con, con.find_element(By.ID, "c-standby"))
        text_in(con, "#reach", "Helfende", 10)
        time.sleep(0.6)
        click_css(con, f'.call-card[data-call-id="{a["id"]}"] [data-action="helpers"]')
        text_in(con, f'#helpers-{a["id"]}', "Anna", 5)
        con.execute_script("window.scrollTo(0, 0)")
        shoot(con, "console-desktop.png", 1280)
        shoot(con, "console-phone.png", 360)

        dash = make_driver(1280, 800)
        drivers.append(dash)
        org_signin(dash, server.base, server.org_token, "/dashboard")
        time.sleep(1.0)
        shoot(dash, "dashboard-desktop.png", 1280, full=False)
        shoot(dash, "dashboard-phone.png", 360)
        js_click(dash, dash.find_element(By.ID, "big"))
        time.sleep(0.5)
        shoot(dash, "dashboard-bigscreen.png", 1280, full=False)
        js_click(dash, dash.find_element(By.ID, "big"))
    finally:
        for d in drivers:
            d.quit()
        server.close()


if __name__ == "__main__":
    main()
