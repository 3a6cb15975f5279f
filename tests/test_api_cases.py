"""A case's whole life through the JSON API: sign in, file, rank, the conflict check, milestones and closing."""

from sqlalchemy import select

from core.db.models import Case
from tests.support import eventually, handle, wait_for_stage
from tests.web_support import PASSWORD
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision

REQUEST = {
    "property_address": "742 Evergreen Terrace, Springfield, CA 90210",
    "dispute_bases": ["Deposit dispute", "Failure to disclose a known defect"],
    "dispute_value": "$75,001 and over",
    "description": "The roof leaked and the deposit was kept.",
    "others": [{"full_name": "Taylor Swift", "email": "taylor@example.com", "side": "responding"}],
}


async def sign_in(browser, email: str) -> None:
    response = await browser.http.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    browser.csrf = response.json()["csrf_token"]


async def test_a_case_from_filing_to_closing_through_the_api(web):
    staff = await web.person("staff@car.org", "Center Staff", staff=True)
    mediators = [await web.person(f"{n}@example.com", f"{n.title()} Mediator", mediator=True) for n in ("mona", "nate", "olga")]
    mona, nate, olga = mediators
    katy = await web.person("katy@example.com", "Katy Perry")
    taylor = await web.person("taylor@example.com", "Taylor Swift")
    await web.person("ozzy@example.com", "Ozzy Outsider")

    async with web.browser() as k, web.browser() as t, web.browser() as m, web.browser() as n:
        await sign_in(k, katy.email)
        me = (await k.api("GET", "/api/v1/me")).json()
        assert me["id"] == katy.id and me["full_name"] == "Katy Perry" and me["is_staff"] is False

        bad = await k.api("POST", "/api/v1/cases", {**REQUEST, "property_address": "", "others": []})
        assert bad.status_code == 422
        assert "Enter the address of the subject property." in bad.json()["detail"]
        assert "Name at least one other party, with their email." in bad.json()["detail"]
        wrong_value = await k.api("POST", "/api/v1/cases", {**REQUEST, "dispute_value": "a lot"})
        assert wrong_value.status_code == 422 and "Choose the estimated value of the dispute." in wrong_value.json()["detail"]
        k.csrf, token = "forged", k.csrf
        assert (await k.api("POST", "/api/v1/cases", REQUEST)).status_code == 403
        k.csrf = token

        filed = await k.api("POST", "/api/v1/cases", REQUEST)
        assert filed.status_code == 201, filed.text
        case = filed.json()
        case_id = case["id"]
        assert case["title"] == "Katy Perry vs Taylor Swift" and case["stage"] == "intake_review" and case["stage_label"] == "Intake review"
        assert filed.headers["location"] == f"/api/v1/cases/{case_id}"
        assert [c["id"] for c in (await k.api("GET", "/api/v1/cases")).json()["items"]] == [case_id]

        # The staff JSON API is another module's; intake goes straight to the workflow here.
        await handle(web.client, web.settings, case_id).execute_update(
            CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=staff.id, panel=[mona.id, nate.id, olga.id])
        )
        await wait_for_stage(web.client, web.settings, case_id, "ranking")

        await sign_in(t, taylor.email)
        home = (await t.api("GET", f"/api/v1/cases/{case_id}")).json()
        assert home["stage"] == "ranking" and home["next_steps"][0]["text"] == "Submit Mediator Ranking"
        assert "ballots" not in home and "tally" not in home
        for browser in (k, t):
            ranked = await browser.api("PUT", f"/api/v1/cases/{case_id}/ranking", {"ranked": [mona.id, nate.id, olga.id]})
            assert ranked.status_code == 200, ranked.text
        await wait_for_stage(web.client, web.settings, case_id, "conflict_check")

        await sign_in(n, nate.email)
        assert (await n.api("GET", f"/api/v1/cases/{case_id}/conflict-check")).status_code == 404
        assert (await n.api("POST", f"/api/v1/cases/{case_id}/conflict-check", {"accept": True})).status_code == 404
        assert case_id not in [c["id"] for c in (await n.api("GET", "/api/v1/cases")).json()["items"]]

        await sign_in(m, mona.email)

        async def listed_for_mona():
            items = (await m.api("GET", "/api/v1/cases")).json()["items"]
            return items if items and items[0]["conflict_check_requested"] else None

        items = await eventually(listed_for_mona)
        assert items[0]["id"] == case_id and items[0]["stage"] == "conflict_check" and items[0]["stage_deadline"]
        summary = (await m.api("GET", f"/api/v1/cases/{case_id}/conflict-check")).json()
        assert summary["property_address"] == REQUEST["property_address"] and summary["dispute_value"] == "$75,001 and over"
        assert [(p["name"], p["side"]) for p in summary["parties"]] == [("Katy Perry", "initiating"), ("Taylor Swift", "responding")]
        assert summary["deadline"]

        no_reason = await m.api("POST", f"/api/v1/cases/{case_id}/conflict-check", {"accept": False, "reason": ""})
        assert no_reason.status_code == 422 and "why you must decline" in no_reason.json()["detail"]
        accepted = await m.api("POST", f"/api/v1/cases/{case_id}/conflict-check", {"accept": True})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["stage"] == "accepted" and accepted.json()["mediator_id"] == mona.id

        for browser in (k, t):
            home = (await browser.api("GET", f"/api/v1/cases/{case_id}")).json()
            assert home["stage"] == "accepted" and home["stage_label"] == "Mediator accepted"
            assert home["mediator"] == {"id": mona.id, "full_name": "Mona Mediator"}
            assert home["next_steps"] == []
        mine = (await m.api("GET", f"/api/v1/cases/{case_id}")).json()
        assert [s["text"] for s in mine["next_steps"]] == [
            "Collect fee deposit",
            "Schedule the mediation: propose times to the participants, or put the Mediation session on the calendar",
        ]

        assert (await k.api("POST", f"/api/v1/cases/{case_id}/fee-deposit")).status_code == 403
        deposit = await m.api("POST", f"/api/v1/cases/{case_id}/fee-deposit")
        assert deposit.status_code == 200 and deposit.json()["fee_deposit_collected"] is True
        twice = await m.api("POST", f"/api/v1/cases/{case_id}/fee-deposit")
        assert twice.status_code == 409 and "already recorded" in twice.json()["detail"]
        mediation = {"title": "Mediation", "starts_at": "2027-03-01T17:00:00Z", "ends_at": "2027-03-01T20:00:00Z", "is_mediation": True}
        assert (await m.api("POST", f"/api/v1/cases/{case_id}/calendar", mediation)).status_code == 201
        assert (await m.api("GET", f"/api/v1/cases/{case_id}")).json()["stage"] == "scheduled"
        won = await m.api("POST", f"/api/v1/cases/{case_id}/close", {"outcome": "won"})
        assert won.status_code == 422 and "Choose the outcome" in won.json()["errors"]["outcome"]
        closed = await m.api("POST", f"/api/v1/cases/{case_id}/close", {"outcome": "not_settled", "note": "No agreement."})
        assert closed.status_code == 200 and closed.json()["stage"] == "closed" and closed.json()["outcome"] == "not_settled"
        assert (await k.api("GET", f"/api/v1/cases/{case_id}")).json()["stage_label"] == "Closed"

        async def mirrored():
            async with web.sessions() as session:
                row = (await session.execute(select(Case).where(Case.id == case_id))).scalar_one()
                return row if row.stage == "closed" else None

        await eventually(mirrored)

        assert (await k.api("DELETE", "/api/v1/session")).status_code == 204
        assert (await k.api("GET", "/api/v1/me")).status_code == 401
        assert (await k.api("GET", f"/api/v1/cases/{case_id}")).status_code == 401


async def test_a_party_cannot_read_another_case(web):
    await web.person("katy@example.com", "Katy Perry")
    await web.person("ozzy@example.com", "Ozzy Outsider")
    async with web.browser() as k, web.browser() as o:
        await sign_in(k, "katy@example.com")
        case_id = (await k.api("POST", "/api/v1/cases", REQUEST)).json()["id"]
        await sign_in(o, "ozzy@example.com")
        for url in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/conflict-check", f"/api/v1/cases/{case_id + 100}"):
            missing = await o.api("GET", url)
            assert missing.status_code == 404 and missing.json() == {"detail": "No such case."}
        assert (await o.api("GET", "/api/v1/cases")).json()["items"] == []
        assert (await o.api("POST", f"/api/v1/cases/{case_id}/close", {"outcome": "settled"})).status_code == 404


async def test_json_sign_in_accepts_only_json_and_is_throttled(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        assert (await b.api("GET", "/api/v1/me")).status_code == 401
        # A cross-site HTML form can only send form encodings: refused before any password is checked.
        form = await b.http.post("/api/v1/session", data={"email": "katy@example.com", "password": PASSWORD})
        assert form.status_code == 415 and "mediation_session" not in b.http.cookies
        for _ in range(5):
            wrong = await b.http.post("/api/v1/session", json={"email": "katy@example.com", "password": "guess"})
            assert wrong.status_code == 422 and wrong.json()["detail"] == "The email or password is not right."
            assert wrong.json()["errors"] == {"email": "The email or password is not right.", "password": "The email or password is not right."}
        blocked = await b.http.post("/api/v1/session", json={"email": "KATY@example.com", "password": PASSWORD})
        assert blocked.status_code == 429 and "Too many failed sign-in attempts" in blocked.json()["detail"]


async def test_json_sign_in_gives_a_session_that_also_works_for_pages(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        await sign_in(b, "katy@example.com")
        page = await b.http.get("/cases")
        assert page.status_code == 200 and "My Cases" in page.text
        b.csrf = "forged"
        assert (await b.api("DELETE", "/api/v1/session")).status_code == 403
        assert (await b.api("GET", "/api/v1/me")).status_code == 200
