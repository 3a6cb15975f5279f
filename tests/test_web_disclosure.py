"""A mediator's disclosure over HTTP: the questions on the conflict-check page and in JSON, the disclosure as each
person on the case sees it, the parties' objections, the center's decision, and the re-confirmation for a person who
joins after acceptance; with the access rules (only parties answer; strangers and other cases' parties get 404)."""

import re

from sqlalchemy import update

from core.db.models import Person
from core.db.session import transaction
from features.accounts.security import hash_password
from tests.support import eventually, join_case, make_case, status, wait_for_stage
from tests.test_web_mediator import case_at_conflict_check, mirrored
from tests.web_support import PASSWORD

DISCLOSED = "I sold a house to Katy Perry in 2019."


async def interested(web, s) -> Person:
    """Ivy, an interested person on the case, who can sign in."""
    ivy_id = await join_case(web.sessions, web.client, web.settings, s.case_id, "Ivy Interested", "interested")
    async with transaction(web.sessions) as session:
        await session.execute(update(Person).where(Person.id == ivy_id).values(password_hash=hash_password(PASSWORD)))
        return await session.get(Person, ivy_id)


async def other_case_party(web) -> Person:
    """Otto, a party of another case only."""
    _, people = await make_case(web.sessions, web.client, web.settings, parties=[("Otto Other", "initiating"), ("Olga Other", "responding")])
    async with transaction(web.sessions) as session:
        await session.execute(update(Person).where(Person.id == people["Otto Other"]).values(password_hash=hash_password(PASSWORD)))
        return await session.get(Person, people["Otto Other"])


async def disclose(web, s, answers: dict | None = None):
    """Mona answers the questions on the page: a relationship with Katy."""
    async with web.browser() as b:
        await b.login(s.mona.email)
        await b.get(f"/cases/{s.case_id}/conflict-check")
        sent = await b.post(
            f"/cases/{s.case_id}/conflict-check",
            answers or {"accept": "true", "relationship": "yes", "relationship_details": DISCLOSED, "relationship_with": [str(s.katy.id)]},
        )
        assert sent.status_code == 303 and sent.headers["location"] == "/cases", sent.text[:400]
        assert "your disclosure for case" in await b.notice(sent)
    await mirrored(web, s.case_id, lambda case: case.stage == "disclosure_review")


async def test_the_conflict_check_asks_the_disclosure_questions_and_a_yes_needs_its_details(web):
    s = await case_at_conflict_check(web)
    ivy = await interested(web, s)
    async with web.browser() as b:
        await b.login(s.mona.email)
        page = await b.get(f"/cases/{s.case_id}/conflict-check")
        for question in (
            "Do you have any financial or personal interest in the outcome of this mediation?",
            "any relationship with a party, representative or interested person of this case?",
            "Have you provided services to any of them",
            "Is there anything else a reasonable person would want to know",
        ):
            assert question in page.text, question
        # The relationship question lists everyone on the case by name to tick.
        for person in (s.katy, s.taylor, s.agent, ivy):
            assert f'name="relationship_with" value="{person.id}"' in page.text and person.full_name in page.text

        missing = await b.post(f"/cases/{s.case_id}/conflict-check", {"accept": "true", "past_services": "yes", "past_services_details": "  "})
        assert missing.status_code == 422
        assert '<p class="error" id="past_services_details-error">Say what services you provided, to whom and when.</p>' in missing.text
        assert 'id="past_services_details" name="past_services_details" maxlength="2000" aria-invalid="true"' in missing.text
        assert re.search(r'name="past_services" value="yes" checked', missing.text)
        stranger = await b.post(
            f"/cases/{s.case_id}/conflict-check",
            {"accept": "true", "relationship": "yes", "relationship_details": "A neighbour.", "relationship_with": str(s.outsider.id)},
        )
        assert stranger.status_code == 422 and 'id="relationship_with-error">Tick only people on this case.' in stranger.text

        api = await b.api("GET", f"/api/v1/cases/{s.case_id}/conflict-check")
        assert {p["name"]: p["role"] for p in api.json()["people"]} == {
            "Katy Perry": "party",
            "Taylor Swift": "party",
            "Alex Agent": "representative",
            "Ivy Interested": "interested",
        }
        bad = await b.api("POST", f"/api/v1/cases/{s.case_id}/conflict-check", {"accept": True, "financial_interest": True})
        assert bad.status_code == 422 and bad.json()["errors"] == {"financial_interest_details": "Say what the interest in the outcome is."}
    current = await status(web.client, web.settings, s.case_id)
    assert current.stage == "conflict_check" and current.disclosures == []

    # Through JSON, a disclosure puts the case into the objection window.
    async with web.browser() as b:
        await b.login(s.mona.email)
        await b.get("/cases")
        sent = await b.api(
            "POST", f"/api/v1/cases/{s.case_id}/conflict-check", {"accept": True, "other_matters": True, "other_matters_details": "I know the broker."}
        )
        assert sent.status_code == 200 and sent.json()["stage"] == "disclosure_review" and sent.json()["mediator_id"] is None


async def test_the_parties_read_and_answer_a_disclosure_and_staff_decide_the_objection(web):
    s = await case_at_conflict_check(web)
    ivy = await interested(web, s)
    otto = await other_case_party(web)
    await disclose(web, s)

    async with web.browser() as mona:
        await mona.login(s.mona.email)
        listing = await mona.get("/cases")
        assert "You accepted this case with a disclosure, which the parties may object to until" in listing.text
        link = await mona.get(f"/cases/{s.case_id}")
        assert link.status_code == 200 and "Your disclosure is with the parties" in link.text and DISCLOSED not in link.text
        assert (await mona.get(f"/cases/{s.case_id}/disclosures/1")).status_code == 404

    page_url, api_url = f"/cases/{s.case_id}/disclosures/1", f"/api/v1/cases/{s.case_id}/disclosures"
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        home = await katy.get(f"/cases/{s.case_id}")
        assert "Mediator disclosure: objection window" in home.text and "accepted it with a disclosure" in home.text
        assert f'<a href="{page_url}">Read the mediator&#39;s disclosure and say whether you object</a>' in home.text
        page = await katy.get(page_url)
        assert page.status_code == 200 and DISCLOSED in page.text and "Relationship with someone on the case (Katy Perry)" in page.text
        assert "I do not object</button>" in page.text and "I object</button>" in page.text
        no_reason = await katy.post(page_url, {"party_id": str(s.katy.id), "objects": "true", "reason": ""})
        assert no_reason.status_code == 422
        assert f'<p class="error" id="reason-{s.katy.id}-error">Say briefly why you object to this mediator; the center reads it.</p>' in no_reason.text
        as_taylor = await katy.post(page_url, {"party_id": str(s.taylor.id), "objects": "false"})
        assert as_taylor.status_code == 403
        mine = (await katy.api("GET", api_url)).json()
        assert mine[0]["answers"] == [{"question": "Relationship with someone on the case", "details": DISCLOSED, "people": ["Katy Perry"]}]
        assert mine[0]["you_may_answer_for"] == [{"id": s.katy.id, "full_name": "Katy Perry"}] and mine[0]["window_open"] is True

    # Katy's agent answers for her: no objection. Taylor objects through JSON, saying why.
    async with web.browser() as agent:
        await agent.login(s.agent.email)
        await agent.get(page_url)
        answered = await agent.post(page_url, {"party_id": str(s.katy.id), "objects": "false"})
        assert "You do not object" in await agent.notice(answered)
        again = await agent.post(page_url, {"party_id": str(s.katy.id), "objects": "true", "reason": "Second thoughts."})
        assert again.status_code == 409 and "This party has already answered this disclosure." in again.text
    async with web.browser() as taylor:
        await taylor.login(s.taylor.email)
        await taylor.get("/cases")
        missing = await taylor.api("POST", f"{api_url}/1/answer", {"objects": True})
        assert missing.status_code == 422 and "reason" in missing.json()["errors"]
        objected = await taylor.api("POST", f"{api_url}/1/answer", {"objects": True, "reason": "She is a friend of Katy's."})
        assert objected.status_code == 200 and objected.json()["objection_made"] is True and objected.json()["status"] == "objected"
        assert objected.json()["your_answers"][0]["reason"] == "She is a friend of Katy's."
        # Taylor sees the answers of the parties Taylor acts for, never Katy's.
        listed = (await taylor.api("GET", api_url)).json()[0]
        assert [a["party"]["id"] for a in listed["your_answers"]] == [s.taylor.id]

    # Those who may not answer: the interested person (403; she reads only that there is a disclosure), a stranger
    # and another case's party (404), a mediator not on the case (404).
    async with web.browser() as b:
        await b.login(ivy.email)
        page = await b.get(page_url)
        assert page.status_code == 200 and DISCLOSED not in page.text and "addressed to the parties" in page.text
        assert "I object" not in page.text
        listed = (await b.api("GET", api_url)).json()
        assert listed[0]["answers"] is None and listed[0]["your_answers"] == []
        assert (await b.post(page_url, {"objects": "true", "reason": "Me too."})).status_code == 403
        assert (await b.api("POST", f"{api_url}/1/answer", {"objects": False})).status_code == 403
    for stranger in (s.outsider, otto, s.nate):
        async with web.browser() as b:
            await b.login(stranger.email)
            assert (await b.get(page_url)).status_code == 404, stranger.full_name
            assert (await b.post(page_url, {"objects": "true", "reason": "No."})).status_code == 404, stranger.full_name
            assert (await b.api("GET", api_url)).status_code == 404
            assert (await b.api("POST", f"{api_url}/1/answer", {"objects": True, "reason": "No."})).status_code == 404

    # Staff see who objected and why, and decide with a reason.
    async with web.browser() as staff:
        await staff.login(s.staff.email)
        page = await staff.get(f"/staff/cases/{s.case_id}")
        section = page.text[page.text.index('id="disclosures"') :]
        assert DISCLOSED in section and "She is a friend of Katy&#39;s." in section and "No objection" in section and "Alex Agent" in section
        assert "Uphold the objection" in section and "Overrule the objection" in section
        no_reason = await staff.post(f"/staff/cases/{s.case_id}/disclosures/1/decision", {"uphold": "false", "reason": ""})
        assert no_reason.status_code == 422 and "Give the reason for the decision" in no_reason.text
        home = await staff.get(f"/cases/{s.case_id}")
        assert "Decide the objection to the mediator&#39;s disclosure" in home.text
        decided = await staff.api(
            "POST", f"/api/v1/staff/cases/{s.case_id}/disclosures/1/decision", {"uphold": False, "reason": "A sale five years ago is no conflict."}
        )
        assert decided.status_code == 200 and decided.json()["stage"] == "accepted" and "overruled" in decided.json()["message"]
        again = await staff.api("POST", f"/api/v1/staff/cases/{s.case_id}/disclosures/1/decision", {"uphold": True, "reason": "Again."})
        assert again.status_code == 409
        missing = await staff.api("POST", f"/api/v1/staff/cases/{s.case_id}/disclosures/9/decision", {"uphold": True, "reason": "None."})
        assert missing.status_code == 404
        detail = (await staff.api("GET", f"/api/v1/staff/cases/{s.case_id}")).json()
        record = detail["status"]["disclosures"][0]
        assert record["status"] == "overruled" and record["decision_reason"] == "A sale five years ago is no conflict."
        assert [(r["party_id"], r["by_id"], r["objects"]) for r in record["responses"]] == [(s.katy.id, s.agent.id, False), (s.taylor.id, s.taylor.id, True)]
        timeline = page.text[page.text.index('id="timeline"') :]
        assert "Disclosure made" in timeline and "Disclosure objection" in timeline
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        page = await katy.get(page_url)
        assert "Objection overruled: the disclosure stands" in page.text and "A sale five years ago is no conflict." in page.text
        home = await katy.get(f"/cases/{s.case_id}")
        assert "Mediator accepted" in home.text and "Your mediator: <strong>Mona Mediator</strong>" in home.text


async def test_staff_uphold_an_objection_and_the_next_mediator_is_asked(web):
    s = await case_at_conflict_check(web)
    await disclose(web, s, {"accept": "true", "financial_interest": "yes", "financial_interest_details": "I own part of the title company."})
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        await katy.get(f"/cases/{s.case_id}/disclosures/1")
        objected = await katy.post(f"/cases/{s.case_id}/disclosures/1", {"party_id": str(s.katy.id), "objects": "true", "reason": "A financial interest."})
        assert "Your objection was sent to the center" in await katy.notice(objected)
    async with web.browser() as staff:
        await staff.login(s.staff.email)
        await staff.get(f"/staff/cases/{s.case_id}")
        upheld = await staff.post(
            f"/staff/cases/{s.case_id}/disclosures/1/decision", {"uphold": "true", "reason": "An interest in the title company is a conflict."}
        )
        assert "the next mediator in the order is asked" in await staff.notice(upheld)
    current = await wait_for_stage(web.client, web.settings, s.case_id, "conflict_check")
    assert current.candidate_mediator_id == s.nate.id and current.conflict_attempts[0].outcome == "objection_upheld"
    await mirrored(web, s.case_id, lambda case: case.candidate_mediator_id == s.nate.id)
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        page = await mona.get(f"/cases/{s.case_id}")
        assert "An objection to your disclosure was upheld" in page.text and "Nothing more is needed from you." in page.text


async def test_a_person_added_after_acceptance_is_confirmed_again_by_the_mediator(web):
    s = await case_at_conflict_check(web)
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(f"/cases/{s.case_id}/conflict-check")
        accepted = await mona.post(f"/cases/{s.case_id}/conflict-check", {"accept": "true"})
        assert "you have accepted this case" in await mona.notice(accepted)
    await mirrored(web, s.case_id, lambda case: case.stage == "accepted")

    async with web.browser() as staff:
        await staff.login(s.staff.email)
        await staff.get(f"/staff/cases/{s.case_id}")
        added = await staff.post(f"/staff/cases/{s.case_id}/participants", {"name": "Paul Partner", "email": "paul@example.com", "role": "interested"})
        assert "The mediator is asked to confirm again that they have no conflict of interest with them." in await staff.notice(added)
    paul = (await status(web.client, web.settings, s.case_id)).disclosures[-1].about_person_id
    reconfirm = f"/cases/{s.case_id}/reconfirm/{paul}"

    for refused, code in ((s.katy, 403), (s.staff, 403), (s.outsider, 404), (s.nate, 404)):
        async with web.browser() as b:
            await b.login(refused.email)
            assert (await b.get(reconfirm)).status_code == code, refused.full_name
            assert (await b.post(reconfirm, {"accept": "true"})).status_code == code, refused.full_name
            assert (await b.api("GET", f"/api/v1/cases/{s.case_id}/reconfirmations/{paul}")).status_code == code

    async with web.browser() as katy:
        await katy.login(s.katy.email)
        home = await katy.get(f"/cases/{s.case_id}")
        assert "Mediator re-confirmation" in home.text and "Paul Partner joined the case as an interested person" in home.text

    async with web.browser() as mona:
        await mona.login(s.mona.email)
        home = await mona.get(f"/cases/{s.case_id}")
        assert f'<a href="{reconfirm}">Confirm again that you have no conflict of interest with a person who joined</a>' in home.text
        page = await mona.get(reconfirm)
        assert page.status_code == 200 and "Confirm again: Paul Partner joined the case" in page.text and "Step down (conflict)" in page.text
        api = (await mona.api("GET", f"/api/v1/cases/{s.case_id}/reconfirmations/{paul}")).json()
        assert api["person"] == {"id": paul, "name": "Paul Partner", "role": "interested"}
        missing = await mona.post(reconfirm, {"accept": "true", "relationship": "yes", "relationship_details": ""})
        assert missing.status_code == 422 and 'id="relationship_details-error"' in missing.text
        sent = await mona.post(
            reconfirm, {"accept": "true", "relationship": "yes", "relationship_details": "Paul is my tennis partner.", "relationship_with": str(paul)}
        )
        assert "your disclosure was sent to the parties" in await mona.notice(sent)
        assert (await mona.get(reconfirm)).status_code == 404
    current = await status(web.client, web.settings, s.case_id)
    assert current.stage == "accepted" and current.disclosures[-1].status == "open" and current.disclosures[-1].kind == "reconfirmation"

    # Both parties say they do not object (one on the page, one through JSON): the disclosure stands at once.
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        page = await katy.get(f"/cases/{s.case_id}/disclosures/2")
        assert "When Paul Partner joined the case as an interested person, Mona Mediator, the mediator" in page.text and "tennis partner" in page.text
        await katy.post(f"/cases/{s.case_id}/disclosures/2", {"party_id": str(s.katy.id), "objects": "false"})
    async with web.browser() as taylor:
        await taylor.login(s.taylor.email)
        await taylor.get("/cases")
        answered = await taylor.api("POST", f"/api/v1/cases/{s.case_id}/disclosures/2/answer", {"objects": False})
        assert answered.status_code == 200 and answered.json()["status"] == "accepted"

    async def told():
        return await web.outbox(to="katy@example.com", subject_starts="No objection to the mediator's disclosure")

    mail = (await eventually(told))[0]
    assert "so Mona Mediator remains the mediator of this case" in mail.text_body
    assert (await status(web.client, web.settings, s.case_id)).mediator_id == s.mona.id
