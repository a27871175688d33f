"""Accessibility audit (WCAG 2.2 AA rules of axe-core, as BITV 2.0 asks) of
the volunteer page in its states: signed out, registered, an alert shown, the
push settings open, a confirmed call; at 360 and 1280 px. axe.min.js comes
from PyPI's axe-playwright-python package (no npm here), or from $AXE_JS."""

import importlib.util
import os
from datetime import datetime, timedelta, timezone

import pytest

from pages import click_css, visible, volunteer_ready, wait

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_source():
    path = os.environ.get("AXE_JS")
    if not path:
        spec = importlib.util.find_spec("axe_playwright_python")
        if spec is None or not spec.origin:
            pytest.fail("axe-core not found: pip install --no-deps axe-playwright-python, or set AXE_JS")
        path = os.path.join(os.path.dirname(spec.origin), "axe.min.js")
    with open(path, encoding="utf-8") as f:
        return f.read()


def audit(d, axe, state):
    # Cards fade in (0.4 s); axe would measure the contrast halfway.
    wait(d, lambda x: x.execute_script(
        "return document.getAnimations().every(a => a.playState !== 'running')"), 5, "animations still running")
    if not d.execute_script("return typeof window.axe !== 'undefined'"):
        d.execute_script(axe)
    res = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary).slice(0, 5)})), passes: r.passes.length}),"
        " e => done({error: String(e)}));", TAGS)
    assert "error" not in res, res
    assert res["violations"] == [], f"{state}: {res['violations']}"
    assert res["passes"] > 10, res


@pytest.mark.parametrize("width", [360, 1280])
def test_volunteer_page_states_have_no_axe_violations(server, browsers, width):
    axe = axe_source()
    d = browsers(width, 900)
    d.set_script_timeout(60)
    d.get(server.base + "/")
    visible(d, "#signup-form")
    audit(d, axe, "signed out")

    volunteer_ready(d, server.base, f"Axel {width}", 50.7766, 6.0834)
    audit(d, axe, "registered and available")

    ends = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, call = server.api("POST", "/calls", token=server.org_token, body={
        "title": f"Prüfung {width}", "description": "Schaufeln mitbringen.", "address": "Markt 1",
        "location": {"lat": 50.7753, "lon": 6.0839}, "radiusKm": 5, "needed": 3, "skills": [], "endsAt": ends})
    assert status == 201
    card = f'.alert-card[data-call-id="{call["id"]}"]'
    visible(d, card, timeout=5)
    audit(d, axe, "alert shown")

    # Push settings in every state they can show (the switch on needs a push
    # service, which headless Chromium cannot reach, so the states are unhidden).
    d.execute_script(
        "for (const id of ['push-settings', 'push-denied', 'push-ios', 'push-unsupported', 'push-error', 'standing-error',"
        " 'area-error', 'standing-off', 'area-clear']) document.getElementById(id).hidden = false;"
        "document.getElementById('push-error').textContent = 'Fehler';"
        "document.getElementById('standing-error').textContent = 'Fehler';"
        "document.getElementById('area-error').textContent = 'Fehler';"
        "document.getElementById('push-toggle').setAttribute('aria-checked', 'true');")
    click_css(d, "#area-map-toggle")
    visible(d, "#area-map")
    audit(d, axe, "push settings open")

    click_css(d, card + ' [data-action="accept"]')
    visible(d, f'.confirmed-card[data-call-id="{call["id"]}"]', timeout=10)
    wait(d, lambda x: not x.find_elements("css selector", card), 5)
    audit(d, axe, "confirmed call")
