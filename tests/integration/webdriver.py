"""webdriver.py: a small W3C WebDriver client (standard library only).

Drives Debian's chromium through chromedriver over the W3C WebDriver
protocol (JSON over HTTP), so the browser tests need no Python package
beyond the standard library. Only what the tests use is here: open a
session, load pages, find elements, click, type, run a script, wait,
save a screenshot.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def missing():
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return "%s is not installed (Debian: chromium, " \
                   "chromium-driver)" % path
    return None


class WebDriverError(Exception):
    pass


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless chromium, one session."""

    def __init__(self, profile_dir, download_dir, width=1280, height=900):
        self.port = _free_port()
        self.log = open(os.path.join(profile_dir + ".chromedriver.log"),
                        "w")
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, "--port=%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.time() + 20
        while True:
            try:
                self._call("GET", "/status")
                break
            except (OSError, WebDriverError):
                if time.time() > deadline:
                    self.close()
                    raise
                time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage",
                "--user-data-dir=%s" % profile_dir,
                "--window-size=%d,%d" % (width, height)]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM, "args": args,
                "prefs": {"download.default_directory": download_dir,
                          "download.prompt_for_download": False}}}}}
        # A loaded machine can make chromium miss chromedriver's wait for
        # its renderer ("session not created ... unable to connect to
        # renderer"): try again, a bounded number of times.
        for attempt in range(3):
            try:
                value = self._call("POST", "/session", caps)
                break
            except WebDriverError as e:
                if attempt < 2 and "session not created" in str(e):
                    time.sleep(1)
                    continue
                self.close()
                raise
            except Exception:
                self.close()
                raise
        self.session = value["sessionId"]
        # Headless chromium saves downloads only when told where.
        try:
            self._call("POST", self._s("/goog/cdp/execute"), {
                "cmd": "Browser.setDownloadBehavior",
                "params": {"behavior": "allow",
                           "downloadPath": download_dir}})
        except WebDriverError:
            pass

    def _call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                reply = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                reply = json.load(e)
            except ValueError:
                raise WebDriverError("%s %s: HTTP %d" % (method, path,
                                                          e.code))
            v = reply.get("value", {})
            raise WebDriverError("%s %s: %s: %s" % (
                method, path, v.get("error"), v.get("message", "")[:300]))
        return reply.get("value")

    def _s(self, path):
        return "/session/%s%s" % (self.session, path)

    def close(self):
        if getattr(self, "session", None):
            try:
                self._call("DELETE", self._s(""), timeout=20)
            except Exception:
                pass
            self.session = None
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
        self.log.close()

    # Pages and scripts.
    def get(self, url):
        self._call("POST", self._s("/url"), {"url": url})

    def delete_cookies(self):
        self._call("DELETE", self._s("/cookie"))

    def url(self):
        return self._call("GET", self._s("/url"))

    def script(self, js, *args):
        return self._call("POST", self._s("/execute/sync"),
                          {"script": js, "args": list(args)})

    def screenshot(self, path):
        png = self._call("GET", self._s("/screenshot"))
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))

    # Elements.
    def find_all(self, css):
        found = self._call("POST", self._s("/elements"),
                           {"using": "css selector", "value": css})
        return [Element(self, e[ELEMENT]) for e in found]

    def find(self, css):
        found = self.find_all(css)
        return found[0] if found else None

    def wait(self, what, timeout=20, interval=0.2):
        """Wait until what() returns something true; return it."""
        deadline = time.time() + timeout
        while True:
            try:
                v = what()
            except WebDriverError:
                v = None
            if v:
                return v
            if time.time() > deadline:
                raise TimeoutError("browser: condition not met in %ds"
                                   % timeout)
            time.sleep(interval)

    def wait_for(self, css, timeout=20):
        return self.wait(lambda: self.find(css), timeout)

    def text(self):
        return self.script("return document.body ? "
                           "document.body.innerText : ''")


class Element:
    def __init__(self, browser, ref):
        self.b = browser
        self.ref = ref

    def _p(self, path=""):
        return self.b._s("/element/%s%s" % (self.ref, path))

    def click(self):
        self.b._call("POST", self._p("/click"), {})

    def send_keys(self, text):
        self.b._call("POST", self._p("/value"), {"text": text})

    def clear(self):
        self.b._call("POST", self._p("/clear"), {})

    @property
    def text(self):
        return self.b._call("GET", self._p("/text"))

    def attr(self, name):
        return self.b._call("GET", self._p("/attribute/%s" % name))

    def displayed(self):
        return self.b._call("GET", self._p("/displayed"))
