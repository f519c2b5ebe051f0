"""Page tests in a real browser: Debian's Chromium driven by Playwright.

Playwright's own browser downloads are not used (they cannot be fetched everywhere we build);
`make test` installs the distribution's `chromium` instead, and Playwright drives it over CDP.
A page test module says `pytest_plugins = ["tests.browser"]` and asks for `page` (a desktop-sized
fresh browser context on the live server) or `phone` (360x740, touch).

PYTEST_DONT_REWRITE: test modules import these helpers before pytest loads the module as their
plugin, and nothing here asserts; the marker keeps pytest from warning about the order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

CHROMIUM = os.environ.get("SLRT_TEST_CHROMIUM", "/usr/bin/chromium")

# Headless, no sandbox (CI runs as root), and nothing that phones home or waits for a GPU.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Generous: two shared cores under a parallel suite make pages slow, never wrong.
TIMEOUT_MS = 30_000

PHONE = {"width": 360, "height": 740}  # a common cheap Android phone


def launch_chromium(playwright: Playwright) -> Browser:
    """One Chromium for the whole session. launch() gives it a fresh temporary profile
    (user-data dir) that Playwright deletes on close; tests isolate in contexts."""
    expect.set_options(timeout=TIMEOUT_MS)
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS * 2
    )


def new_context(browser: Browser, base_url: str, **kw) -> BrowserContext:
    """A fresh context (own cookies, own cache): one signed-out person at a new browser. What
    Chromium reports about the Content-Security-Policy is kept in `csp_violations(context)`."""
    kw.setdefault("locale", "id-ID")
    context = browser.new_context(base_url=base_url, **kw)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    found: list[str] = []
    context.on(
        "console",
        lambda message: (
            found.append(f"{message.page.url if message.page else ''}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    _VIOLATIONS[id(context)] = found
    return context


_VIOLATIONS: dict[int, list[str]] = {}


def csp_violations(context: BrowserContext) -> list[str]:
    """What Chromium refused in this context because of the pages' Content-Security-Policy."""
    return _VIOLATIONS.get(id(context), [])


def close_checked(context: BrowserContext) -> None:
    """Close the context; a page that broke its own Content-Security-Policy fails the test."""
    found = list(csp_violations(context))
    _VIOLATIONS.pop(id(context), None)
    context.close()
    if found:
        raise AssertionError("Content-Security-Policy violations:\n" + "\n".join(found))


def sign_in(page: Page, email: str, password: str) -> None:
    """Go to the sign-in page as a person does and submit the form (labels in Indonesian)."""
    page.goto("/auth/login")
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    fill_sign_in(page, email, password)


def fill_sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Anda sudah keluar")).to_be_visible()


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    # Against the configured viewport too: a mobile Chromium zooms out to fit wide content,
    # which widens innerWidth along with it.
    width = page.viewport_size["width"] if page.viewport_size else 0
    # A document that has committed but not yet parsed has no scrolling element to measure.
    page.wait_for_load_state("load")
    return page.evaluate(
        "(w) => Math.max(0, document.scrollingElement.scrollWidth - Math.min(window.innerWidth, w || Infinity))",
        width,
    )


def screenshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- fixtures ------------------------------------------------------------------------------


# One Chromium per test module (one module: one per session): while Playwright's sync API is open
# its event loop counts as running in this thread, which would break asyncio.run() in other
# modules that the same xdist worker runs afterwards.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server) -> Iterator[Page]:
    context = new_context(chromium, live_server.url)
    yield context.new_page()
    close_checked(context)


@pytest.fixture
def phone(chromium, live_server) -> Iterator[Page]:
    context = new_context(chromium, live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    close_checked(context)
