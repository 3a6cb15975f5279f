"""Real-browser end-to-end tests: the whole platform as `mediation-dev` runs it (Temporal dev server, worker and
web app as processes, on free ports and a temporary data folder), driven by Debian's Chromium through Playwright.

Collected only when tests/e2e is named on the command line (`make test-e2e`; see tests/conftest.py), because
they need Chromium and take a minute or two. Screenshots, axe reports and the server log go to
test-artifacts/e2e/ at the repository root.

Nothing here downloads a browser: Playwright drives /usr/bin/chromium (`apt-get install chromium`), or the
binary named by MEDIATION_E2E_CHROMIUM.
"""

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.test_dev_command import DevProcess, free_ports

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
CHROMIUM = Path(os.environ.get("MEDIATION_E2E_CHROMIUM", "/usr/bin/chromium"))
# Quiet, offline, headless: no component updates, sync or QUIC probes that would reach past the loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ACTION_TIMEOUT_MS = 15_000
# Page loads get longer: on a busy two-core machine a sign-in (argon2) or a workflow Update can take a while.
NAVIGATION_TIMEOUT_MS = 30_000
# What the accessibility check fails on; minor and moderate findings are printed and saved, not fatal.
BLOCKING_IMPACTS = ("serious", "critical")
# Phone widths every page must fit without sideways scrolling: a small Android phone and an iPhone.
PHONE_WIDTHS = (360, 390)
DESKTOP = {"width": 1280, "height": 900}
# The elements that stick out past the right edge of a too-wide page, to say what to fix.
WIDEST_ELEMENTS = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
       + ' (right edge ' + Math.round(el.getBoundingClientRect().right) + ' px)')
  .slice(0, 6)"""


def pytest_configure(config):
    config.addinivalue_line("markers", "journey: one step of the end-to-end story; later steps are skipped once a step fails")


def pytest_runtest_makereport(item, call):
    if call.excinfo is None or call.excinfo.errisinstance(pytest.skip.Exception):
        return
    # The steps share one case, so after a failure the later ones would only fail for the same reason.
    if item.get_closest_marker("journey"):
        item.session.e2e_failed_step = getattr(item.session, "e2e_failed_step", None) or item.name
    site = item.funcargs.get("site")
    if isinstance(site, Site):
        site.shoot_everything(f"FAILED-{item.name}")


def pytest_runtest_setup(item):
    failed = getattr(item.session, "e2e_failed_step", None)
    if failed and item.get_closest_marker("journey"):
        pytest.skip(f"skipped: the earlier step {failed} failed")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


# Module scope, not session: sync Playwright keeps an event loop running in this thread while it is open, which
# would break asyncio.run() in tests collected after these (tests/load runs in the same `make test-e2e`).
@pytest.fixture(scope="module")
def stack(tmp_path_factory, artifacts) -> Iterator[DevProcess]:
    root = tmp_path_factory.mktemp("e2e")
    dev = DevProcess(root / "data", root / "mediation-dev.log", free_ports(3))
    try:
        dev.wait_until_ready()
        yield dev
        dev.interrupt()
    finally:
        dev.kill_everything()
        shutil.copy(dev.log_path, artifacts / "mediation-dev.log")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"Chromium is not at {CHROMIUM}: `apt-get install chromium chromium-driver` (or set MEDIATION_E2E_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class AxeFinding:
    page: str
    rule: str
    impact: str
    help: str
    targets: list[str]

    def line(self) -> str:
        return f"[{self.impact}] {self.page}: {self.rule} ({self.help}) at {', '.join(self.targets[:5])}"


@dataclass
class Site:
    """The running platform and the browser: one browser context (own cookies) per person."""

    base_url: str
    browser: object
    artifacts: Path
    audited: dict[str, list[AxeFinding]] = field(default_factory=dict)
    script_problems: list[str] = field(default_factory=list)
    contexts: list = field(default_factory=list)

    def visitor(self, who: str, javascript: bool = True):
        context = self.browser.new_context(base_url=self.base_url, accept_downloads=True, viewport=DESKTOP, java_script_enabled=javascript)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        # A blocked inline script or a script error breaks a page silently for a person; here it is recorded.
        page.on("pageerror", lambda error: self.script_problems.append(f"{who}: {page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                self.script_problems.append(f"{who}: {page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    def sign_in(self, who: str, email: str, password: str, javascript: bool = True):
        page = self.visitor(who, javascript=javascript)
        page.goto("/login")
        page.get_by_label("Your Email Address").fill(email)
        page.get_by_label("Your Password").fill(password)
        page.get_by_role("button", name="Login").click()
        # My Cases, or the staff console for staff.
        page.wait_for_url(lambda url: url.split("?")[0].endswith("/cases"))
        return page

    def shot(self, page, name: str) -> None:
        page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)

    def phone_problems(self, page, name: str, reload: bool = True) -> list[str]:
        """Show the page at each phone width (screenshots phone-<width>-<name>.png); say where it scrolls sideways.
        The page is loaded afresh at each width, as on a phone, unless it answered a form (`reload=False`)."""
        problems = []
        try:
            for width in PHONE_WIDTHS:
                page.set_viewport_size({"width": width, "height": 800})
                # Loaded afresh at this width, as a phone would (the case tabs scroll their current tab into view on load).
                if reload:
                    page.reload()
                page.wait_for_function("w => window.innerWidth === w", arg=width)
                wide = page.evaluate("() => document.documentElement.scrollWidth")
                inner = page.evaluate("() => window.innerWidth")
                self.shot(page, f"phone-{width}-{name}")
                if wide > inner:
                    problems.append(f"{name} at {width} px is {wide} px wide: {', '.join(page.evaluate(WIDEST_ELEMENTS))}")
        finally:
            page.set_viewport_size(DESKTOP)
        return problems

    def audit(self, page, name: str) -> list[AxeFinding]:
        """Run axe-core on the page as it is now; keep every finding, return the serious and critical ones."""
        # Evaluated over the DevTools protocol, so the page's CSP (no inline scripts) stays on for the page itself.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(AXE_SOURCE.read_text())
        result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
        assert result["passes"], f"axe-core checked nothing on {page.url}"
        (self.artifacts / f"axe-{name}.json").write_text(json.dumps(result["violations"], indent=2))
        findings = [
            AxeFinding(name, v["id"], v.get("impact") or "", v["help"], [" ".join(map(str, n["target"])) for n in v["nodes"]]) for v in result["violations"]
        ]
        self.audited[name] = findings
        return [f for f in findings if f.impact in BLOCKING_IMPACTS]

    def shoot_everything(self, prefix: str) -> None:
        """What each person's browser showed when a step failed."""
        for n, page in enumerate(p for c in self.contexts for p in c.pages if not p.is_closed()):
            try:
                page.screenshot(path=str(self.artifacts / f"{prefix}-{n}.png"), full_page=True)
            except Exception as error:  # a crashed page must not hide the step's own failure
                print(f"no screenshot of {page.url}: {error}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(scope="module")
def site(stack, browser, artifacts) -> Iterator[Site]:
    site = Site(stack.base_url, browser, artifacts)
    yield site
    site.close()


def api(page, method: str, path: str, body=None, multipart=None, ok=(200, 201, 202, 204)):
    """Call the JSON API as the person signed in on `page` (their session cookie, the CSRF token of their pages)."""
    token = page.evaluate("() => (document.querySelector('input[name=csrf_token]') || {}).value || ''")
    response = page.request.fetch(path, method=method, data=body, multipart=multipart, headers={"X-CSRF-Token": token})
    assert response.status in ok, f"{method} {path} answered {response.status}: {response.text()[:400]}"
    return response.json() if response.status != 204 and response.body() else None


def api_until(page, path: str, ready: Callable[[dict], bool], what: str, timeout: float = 30) -> dict:
    """GET `path` until `ready(answer)`: workflow steps land a moment after the request that started them."""
    deadline = time.monotonic() + timeout
    while True:
        answer = api(page, "GET", path)
        if ready(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s; {path} says {json.dumps(answer)[:600]}")
        time.sleep(0.3)


def eventually(page, url: str, ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Reload `url` until `ready()` holds: workflow steps and their database mirror land a moment after a click."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if ready():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s; the page at {url} shows:\n{page.inner_text('main')}")
        time.sleep(0.5)


# ---- the ranking board and the keyboard --------------------------------------------------------------------


def card_names(page, list_id: str) -> list[str]:
    return page.locator(f"#{list_id} > .mediator-card").evaluate_all("cards => cards.map(c => c.dataset.name)")


def drag(page, source, target, *, to_top: bool) -> None:
    """Press, move in small steps and release, as a hand on a mouse does; SortableJS reads the native drag events."""
    # SortableJS ignores a press on a card still sliding into place after the previous drop (its `animated` flag),
    # and the press would start a text selection instead of a drag.
    page.wait_for_function("() => [...document.querySelectorAll('.mediator-card')].every(card => !card.animated)", timeout=5000)
    start = source.locator(".name").bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    # A few pixels first so the drag starts on the card before it travels.
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + start["height"] / 2 + 5, steps=5)
    x, y = end["x"] + end["width"] / 2, end["y"] + 8 if to_top else end["y"] + end["height"] / 2
    page.mouse.move(x, y, steps=25)
    # Linger over the spot before letting go, as a hand does: SortableJS skips the drag-overs that arrive while
    # cards slide aside, and only a drag-over after that settles where the card lands.
    for wiggle in (-2, 2, -2, 2):
        page.wait_for_timeout(120)
        page.mouse.move(x + wiggle, y)
    page.mouse.up()


def expect_cards(page, list_id: str, names: list[str]) -> None:
    """Wait for the list to hold exactly these cards in this order (SortableJS finishes a drop after its animation)."""
    expected = "|".join(names)
    try:
        page.wait_for_function(
            "([id, expected]) => [...document.querySelectorAll('#' + id + ' > .mediator-card')].map(c => c.dataset.name).join('|') === expected",
            arg=[list_id, expected],
            timeout=5000,
        )
    except Exception:
        raise AssertionError(f"#{list_id} holds {card_names(page, list_id)}, expected {names}") from None


def at(path: str) -> re.Pattern:
    """The page at `path`, with or without the ?notice=... a redirect adds."""
    return re.compile(rf"^[^?#]*{re.escape(path)}(\?[^#]*)?(#.*)?$")


def focused_text(page) -> str:
    return page.evaluate("() => (document.activeElement && document.activeElement.textContent || '').replace(/\\s+/g, ' ').trim()")


def tab_to(page, wanted: str, limit: int = 150) -> None:
    """Press Tab until the focused control's text is `wanted`, like a keyboard user reading the focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_text(page) == wanted:
            return
    raise AssertionError(f"{wanted!r} is not reachable with the Tab key")
