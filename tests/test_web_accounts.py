"""Accounts over HTTP: sign in, throttling, CSRF, activation and reset links (page and JSON), changing the password,
and being signed out everywhere when the password changes."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.db.models import Person
from features.accounts.emails import send_password_link
from tests.support import eventually
from tests.web_support import PASSWORD, link_in

pytestmark = pytest.mark.both_databases

NEW_PASSWORD = "a new long password"
FORGOT_ANSWER = "If an account exists for that email"


async def test_sign_in_and_out(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        page = await b.get("/cases")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        wrong = await b.login("katy@example.com", "not the password")
        assert wrong.status_code == 422 and "The email or password is not right." in wrong.text
        assert 'value="katy@example.com"' in wrong.text and wrong.text.count('aria-invalid="true"') == 2
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
            assert (await b.login("katy@example.com", "guess")).status_code == 422
        blocked = await b.login("katy@example.com")
        assert blocked.status_code == 429 and "Too many failed sign-in attempts" in blocked.text
        assert 'action="/login"' in blocked.text  # the sign-in form, to try again later


async def test_forgot_password_says_the_same_for_any_email_and_link_is_single_use(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        await b.get("/forgot-password")
        known = await b.post("/forgot-password", {"email": "Katy@Example.com"})
        assert FORGOT_ANSWER in await b.notice(known)
        unknown = await b.post("/forgot-password", {"email": "nobody@example.com"})
        assert FORGOT_ANSWER in await b.notice(unknown)
        not_an_email = await b.post("/forgot-password", {"email": "katy at example"})
        assert not_an_email.status_code == 422 and "Enter a valid email address" in not_an_email.text and 'value="katy at example"' in not_an_email.text
        mail = await eventually(lambda: web.outbox(to="katy@example.com", subject_starts="Reset your password"))
        assert await web.outbox(to="nobody@example.com") == []
        link = link_in(mail[0], "/set-password/")
        page = await b.get(link)
        # The page says whose account this is.
        assert page.status_code == 200 and re.search(r'id="account-email">katy@example.com<', page.text)
        short = await b.post(link, {"password": "short", "confirm": "short"})
        assert short.status_code == 422 and "at least 10 characters" in short.text and 'id="password-error"' in short.text
        differ = await b.post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
        assert differ.status_code == 422 and "The two passwords do not match." in differ.text and 'id="confirm-error"' in differ.text
        done = await b.post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert done.status_code == 303 and done.headers["location"] == "/login"
        # The sign-in page that follows has the account's email filled in, without it being in the address.
        login = await b.get(done.headers["location"])
        assert "Your password is set" in login.text and re.search(r'<input id="email" name="email"[^>]* value="katy@example.com"', login.text)
        assert 'value="katy@example.com"' not in (await b.get("/login")).text  # only once
        reused = await b.get(link)
        assert reused.status_code == 410 and "expired or has already been used" in reused.text and 'href="/forgot-password"' in reused.text
        assert (await b.login("katy@example.com", NEW_PASSWORD)).status_code == 303


async def test_forgot_password_does_not_flood_an_inbox(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        for _ in range(3):
            await b.get("/forgot-password")
            answer = await b.post("/forgot-password", {"email": "katy@example.com"})
            assert FORGOT_ANSWER in await b.notice(answer)
        # The JSON door counts against the same limit, and answers the same.
        for _ in range(2):
            asked = await b.http.post("/api/v1/password-reset", json={"email": "katy@example.com"})
            assert asked.status_code == 202 and FORGOT_ANSWER in asked.json()["message"]
    # Each link is stored before the answer, so the count is final here: three an hour, then no more.
    assert len(await web.outbox(to="katy@example.com", subject_starts="Reset your password")) == 3


async def test_password_links_through_the_json_api(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b, web.browser() as katy_elsewhere:
        await katy_elsewhere.login("katy@example.com")
        known = await b.http.post("/api/v1/password-reset", json={"email": "katy@example.com"})
        unknown = await b.http.post("/api/v1/password-reset", json={"email": "nobody@example.com"})
        assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()
        assert (await b.http.post("/api/v1/password-reset", json={"email": "not an email"})).status_code == 422
        # Like signing in, these come before any session: JSON only, which a cross-site form cannot send.
        assert (await b.http.post("/api/v1/password-reset", data={"email": "katy@example.com"})).status_code == 415

        mail = await eventually(lambda: web.outbox(to="katy@example.com", subject_starts="Reset your password"))
        token = link_in(mail[0], "/set-password/").rsplit("/", 1)[1]
        url = f"/api/v1/password-links/{token}"
        link = await b.http.get(url)
        assert link.status_code == 200 and link.json()["email"] == "katy@example.com" and link.json()["purpose"] == "reset"
        assert datetime.fromisoformat(link.json()["expires_at"]).utcoffset() == timedelta(0)

        short = await b.http.post(url, json={"password": "short", "confirm": "short"})
        assert short.status_code == 422 and short.json()["errors"] == {"password": "Choose a password of at least 10 characters."}
        differ = await b.http.post(url, json={"password": NEW_PASSWORD, "confirm": "something else"})
        assert differ.status_code == 422 and differ.json()["errors"] == {"confirm": "The two passwords do not match."}
        assert (await b.http.post(url, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})).status_code == 415

        done = await b.http.post(url, json={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert done.status_code == 200 and done.json() == {"email": "katy@example.com"}
        for used in (await b.http.get(url), await b.http.post(url, json={"password": "yet another password", "confirm": "yet another password"})):
            assert used.status_code == 410 and "expired or has already been used" in used.json()["detail"]
        assert (await b.http.get("/api/v1/password-links/no-such-link")).status_code == 410

        # Whoever was signed in as Katy is out; the new password works, the old one does not.
        assert (await katy_elsewhere.http.get("/api/v1/me")).status_code == 401
        assert (await katy_elsewhere.get("/cases")).status_code == 303
        assert (await b.http.post("/api/v1/session", json={"email": "katy@example.com", "password": PASSWORD})).status_code == 422
        assert (await b.http.post("/api/v1/session", json={"email": "katy@example.com", "password": NEW_PASSWORD})).status_code == 200


async def test_activation_link_page_names_the_account(web):
    await web.person("ed@example.com", "Ed Sheeran", password=None)
    async with web.browser() as staff_side:
        # As when staff add Ed to a case: he gets an activation link.
        async with web.sessions() as session:
            ed = (await session.execute(select(Person).where(Person.email == "ed@example.com"))).scalar_one()
            await send_password_link(web.asgi.state.ctx, session, ed, "activation", case_title="Katy Perry vs Ed Sheeran")
        mail = await eventually(lambda: web.outbox(to="ed@example.com"))
        link = link_in(mail[0], "/set-password/")
        page = await staff_side.get(link)
        assert page.status_code == 200 and "ed@example.com" in page.text and "You will sign in with this email." in page.text
        assert (await staff_side.http.get("/api/v1/password-links/" + link.rsplit("/", 1)[1])).json()["purpose"] == "activation"


async def test_changing_the_password_keeps_this_session_and_ends_the_others(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as here, web.browser() as laptop, web.browser() as phone:
        for b in (here, laptop, phone):
            assert (await b.login("katy@example.com")).status_code == 303
        profile = await here.get("/profile")
        assert "Change password" in profile.text and 'action="/profile/password"' in profile.text

        wrong = await here.post("/profile/password", {"current_password": "not it at all", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert wrong.status_code == 422 and "Your current password is not right." in wrong.text and 'id="current_password-error"' in wrong.text
        differ = await here.post("/profile/password", {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": "not the same one"})
        assert differ.status_code == 422 and "The two passwords do not match." in differ.text
        assert (await laptop.get("/cases")).status_code == 200  # nothing changed yet

        changed = await here.post("/profile/password", {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert "Your password was changed" in await here.notice(changed)
        assert (await here.get("/cases")).status_code == 200 and (await here.http.get("/api/v1/me")).status_code == 200
        assert (await laptop.get("/cases")).status_code == 303 and (await phone.http.get("/api/v1/me")).status_code == 401

        # The JSON door does the same, with the same rules.
        await laptop.login("katy@example.com", NEW_PASSWORD)
        bad = await here.api("PUT", "/api/v1/password", {"current_password": PASSWORD, "password": "another long password", "confirm": "another long password"})
        assert bad.status_code == 422 and bad.json()["errors"] == {"current_password": "Your current password is not right."}
        short = await here.api("PUT", "/api/v1/password", {"current_password": NEW_PASSWORD, "password": "short", "confirm": "short"})
        assert short.status_code == 422 and "password" in short.json()["errors"]
        assert (await here.http.put("/api/v1/password", json={"current_password": NEW_PASSWORD, "password": "x" * 12, "confirm": "x" * 12})).status_code == 403
        put = await here.api(
            "PUT", "/api/v1/password", {"current_password": NEW_PASSWORD, "password": "another long password", "confirm": "another long password"}
        )
        assert put.status_code == 204
        assert (await here.http.get("/api/v1/me")).status_code == 200 and (await laptop.http.get("/api/v1/me")).status_code == 401

    async with web.browser() as b:
        assert (await b.login("katy@example.com", NEW_PASSWORD)).status_code == 422
        assert (await b.login("katy@example.com", "another long password")).status_code == 303


async def test_guessing_the_current_password_is_throttled_like_signing_in(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        await b.login("katy@example.com")
        for n in range(5):
            guess = await b.api("PUT", "/api/v1/password", {"current_password": f"guess {n}", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
            assert guess.status_code == 422
        blocked = await b.api("PUT", "/api/v1/password", {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert blocked.status_code == 429
        await b.get("/profile")
        page = await b.post("/profile/password", {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert page.status_code == 429 and "Too many failed sign-in attempts" in page.text and "Change password" in page.text
    async with web.browser() as b:
        assert (await b.login("katy@example.com")).status_code == 429  # the password was not changed, and guessing is paused
