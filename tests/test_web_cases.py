"""Filing a Request to Mediate, My Cases and Case Home over HTTP."""

import pytest
from sqlalchemy import select

from core.db.models import Case, Participant
from tests.support import eventually
from tests.web_support import link_in

pytestmark = pytest.mark.both_databases

FILING = {
    "property_address": "1600 Ocean Ave, Santa Monica, CA 90401",
    "dispute_bases": ["Deposit dispute", "Failure to disclose a known defect"],
    "dispute_value": "$75,001 and over",
    "description": "The seller kept the deposit after the buyer cancelled within the contingency period.",
    "filer_role": "party",
    "others-0-full_name": "Taylor Swift",
    "others-0-email": "taylor@example.com",
    "others-0-side": "responding",
}


async def test_filing_creates_case_starts_workflow_and_invites_other_party(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        await katy.get("/cases/new")
        filed = await katy.post("/cases/new", FILING)
        assert filed.status_code == 303
        case_url = filed.headers["location"].split("?")[0]
        home = await katy.get(case_url)
        assert home.status_code == 200
        assert "Katy Perry vs Taylor Swift" in home.text and "Intake review" in home.text
        assert "There is no action required at your end." in home.text
        assert "No events scheduled" in home.text
        cases = await katy.get("/cases")
        case_id = int(case_url.rsplit("/", 1)[1])
        assert f"CASE ID : {case_id}" in cases.text and "Open Case" in cases.text

    invite = await eventually(lambda: web.outbox(to="taylor@example.com", subject_starts="Your account at the"))
    async with web.browser() as taylor:
        link = link_in(invite[0], "/set-password/")
        await taylor.get(link)
        assert (await taylor.post(link, {"password": "taylor's long password", "confirm": "taylor's long password"})).status_code == 303
        assert (await taylor.login("taylor@example.com", "taylor's long password")).status_code == 303
        assert "Katy Perry vs Taylor Swift" in (await taylor.get(f"/cases/{case_id}")).text
    await eventually(lambda: web.outbox(to=web.settings.center_email, subject_starts="Request to Mediate received"))


async def test_bad_filing_is_re_rendered_with_messages_and_writes_nothing(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        await katy.get("/cases/new")
        bad = {**FILING, "property_address": "", "dispute_bases": [], "dispute_value": "a lot", "others-0-email": "not-an-email"}
        page = await katy.post("/cases/new", bad)
        assert page.status_code == 422
        for message in (
            "Enter the address of the subject property.",
            "Select at least one basis of the dispute.",
            "Choose the estimated value of the dispute.",
            "Enter a valid email address, like name@example.com.",
        ):
            assert message in page.text
        # What was typed is kept.
        assert "The seller kept the deposit" in page.text
    async with web.sessions() as session:
        assert (await session.execute(select(Case))).first() is None
        assert (await session.execute(select(Participant))).first() is None


async def test_agent_files_for_a_party_and_acts_for_them(web):
    await web.person("agent@example.com", "Anna Agent")
    async with web.browser() as agent:
        await agent.login("agent@example.com")
        await agent.get("/cases/new")
        filed = await agent.post("/cases/new", dict(FILING, filer_role="agent", party_name="Katy Perry", party_email="katy@example.com"))
        assert filed.status_code == 303
    async with web.sessions() as session:
        rows = (await session.execute(select(Participant).order_by(Participant.id))).scalars().all()
    roles = {(r.role, r.side, r.representative_kind) for r in rows}
    assert ("party", "initiating", "") in roles and ("party", "responding", "") in roles
    assert ("representative", None, "Agent") in roles
    representative = next(r for r in rows if r.role == "representative")
    katy = next(r for r in rows if r.role == "party" and r.side == "initiating")
    assert representative.represents_id == katy.person_id


async def test_a_party_cannot_open_another_case(web):
    await web.person("katy@example.com", "Katy Perry")
    await web.person("ed@example.com", "Ed Sheeran")
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        await katy.get("/cases/new")
        case_url = (await katy.post("/cases/new", FILING)).headers["location"].split("?")[0]
    async with web.browser() as ed:
        await ed.login("ed@example.com")
        assert (await ed.get(case_url)).status_code == 404
        assert "CASE ID" not in (await ed.get("/cases")).text


async def test_a_failure_after_the_case_is_saved_does_not_invite_a_duplicate_filing(web, monkeypatch):
    """Once the case is committed, a failing follow-up (activation emails) must not answer "nothing was changed"."""
    from sqlalchemy.exc import OperationalError

    import features.cases.filing

    async def database_gone(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database went away"))

    monkeypatch.setattr(features.cases.filing, "invite_new_people", database_gone)
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        await katy.get("/cases/new")
        filed = await katy.post("/cases/new", FILING)
        assert filed.status_code == 303 and "/cases/" in filed.headers["location"]
    async with web.sessions() as session:
        assert len((await session.execute(select(Case))).scalars().all()) == 1
