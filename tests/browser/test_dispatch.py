"""Browser tests of the dispatch extensions (PROTOCOL.md §7) against the real
server: a waves call with a waiting list posted from the console, party size
on accept, standby and promotion, check-in, messages to confirmed helpers,
funnel figures on the console and the dashboard, fatigue limits in the
profile, urgency order of alerts sent together."""

import time

from selenium.webdriver.common.by import By

from conftest import severe_logs
from pages import (
    attention_log, click_css, console_fill_call, console_submit, js_click, org_signin, set_input, text_in, visible,
    volunteer_ready, volunteer_set_available, volunteer_signup, volunteer_type_location, wait,
)

# Münster: no other test puts volunteers or calls here.
HOME_A = (51.9625, 7.6256)
HOME_B = (51.9600, 7.6300)
SITE = (51.9610, 7.6280)


def funnel_value(driver, root_css, metric):
    return driver.find_element(By.CSS_SELECTOR, f'{root_css} li[data-metric="{metric}"] .fb-value').text


def wait_funnel(driver, root_css, metric, value, timeout=5):
    wait(driver, lambda d: funnel_value(d, root_css, metric) == value, timeout,
         f"funnel {metric} != {value} in {root_css}")


def test_waves_standby_party_checkin_and_messages(server, browsers):
    anna = browsers(360, 800)
    ben = browsers(360, 800)
    con = browsers(1280, 900)
    volunteer_ready(anna, server.base, "Anna Welle", *HOME_A)
    volunteer_ready(ben, server.base, "Ben Warteliste", *HOME_B)

    # --- the console posts a call in waves with a waiting list
    org_signin(con, server.base, server.org_token, "/console")
    # "Gebraucht bis" is the default; the wave interval shows only for waves.
    assert con.find_element(By.ID, "c-mode-deadline").is_selected()
    assert not con.find_element(By.ID, "c-wave-seconds").is_displayed()
    js_click(con, con.find_element(By.ID, "c-mode-waves"))
    visible(con, "#c-max-radius")
    con.find_element(By.ID, "c-max-radius").send_keys("8")
    set_input(con, "#c-wave-seconds", "0")
    js_click(con, con.find_element(By.ID, "c-standby"))
    title = "Deich sichern am Aasee"
    console_fill_call(con, title, *SITE, description="Sandsäcke schleppen.", address="Aaseestraße 1, Münster",
                      radius=3, needed=3, mode="waves")
    console_submit(con)
    text_in(con, "#cerr-dispatch-waveSeconds", "größer als 0")  # checked before anything is sent
    set_input(con, "#c-wave-seconds", "30")
    console_submit(con)
    text_in(con, "#call-form-ok", title)

    # The first wave alerts both (ceil(3 / 0.3) nearest without history).
    wait(anna, lambda d: d.find_elements(By.CSS_SELECTOR, ".alert-card"), 5, "no alert for Anna")
    call_id = anna.find_element(By.CSS_SELECTOR, ".alert-card").get_attribute("data-call-id")
    card = f'.alert-card[data-call-id="{call_id}"]'
    visible(ben, card, timeout=5)
    text_in(anna, card + " .counter-text", "0 von 3 bestätigt · noch 3 gesucht")
    status, call = server.api("GET", f"/calls/{call_id}", token=server.org_token)
    assert status == 200 and call.get("waves") == 1 and call.get("reachedRadiusKm") == 3, call
    dispatch = call.get("dispatch") or {}
    assert dispatch.get("mode") == "waves" and dispatch.get("maxRadiusKm") == 8 and dispatch.get("waveSeconds") == 30, call

    # The console's funnel: both alerted, delivered and seen (the pages are visible).
    con_css = f'.call-card[data-call-id="{call_id}"]'
    for metric in ("alerted", "delivered", "seen"):
        wait_funnel(con, con_css, metric, "2")
    text_in(con, con_css + ' [data-metric="waves"]', "Wellen: 1")

    # --- Anna comes with 2 people in all
    party = anna.find_element(By.CSS_SELECTOR, card + ' select[data-role="party"]')
    assert party.get_attribute("id") and anna.find_element(By.CSS_SELECTOR, f'label[for="{party.get_attribute("id")}"]')
    anna.execute_script("arguments[0].value = '2'; arguments[0].dispatchEvent(new Event('change'));", party)
    click_css(anna, card + ' [data-action="accept"]')
    conf_css = f'.confirmed-card[data-call-id="{call_id}"]'
    visible(anna, conf_css, timeout=5)
    text_in(anna, conf_css + " .party-size", "2 Personen")
    text_in(anna, conf_css + " .counter-text", "2 von 3 bestätigt · noch 1 gesucht", timeout=3)
    # Ben's card follows live.
    text_in(ben, card + " .counter-text", "2 von 3 bestätigt · noch 1 gesucht", timeout=3)
    assert ben.find_element(By.CSS_SELECTOR, card + " .counter-text").get_attribute("aria-live") == "polite"
    wait_funnel(con, con_css, "confirmed", "2")

    # --- Ben's party of 2 does not fit: he goes on the waiting list
    ben.execute_script("const s = document.querySelector(arguments[0]); s.value = '2';"
                       "s.dispatchEvent(new Event('change'));", card + ' select[data-role="party"]')
    click_css(ben, card + ' [data-action="accept"]')
    text_in(ben, card + " .card-status", "Auf der Warteliste", timeout=10)
    assert ben.find_elements(By.CSS_SELECTOR, card + ' [data-action="leave-standby"]')
    text_in(con, con_css + ' [data-metric="standby"]', "1 auf der Warteliste", timeout=5)
    # A reload keeps the place on the waiting list.
    ben.refresh()
    text_in(ben, card + " .card-status", "Auf der Warteliste", timeout=10)

    # --- Anna arrives and checks in; the console counts her on site
    click_css(anna, conf_css + ' [data-action="checkin"]')
    text_in(anna, conf_css + " .checkin-state", "eingecheckt")
    wait_funnel(con, con_css, "checkedIn", "1")
    assert anna.find_elements(By.CSS_SELECTOR, conf_css + ' [data-action="checkout"]')
    time.sleep(1)  # no error arrives: the check-in stays
    text_in(anna, conf_css + " .checkin-state", "eingecheckt")

    # --- the organisation sends a message to confirmed helpers
    click_css(con, con_css + ' [data-action="message"]')
    box = con.find_element(By.CSS_SELECTOR, con_css + " textarea")
    box.send_keys("Treffpunkt ist jetzt Tor 2. <b>Gummistiefel</b> mitbringen!")
    # A live update re-renders the card while typing: the text stays.
    click_css(con, con_css + ' [data-action="send-message"]')
    text_in(con, con_css + " .msg-status", "Gesendet um", timeout=5)
    assert box.get_attribute("value") == ""
    text_in(anna, conf_css + " .messages", "Treffpunkt ist jetzt Tor 2. <b>Gummistiefel</b> mitbringen!", timeout=3)
    assert anna.find_elements(By.CSS_SELECTOR, conf_css + " .messages b") == []
    assert any(e == f"sound:message-{call_id}" for e in attention_log(anna)), attention_log(anna)
    assert not ben.find_elements(By.CSS_SELECTOR, ".messages"), "a standby volunteer got the message"

    # After a reload the message is there once (sent again after welcome) and does not ring again.
    anna.refresh()
    visible(anna, conf_css + " .messages", timeout=10)
    time.sleep(1)
    assert len(anna.find_elements(By.CSS_SELECTOR, conf_css + " .message")) == 1
    assert not any(e.startswith("sound:message-") for e in attention_log(anna)), attention_log(anna)
    text_in(anna, conf_css + " .checkin-state", "eingecheckt")

    # --- Anna withdraws: Ben is promoted, with an attention cue
    click_css(anna, conf_css + ' [data-action="withdraw"]')
    click_css(anna, conf_css + ' [data-action="withdraw"]')
    wait(anna, lambda d: not d.find_elements(By.CSS_SELECTOR, conf_css), 5)
    visible(ben, conf_css, timeout=5)
    text_in(ben, conf_css, "Ein Platz ist frei geworden – du bist bestätigt!")
    # The promotion rings (the alert itself did not ring again after Ben's reload).
    assert len([e for e in attention_log(ben) if e == f"sound:{call_id}"]) == 1, attention_log(ben)
    text_in(con, con_css + " .counter-text", "2 von 3 bestätigt", timeout=5)

    # The dashboard shows the same funnel.
    dash = browsers(1280, 800)
    org_signin(dash, server.base, server.org_token, "/dashboard")
    tile_css = f'.tile[data-call-id="{call_id}"]'
    wait_funnel(dash, tile_css, "alerted", "2")
    wait_funnel(dash, tile_css, "confirmed", "2")

    for d in (anna, ben, con, dash):
        assert severe_logs(d) == [], severe_logs(d)


def test_refused_checkin_is_reverted(server, browsers):
    d = browsers(360, 800)
    volunteer_ready(d, server.base, "Carla", 51.9500, 7.6100)
    status, call = server.api("POST", "/calls", token=server.org_token, body={
        "title": "Zelte aufbauen", "location": {"lat": 51.9505, "lon": 7.6105}, "radiusKm": 1, "needed": 2,
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))})
    assert status == 201, call
    card = f'.alert-card[data-call-id="{call["id"]}"]'
    click_css(d, card + ' [data-action="accept"]', timeout=5)
    conf = f'.confirmed-card[data-call-id="{call["id"]}"]'
    visible(d, conf, timeout=5)
    # Withdrawn on another device: this page does not know it yet.
    token = d.execute_script("return JSON.parse(localStorage.getItem('helferruf.volunteer')).token")
    status, res = server.api("POST", f"/calls/{call['id']}/withdraw", token=token)
    assert status == 200 and res["result"] == "withdrawn", res
    click_css(d, conf + ' [data-action="checkin"]')
    text_in(d, conf + " .card-status", "hat nicht geklappt", timeout=5)
    assert d.find_elements(By.CSS_SELECTOR, conf + ' [data-action="checkin"]'), "check-in not reverted"
    assert not d.find_elements(By.CSS_SELECTOR, conf + " .checkin-state")


def test_profile_limits_saved_and_reloaded(server, browsers):
    d = browsers(360, 800)
    volunteer_signup(d, server.base, "Dieter")
    js_click(d, d.find_element(By.ID, "edit-profile"))
    visible(d, "#pf-max-alerts")
    assert not d.find_element(By.ID, "pf-quiet-from").is_displayed()

    # Out of range: shown next to the field, nothing sent.
    d.find_element(By.ID, "pf-max-alerts").send_keys("500")
    js_click(d, d.find_element(By.CSS_SELECTOR, '#profile-form button[type="submit"]'))
    text_in(d, "#perr-maxAlertsPerDay", "1 bis 100")
    assert d.find_element(By.ID, "pf-max-alerts").get_attribute("aria-invalid") == "true"

    d.find_element(By.ID, "pf-max-alerts").clear()
    d.find_element(By.ID, "pf-max-alerts").send_keys("5")
    js_click(d, d.find_element(By.ID, "pf-quiet-on"))
    visible(d, "#pf-quiet-from")
    set_input(d, "#pf-quiet-from", "22:30")
    set_input(d, "#pf-quiet-to", "06:45")
    js_click(d, d.find_element(By.CSS_SELECTOR, '#profile-form button[type="submit"]'))
    text_in(d, "#notice", "Gespeichert")
    text_in(d, "#account-limits", "Ruhezeit 22:30–06:45 · höchstens 5 Rufe am Tag")
    token = d.execute_script("return JSON.parse(localStorage.getItem('helferruf.volunteer')).token")
    status, me = server.api("GET", "/volunteers/me", token=token)
    assert status == 200 and me.get("maxAlertsPerDay") == 5, me
    assert me.get("quietHours") == {"from": "22:30", "to": "06:45"}, me

    # Reloaded from the server, not from this browser's copy.
    d.execute_script("const p = JSON.parse(localStorage.getItem('helferruf.volunteer'));"
                     "delete p.maxAlertsPerDay; delete p.quietHours;"
                     "localStorage.setItem('helferruf.volunteer', JSON.stringify(p));")
    d.refresh()
    visible(d, "#app")
    js_click(d, d.find_element(By.ID, "edit-profile"))
    wait(d, lambda x: x.find_element(By.ID, "pf-max-alerts").get_attribute("value") == "5", 5)
    assert d.find_element(By.ID, "pf-quiet-on").is_selected()
    assert d.find_element(By.ID, "pf-quiet-from").get_attribute("value") == "22:30"
    assert d.find_element(By.ID, "pf-quiet-to").get_attribute("value") == "06:45"

    # Both switched off again: sent as null.
    d.find_element(By.ID, "pf-max-alerts").clear()
    js_click(d, d.find_element(By.ID, "pf-quiet-on"))
    js_click(d, d.find_element(By.CSS_SELECTOR, '#profile-form button[type="submit"]'))
    wait(d, lambda x: x.find_element(By.ID, "profile-form").get_attribute("hidden") is not None, 5)
    status, me = server.api("GET", "/volunteers/me", token=token)
    assert me.get("maxAlertsPerDay") is None and me.get("quietHours") is None, me
    assert d.find_element(By.ID, "account-limits").text == ""
    assert severe_logs(d) == []


def test_alerts_sent_together_keep_the_servers_order(server, browsers):
    d = browsers(360, 800)
    volunteer_signup(d, server.base, "Emma")
    volunteer_type_location(d, "52.0200, 7.7000")
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
    ids = []
    # Equally urgent (nobody confirmed yet), so the nearer one comes first.
    for title, lon in (("Weiter weg", 7.7300), ("Ganz nah", 7.7010)):
        status, call = server.api("POST", "/calls", token=server.org_token, body={
            "title": title, "location": {"lat": 52.0200, "lon": lon}, "radiusKm": 5, "needed": 4, "endsAt": ends})
        assert status == 201, call
        ids.append(call["id"])
    # Becoming available brings both at once.
    volunteer_set_available(d)
    wait(d, lambda x: len(x.find_elements(By.CSS_SELECTOR, ".alert-card")) == 2, 5)
    order = [c.get_attribute("data-call-id") for c in d.find_elements(By.CSS_SELECTOR, ".alert-card")]
    assert order == [ids[1], ids[0]], order


def test_funnel_without_v11_fields_shows_dashes(server, browsers):
    d = browsers(1280, 800)
    d.get(server.base + "/console")
    visible(d, "#signin")
    texts = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/js/funnel.js').then(m => {"
        "  const n = m.funnelView({id: 'x', alerted: 4, confirmed: 1, needed: 3, status: 'open'});"
        "  done([...n.querySelectorAll('li')].map(li => li.dataset.metric + '=' + li.querySelector('.fb-value').textContent));"
        "});")
    assert texts == ["alerted=4", "delivered=–", "seen=–", "confirmed=1", "checkedIn=–"], texts
