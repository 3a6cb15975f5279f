"""Accounts over HTTP: sign in, throttling, CSRF, activation and reset links, sign-out."""

import pytest

from tests.support import eventually
from tests.web_support import PASSWORD, link_in

pytestmark = pytest.mark.both_databases


async def test_sign_in_and_out(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        page = await b.get("/cases")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        wrong = await b.login("katy@example.com", "not the password")
        assert wrong.status_code == 400 and "The email or password is not right." in wrong.text
        ok = await b.login("katy@example.com")
        assert ok.status_code == 303
        cases = await b.get("/cases")
        assert cases.status_code == 200 and "My Cases" in cases.text
        stolen_cookie = b.http.cookies.get("mediation_session")
        out = await b.post("/logout")
        assert out.status_code == 303
    async with web.browser() as thief:
        thief.http.cookies.set("mediation_session", stolen_cookie)
        assert (await thief.get("/cases")).status_code == 303


async def test_forms_without_csrf_token_are_refused(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        await b.get("/login")
        refused = await b.post("/login", {"email": "katy@example.com", "password": PASSWORD}, csrf=False)
        assert refused.status_code == 403 and "did not come from this site" in refused.text
        await b.login("katy@example.com")
        forged = await b.post("/logout", {"csrf_token": "forged"})
        assert forged.status_code == 403


async def test_repeated_failed_sign_ins_are_slowed_down(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        for _ in range(5):
            assert (await b.login("katy@example.com", "guess")).status_code == 400
        blocked = await b.login("katy@example.com")
        assert blocked.status_code == 429 and "Too many failed sign-in attempts" in blocked.text


async def test_forgot_password_says_the_same_for_any_email_and_link_is_single_use(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        await b.get("/forgot-password")
        known = await b.post("/forgot-password", {"email": "katy@example.com"})
        await b.get("/forgot-password")
        unknown = await b.post("/forgot-password", {"email": "nobody@example.com"})
        assert known.status_code == unknown.status_code == 200
        assert "If an account exists for that email" in known.text and "If an account exists for that email" in unknown.text
        mail = await eventually(lambda: web.outbox(to="katy@example.com", subject_starts="Reset your password"))
        assert await web.outbox(to="nobody@example.com") == []
        link = link_in(mail[0], "/set-password/")
        await b.get(link)
        short = await b.post(link, {"password": "short", "confirm": "short"})
        assert short.status_code == 400 and "at least 10 characters" in short.text
        done = await b.post(link, {"password": "a new long password", "confirm": "a new long password"})
        assert done.status_code == 303
        reused = await b.get(link)
        assert reused.status_code == 410 and "expired or has already been used" in reused.text
        assert (await b.login("katy@example.com", "a new long password")).status_code == 303


async def test_forgot_password_does_not_flood_an_inbox(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        for _ in range(5):
            await b.get("/forgot-password")
            answer = await b.post("/forgot-password", {"email": "katy@example.com"})
            assert answer.status_code == 200 and "If an account exists for that email" in answer.text
    # Each link is stored before the page answers, so the count is final here: three an hour, then no more.
    assert len(await web.outbox(to="katy@example.com", subject_starts="Reset your password")) == 3
