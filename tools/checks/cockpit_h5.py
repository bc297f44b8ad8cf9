"""The H5 cockpit page in a real browser (headless Chromium via selenium) against HEALTHCLOUD_URL.

Signs in on the page as leader.city (password, then a TOTP code from pyotp) and checks the
home screen: the scope name, ≥ 7 sparklines that each hold ≥ 2 points, a 90-day trend chart
with ≥ 30 points, ≥ 3 ranking entries. Taps the first ranking entry: the page shows that
district; the back button returns to the city. Signs out, signs in as leader.pudong: the home
scope is district:310115 and its ranking lists campuses. Screenshots of both home screens
(390×844) go to HC_SCREENSHOT_DIR (default docs/screenshots of the repo). On failure the
browser's console log is printed.
"""
import json
import os
import sys
import time

import pyotp
from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASE = os.environ["HEALTHCLOUD_URL"].rstrip("/")
DATA_DIR = os.environ.get("HEALTHCLOUD_DATA_DIR", "data")
ACCOUNTS = {a.get("username"): a for a in json.load(open(os.path.join(DATA_DIR, "demo-accounts.json"), encoding="utf-8"))}
SHOTS = os.path.join(REPO, os.environ.get("HC_SCREENSHOT_DIR", "docs/screenshots"))
WIDTH, HEIGHT = 390, 844
WAIT = 20
failures = []
last_totp_step = [0]  # the TOTP step of the last code this check spent


def check(condition, message):
    print("  ok  " if condition else "  FAIL", message)
    if not condition:
        failures.append(message)
    return condition


def make_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("HC_CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={WIDTH},{HEIGHT}", "--lang=zh-CN", "--hide-scrollbars", "--no-first-run"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("HC_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    # The viewport itself is 390×844 (a phone), whatever the window decorations take.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": True})
    driver.set_page_load_timeout(30)
    return driver


def wait(driver, condition, what, timeout=WAIT):
    try:
        # The page re-renders parts of itself while it loads: a vanished element means "not yet".
        return WebDriverWait(driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(condition)
    except TimeoutException:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def text_of(driver, css):
    try:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text.strip() if found and found[0].is_displayed() else ""
    except StaleElementReferenceException:
        return ""


def home_ready(driver):
    """#home shown, its scope set, and the trend chart drawn (it loads after the home)."""
    home = driver.find_elements(By.ID, "home")
    if not home or not home[0].is_displayed() or not text_of(driver, "#scope-name"):
        return False
    if driver.find_elements(By.CSS_SELECTOR, "svg.trend"):
        return True
    message = text_of(driver, "#trend-chart .msg")  # the trend failed: the page says why
    return bool(message) and "加载中" not in message


def sign_in(driver, username):
    account = ACCOUNTS.get(username)
    if account is None:
        raise AssertionError(f"{username} is not in demo-accounts.json")
    for attempt in (1, 2):
        wait(driver, lambda d: d.find_element(By.ID, "login-form").is_displayed(), "the login form")
        for field, value in (("username", username), ("password", account["password"]),
                             ("totp", pyotp.TOTP(account["totpSecret"]).now())):
            box = driver.find_element(By.ID, field)
            box.clear()
            box.send_keys(value)
        last_totp_step[0] = int(time.time() // 30)
        driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
        wait(driver, lambda d: home_ready(d) or text_of(d, "#login-error"), f"{username}: home or a login error")
        error = text_of(driver, "#login-error")
        if not error:
            return
        # A TOTP code is single-use per account: another check may have just spent this one.
        if attempt == 1:
            print(f"  ..  {username}: login said {error!r}; retrying with the next TOTP code")
            time.sleep(max(0.0, 30 - time.time() % 30) + 1)
    raise AssertionError(f"{username}: login failed: {error}")


def wait_home(driver, label):
    wait(driver, home_ready, f"{label}: #home with its trend chart")


def spark_points(driver):
    return [int(s.get_attribute("data-points") or 0) for s in driver.find_elements(By.CSS_SELECTOR, "svg.spark")]


def screenshot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    path = os.path.join(SHOTS, name)
    driver.save_screenshot(path)
    print(f"  ..  screenshot {os.path.relpath(path, REPO) if path.startswith(REPO) else path}")


def check_city(driver):
    driver.get(BASE + "/cockpit")
    sign_in(driver, "leader.city")
    wait_home(driver, "leader.city")
    city_name = text_of(driver, "#scope-name")
    check(bool(city_name), f"city: scope name shows ({city_name!r})")
    check(driver.find_element(By.ID, "home").get_attribute("data-scope") == "city", "city: home scope is city")
    points = spark_points(driver)
    check(len(points) >= 7, f"city: ≥ 7 sparklines ({len(points)})")
    check(points and min(points) >= 2, f"city: every sparkline holds ≥ 2 points ({points})")
    trends = driver.find_elements(By.CSS_SELECTOR, "svg.trend")
    trend_points = int(trends[0].get_attribute("data-points") or 0) if trends else 0
    check(len(trends) == 1, f"city: one trend chart ({len(trends)})")
    check(trend_points >= 30, f"city: the trend chart holds ≥ 30 points ({trend_points})")
    items = driver.find_elements(By.CSS_SELECTOR, "li.rank-item")
    check(len(items) >= 3, f"city: ≥ 3 ranking entries ({len(items)})")
    warnings = driver.find_elements(By.CSS_SELECTOR, "li.warning-item")
    levels = sorted({w.get_attribute("data-level") for w in warnings})
    check(all(level in ("red", "orange", "yellow", "blue") for level in levels), f"city: warning levels are known ({levels})")
    overflow = driver.execute_script("return document.documentElement.scrollWidth")
    check(overflow <= WIDTH, f"city: nothing overflows the {WIDTH} px width (scrollWidth {overflow})")
    screenshot(driver, "cockpit-city.png")
    if not items:
        return

    # Drill down: the first ranking entry.
    first = items[0]
    target_scope = first.get_attribute("data-scope")
    target_name = first.find_element(By.CSS_SELECTOR, ".rank-name").text.strip()
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", first)
    first.click()
    try:
        wait(driver, lambda d: d.find_element(By.ID, "home").get_attribute("data-scope") == target_scope
             and home_ready(d), f"the drill-down to {target_scope}")
    except AssertionError as e:
        check(False, f"drill-down: {e}")
        return
    name = text_of(driver, "#scope-name")
    check(name == target_name and name != city_name, f"drill-down: scope name shows {target_name!r} ({name!r})")
    check(target_scope.startswith("district:"), f"drill-down: the city ranks districts ({target_scope})")
    check(driver.find_element(By.ID, "back").is_displayed(), "drill-down: a back button")
    driver.find_element(By.ID, "back").click()
    try:
        wait(driver, lambda d: d.find_element(By.ID, "home").get_attribute("data-scope") == "city"
             and text_of(d, "#scope-name") == city_name, "the way back to the city")
        check(True, f"back: scope name shows {city_name!r} again")
    except AssertionError as e:
        check(False, f"back: {e}")


def check_district(driver):
    # A fresh sign-in: sign out, then load the page anew.
    driver.find_element(By.ID, "logout").click()
    wait(driver, lambda d: d.find_element(By.ID, "login-form").is_displayed(), "the login form after logout")
    driver.execute_script("sessionStorage.clear()")
    driver.get(BASE + "/cockpit")
    sign_in(driver, "leader.pudong")
    wait_home(driver, "leader.pudong")
    scope = driver.find_element(By.ID, "home").get_attribute("data-scope")
    check(scope == "district:310115", f"district: home scope is district:310115 ({scope})")
    check(bool(text_of(driver, "#scope-name")), f"district: scope name shows ({text_of(driver, '#scope-name')!r})")
    check(not driver.find_element(By.ID, "back").is_displayed(), "district: no back button at the home scope")
    points = spark_points(driver)
    check(len(points) >= 7 and min(points) >= 2, f"district: ≥ 7 sparklines with ≥ 2 points ({points})")
    scopes = [i.get_attribute("data-scope") for i in driver.find_elements(By.CSS_SELECTOR, "li.rank-item")]
    check(bool(scopes) and all(s.startswith("campus:") for s in scopes), f"district: ranking entries are campuses ({scopes})")
    screenshot(driver, "cockpit-district.png")


def main():
    try:
        driver = make_driver()
    except WebDriverException as e:
        print(f"FAIL cannot start headless Chromium: {e.msg}")
        return 1
    try:
        for step in (check_city, check_district):
            try:
                step(driver)
            except Exception as e:  # noqa: BLE001 - any failure ends the run with the console log
                check(False, f"{step.__name__}: {e}")
                break
        if failures:
            print("browser console:")
            try:
                for entry in driver.get_log("browser"):
                    print(f"  [{entry.get('level')}] {entry.get('message')}")
            except WebDriverException as e:
                print(f"  (no console log: {e.msg})")
            print(f"  url {driver.current_url}; #login-error {text_of(driver, '#login-error')!r}; "
                  f"toast {text_of(driver, '#toast')!r}")
    finally:
        driver.quit()
    # TOTP codes are single-use per account: leave the next check (login-all-roles signs in
    # the same leaders) a fresh step.
    pause = (last_totp_step[0] + 1) * 30 + 1 - time.time()
    if last_totp_step[0] and pause > 0:
        print(f"  ..  waiting {pause:.0f} s for the next TOTP step, so later checks get fresh codes")
        time.sleep(pause)
    print(f"cockpit H5: {len(failures)} failures")
    return 1 if failures else 0


sys.exit(main())
