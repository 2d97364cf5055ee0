"""Headless Chromium (Debian's chromium + chromedriver) with every outside host blocked and requests logged."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def available() -> bool:
    return bool(shutil.which("chromium") or shutil.which("chromium-browser")) and bool(shutil.which("chromedriver"))


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lmreport-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--allow-file-access-from-files",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
        # Any name other than localhost fails to resolve: a page that reaches outside shows a failed request.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.get("about:blank")
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requests_and_failures(driver) -> tuple[list[str], list[str]]:
    """URLs the page asked for, and those that failed, from the performance log since the last call."""
    urls, failed, by_id = [], [], {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            if params.get("documentURL", "").startswith("chrome:"):
                continue  # the browser's own new-tab page, not ours
            url = params["request"]["url"]
            by_id[params["requestId"]] = url
            urls.append(url)
        elif message["method"] == "Network.loadingFailed" and params["requestId"] in by_id:
            failed.append(f"{by_id.get(params['requestId'], '?')}: {params.get('errorText')}")
        elif message["method"] == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            failed.append(f"{params['response']['url']}: HTTP {params['response']['status']}")
    return urls, failed


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def axe_violations(driver, tags: tuple[str, ...] = ("wcag2a", "wcag2aa")) -> list[dict]:
    """axe-core's WCAG violations on the page now open (axe-core as the selenium-axe-python package carries it),
    each as {id, help, nodes: [target selectors]}."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("selenium_axe_python")
    script = Path(list(spec.submodule_search_locations)[0]) / "axe-core" / "axe.min.js"
    driver.execute_script(script.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, help: v.help,"
        "                                        nodes: v.nodes.map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));", list(tags))
    return result


def wait_for(driver, script: str, timeout: float = 20.0):
    """The first truthy value script returns, polled every 0.1 s; AssertionError after timeout seconds."""
    end = time.time() + timeout
    while time.time() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")
