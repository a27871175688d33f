"""Page helpers shared by the browser tests and scripts/screenshots."""

import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def wait(driver, cond, timeout=10, message=""):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(cond, message)


def visible(driver, css, timeout=10):
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"{css} not visible")


def text_in(driver, css, text, timeout=10):
    wait(driver, EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), timeout,
         f"{text!r} not in {css}")


def js_click(driver, element):
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def click_css(driver, css, timeout=5):
    """Click the element matching css, finding it again if a re-render replaced it."""
    from selenium.common.exceptions import StaleElementReferenceException, NoSuchElementException
    deadline = time.time() + timeout
    while True:
        try:
            js_click(driver, driver.find_element(By.CSS_SELECTOR, css))
            return
        except (StaleElementReferenceException, NoSuchElementException):
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def grant_geolocation(driver, base, lat, lon, accuracy=25):
    origin = base.rstrip("/")
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": origin, "permissions": ["geolocation", "notifications"]})
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lon, "accuracy": accuracy})


def volunteer_signup(driver, base, name, skills=(), contact="", distance=None):
    driver.get(base + "/")
    visible(driver, "#signup-form")
    driver.find_element(By.ID, "su-name").send_keys(name)
    for s in skills:
        chips = driver.find_elements(By.CSS_SELECTOR, f'#su-skills [data-skill="{s}"]')
        if chips:
            js_click(driver, chips[0])
        else:
            driver.find_element(By.ID, "su-custom").send_keys(s)
            js_click(driver, driver.find_element(By.ID, "su-add"))
    if distance is not None:
        driver.execute_script("const r = document.getElementById('su-distance'); r.value = arguments[0];"
                              "r.dispatchEvent(new Event('input'));", str(distance))
    if contact:
        driver.find_element(By.ID, "su-contact").send_keys(contact)
    js_click(driver, driver.find_element(By.ID, "su-submit"))
    visible(driver, "#app")


def volunteer_type_location(driver, text):
    box = driver.find_element(By.ID, "loc-input")
    box.clear()
    box.send_keys(text)
    js_click(driver, driver.find_element(By.ID, "loc-set"))
    wait(driver, lambda d: "ok" in d.find_element(By.ID, "loc-status").get_attribute("class"))


def volunteer_set_available(driver):
    btn = driver.find_element(By.ID, "avail")
    if btn.get_attribute("aria-checked") != "true":
        js_click(driver, btn)
    wait(driver, lambda d: d.find_element(By.ID, "avail").get_attribute("aria-checked") == "true")


def org_signin(driver, base, token, path="/console"):
    """Sign in with the organisation's API token (the secondary way)."""
    driver.get(base + path)
    visible(driver, "#signin")
    box = driver.find_element(By.ID, "signin-token-box")
    if not box.get_attribute("open"):
        js_click(driver, box.find_element(By.TAG_NAME, "summary"))
    visible(driver, "#signin-token")
    driver.find_element(By.ID, "signin-token").send_keys(token)
    js_click(driver, driver.find_element(By.CSS_SELECTOR, '#signin-form button[type="submit"]'))
    visible(driver, "#console" if path == "/console" else "#dashboard")
    wait(driver, lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "online", 10)


def org_login(driver, base, email, password, path="/console"):
    """Fill in and send the account login form; the caller checks the outcome."""
    driver.get(base + path)
    visible(driver, "#login-email")
    for key, value in (("login-email", email), ("login-password", password)):
        box = driver.find_element(By.ID, key)
        box.clear()
        box.send_keys(value)
    js_click(driver, driver.find_element(By.CSS_SELECTOR, '#login-form button[type="submit"]'))


def console_fill_call(driver, title, lat, lon, description="", address="", radius=None, needed=None, skills=(),
                      mode="broadcast"):
    """Fill in the console's new-call form. `mode` picks the alerting (deadline, the form's
    default, broadcast or waves); None leaves the choice as it is."""
    f = driver.find_element
    if mode is not None:
        # A DOM click (it checks the radio and fires change): right after sign-in the form's
        # layout may still move, and a pointer click can land on whatever moved under it.
        radio = f(By.ID, f"c-mode-{mode}")
        if not radio.is_selected():
            driver.execute_script("arguments[0].click();", radio)
    f(By.ID, "c-title").clear()
    f(By.ID, "c-title").send_keys(title)
    f(By.ID, "c-description").clear()
    if description:
        f(By.ID, "c-description").send_keys(description)
    f(By.ID, "c-address").clear()
    if address:
        f(By.ID, "c-address").send_keys(address)
    for key, value in (("c-lat", lat), ("c-lon", lon)):
        box = f(By.ID, key)
        box.clear()
        box.send_keys(str(value))
        box.send_keys(Keys.TAB)
    if radius is not None:
        driver.execute_script("const r = document.getElementById('c-radius'); r.value = arguments[0];"
                              "r.dispatchEvent(new Event('input'));", str(radius))
    if needed is not None:
        f(By.ID, "c-needed").clear()
        f(By.ID, "c-needed").send_keys(str(needed))
    for s in skills:
        chip = f(By.CSS_SELECTOR, f'#c-skills [data-skill="{s}"]')
        if chip.get_attribute("aria-pressed") != "true":
            js_click(driver, chip)


def console_submit(driver):
    js_click(driver, driver.find_element(By.ID, "c-submit"))


def call_card(driver, title, css=".call-card"):
    for card in driver.find_elements(By.CSS_SELECTOR, css):
        if title in card.text:
            return card
    return None


def overflow(driver):
    """True when the page is wider than the viewport."""
    return driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth")


def pause(seconds):
    time.sleep(seconds)


def volunteer_ready(driver, base, name, lat, lon, skills=()):
    """Sign up, share an emulated GPS position and become available."""
    volunteer_signup(driver, base, name, skills=skills)
    grant_geolocation(driver, base, lat, lon)
    js_click(driver, driver.find_element(By.ID, "loc-gps"))
    text_in(driver, "#loc-status", "GPS")
    wait(driver, lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "online")
    volunteer_set_available(driver)


def set_input(driver, css, value):
    """Set an input's value as the user would (input and change events), e.g. for type=time."""
    driver.execute_script("const e = document.querySelector(arguments[0]); e.value = arguments[1];"
                          "e.dispatchEvent(new Event('input', {bubbles: true}));"
                          "e.dispatchEvent(new Event('change', {bubbles: true}));", css, value)


def attention_log(driver):
    return driver.execute_script("return window.helferrufAttentionLog || []")
