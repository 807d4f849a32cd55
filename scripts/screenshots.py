#!/usr/bin/env python3
"""Save PNG screenshots of the web interface's main pages, for the README (headless Chromium, Playwright).

Usage (against a running node, e.g. ``make demo``; the demo logins are in the node's ``demo-logins.txt``)::

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 --user analyst --password '…' \
        [--clerk clerk --clerk-password '…'] [--out docs/screenshots] [--lang en]

The analyst's pages: dashboard, screening with a result, alerts, a case, a lot trace, the balance; the point
of sale needs a role that sells (an operator's clerk): give ``--clerk``, or it is skipped. Chromium is
Debian's ``/usr/bin/chromium`` unless ``VIGICHEM_CHROMIUM`` or ``--chromium`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1400, 900


def _login(page: Any, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_load_state("networkidle")
    if "/ui/login" in page.url:
        raise SystemExit(f"login as {user!r} failed")


def _set_language(page: Any, base: str, lang: str) -> None:
    page.goto(f"{base}/ui/screen")
    page.click(f"[data-testid=language-form] button[value={lang}]")
    page.wait_for_load_state("networkidle")


def _shot(page: Any, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    target = out / f"{name}.png"
    page.screenshot(path=str(target), full_page=False)
    print(f"saved {target}")


def _first_link(page: Any, selector: str) -> str | None:
    found = page.locator(selector)
    return found.first.get_attribute("href") if found.count() else None


def analyst_pages(page: Any, base: str, out: Path) -> None:
    """Dashboard, screening, alerts, a case, a lot trace and the balance, as the analyst sees them."""
    page.goto(f"{base}/ui/")
    _shot(page, out, "dashboard")
    page.goto(f"{base}/ui/screen?q=hydrogen+peroxide+30%25%3B+water+70%25&jurisdiction=EU")
    _shot(page, out, "screening")
    page.goto(f"{base}/ui/alerts")
    _shot(page, out, "alerts")
    case = _first_link(page, "[data-testid=case-link]")
    if case:
        page.goto(f"{base}{case}")
        _shot(page, out, "case")
    page.goto(f"{base}/ui/events?biz_step=commissioning")
    lot = page.locator("[data-testid=events] a[href^='/ui/trace']")
    if lot.count():
        page.goto(f"{base}{lot.first.get_attribute('href')}")
        _shot(page, out, "trace")
    page.goto(f"{base}/ui/balance")
    _shot(page, out, "balance")


def pos_page(page: Any, base: str, out: Path) -> None:
    """The point of sale with a decision (a private buyer asking for 35 % hydrogen peroxide)."""
    page.goto(f"{base}/ui/pos")
    options = page.locator("select[name=product] option").all_text_contents()
    wanted = next((text for text in options if re.search(r"35\s*%", text)), None)
    if wanted:
        page.select_option("select[name=product]", label=wanted)
    page.fill("input[name=quantity]", "1")
    page.get_by_test_id("pos-form").locator("button[type=submit]").click()
    _shot(page, out, "point-of-sale")


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, log in, and save the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the node, e.g. http://127.0.0.1:8000")
    parser.add_argument("--user", required=True, help="an account that reads alerts and cases (analyst)")
    parser.add_argument("--password", required=True)
    parser.add_argument("--clerk", help="an operator clerk's account, for the point of sale")
    parser.add_argument("--clerk-password")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--lang", choices=("en", "fr"), default="en")
    parser.add_argument("--chromium", default=os.environ.get("VIGICHEM_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    base = args.url.rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True)
        try:
            for user, password, pages in (
                (args.user, args.password, analyst_pages),
                (args.clerk, args.clerk_password, pos_page),
            ):
                if not user or not password:
                    print(f"skipped {pages.__name__}: no login given")
                    continue
                context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
                page = context.new_page()
                _login(page, base, user, password)
                _set_language(page, base, args.lang)
                pages(page, base, args.out)
                context.close()
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
