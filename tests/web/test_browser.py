"""The web interface in a real browser: Debian's Chromium, headless, driven by Playwright.

The server is uvicorn in a background thread on a free loopback port, over the seeded node (all data fake).
Every request the pages make is recorded; the last test asserts that none left the node's own origin.

Chromium is Debian's ``/usr/bin/chromium`` (override with ``VIGICHEM_CHROMIUM``); Playwright downloads no
browser. Without it the tests are skipped with the reason, unless ``VIGICHEM_REQUIRE_BROWSER=1`` (CI), where
they fail.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from tests.web.conftest import SeededNode

CHROMIUM = os.environ.get("VIGICHEM_CHROMIUM", "/usr/bin/chromium")
REQUESTS: list[str] = []
CONSOLE: list[str] = []


def _require_browser() -> None:
    reason = None
    if not Path(CHROMIUM).is_file():
        reason = f"no Chromium at {CHROMIUM} (install Debian's chromium or set VIGICHEM_CHROMIUM)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed"
    if reason is None:
        return
    if os.environ.get("VIGICHEM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"VIGICHEM_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    """The seeded node served by uvicorn on a free loopback port (stopped after the module)."""
    _require_browser()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[object]:
    """Headless Chromium (Debian's binary)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def page(browser: object, base_url: str, seeded: SeededNode) -> Iterator[object]:
    """One page logged in as the authority's analyst, recording every request it makes."""
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(accept_downloads=True, locale="en-GB")
    context.set_default_timeout(20_000)
    tab = context.new_page()
    tab.on("request", lambda request: REQUESTS.append(request.url))
    # A request the Content-Security-Policy blocks never reaches the "request" event: the console tells.
    tab.on("console", lambda message: CONSOLE.append(f"{message.type}: {message.text}"))
    try:
        yield tab
    finally:
        context.close()


def test_log_in(page: object, base_url: str, seeded: SeededNode) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{base_url}/ui/alerts")
    expect(page).to_have_url(f"{base_url}/ui/login?next=/ui/alerts")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", seeded.passwords["analyst"])
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{base_url}/ui/alerts")
    expect(page.get_by_test_id("who")).to_contain_text("Authority analyst")
    page.goto(f"{base_url}/ui/")
    expect(page.get_by_test_id("alerts-chart")).to_have_attribute("data-drawn", "1")  # Chart.js ran


def test_screen_a_chemical(page: object, base_url: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{base_url}/ui/screen")
    page.fill("input[name=q]", "hydrogen peroxide 30%; water 70%")
    page.select_option("select[name=jurisdiction]", "EU")
    page.click("[data-testid=screen-form] button[type=submit]")
    expect(page.get_by_test_id("findings")).to_contain_text("EU 2019/1148 Annex I")
    expect(page.get_by_test_id("verdict")).to_contain_text("Controlled")
    expect(page.locator("[data-testid=structure] svg")).to_be_visible()
    page.fill("input[name=q]", "7722-84-2")
    page.click("[data-testid=screen-form] button[type=submit]")
    expect(page.get_by_test_id("screen-error")).to_contain_text("check digit")


def test_follow_an_alert_to_its_case_act_and_download_the_report(page: object, base_url: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{base_url}/ui/alerts?status=new")
    page.get_by_test_id("case-link").first.click()
    expect(page.get_by_test_id("case-status")).to_have_text("new")
    page.get_by_test_id("move-triage").click()
    expect(page.get_by_test_id("case-status")).to_have_text("triage")
    page.fill("textarea[name=text]", "Browser test comment (invented).")
    page.get_by_test_id("comment").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("Browser test comment (invented).")
    page.get_by_test_id("assign").click()
    expect(page.get_by_test_id("case-assignee")).to_have_text("analyst")
    with page.expect_download() as download:
        page.get_by_test_id("report-pdf-en").click()
    path = download.value.path()
    assert path is not None and Path(path).read_bytes().startswith(b"%PDF")
    page.goto(f"{base_url}/ui/ledger")
    page.get_by_test_id("verify").click()  # an HTMX POST: the CSRF header comes from <body hx-headers>
    expect(page.get_by_test_id("verify-ok")).to_be_visible()


def test_switch_to_french(page: object, base_url: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{base_url}/ui/alerts")
    page.click("[data-testid=language-form] button[value=fr]")
    expect(page.locator("h1")).to_contain_text("File des alertes")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.click("[data-testid=language-form] button[value=en]")
    expect(page.locator("h1")).to_contain_text("Alert queue")


def test_no_request_left_the_node(page: object, base_url: str) -> None:
    assert len(REQUESTS) > 10, "the scenarios above should have recorded the pages' requests"
    foreign = [url for url in REQUESTS if not url.startswith(f"{base_url}/") and not url.startswith("data:")]
    assert foreign == []
    assert [line for line in CONSOLE if "Content Security Policy" in line or "Refused to" in line] == []
    assert any(url.endswith("/static/vendor/htmx/htmx.min.js") for url in REQUESTS)
    assert any(url.endswith(".woff2") for url in REQUESTS)  # the vendored font, not a system or web font
