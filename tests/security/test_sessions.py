"""Forged requests, stolen or planted cookies, password links and guessing: CSRF on every state-changing
route (from the route table), session fixation, sign-out, single-use expiring reset links, login throttling,
the sign-in redirect, and the security headers on every kind of response."""

from datetime import timedelta

from sqlalchemy import select, update

from core.db.models import LoginFailure, PasswordToken, utcnow
from core.db.session import transaction
from features.accounts.security import SESSION_COOKIE
from tests.security.world import MEDIATOR, PARTY, STAFF, api_routes, build_world, fill_path
from tests.support import eventually
from tests.web_support import PASSWORD, link_in

CSRF_REFUSAL = "did not come from this site"
# Used before there is a session to bind a CSRF token to: they take JSON only, which no cross-site form can send.
PRE_SIGN_IN_JSON = {("POST", "/api/v1/session"), ("POST", "/api/v1/password-reset"), ("POST", "/api/v1/password-links/{token}")}


async def test_every_state_changing_route_refuses_a_missing_or_foreign_csrf_token(web):
    world = await build_world(web)
    values = {
        "case_id": world.case_id,
        "person_id": world.person(MEDIATOR).id,
        "room_id": world.joint_room_id,
        "document_id": world.shared_document_id,
        "event_id": world.event_id,
        "email_id": world.email_id,
        "message_id": world.message_id,
        "participant_id": 1,
        "token": "no-such-link",
        "number": 1,
    }
    # Everything a forger would like to happen, sent as staff (who may do the most) with real ids.
    tempting = {
        "reason": "Forged",
        "amount": "3",
        "body": "Forged message",
        "title": "Forged",
        "name": "Forged",
        "email": "forged@example.com",
        "password": PASSWORD,
        "outcome": "settled",
        "accept": True,
        "ranked": [],
    }
    problems = []
    async with web.browser() as staff, web.browser() as party:
        await world.sign_in(staff, STAFF)
        await world.sign_in(party, PARTY)
        foreign = party.csrf  # a real token, but bound to another person's session
        for method, path, _route in api_routes(web.asgi):
            if method == "GET":
                continue
            url = fill_path(path, values)
            if (method, path) in PRE_SIGN_IN_JSON:
                for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
                    response = await staff.http.request(method, url, content=b"email=a&password=b", headers={"Content-Type": content_type})
                    if response.status_code not in (401, 403, 415):
                        problems.append(f"{method} {path} as {content_type}: {response.status_code}")
                continue
            attempts = {
                "no token (form)": {"data": tempting},
                "no token (JSON)": {"json": tempting},
                "forged token (form)": {"data": {**tempting, "csrf_token": "forged"}},
                "another session's token (header)": {"json": tempting, "headers": {"X-CSRF-Token": foreign}},
                "another session's token (form)": {"data": {**tempting, "csrf_token": foreign}},
            }
            for name, kwargs in attempts.items():
                response = await staff.http.request(method, url, **kwargs)
                if response.status_code != 403:
                    problems.append(f"{method} {path} with {name}: {response.status_code} {response.text[:120]!r}")
        # Nothing the forger sent took effect.
        assert (await staff.get("/api/v1/me")).json()["email"] == world.person(STAFF).email
    case = await world.case()
    assert case.stage == "accepted" and not case.fee_deposit_collected
    assert not problems, "\n".join(problems)


async def test_pre_sign_in_forms_need_the_token_of_their_own_cookie(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as victim, web.browser() as attacker:
        await attacker.get("/login")
        await victim.get("/login")
        # The attacker's own valid token does not work with the victim's cookie (login CSRF).
        planted = await victim.post("/login", {"email": "katy@example.com", "password": PASSWORD, "csrf_token": attacker.csrf})
        assert planted.status_code == 403 and CSRF_REFUSAL in planted.text
        for url in ("/forgot-password", "/set-password/whatever"):
            assert (await victim.post(url, {"email": "katy@example.com"}, csrf=False)).status_code == 403
        cookie = victim.http.cookies.jar
        csrf_cookie = next(c for c in cookie if c.name == "mediation_csrf")
        assert csrf_cookie.has_nonstandard_attr("HttpOnly")


async def test_sign_in_issues_a_new_session_and_token_and_sign_out_kills_the_old_cookie(web):
    world = await build_world(web)
    katy = world.person(PARTY)
    async with web.browser() as b:
        await b.get("/login")
        pre_sign_in_token = b.csrf
        # A session id planted before sign-in (by a subdomain, a shared computer, a crafted link) is ignored, not adopted.
        b.http.cookies.set(SESSION_COOKIE, "attacker-chosen-session-id", domain="testserver")
        signed = await b.post("/login", {"email": katy.email, "password": PASSWORD})
        assert signed.status_code == 303
        set_cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "samesite=lax" in set_cookie.lower()
        issued = signed.cookies[SESSION_COOKIE]
        assert issued != "attacker-chosen-session-id" and len(issued) >= 40
        async with web.browser() as attacker:
            attacker.http.cookies.set(SESSION_COOKIE, "attacker-chosen-session-id")
            assert (await attacker.http.get("/api/v1/me")).status_code == 401

        b.http.cookies.clear()
        b.http.cookies.set(SESSION_COOKIE, issued)
        assert (await b.http.get("/api/v1/me")).json()["email"] == katy.email
        # The form token from before sign-in belongs to the old anonymous cookie, not to this session.
        stale = await b.post("/profile", {"email": "evil@example.com", "full_name": "Evil", "csrf_token": pre_sign_in_token})
        assert stale.status_code == 403

        await b.get("/profile")
        assert (await b.post("/logout")).status_code == 303
    async with web.browser() as thief:
        thief.http.cookies.set(SESSION_COOKIE, issued)
        assert (await thief.http.get("/api/v1/me")).status_code == 401
        assert (await thief.http.get("/cases")).status_code == 303

    # The JSON sign-out ends the session on the server just the same.
    async with web.browser() as api:
        signed = await api.http.post("/api/v1/session", json={"email": katy.email, "password": PASSWORD})
        token, cookie = signed.json()["csrf_token"], signed.cookies[SESSION_COOKIE]
        assert (await api.http.delete("/api/v1/session", headers={"X-CSRF-Token": token})).status_code == 204
    async with web.browser() as thief:
        thief.http.cookies.set(SESSION_COOKIE, cookie)
        assert (await thief.http.get("/api/v1/me")).status_code == 401
    # Signing in again while signed in as someone else does not keep the other person's session.
    async with web.browser() as b:
        await b.login(world.person(MEDIATOR).email)
        first = b.http.cookies.get(SESSION_COOKIE)
        await b.get("/login")
        await b.post("/login", {"email": katy.email, "password": PASSWORD})
        assert b.http.cookies.get(SESSION_COOKIE) != first
        assert (await b.http.get("/api/v1/me")).json()["email"] == katy.email


async def _reset_link(web, email: str, already: int = 0) -> str:
    async with web.browser() as b:
        await b.get("/forgot-password")
        await b.post("/forgot-password", {"email": email})

    async def arrived():
        mails = await web.outbox(to=email, subject_starts="Reset your password")
        return mails if len(mails) > already else None

    return link_in((await eventually(arrived))[-1], "/set-password/")


async def test_reset_links_are_single_use_expire_and_end_every_session(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as signed_in_elsewhere:
        await signed_in_elsewhere.login("katy@example.com")
        first = await _reset_link(web, "katy@example.com")
        second = await _reset_link(web, "katy@example.com", already=1)

        async with transaction(web.sessions) as session:
            stored = list((await session.execute(select(PasswordToken.token_hash))).scalars())
        assert first.rsplit("/", 1)[1] not in stored  # only a digest of the token is kept

        async with web.browser() as b:
            assert (await b.get(second)).status_code == 200
            assert (await b.post(second, {"password": "a brand new password", "confirm": "a brand new password"})).status_code == 303
            again = await b.get(second)
            assert again.status_code == 410
            assert (await b.post(second, {"password": "yet another password", "confirm": "yet another password", "csrf_token": b.csrf})).status_code == 410
            # Using one link retires the other links of the same person.
            assert (await b.get(first)).status_code == 410
        # Every session of the person ends with the reset: whoever held one is out.
        assert (await signed_in_elsewhere.http.get("/api/v1/me")).status_code == 401

    # A link past its time does not work, even unused.
    late = await _reset_link(web, "katy@example.com", already=2)
    async with transaction(web.sessions) as session:
        await session.execute(update(PasswordToken).where(PasswordToken.used_at.is_(None)).values(expires_at=utcnow() - timedelta(seconds=1)))
    async with web.browser() as b:
        assert (await b.get(late)).status_code == 410
        await b.get("/forgot-password")
        expired = await b.post(late, {"password": "sneaky late password", "confirm": "sneaky late password"})
        assert expired.status_code == 410
        assert (await b.login("katy@example.com", "sneaky late password")).status_code == 422
        assert (await b.login("katy@example.com", "a brand new password")).status_code == 303


async def test_login_throttle_blocks_the_right_password_after_five_failures_until_the_window_passes(web):
    await web.person("katy@example.com", "Katy Perry")
    await web.person("taylor@example.com", "Taylor Swift")
    async with web.browser() as b:
        for n in range(5):
            wrong = await b.login("Katy@Example.com", f"guess number {n}")
            assert wrong.status_code == 422
        assert (await b.login("katy@example.com")).status_code == 429
        api = await b.http.post("/api/v1/session", json={"email": "katy@example.com", "password": PASSWORD})
        assert api.status_code == 429 and "Too many failed sign-in attempts" in api.json()["detail"]
        # Another account is not affected, and an unknown email is answered like a known one.
        assert (await b.login("taylor@example.com")).status_code == 303
    async with web.browser() as b:
        unknown = [await b.login("nobody@example.com", f"guess {n}") for n in range(6)]
        assert [r.status_code for r in unknown] == [422] * 5 + [429]
        assert "The email or password is not right." in unknown[0].text
    async with transaction(web.sessions) as session:
        await session.execute(update(LoginFailure).values(at=utcnow() - timedelta(minutes=16)))
    async with web.browser() as b:
        assert (await b.login("katy@example.com")).status_code == 303


async def test_sign_in_only_redirects_within_the_site(web):
    await web.person("katy@example.com", "Katy Perry")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/\\/evil.example", "/\t/evil.example", "javascript:alert(1)"):
        async with web.browser() as b:
            page = await b.get("/login", params={"next": target})
            # The site's own start page instead, which sends each person to theirs (My Cases, or the staff console).
            assert 'name="next" value="/"' in page.text, target
            signed = await b.post("/login", {"email": "katy@example.com", "password": PASSWORD, "next": target})
            assert signed.status_code == 303 and signed.headers["location"] == "/", (target, signed.headers["location"])
            assert (await b.get("/")).headers["location"] == "/cases"
    async with web.browser() as b:
        await b.get("/login")
        signed = await b.post("/login", {"email": "katy@example.com", "password": PASSWORD, "next": "/profile?tab=1"})
        assert signed.headers["location"] == "/profile?tab=1"


def _assert_headers(response, what: str) -> None:
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, what
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "object-src 'none'" in csp, what
    assert response.headers.get("x-content-type-options") == "nosniff", what
    assert response.headers.get("referrer-policy") == "same-origin", what
    assert response.headers.get("x-frame-options") == "DENY", what


async def test_security_headers_on_pages_json_errors_redirects_and_static_files(web):
    world = await build_world(web)
    async with web.browser() as anonymous, web.browser() as party:
        await world.sign_in(party, PARTY)
        samples = {
            "sign-in page": await anonymous.get("/login"),
            "redirect to sign-in": await anonymous.get("/cases"),
            "JSON 401": await anonymous.http.get("/api/v1/me"),
            "JSON health": await anonymous.http.get("/healthz"),
            "OpenAPI": await anonymous.http.get("/openapi.json"),
            "static file": await anonymous.http.get("/static/css/app.css"),
            "missing static file": await anonymous.http.get("/static/nothing-here.css"),
            "unknown path": await anonymous.http.get("/no/such/page"),
            "Case Home": await party.get(f"/cases/{world.case_id}"),
            "JSON Case Home": await party.http.get(f"/api/v1/cases/{world.case_id}"),
            "page 404": await party.get("/cases/999999"),
            "JSON 404": await party.http.get("/api/v1/cases/999999"),
            "page 403": await party.get("/staff/cases"),
            "JSON 422": await party.http.get("/api/v1/cases/not-a-number"),
            "CSRF 403": await party.http.post("/profile", data={}),
            "iCalendar": await party.http.get(f"/cases/{world.case_id}/calendar.ics"),
        }
        for what, response in samples.items():
            _assert_headers(response, what)
        for what in ("Case Home", "JSON Case Home", "JSON 401"):
            assert samples[what].headers.get("cache-control") == "no-store", what
