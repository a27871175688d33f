"""Focused browser tests of the pages: CSP-safe markup, translations, CSV
export, server validation errors, location entry, account erasure and export,
unknown tokens."""

import glob
import json
import os
import re
import time

from selenium.webdriver.common.by import By

from conftest import WEB, severe_logs
from pages import (
    js_click, org_signin, text_in, visible, volunteer_signup, volunteer_type_location, wait,
)

HTML_FILES = sorted(glob.glob(os.path.join(WEB, "*.html")))
JS_FILES = sorted(glob.glob(os.path.join(WEB, "**", "*.js"), recursive=True))


def test_markup_has_no_inline_code():
    assert {os.path.basename(p) for p in HTML_FILES} >= {"volunteer.html", "console.html", "dashboard.html"}
    for path in HTML_FILES:
        html = open(path, encoding="utf-8").read()
        name = os.path.basename(path)
        for m in re.finditer(r"<script\b([^>]*)>", html, re.I):
            assert "src=" in m.group(1), f"{name}: inline script"
        assert not re.search(r"<style\b", html, re.I), f"{name}: <style> element"
        assert not re.search(r"\sstyle\s*=", html, re.I), f"{name}: style attribute"
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"{name}: inline event handler"
        assert "javascript:" not in html, f"{name}: javascript: URL"
        assert "Content-Security-Policy" in html and "'unsafe-inline'" not in html
    for path in JS_FILES:
        src = open(path, encoding="utf-8").read()
        name = os.path.relpath(path, WEB)
        for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                    'setAttribute("style"'):
            assert bad not in src, f"{name} uses {bad}"


def test_translations_complete_and_language_switch(server, browsers):
    d = browsers(1280, 800)
    d.get(server.base + "/")
    visible(d, "#signup-form")
    keys = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/js/i18n.js').then(m => done([Object.keys(m.dictionaries.de), Object.keys(m.dictionaries.en)]));")
    de, en = set(keys[0]), set(keys[1])
    assert de == en, {"only de": sorted(de - en), "only en": sorted(en - de)}
    # Every key used in markup and code exists.
    used = set()
    for path in HTML_FILES:
        html = open(path, encoding="utf-8").read()
        used |= set(re.findall(r'data-i18n="([^"]+)"', html))
        for attr in re.findall(r'data-i18n-attr="([^"]+)"', html):
            used |= {pair.split(":")[1] for pair in attr.split(";")}
    for path in JS_FILES:
        used |= set(re.findall(r'\bt\("([a-zA-Z0-9_.-]+)"', open(path, encoding="utf-8").read()))
    assert used - de == set(), sorted(used - de)

    # German by default; English by the switch, remembered after a reload.
    assert d.execute_script("return document.documentElement.lang") == "de"
    assert "Mitmachen" in d.find_element(By.ID, "signup-h").text
    js_click(d, d.find_element(By.ID, "lang"))
    wait(d, lambda x: x.execute_script("return document.documentElement.lang") == "en")
    assert d.find_element(By.ID, "signup-h").text == "Join"
    d.refresh()
    visible(d, "#signup-form")
    assert d.find_element(By.ID, "signup-h").text == "Join"
    js_click(d, d.find_element(By.ID, "lang"))
    wait(d, lambda x: x.execute_script("return document.documentElement.lang") == "de")
    assert severe_logs(d) == []


def test_csv_quoting_and_formula_guard(server, browsers):
    d = browsers(1280, 800)
    d.get(server.base + "/console")
    visible(d, "#signin")
    out = d.execute_async_script(
        "const rows = arguments[0], done = arguments[arguments.length - 1];"
        "import('/js/csv.js').then(m => done(m.toCsv(rows)));",
        [["Name", "Kontakt"], ["=HYPERLINK(\"x\")", "a,b"], ["+49 170", "-1"], ["@SUM(A1)", 'sagt "hallo"'],
         ["Zeile\nzwei", "normal"], [None, "\tTab"]])
    assert out.startswith("\ufeff")
    lines = out[1:].split("\r\n")
    assert lines[0] == "Name,Kontakt"
    assert lines[1] == '"\'=HYPERLINK(""x"")","a,b"'
    assert lines[2] == "'+49 170,'-1"
    assert lines[3] == '\'@SUM(A1),"sagt ""hallo"""'
    assert lines[4] == '"Zeile\nzwei",normal'
    assert lines[5] == ",'\tTab"


def test_console_shows_server_validation_error_next_to_field(server, browsers):
    d = browsers(1280, 800)
    org_signin(d, server.base, server.org_token, "/console")
    d.find_element(By.ID, "c-title").send_keys("Fehlerprobe")
    for key, value in (("c-lat", "50.93"), ("c-lon", "6.96")):
        d.find_element(By.ID, key).send_keys(value)
    # An end in the past: the server must refuse it and name the field (broadcast, so
    # that the client's own check of "Gebraucht bis" against the end does not come first).
    d.execute_script("document.getElementById('c-mode-broadcast').click();")
    d.execute_script("document.getElementById('c-ends').value = '2020-01-01T10:00';"
                     "document.getElementById('c-starts').value = '2020-01-01T08:00';")
    js_click(d, d.find_element(By.ID, "c-submit"))
    box = visible(d, "#cerr-endsAt", timeout=5)
    assert box.text.strip()
    assert d.find_element(By.ID, "c-ends").get_attribute("aria-invalid") == "true"
    text_in(d, "#call-form-error", "Bitte prüfe")
    # A client-side check: no title.
    d.find_element(By.ID, "c-title").clear()
    js_click(d, d.find_element(By.ID, "c-submit"))
    visible(d, "#cerr-title")
    # The 422 answer shows up as a failed resource load in Chrome's console; nothing else may.
    assert severe_logs(d, allow=(r"status of 422",)) == []


def test_volunteer_location_by_place_coordinates_and_map(server, browsers):
    d = browsers(360, 800)
    volunteer_signup(d, server.base, "Ben", skills=["driving"])
    volunteer_type_location(d, "Köln")
    text_in(d, "#loc-status", "Köln")
    volunteer_type_location(d, "50,1109; 8,6821")
    text_in(d, "#loc-status", "50.11090, 8.68210")
    # An unknown place explains what to do.
    box = d.find_element(By.ID, "loc-input")
    box.send_keys("Atlantis")
    js_click(d, d.find_element(By.ID, "loc-set"))
    visible(d, "#loc-error")
    # The map works without tiles: a click sets the point.
    js_click(d, d.find_element(By.ID, "loc-map-toggle"))
    m = visible(d, "#loc-map")
    before = d.find_element(By.ID, "loc-status").text
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", m)
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(d).move_to_element_with_offset(m, -60, 40).click().perform()
    wait(d, lambda x: x.find_element(By.ID, "loc-status").text != before, timeout=3)
    assert re.search(r"\d+\.\d{5}, \d+\.\d{5}", d.find_element(By.ID, "loc-status").text)
    stored = d.execute_script("return JSON.parse(localStorage.getItem('helferruf.location'))")
    assert stored and stored["source"] == "manual"
    assert severe_logs(d) == []


def test_volunteer_export_and_forget_me(server, browsers, tmp_path):
    d = browsers(360, 800)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    volunteer_signup(d, server.base, "Clara Export", skills=["cooking"], contact="clara@example.org")
    token = d.execute_script("return JSON.parse(localStorage.getItem('helferruf.volunteer')).token")
    wait(d, lambda x: x.find_element(By.ID, "conn").get_attribute("data-state") == "online")

    js_click(d, d.find_element(By.ID, "export"))
    deadline = time.time() + 10
    files = []
    while time.time() < deadline:
        files = [f for f in os.listdir(tmp_path) if f.endswith(".json")]
        if files:
            break
        time.sleep(0.1)
    assert files, "no export downloaded"
    data = json.load(open(os.path.join(tmp_path, files[0]), encoding="utf-8"))
    assert "Clara Export" in json.dumps(data, ensure_ascii=False)

    js_click(d, d.find_element(By.ID, "forget"))
    visible(d, "#forget-dialog")
    js_click(d, d.find_element(By.ID, "forget-confirm"))
    visible(d, "#signup-form", timeout=5)
    text_in(d, "#notice", "gelöscht")
    assert d.execute_script("return localStorage.getItem('helferruf.volunteer')") is None
    status, _ = server.api("GET", "/volunteers/me", token=token)
    assert status == 401
    assert severe_logs(d) == []


def test_unknown_token_returns_to_signup(server, browsers):
    d = browsers(360, 800)
    volunteer_signup(d, server.base, "Dora")
    wait(d, lambda x: x.find_element(By.ID, "conn").get_attribute("data-state") == "online")
    token = d.execute_script("return JSON.parse(localStorage.getItem('helferruf.volunteer')).token")
    # The account is erased elsewhere (another device): the server closes with 4401.
    status, _ = server.api("DELETE", "/volunteers/me", token=token)
    assert status == 204
    visible(d, "#signup-form", timeout=5)
    assert d.execute_script("return localStorage.getItem('helferruf.volunteer')") is None
    # A stale token on load behaves the same.
    d.execute_script("localStorage.setItem('helferruf.volunteer', JSON.stringify({token: 'nope', displayName: 'X'}))")
    d.refresh()
    visible(d, "#signup-form", timeout=10)
    assert d.execute_script("return localStorage.getItem('helferruf.volunteer')") is None


# Check boxes and radio buttons are measured by their label.check, which is the touch target.
SMALL_TARGETS_JS = """
return [...document.querySelectorAll(
    'button, select, input:not([type=checkbox]):not([type=radio]):not([type=hidden]), label.check, .topnav a')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })
  .map(e => (e.id || e.className || e.tagName) + ' ' + Math.round(e.getBoundingClientRect().width) + 'x'
       + Math.round(e.getBoundingClientRect().height));
"""


def test_touch_targets_and_keyboard(server, browsers):
    d = browsers(360, 800)
    d.get(server.base + "/")
    visible(d, "#signup-form")
    assert d.execute_script(SMALL_TARGETS_JS) == []
    volunteer_signup(d, server.base, "Emil", skills=["lifting"])
    volunteer_type_location(d, "Bonn")
    assert d.execute_script(SMALL_TARGETS_JS) == []
    # The availability switch works from the keyboard.
    from selenium.webdriver.common.keys import Keys
    sw = d.find_element(By.ID, "avail")
    d.execute_script("arguments[0].focus()", sw)
    sw.send_keys(Keys.SPACE)
    wait(d, lambda x: x.find_element(By.ID, "avail").get_attribute("aria-checked") == "true")
    sw.send_keys(Keys.ENTER)
    wait(d, lambda x: x.find_element(By.ID, "avail").get_attribute("aria-checked") == "false")
    c = browsers(360, 800)
    org_signin(c, server.base, server.org_token, "/console")
    assert c.execute_script(SMALL_TARGETS_JS) == []


def test_filled_call_is_marked_at_once(server, browsers):
    from pages import click_css, grant_geolocation
    vols = []
    for name in ("Fritz", "Greta"):
        d = browsers(360, 800)
        volunteer_signup(d, server.base, name, skills=["translation"])
        grant_geolocation(d, server.base, 51.2277, 6.7735)
        js_click(d, d.find_element(By.ID, "loc-gps"))
        text_in(d, "#loc-status", "GPS")
        wait(d, lambda x: x.find_element(By.ID, "conn").get_attribute("data-state") == "online")
        js_click(d, d.find_element(By.ID, "avail"))
        wait(d, lambda x: x.find_element(By.ID, "avail").get_attribute("aria-checked") == "true")
        vols.append(d)
    status, call = server.api("POST", "/calls", token=server.org_token, body={
        "title": "Dolmetschen im Rathaus", "location": {"lat": 51.2280, "lon": 6.7740}, "radiusKm": 2,
        "needed": 1, "skills": ["translation"],
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))})
    assert status == 201, call
    css = f'.alert-card[data-call-id="{call["id"]}"]'
    for d in vols:
        visible(d, css, timeout=3)
    click_css(vols[0], css + ' [data-action="accept"]')
    visible(vols[0], f'.confirmed-card[data-call-id="{call["id"]}"]', timeout=5)
    # The other volunteer sees at once that every place is taken.
    wait(vols[1], lambda x: x.find_element(By.CSS_SELECTOR, css).get_attribute("data-status") == "filled", timeout=3)
    text_in(vols[1], css, "Alle Plätze besetzt")
    assert not vols[1].find_element(By.CSS_SELECTOR, css + ' [data-action="accept"]').is_enabled()
    for d in vols:
        assert severe_logs(d) == []
