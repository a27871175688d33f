"""What a new user meets first: the signed-in console's header on a narrow phone, and one
German word for the people who help."""

import os
import re

from selenium.webdriver.common.by import By

from conftest import WEB, set_viewport
from pages import js_click, org_signin, visible, wait

# Rows of the top bar: its visible children grouped by vertical overlap.
HEADER_JS = """
const bar = document.querySelector('.topbar');
const boxes = [...bar.querySelectorAll(':scope > *')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => ({name: e.id || e.className, r: e.getBoundingClientRect()}))
  .sort((a, b) => a.r.top - b.r.top);
const rows = [];
for (const b of boxes) {
  const row = rows.find(r => b.r.top < r.bottom - 1 && b.r.bottom > r.top + 1);
  if (row) { row.names.push(b.name); row.bottom = Math.max(row.bottom, b.r.bottom); }
  else rows.push({top: b.r.top, bottom: b.r.bottom, names: [b.name]});
}
const over = boxes.filter(b => b.r.right > document.documentElement.clientWidth + 0.5).map(b => b.name);
return {rows: rows.map(r => r.names), height: bar.getBoundingClientRect().height,
        viewport: document.documentElement.clientWidth, overflowing: over};
"""

# The longest connection state the header shows (what socket.js writes while it waits to
# reconnect), with its "connect now" button.
WAITING_JS = """
const [t] = arguments;
const pill = document.getElementById('conn');
pill.dataset.state = 'waiting';
pill.textContent = t;
document.getElementById('conn-retry').hidden = false;
"""


def header(driver):
    return driver.execute_script(HEADER_JS)


def test_console_header_fits_two_rows_at_360px(server, browsers):
    d = browsers(360, 640, mobile=False)
    org_signin(d, server.base, server.org_token, "/console")
    cases = []
    for width, mobile, what in ((360, True, "phone, 360 px"), (360, False, "360 px window, classic scrollbar"),
                                (345, True, "345 px: 360 px beside a 15 px scrollbar")):
        set_viewport(d, width, 640, mobile)
        for lang in ("de", "en"):
            if d.find_element(By.TAG_NAME, "html").get_attribute("lang") != lang:
                js_click(d, d.find_element(By.ID, "lang"))
                wait(d, lambda x: x.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang)
            wait(d, lambda x: x.find_element(By.ID, "conn").get_attribute("data-state") == "online")
            cases.append((f"{what}, {lang}, online", header(d)))
            waiting = d.execute_script(
                "return import('/js/i18n.js').then(m => m.t('conn.retryIn', {s: 30}))")
            d.execute_script(WAITING_JS, waiting)
            cases.append((f"{what}, {lang}, waiting to reconnect", header(d)))
            d.refresh()
            visible(d, "#console")
    wrong = []
    for what, h in cases:
        if len(h["rows"]) > 2:
            wrong.append(f"{what}: {len(h['rows'])} rows {h['rows']}")
        # Two rows of 44 px touch targets, the gap between them and the bar's padding.
        if h["height"] > 2 * 44 + 8 + 2 * 6 + 1:
            wrong.append(f"{what}: {h['height']:.0f} px high")
        if h["overflowing"]:
            wrong.append(f"{what}: {h['overflowing']} stick out of the {h['viewport']} px viewport")
    assert wrong == [], "\n".join(wrong)
    assert any(h["viewport"] < 360 for _, h in cases), "no case had less than 360 px beside a scrollbar"


def german_ui_texts():
    """Every German text of the pages: the HTML files, the scripts and the German dictionary
    (without the English one)."""
    for folder, _, files in os.walk(WEB):
        for name in files:
            if not name.endswith((".html", ".js", ".json")):
                continue
            path = os.path.join(folder, name)
            text = open(path, encoding="utf-8").read()
            if name == "i18n.js" and os.path.dirname(path).endswith("js"):
                start = text.index("const en = {")
                text = text[:start] + text[text.index("\n};", start):]
            yield os.path.relpath(path, WEB), text


def test_one_german_word_for_helpers():
    # "Helfende" everywhere; "Helfer" (and "Helfern", "Helferinnen" …) nowhere, except in the
    # product's name.
    found = []
    for name, text in german_ui_texts():
        for m in re.finditer(r"\bHelfer(?!ruf)\w*", text):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{name}:{line}: {m.group(0)}")
    assert found == [], "use „Helfende“: " + ", ".join(found)
    assert any("Helfende" in text for _, text in german_ui_texts())
