"""The console with an organisation account: login (the wrong password first),
a call posted over the session cookie with its CSRF token, the live list over a
dashboard ticket, the session surviving a reload and reaching the dashboard,
and logout."""

import json
import subprocess
import uuid

from selenium.webdriver.common.by import By

from conftest import severe_logs
from pages import call_card, console_fill_call, console_submit, org_login, text_in, visible, wait

PASSWORD = "Deichbruch-2026-Wurm"
# The wrong password is answered 401, which Chrome logs.
EXPECTED_401 = (r"/api/v1/session - Failed to load resource: the server responded with a status of 401",)


def add_account(server, email):
    orgs = [json.loads(line) for line in subprocess.run(
        [server.binary, "org", "list", "--db", server.db], capture_output=True, text=True, check=True).stdout.splitlines()]
    demo = next(o for o in orgs if o["name"] == "Demo")
    out = subprocess.run(
        [server.binary, "account", "add", "--org", demo["id"], "--email", email, "--password-stdin", "--db", server.db],
        input=PASSWORD + "\n", capture_output=True, text=True, check=True).stdout
    assert PASSWORD not in out
    return demo


def online(driver):
    wait(driver, lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "online", 10,
         "live connection not online")


def test_console_login_posts_a_call_and_logs_out(server, browsers):
    email = f"leitstelle-{uuid.uuid4().hex[:8]}@example.org"
    add_account(server, email)
    d = browsers(1280, 800)

    org_login(d, server.base, email, "falsches-Passwort")
    text_in(d, "#signin-error", "Passwort ist falsch")
    assert d.find_element(By.ID, "console").get_attribute("hidden") is not None

    org_login(d, server.base, email.upper(), PASSWORD)
    visible(d, "#console")
    online(d)  # the dashboard socket said hello with a ticket
    # The session is in an HttpOnly cookie: no script sees it, and no token is stored.
    assert "helferruf_session" not in d.execute_script("return document.cookie")
    assert d.execute_script("return sessionStorage.getItem('helferruf.orgToken')") is None
    cookie = d.get_cookie("helferruf_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    title = "Deich sichern mit Konto"
    console_fill_call(d, title, 50.7753, 6.0839, radius=5, needed=4)
    console_submit(d)
    text_in(d, "#call-form-ok", title)
    wait(d, lambda x: call_card(x, title) is not None, 5, "the new call is not listed")
    status, listed = server.api("GET", "/calls", token=server.org_token)
    assert status == 200 and any(c["title"] == title for c in listed["calls"])

    # A reload keeps the session; the dashboard page shares it.
    d.refresh()
    visible(d, "#console")
    online(d)
    wait(d, lambda x: call_card(x, title) is not None, 5, "the call is not listed after a reload")
    d.get(server.base + "/dashboard")
    visible(d, "#dashboard")
    online(d)
    text_in(d, "#dashboard", title)

    d.get(server.base + "/console")
    visible(d, "#console")
    d.find_element(By.ID, "signout").click()
    visible(d, "#signin")
    wait(d, lambda x: x.get_cookie("helferruf_session") is None, 5, "the cookie outlived the logout")
    d.refresh()
    visible(d, "#login-email")
    assert d.find_element(By.ID, "console").get_attribute("hidden") is not None
    assert severe_logs(d, allow=EXPECTED_401) == []
