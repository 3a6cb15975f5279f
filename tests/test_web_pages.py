"""The pages people read, over HTTP: the sign-in page in the handbook's words, where each person lands and what the
top bar offers them, notices only from the server, My Cases a page at a time, the center's welcome on Case Home,
icons drawn inline, and the way to skip past the top bar."""

import html
import re

import pytest
from sqlalchemy import select

from core.db.models import Case, Message, Participant
from core.db.session import transaction
from tests.web_support import NOTICE

pytestmark = pytest.mark.both_databases

WELCOME = "Welcome to C.A.R. Mediation. Please remember any messages you post here will be visible to everyone."


async def cases_for(web, katy, taylor, count: int) -> list[int]:
    """`count` cases of Katy against Taylor, as rows only (pages read the database, not the workflow)."""
    ids = []
    async with transaction(web.sessions) as session:
        for n in range(count):
            case = Case(
                property_address=f"{n + 1} Harbor Blvd, Long Beach, CA 90802",
                dispute_bases=["Deposit dispute"],
                dispute_value="Up to $12,500",
                filed_by_id=katy.id,
            )
            case.participants = [
                Participant(person_id=katy.id, role="party", side="initiating"),
                Participant(person_id=taylor.id, role="party", side="responding"),
            ]
            session.add(case)
            await session.flush()
            ids.append(case.id)
    return ids


async def test_the_sign_in_page_speaks_the_handbooks_words(web):
    async with web.browser() as b:
        page = (await b.get("/login")).text
        for words in (
            "REAL ESTATE MEDIATION<br>CENTER FOR CONSUMERS",
            "Get your cases resolved - quickly and amicably",
            '<label for="email">Your Email Address</label>',
            'placeholder="Please enter your Email Address"',
            '<label for="password">Your Password</label>',
            'placeholder="Please enter your Password"',
            '<button type="submit">Login</button>',
            '<a href="/forgot-password">Forgot Password ?</a>',
            "Make sure to monitor your email for updates on the status of your mediation.",
        ):
            assert words in page, words
        assert "<title>Login · " in page


async def test_a_notice_in_the_address_is_never_shown(web):
    """Only the server puts words in the green banner (a signed cookie); a link cannot."""
    await web.person("katy@example.com", "Katy Perry")
    spoof = "Your account is locked. Call 555-0100 to unlock it."
    async with web.browser() as b:
        for url in (f"/login?notice={spoof}", f"/login?message={spoof}&flash={spoof}"):
            page = await b.get(url)
            assert page.status_code == 200 and "555-0100" not in page.text and not NOTICE.search(page.text)
        await b.login("katy@example.com")
        signed_out = await b.post("/logout")
        assert await b.notice(signed_out) == "You have signed out."
        # Shown once.
        assert not NOTICE.search((await b.get("/login")).text)
    async with web.browser() as b:
        # A cookie not signed by the server is ignored too.
        b.http.cookies.set("mediation_notice", "forged.value.here")
        assert not NOTICE.search((await b.get("/login")).text)


async def test_each_person_lands_where_their_work_is_and_sees_only_their_actions(web):
    await web.person("katy@example.com", "Katy Perry")
    await web.person("staff@car.org", "Center Staff", staff=True)
    await web.person("elena@example.net", "Elena Marquez", mediator=True)
    file_link = '<a href="/cases/new">File a Request to Mediate</a>'
    async with web.browser() as staff:
        signed_in = await staff.login("staff@car.org")
        assert signed_in.headers["location"] == "/"
        assert (await staff.get("/")).headers["location"] == "/staff/cases"
        console = await staff.get("/staff/cases")
        assert '<a href="/staff/cases">Staff console</a>' in console.text and file_link not in console.text
        assert "Every case filed with the center is in the" in (await staff.get("/cases")).text
    async with web.browser() as mediator:
        await mediator.login("elena@example.net")
        assert (await mediator.get("/")).headers["location"] == "/cases"
        mine = await mediator.get("/cases")
        assert file_link not in mine.text and "Staff console" not in mine.text
        assert "A case appears here when the center asks you to check it for conflicts." in mine.text
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        assert (await katy.get("/")).headers["location"] == "/cases"
        mine = await katy.get("/cases")
        assert file_link in mine.text and "Staff console" not in mine.text
    async with web.browser() as b:
        assert (await b.get("/")).headers["location"] == "/login"


async def test_my_cases_shows_ten_at_a_time_with_the_handbooks_words(web):
    katy = await web.person("katy@example.com", "Katy Perry")
    taylor = await web.person("taylor@example.com", "Taylor Swift")
    ids = await cases_for(web, katy, taylor, 11)
    async with web.browser() as b:
        await b.login("katy@example.com")
        first = (await b.get("/cases")).text
        assert "Showing 10 out of 11" in first and "Page 1 of 2" in first
        assert f"CASE ID : {ids[-1]}<" in first and f"CASE ID : {ids[0]}<" not in first  # newest first
        assert first.count(">Open Case</a>") == 10 and "Katy Perry vs Taylor Swift" in first
        assert '<a href="/cases?page=2">Next</a>' in first
        second = (await b.get("/cases?page=2")).text
        assert "Showing 1 out of 11" in second and f"CASE ID : {ids[0]}<" in second and '<a href="/cases?page=1">Previous</a>' in second
        api = (await b.api("GET", "/api/v1/cases?page=2")).json()
        assert api["total"] == 11 and api["pages"] == 2 and [c["id"] for c in api["items"]] == [ids[0]]


async def test_case_home_starts_with_the_centers_welcome_that_nobody_can_delete(web):
    katy = await web.person("katy@example.com", "Katy Perry")
    taylor = await web.person("taylor@example.com", "Taylor Swift")
    await web.person("staff@car.org", "Center Staff", staff=True)
    (case_id,) = await cases_for(web, katy, taylor, 1)
    async with web.browser() as b:
        await b.login("katy@example.com")
        home = (await b.get(f"/cases/{case_id}")).text
        assert "There is no action required at your end." in home and "No events scheduled" in home
        welcome = re.search(r'<li class="welcome" id="welcome">(.*?)</li>', home, re.S).group(1)
        assert "Welcome to C.A.R. Mediation!" in welcome and WELCOME in welcome
        assert f"Created by : {web.settings.center_name}" in html.unescape(welcome) and "<form" not in welcome
        # Refresh is beside the heading, not under the steps.
        assert re.search(r'<h2 id="next-steps">YOUR NEXT STEP\(S\)</h2>\s*<a class="button secondary refresh" href="/cases/\d+">', home)
        api = (await b.api("GET", f"/api/v1/cases/{case_id}")).json()
        assert api["welcome"]["body"] == WELCOME and api["welcome"]["author_name"] == web.settings.center_name
        # It is not a stored message: nothing to delete, for a party or for staff; the messages list does not hold it.
        assert (await b.api("GET", f"/api/v1/cases/{case_id}/messages")).json() == []
        await b.post(f"/cases/{case_id}/messages", {"body": "Hello everyone."})
        home = (await b.get(f"/cases/{case_id}")).text
        assert home.index("Hello everyone.") < home.index('id="welcome"')  # newest first, the welcome is the oldest
    async with web.sessions() as session:
        assert [m.body for m in (await session.execute(select(Message))).scalars()] == ["Hello everyone."]
    async with web.browser() as staff:
        await staff.login("staff@car.org")
        home = (await staff.get(f"/cases/{case_id}")).text
        assert re.search(r'<li class="welcome" id="welcome">(?:(?!</li>).)*</li>', home, re.S).group(0).count("<button") == 0


async def test_icons_are_drawn_inline_and_the_top_bar_can_be_skipped(web):
    katy = await web.person("katy@example.com", "Katy Perry")
    taylor = await web.person("taylor@example.com", "Taylor Swift")
    (case_id,) = await cases_for(web, katy, taylor, 1)
    async with web.browser() as b:
        await b.login("katy@example.com")
        home = (await b.get(f"/cases/{case_id}")).text
        # The first thing a keyboard reaches; the page's main part takes the focus.
        assert home.index('<a class="skip-link" href="#main">Skip to main content</a>') < home.index('<header class="topbar">')
        assert '<main id="main" tabindex="-1">' in home
        refresh = re.search(r'<a class="button secondary refresh"[^>]*>(.*?)</a>', home, re.S).group(1)
        assert refresh.startswith('<svg class="icon icon-refresh-cw" aria-hidden="true" focusable="false"') and refresh.endswith("Refresh")
        # No character that needs an emoji font anywhere on the pages.
        assert not re.search("[\U0001f300-\U0001faff\u2600-\u27bf]", home)
        licence = await b.get("/static/vendor/lucide/LICENSE")
        assert licence.status_code == 200 and "ISC License" in licence.text
