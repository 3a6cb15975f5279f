"""The mediator's screens over HTTP: the conflict check, then fee deposit, scheduling and closing."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from core.db.models import Case, Person
from tests.support import eventually, handle, status, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision, RankingSubmission, StaffAction

ADDRESS = "1234 Music Way, Los Angeles, CA 90210"
DESCRIPTION = "The seller kept the deposit of the buyer after the inspection contingency was removed."


@dataclass
class Setup:
    case_id: int
    staff: Person
    katy: Person
    taylor: Person
    agent: Person
    mona: Person
    nate: Person
    olga: Person
    outsider: Person


async def case_at_conflict_check(web) -> Setup:
    """An agent files for Katy against Taylor on the web; staff accept with a panel; both parties rank Mona first."""
    staff = await web.person("staff@car.org", "Center Staff", staff=True)
    mona = await web.person("mona@example.com", "Mona Mediator", mediator=True)
    nate = await web.person("nate@example.com", "Nate Neutral", mediator=True)
    olga = await web.person("olga@example.com", "Olga Arbiter", mediator=True)
    katy = await web.person("katy@example.com", "Katy Perry")
    taylor = await web.person("taylor@example.com", "Taylor Swift")
    agent = await web.person("alex@example.com", "Alex Agent")
    outsider = await web.person("ozzy@example.com", "Ozzy Outsider")
    async with web.browser() as b:
        await b.login(agent.email)
        await b.get("/cases/new")
        filed = await b.post(
            "/cases/new",
            {
                "property_address": ADDRESS,
                "dispute_bases": "Deposit dispute",
                "dispute_value": "$75,001 and over",
                "description": DESCRIPTION,
                "filer_role": "agent",
                "party_name": katy.full_name,
                "party_email": katy.email,
                "others-0-full_name": taylor.full_name,
                "others-0-email": taylor.email,
                "others-0-side": "responding",
            },
        )
        assert filed.status_code == 303, filed.text
        case_id = int(filed.headers["location"].split("?")[0].rsplit("/", 1)[1])
    wf = handle(web.client, web.settings, case_id)
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=staff.id, panel=[mona.id, nate.id, olga.id]))
    await wait_for_stage(web.client, web.settings, case_id, "ranking")
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=agent.id, party_id=katy.id, ranked=[mona.id, nate.id, olga.id]))
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=taylor.id, party_id=taylor.id, ranked=[mona.id, nate.id, olga.id]))
    current = await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
    assert current.candidate_mediator_id == mona.id
    await mirrored(web, case_id, lambda case: case.candidate_mediator_id == mona.id)
    return Setup(case_id, staff, katy, taylor, agent, mona, nate, olga, outsider)


async def mirrored(web, case_id: int, check) -> Case:
    async def row():
        async with web.sessions() as session:
            case = (await session.execute(select(Case).where(Case.id == case_id))).scalar_one()
            return case if check(case) else None

    return await eventually(row)


async def accept_by_form(web, s: Setup) -> None:
    async with web.browser() as b:
        await b.login(s.mona.email)
        await b.get(f"/cases/{s.case_id}/conflict-check")
        answered = await b.post(f"/cases/{s.case_id}/conflict-check", {"accept": "true"})
        assert answered.status_code == 303, answered.text
    await wait_for_stage(web.client, web.settings, s.case_id, "accepted")


async def test_candidate_reads_the_summary_and_accepts(web):
    s = await case_at_conflict_check(web)
    async with web.browser() as b:
        await b.login(s.mona.email)
        cases = await b.get("/cases")
        assert f'href="/cases/{s.case_id}/conflict-check"' in cases.text and "Katy Perry vs Taylor Swift" in cases.text
        # The case link (as in any email) leads the mediator asked to the conflict check, not to "No such case."
        link = await b.get(f"/cases/{s.case_id}")
        assert link.status_code == 303 and link.headers["location"] == f"/cases/{s.case_id}/conflict-check"

        page = await b.get(f"/cases/{s.case_id}/conflict-check")
        assert page.status_code == 200
        assert "The parties ranked you highest of the proposed mediators for this case." in page.text
        summary = ("Katy Perry", "Taylor Swift", "Alex Agent (Agent)", "Initiating", "Responding", ADDRESS, "Deposit dispute", "$75,001 and over")
        for shown in (*summary, DESCRIPTION, "Answer by"):
            assert shown in page.text, shown
        assert "katy@example.com" not in page.text

        answered = await b.post(f"/cases/{s.case_id}/conflict-check", {"accept": "true"})
        assert answered.status_code == 303 and answered.headers["location"] == f"/cases/{s.case_id}"
        home = await b.get(answered.headers["location"])
        assert home.status_code == 200 and "you have accepted this case" in home.text and "Mediator accepted" in home.text
        assert f"/cases/{s.case_id}/mediator" in home.text
        # The conflict-check link in the email now leads to the case itself.
        answered_link = await b.get(f"/cases/{s.case_id}/conflict-check")
        assert answered_link.status_code == 303 and answered_link.headers["location"] == f"/cases/{s.case_id}"

    async with web.browser() as b:
        await b.login(s.katy.email)
        home = await b.get(f"/cases/{s.case_id}")
        assert home.status_code == 200 and "Mediator accepted" in home.text and "Mona Mediator" in home.text


async def test_nobody_but_the_candidate_learns_about_the_conflict_check(web):
    s = await case_at_conflict_check(web)
    for person in (s.nate, s.olga, s.outsider, s.katy, s.staff):
        async with web.browser() as b:
            await b.login(person.email)
            assert (await b.get(f"/cases/{s.case_id}/conflict-check")).status_code == 404, person.full_name
            refused = await b.post(f"/cases/{s.case_id}/conflict-check", {"accept": "true"})
            assert refused.status_code == 404, person.full_name
            assert (await b.api("GET", f"/api/v1/cases/{s.case_id}/conflict-check")).status_code == 404
            api = await b.api("POST", f"/api/v1/cases/{s.case_id}/conflict-check", {"accept": True})
            assert api.status_code == 404 and api.json() == {"detail": "No such case."}
    async with web.browser() as b:
        await b.login(s.nate.email)
        assert f"/cases/{s.case_id}" not in (await b.get("/cases")).text
        assert (await b.get(f"/cases/{s.case_id}")).status_code == 404
    current = await status(web.client, web.settings, s.case_id)
    assert current.stage == "conflict_check" and current.candidate_mediator_id == s.mona.id


async def test_decline_needs_a_reason_then_the_next_mediator_is_asked(web):
    s = await case_at_conflict_check(web)
    async with web.browser() as b:
        await b.login(s.mona.email)
        await b.get(f"/cases/{s.case_id}/conflict-check")
        missing = await b.post(f"/cases/{s.case_id}/conflict-check", {"accept": "false", "reason": "  "})
        assert missing.status_code == 422 and "Say briefly why you must decline" in missing.text
        assert "Decline (conflict)" in missing.text
        assert (await status(web.client, web.settings, s.case_id)).candidate_mediator_id == s.mona.id

        declined = await b.post(f"/cases/{s.case_id}/conflict-check", {"accept": "false", "reason": "I represented Taylor Swift in 2023."})
        assert declined.status_code == 303 and declined.headers["location"] == "/cases"
        assert "declined case" in await b.notice(declined)

    async def nate_asked():
        current = await status(web.client, web.settings, s.case_id)
        return current if current.candidate_mediator_id == s.nate.id else None

    current = await eventually(nate_asked)
    assert current.conflict_attempts[0].outcome == "declined" and current.conflict_attempts[0].reason == "I represented Taylor Swift in 2023."
    await mirrored(web, s.case_id, lambda case: case.candidate_mediator_id == s.nate.id)
    async with web.browser() as b:
        await b.login(s.mona.email)
        # My Cases and the case link say what happened, and nothing of what the case holds.
        listing = await b.get("/cases")
        assert "You declined this case for a conflict, so the center asked the next mediator." in listing.text
        assert f'href="/cases/{s.case_id}"' in listing.text and "You have no cases yet" not in listing.text
        assert f"/cases/{s.case_id}/conflict-check" not in listing.text
        api = (await b.api("GET", "/api/v1/cases")).json()["items"]
        assert [(i["id"], i["conflict_check_ended"]) for i in api] == [(s.case_id, "declined")]
        emailed_link = await b.get(f"/cases/{s.case_id}/conflict-check")
        assert emailed_link.status_code == 303 and emailed_link.headers["location"] == f"/cases/{s.case_id}"
        page = await b.get(f"/cases/{s.case_id}")
        assert page.status_code == 200 and "You declined this case" in page.text and "Nothing more is needed from you." in page.text
        assert DESCRIPTION not in page.text and "Nate Neutral" not in page.text and "No such case." not in page.text
        for closed in ("intake", "documents", "users", "discussions", "calendar"):
            assert (await b.get(f"/cases/{s.case_id}/{closed}")).status_code == 404, closed
        assert (await b.post(f"/cases/{s.case_id}/conflict-check", {"accept": "true"})).status_code == 404
    async with web.browser() as b:
        await b.login(s.nate.email)
        page = await b.get(f"/cases/{s.case_id}/conflict-check")
        assert page.status_code == 200
        assert "The mediator the parties ranked above you could not serve, so you are next in their order of preference." in page.text
    async with web.browser() as b:
        await b.login(s.katy.email)
        # The parties' Case Home: who could not serve and who is asked now, never the reason.
        home = await b.get(f"/cases/{s.case_id}")
        assert "Mona Mediator was unable to accept the matter." in home.text and "The case is now with <strong>Nate Neutral</strong>" in home.text
        assert "represented Taylor" not in home.text


async def test_mediator_records_fee_deposit_scheduling_and_closes(web):
    s = await case_at_conflict_check(web)
    await accept_by_form(web, s)
    url = f"/cases/{s.case_id}/mediator"

    async with web.browser() as b:
        await b.login(s.katy.email)
        assert (await b.get(url)).status_code == 403
        assert (await b.post(f"{url}/fee-deposit")).status_code == 403
        assert (await b.post(f"{url}/close", {"outcome": "settled"})).status_code == 403
        for action in ("fee-deposit", "close"):
            assert (await b.api("POST", f"/api/v1/cases/{s.case_id}/{action}", {"outcome": "settled"})).status_code == 403
    for stranger in (s.nate, s.outsider):
        async with web.browser() as b:
            await b.login(stranger.email)
            assert (await b.get(url)).status_code == 404
            assert (await b.post(f"{url}/fee-deposit")).status_code == 404

    async with web.browser() as b:
        await b.login(s.mona.email)
        page = await b.get(url)
        assert page.status_code == 200 and "Fee deposit collected</button>" in page.text and "Put the Mediation session on the calendar" in page.text
        assert "katy@example.com" in page.text and "Alex Agent (Agent)" in page.text

        done = await b.post(f"{url}/fee-deposit")
        assert done.status_code == 303
        page = await b.get(done.headers["location"])
        assert "The fee deposit is recorded as collected." in page.text
        assert "<strong>Fee deposit collected</strong>" in page.text and f"{url}/fee-deposit" not in page.text
        again = await b.post(f"{url}/fee-deposit")
        assert again.status_code == 409 and "already recorded as collected" in again.text

        assert (await b.post(f"{url}/scheduled")).status_code == 404, "scheduling is done by the Mediation event on the calendar"
        await b.get(f"/cases/{s.case_id}/calendar")
        mediation = {"title": "Mediation", "starts_at": "2027-03-01T17:00", "ends_at": "2027-03-01T20:00", "meeting_type": "Online", "is_mediation": "on"}
        assert (await b.post(f"/cases/{s.case_id}/calendar", mediation)).status_code == 303
        page = await b.get(url)
        assert "<strong>Mediation scheduled</strong>" in page.text and "Mediation scheduled</span>" in page.text

        missing = await b.post(f"{url}/close", {"outcome": "", "note": "They shook hands."})
        assert missing.status_code == 422 and "Choose the outcome" in missing.text and "They shook hands." in missing.text
        closed = await b.post(f"{url}/close", {"outcome": "settled", "note": "Deposit returned in full."})
        assert closed.status_code == 303
        page = await b.get(url)
        assert "Closed: Settled" in page.text and "Deposit returned in full." in page.text and f"{url}/close" not in page.text

    async with web.browser() as b:
        await b.login(s.katy.email)
        assert "Closed" in (await b.get(f"/cases/{s.case_id}")).text
    async with web.browser() as b:
        await b.login(s.staff.email)
        assert (await b.get(url)).status_code == 200
    final = await status(web.client, web.settings, s.case_id)
    assert final.stage == "closed" and final.outcome == "settled" and final.fee_deposit_collected and final.mediation_scheduled


async def test_staff_can_record_milestones_for_the_mediator(web):
    s = await case_at_conflict_check(web)
    await accept_by_form(web, s)
    async with web.browser() as b:
        await b.login(s.staff.email)
        await b.get(f"/cases/{s.case_id}/mediator")
        assert (await b.post(f"/cases/{s.case_id}/mediator/fee-deposit")).status_code == 303
    assert (await status(web.client, web.settings, s.case_id)).fee_deposit_collected


async def test_parties_see_the_selected_mediator_and_the_conflict_check_on_case_home(web):
    s = await case_at_conflict_check(web)
    for person in (s.katy, s.agent, s.staff):
        async with web.browser() as b:
            await b.login(person.email)
            home = await b.get(f"/cases/{s.case_id}")
            assert "The mediator with the highest ranking by the parties is <strong>Mona Mediator</strong>." in home.text, person.full_name
            assert "conflict check to ensure neutrality for all parties, which can take up to 2 days" in home.text
            assert "There is no action required at your end." in home.text or person.is_staff
            api = (await b.api("GET", f"/api/v1/cases/{s.case_id}")).json()
            assert api["selected_mediator"] == {"id": s.mona.id, "full_name": "Mona Mediator"} and api["mediator"] is None
    told = await web.outbox(to=s.katy.email, subject_starts="Mediator selected")
    assert told and "The mediator with the highest ranking by the parties is Mona Mediator." in told[0].text_body


async def test_a_mediator_whose_check_ran_out_is_told_what_happened(web, time_skipping_env):
    s = await case_at_conflict_check(web)
    await time_skipping_env.sleep(timedelta(days=2, hours=1))

    async def nate_asked():
        current = await status(web.client, web.settings, s.case_id)
        return current if current.candidate_mediator_id == s.nate.id else None

    await eventually(nate_asked)
    await mirrored(web, s.case_id, lambda case: case.candidate_mediator_id == s.nate.id)
    async with web.browser() as b:
        await b.login(s.mona.email)
        listing = await b.get("/cases")
        assert "Your answer to the conflict check did not arrive by" in listing.text and "offered to the next mediator" in listing.text
        page = await b.get(f"/cases/{s.case_id}")
        assert page.status_code == 200 and "Your conflict check has closed" in page.text and DESCRIPTION not in page.text
    dropped = await web.outbox(to=s.mona.email, subject_starts="Conflict check closed")
    assert dropped and "you are no longer asked to mediate it" in dropped[0].text_body


async def test_a_mediator_whose_case_was_withdrawn_during_the_check_is_told(web):
    s = await case_at_conflict_check(web)
    await handle(web.client, web.settings, s.case_id).execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=s.staff.id, reason="The parties settled."))
    await wait_for_stage(web.client, web.settings, s.case_id, "withdrawn")
    await mirrored(web, s.case_id, lambda case: case.stage == "withdrawn")
    async with web.browser() as b:
        await b.login(s.mona.email)
        listing = await b.get("/cases")
        assert "The center withdrew this case while your conflict check was open." in listing.text
        emailed_link = await b.get(f"/cases/{s.case_id}/conflict-check")
        assert emailed_link.status_code == 303 and emailed_link.headers["location"] == f"/cases/{s.case_id}"
        page = await b.get(f"/cases/{s.case_id}")
        assert page.status_code == 200 and "This case was withdrawn" in page.text and "The parties settled." not in page.text

    async def told():
        return await web.outbox(to=s.mona.email, subject_starts="Case withdrawn")

    notice = await eventually(told)
    assert "Your conflict check is no longer needed" in notice[0].text_body
