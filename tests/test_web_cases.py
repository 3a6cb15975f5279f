"""Filing a Request to Mediate, My Cases and Case Home over HTTP."""

import html
import re

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


def described_by(page: str, field_id: str) -> tuple[str, str]:
    """The field's aria-describedby, and the text of the element it names: the error shown beside the field."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]* id="{re.escape(field_id)}"[^>]*>', page)
    assert tag, f"no field {field_id}"
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described and 'aria-invalid="true"' in tag.group(0), f"{field_id} is not marked invalid: {tag.group(0)}"
    after = page[tag.end() :]
    if not tag.group(0).startswith("<input"):
        after = after[after.index("</" + tag.group(0)[1:].split(" ", 1)[0] + ">") :].split(">", 1)[1]
    error = re.search(rf'<p class="error" id="{described.group(1)}">(.*?)</p>', after)
    assert error, f"no error after {field_id}"
    # Beside the field: the next element after it, not only in a summary at the top.
    assert after.lstrip().startswith(f'<p class="error" id="{described.group(1)}">'), after[:200]
    return described.group(1), html.unescape(error.group(1))


async def test_each_filing_error_is_shown_beside_its_field(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        await katy.get("/cases/new")
        page = (await katy.post("/cases/new", {**FILING, "property_address": "", "dispute_value": "a lot"})).text
        assert described_by(page, "property_address") == ("property_address-error", "Enter the address of the subject property.")
        assert described_by(page, "dispute_value") == ("dispute_value-error", "Choose the estimated value of the dispute.")
        # Refusals found only once the form is read as a whole still land beside the field they are about.
        await katy.get("/cases/new")
        page = (await katy.post("/cases/new", {**FILING, "filer_role": "agent", "party_name": "", "party_email": ""})).text
        assert described_by(page, "party_name") == ("party_name-error", "Give the name of the party you represent.")
        assert described_by(page, "party_email") == ("party_email-error", "Give the email of the party you represent.")
        await katy.get("/cases/new")
        page = (await katy.post("/cases/new", {**FILING, "others-0-email": "katy@example.com"})).text
        assert described_by(page, "others-0-email") == ("others-0-email-error", "Other party 1: each party needs their own email.")


async def test_other_party_blocks_are_added_one_at_a_time_without_javascript(web):
    await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        empty = (await katy.get("/cases/new")).text
        assert empty.count('class="party-block"') == 1 and 'name="add_party"' in empty
        # "Add another party" sends the form back: the same page, what was typed kept, one block more, nothing filed.
        more = await katy.post("/cases/new", {**FILING, "add_party": "1"})
        assert more.status_code == 200 and more.text.count('class="party-block"') == 2
        assert 'value="taylor@example.com"' in more.text and "Party 2: full name" in more.text
        # The block left blank (its side select still says "Responding") is not a party.
        filed = await katy.post("/cases/new", {**FILING, "others-1-full_name": "", "others-1-email": "", "others-1-side": "responding"})
        assert filed.status_code == 303
    async with web.sessions() as session:
        assert [p.side for p in (await session.execute(select(Participant).order_by(Participant.id))).scalars()] == ["initiating", "responding"]


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
