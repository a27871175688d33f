"""Browser test of deadline-aware dispatch (PROTOCOL.md §10) against the real
server: "Gebraucht bis" is the console's default way to post, the client checks
the time before sending, the call goes out as a deadline call and its card shows
the plan (behind, with how many were alerted and when), in German and English;
broadcast stays one click away."""

import datetime

from selenium.webdriver.common.by import By

from conftest import severe_logs
from pages import (
    call_card, console_fill_call, console_submit, js_click, org_signin, set_input, text_in, visible, volunteer_ready,
    wait,
)

# Paderborn: no other test puts volunteers or calls here.
HOME = (51.7190, 8.7570)
SITE = (51.7189, 8.7575)


def local_input(minutes_ahead):
    """A datetime-local value `minutes_ahead` from now (the browser runs in the same zone)."""
    t = datetime.datetime.now() + datetime.timedelta(minutes=minutes_ahead)
    return t.strftime("%Y-%m-%dT%H:%M")


def test_needed_by_is_the_default_and_the_card_shows_the_plan(server, browsers):
    vol = browsers(360, 800)
    con = browsers(1280, 900)
    volunteer_ready(vol, server.base, "Dora Frist", *HOME)
    org_signin(con, server.base, server.org_token, "/console")

    # The default: "Gebraucht bis", an hour ahead, with its hint; no wave interval.
    assert con.find_element(By.ID, "c-mode-deadline").is_selected()
    visible(con, "#c-fill-by")
    text_in(con, "#c-deadline-hint", "95 %")
    assert not con.find_element(By.ID, "c-wave-seconds").is_displayed()
    assert not con.find_element(By.ID, "c-broadcast-hint").is_displayed()
    preset = datetime.datetime.strptime(con.find_element(By.ID, "c-fill-by").get_attribute("value"), "%Y-%m-%dT%H:%M")
    assert abs((preset - datetime.datetime.now()).total_seconds() - 3600) < 180, preset

    # A time in the past is caught before anything is sent.
    title = "Deich sichern an der Pader"
    console_fill_call(con, title, *SITE, radius=3, needed=2, mode="deadline")
    set_input(con, "#c-fill-by", local_input(-10))
    console_submit(con)
    text_in(con, "#cerr-dispatch-fillBy", "nicht in der Zukunft")
    assert con.find_element(By.ID, "c-fill-by").get_attribute("aria-invalid") == "true"

    set_input(con, "#c-fill-by", local_input(4 * 60))  # the form's call ends after 3 hours
    console_submit(con)
    text_in(con, "#cerr-dispatch-fillBy", "nach dem Ende des Einsatzes")

    set_input(con, "#c-fill-by", local_input(30))
    console_submit(con)
    text_in(con, "#call-form-ok", title)

    # The one volunteer nearby is alerted (two are needed: everyone available goes out).
    wait(vol, lambda d: d.find_elements(By.CSS_SELECTOR, ".alert-card"), 10, "no alert for Dora")
    call_id = vol.find_element(By.CSS_SELECTOR, ".alert-card").get_attribute("data-call-id")
    status, call = server.api("GET", f"/calls/{call_id}", token=server.org_token)
    assert status == 200 and call["dispatch"]["mode"] == "deadline" and call["fillBy"] == call["dispatch"]["fillBy"], call
    fill_by = datetime.datetime.fromisoformat(call["fillBy"].replace("Z", "+00:00"))
    ahead = (fill_by - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 28 * 60 < ahead < 31 * 60, call["fillBy"]
    assert call["plan"]["onTrack"] is False and call["plan"]["lastAlerted"] == 1, call

    # The card: needed by, behind (one volunteer cannot fill two places), one more alerted at a time.
    plan_css = f'.call-card[data-call-id="{call_id}"] .call-plan'
    text_in(con, plan_css, "Gebraucht bis")
    text_in(con, plan_css, "hinten")
    text_in(con, plan_css, "1 weitere alarmiert um")
    assert con.find_element(By.CSS_SELECTOR, plan_css).get_attribute("data-on-track") == "false"
    js_click(con, con.find_element(By.ID, "lang"))
    text_in(con, plan_css, "behind")
    text_in(con, plan_css, "1 more alerted at")
    js_click(con, con.find_element(By.ID, "lang"))
    text_in(con, plan_css, "hinten")

    # The big-screen dashboard shows the same plan on the call's tile.
    con.get(server.base + "/dashboard")
    text_in(con, f'.tile[data-call-id="{call_id}"] .call-plan', "hinten")
    con.get(server.base + "/console")
    visible(con, "#c-title")

    # Broadcast is one click away, and its card has no plan.
    other = "Notfall: Keller auspumpen"
    console_fill_call(con, other, *SITE, radius=3, needed=1, mode="broadcast")
    visible(con, "#c-broadcast-hint")
    assert not con.find_element(By.ID, "c-fill-by").is_displayed()
    console_submit(con)
    text_in(con, "#call-form-ok", other)
    wait(con, lambda d: call_card(d, other) is not None, 5, "no card for the broadcast call")
    assert call_card(con, other).find_elements(By.CSS_SELECTOR, ".call-plan") == []
    status, calls = server.api("GET", "/calls?status=open", token=server.org_token)
    posted = next(c for c in calls["calls"] if c["title"] == other)
    assert posted["dispatch"]["mode"] == "broadcast" and posted["fillBy"] is None and posted["plan"] is None, posted

    for d in (vol, con):
        assert severe_logs(d) == [], severe_logs(d)
