"""Fixtures for the Helferruf browser tests: a real server process and
headless Chromium sessions driven by Selenium.

Environment:
  HELFERRUF_BIN   server binary (default .build/debug/helferruf); a path ending
                  in .py is run with Python (the development mock server)
  HELFERRUF_KEEP  set to keep the temporary database directory
  AXE_JS          axe.min.js for the accessibility audit (default: the copy in
                  PyPI's axe-playwright-python package)
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

os.environ.setdefault("SE_AVOID_STATS", "true")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEB = os.path.join(ROOT, "web")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def pytest_configure(config):
    config.addinivalue_line("markers", "push_api: needs the server's Web Push endpoints (PROTOCOL.md §8)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The helferruf binary on a free port with a database in a temp dir."""

    def __init__(self, binary):
        self.binary = binary
        self.tmp = tempfile.mkdtemp(prefix="helferruf-browser-")
        self.db = os.path.join(self.tmp, "helferruf.sqlite")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Push subscriptions in the tests point here (nothing needs to listen):
        # the server accepts an http:// push origin only when listed (§8).
        self.push_origin = f"http://127.0.0.1:{free_port()}"
        self.org_token = None
        self.proc = None
        self.lines = []

    def command(self):
        cmd = [self.binary]
        if self.binary.endswith(".py"):
            cmd = [sys.executable, self.binary]
        return cmd + ["serve", "--host", "127.0.0.1", "--port", str(self.port),
                      "--db", self.db, "--web", WEB, "--rate-limits", "off"]

    def start(self, timeout=90):
        # A crash prints a symbolicated backtrace into the captured output (self.lines).
        env = dict(os.environ, HELFERRUF_PUSH_ENDPOINTS=self.push_origin,
                   SWIFT_BACKTRACE="enable=yes,interactive=no,threads=all")
        self.sent = None
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, cwd=self.tmp, env=env)
        listening = threading.Event()

        def pump(proc):
            for line in proc.stdout:
                self.lines.append(line.rstrip("\n"))
                stripped = line.strip()
                if stripped.startswith("{") and '"token"' in stripped:
                    try:
                        obj = json.loads(stripped)
                        if obj.get("name") == "Demo":
                            self.org_token = obj["token"]
                    except ValueError:
                        pass
                if re.search(r"listening on http://", line):
                    listening.set()

        threading.Thread(target=pump, args=(self.proc,), daemon=True).start()
        deadline = time.time() + timeout
        while not listening.wait(0.1):
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early:\n" + "\n".join(self.lines[-40:]))
            if time.time() > deadline:
                raise RuntimeError("server did not print 'listening on' in time:\n" + "\n".join(self.lines[-40:]))

    def death(self):
        """How the server ended if it ended without being told to (a crash), else None."""
        code = self.proc.poll() if self.proc else None
        if code is None or self.sent is not None:
            return None
        return f"signal {-code}" if code < 0 else f"exit code {code}"

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.sent = sig
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def restart(self, sig=signal.SIGKILL):
        self.kill(sig)
        self.start()

    def api(self, method, path, token=None, body=None):
        """Call the HTTP API; returns (status, parsed JSON or None)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + "/api/v1" + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                raw = res.read()
                return res.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, None

    def close(self):
        self.kill(signal.SIGTERM)
        if not os.environ.get("HELFERRUF_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("HELFERRUF_BIN", os.path.join(ROOT, ".build", "debug", "helferruf"))
    if not os.path.isabs(binary):
        binary = os.path.join(ROOT, binary)
    if not os.path.exists(binary):
        pytest.fail(f"server binary not found: {binary} (build it with `swift build --product helferruf` "
                    "or set HELFERRUF_BIN)")
    srv = Server(binary)
    srv.start()
    assert srv.org_token, "the server did not print the Demo organisation's token on first start"
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def server_stays_alive(request):
    """Fails the test, with the server's last output, when the server died during it: a
    crash must not pass for a page that did not load."""
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        if (end := srv.death()) is not None:
            pytest.fail(f"server died ({end}); its last output:\n" + "\n".join(srv.lines[-60:]))


def make_driver(width=1280, height=800, mobile=False):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={max(width, 500)},{height}", "--autoplay-policy=no-user-gesture-required",
                "--lang=de-DE", "--disable-features=Translate"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    set_viewport(driver, width, height, mobile)
    driver.set_script_timeout(15)
    return driver


def set_viewport(driver, width, height, mobile=None):
    """Emulate an exact viewport (headless windows cannot be narrower than 500 px)."""
    if mobile is None:
        mobile = width < 600
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
    })


@pytest.fixture
def browsers():
    """Factory for Chromium sessions; all are closed after the test."""
    made = []

    def factory(width=1280, height=800, mobile=None):
        d = make_driver(width, height, mobile if mobile is not None else width < 600)
        made.append(d)
        return d

    yield factory
    for d in made:
        try:
            d.quit()
        except Exception:
            pass


TILE_HOSTS = ("tile.openstreetmap.org",)


def severe_logs(driver, allow=()):
    """SEVERE browser console entries, minus failed map tiles and allowed patterns."""
    out = []
    for entry in driver.get_log("browser"):
        if entry.get("level") != "SEVERE":
            continue
        msg = entry.get("message", "")
        if any(h in msg for h in TILE_HOSTS):
            continue
        if any(re.search(p, msg) for p in allow):
            continue
        out.append(msg)
    return out


def wait(driver, cond, timeout=10, message=""):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(cond, message)
