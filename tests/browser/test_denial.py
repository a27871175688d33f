"""Browser test of the organiser's tools against denial of help (PROTOCOL.md §11):
in the console, remove a helper and block a volunteer (each with a confirmation
step), see the blocked list and undo a block; the volunteer page says plainly
that the organisation cancelled the confirmation, and why a fourth overlapping
accept failed."""

import time
from datetime import datetime, timedelta, timezone

from selenium.webdriver.common.by import By

from conftest import severe_logs
from pages import click_css, org_signin, text_in, visible, volunteer_ready, wait

# Kassel: no other test puts volunteers or calls here.
HOME = (51.3127, 9.4797)
SITE = (51.3150, 9.4800)


def post_call(server, title, needed=2):
    ends = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, call = server.api("POST", "/calls", token=server.org_token, body={
        "title": title, "location": {"lat": SITE[0], "lon": SITE[1]}, "radiusKm": 3, "needed": needed, "endsAt": ends})
    assert status == 201, call
    return call["id"]


def accept_on_page(driver, call_id):
    card = f'.alert-card[data-call-id="{call_id}"]'
    visible(driver, card, timeout=10)
    click_css(driver, card + ' [data-action="accept"]')
    visible(driver, f'.confirmed-card[data-call-id="{call_id}"]', timeout=10)


def open_helpers(con, call_id):
    css = f'.call-card[data-call-id="{call_id}"]'
    visible(con, css)
    click_css(con, css + ' [data-action="helpers"]')
    visible(con, f"#helpers-{call_id} table")
    return css


def confirm(con, check_option=None):
    visible(con, "#confirm-dialog")
    if check_option is not None:
        assert con.find_element(By.ID, "confirm-option").is_selected() == check_option
    click_css(con, "#confirm-ok")
    wait(con, lambda d: not d.find_element(By.ID, "confirm-dialog").is_displayed(), 5, "dialog still open")


def test_remove_and_block_in_the_console(server, browsers):
    fred = browsers(360, 800)
    con = browsers(1280, 900)
    volunteer_ready(fred, server.base, "Fake Freddy", *HOME)
    org_signin(con, server.base, server.org_token, "/console")
    text_in(con, "#blocks-section", "Niemand gesperrt")

    # --- Fred takes a place; the organiser removes him (keeping it first, then for real).
    first = post_call(server, "Kassel: Zelte aufbauen")
    accept_on_page(fred, first)
    card = open_helpers(con, first)
    row = f'#helpers-{first} tr[data-volunteer-id]'
    text_in(con, row, "Fake Freddy")
    click_css(con, row + ' [data-action="remove-helper"]')
    visible(con, "#confirm-dialog")
    text_in(con, "#confirm-text", "Fake Freddy")
    click_css(con, "#confirm-keep")
    status, helpers = server.api("GET", f"/calls/{first}/confirmations", token=server.org_token)
    assert len(helpers["confirmations"]) == 1, "keeping must change nothing"
    click_css(con, row + ' [data-action="remove-helper"]')
    confirm(con)
    text_in(con, f"#helpers-{first}", "Noch niemand bestätigt")
    text_in(con, card + " .counter-text", "0 von 2")
    # Fred's page says so plainly, and offers no accept for that call any more.
    fred_card = f'.alert-card[data-call-id="{first}"]'
    text_in(fred, fred_card, "Die Organisation hat deine Zusage aufgehoben", timeout=5)
    assert not fred.find_elements(By.CSS_SELECTOR, f'.confirmed-card[data-call-id="{first}"]')
    assert not fred.find_elements(By.CSS_SELECTOR, fred_card + ' [data-action="accept"]')

    # --- Fred takes a place on a second call; blocking him removes him from every running call.
    second = post_call(server, "Kassel: Feldbetten tragen")
    accept_on_page(fred, second)
    open_helpers(con, second)
    row = f'#helpers-{second} tr[data-volunteer-id]'
    text_in(con, row, "Fake Freddy")
    started = time.monotonic()
    click_css(con, row + ' [data-action="block-helper"]')
    confirm(con, check_option=True)
    text_in(con, "#blocks", "Fake Freddy")
    text_in(con, f"#helpers-{second}", "Noch niemand bestätigt")
    cleared = time.monotonic() - started
    text_in(fred, f'.alert-card[data-call-id="{second}"]', "Die Organisation hat deine Zusage aufgehoben", timeout=5)
    status, blocks = server.api("GET", "/blocks", token=server.org_token)
    assert [b["displayName"] for b in blocks["blocks"]] == ["Fake Freddy"]
    print(f"\nconsole: one account removed from its call and blocked in {cleared:.2f} s (2 clicks)")

    # A blocked volunteer is not alerted for the organisation's next call.
    third = post_call(server, "Kassel: Essen ausgeben")
    time.sleep(1.5)
    assert not fred.find_elements(By.CSS_SELECTOR, f'.alert-card[data-call-id="{third}"]')

    # --- Undo the block from the list (with a confirmation step): alerted again.
    click_css(con, '#blocks [data-action="unblock"]')
    confirm(con)
    text_in(con, "#blocks-section", "Niemand gesperrt")
    visible(fred, f'.alert-card[data-call-id="{third}"]', timeout=10)
    status, blocks = server.api("GET", "/blocks", token=server.org_token)
    assert blocks["blocks"] == []

    # --- Three overlapping confirmations at most: the fourth accept says why it failed.
    accept_on_page(fred, third)
    more = [post_call(server, f"Kassel: Schicht {i}") for i in range(3)]
    for call_id in more[:2]:
        accept_on_page(fred, call_id)
    last = f'.alert-card[data-call-id="{more[2]}"]'
    visible(fred, last, timeout=10)
    click_css(fred, last + ' [data-action="accept"]')
    text_in(fred, last, "zur gleichen Zeit schon zu viele Zusagen", timeout=5)
    assert not fred.find_elements(By.CSS_SELECTOR, f'.confirmed-card[data-call-id="{more[2]}"]')
    assert severe_logs(con) == [] and severe_logs(fred) == []

    # The server is shared by the whole session: leave the Demo organisation's call list as
    # it was (later tests fill the console's form beside it).
    for call_id in [first, second, third, *more]:
        status, _ = server.api("POST", f"/calls/{call_id}/cancel", token=server.org_token)
        assert status == 200
