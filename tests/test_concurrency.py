"""Writes that race: two parties ranking at once, two staff adding the same person or editing the same profile.
On SQLite and on PostgreSQL, each ends in a correct state and a clear answer, never a 500 or a duplicate."""

import asyncio
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import func, select

from core.db.models import BallotRecord, MediatorProfile, Participant, Person
from core.db.session import transaction
from features.cases.roster import NewCase, PartyContact, file_case
from tests.support import eventually, handle, wait_for_stage
from tests.support import status as case_status
from tests.web_support import PASSWORD
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision

pytestmark = pytest.mark.both_databases


async def case_in_ranking(web):
    katy = await web.person("katy@example.com", "Katy Perry")
    taylor = await web.person("taylor@example.com", "Taylor Swift")
    mediators = [await web.person(f"m{n}@example.net", f"Mediator {n}", mediator=True) for n in range(3)]
    async with transaction(web.sessions) as session:
        case = await file_case(
            session,
            web.client,
            web.settings,
            NewCase(
                property_address="9 Race Street, Fresno, CA",
                dispute_bases=["Deposit dispute"],
                dispute_value="$75,001 and over",
                description="",
                filer_id=katy.id,
                parties=[PartyContact("Taylor Swift", "taylor@example.com", "responding")],
            ),
        )
        case_id = case.id
    staff = await web.person("staff@car.org", "Center Staff", staff=True)
    panel = [m.id for m in mediators]
    await handle(web.client, web.settings, case_id).execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=staff.id, panel=panel))
    await wait_for_stage(web.client, web.settings, case_id, "ranking")
    return case_id, katy, taylor, panel


async def signed_in(web, stack, email):
    browser = await stack.enter_async_context(web.browser())
    response = await browser.http.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    browser.csrf = response.json()["csrf_token"]
    return browser


async def test_two_parties_ranking_at_the_same_moment_both_count(web):
    case_id, _katy, _taylor, panel = await case_in_ranking(web)
    async with AsyncExitStack() as stack:
        katy = await signed_in(web, stack, "katy@example.com")
        taylor = await signed_in(web, stack, "taylor@example.com")
        answers = await asyncio.gather(
            katy.api("PUT", f"/api/v1/cases/{case_id}/ranking", {"ranked": panel}),
            taylor.api("PUT", f"/api/v1/cases/{case_id}/ranking", {"ranked": list(reversed(panel))}),
        )
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    current = await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
    assert current.tally.ballots_counted == 2
    async with web.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(BallotRecord).where(BallotRecord.case_id == case_id)) == 2


async def test_two_staff_adding_the_same_person_at_once_add_them_once(web):
    case_id, *_ = await case_in_ranking(web)
    await web.person("staff2@car.org", "Second Staff", staff=True)
    newcomer = {"name": "Ed Sheeran", "email": "ed@example.com", "role": "interested"}
    async with AsyncExitStack() as stack:
        first = await signed_in(web, stack, "staff@car.org")
        second = await signed_in(web, stack, "staff2@car.org")
        answers = await asyncio.gather(
            first.api("POST", f"/api/v1/staff/cases/{case_id}/participants", newcomer),
            second.api("POST", f"/api/v1/staff/cases/{case_id}/participants", newcomer),
        )
    codes = sorted(a.status_code for a in answers)
    assert all(code < 500 for code in codes), [a.text for a in answers]
    assert codes[0] in (200, 201) and codes[1] in (200, 201, 409, 422), [a.text for a in answers]
    async with web.sessions() as session:
        people = (await session.execute(select(Person).where(Person.email == "ed@example.com"))).scalars().all()
        assert len(people) == 1
        rows = await session.scalar(select(func.count()).select_from(Participant).where(Participant.case_id == case_id, Participant.person_id == people[0].id))
        assert rows == 1
    current = await eventually(lambda: _status(web, case_id))
    assert current.stage == "ranking"


async def test_two_staff_editing_one_mediator_profile_leave_one_whole_version(web):
    mediator = await web.person("elena@example.net", "Elena Marquez", mediator=True)
    await web.person("staff@car.org", "Center Staff", staff=True)
    await web.person("staff2@car.org", "Second Staff", staff=True)
    versions = [
        {
            "name": "Elena Marquez",
            "email": "elena@example.net",
            "bio": f"Version {n}",
            "expertise": f"Expertise {n}",
            "region": f"Region {n}",
            "languages": "English",
            "fee": f"${n}00/hour",
            "in_directory": True,
        }
        for n in (1, 2)
    ]
    async with AsyncExitStack() as stack:
        first = await signed_in(web, stack, "staff@car.org")
        second = await signed_in(web, stack, "staff2@car.org")
        answers = await asyncio.gather(
            first.api("PUT", f"/api/v1/staff/mediators/{mediator.id}", versions[0]),
            second.api("PUT", f"/api/v1/staff/mediators/{mediator.id}", versions[1]),
        )
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    async with web.sessions() as session:
        profile = await session.get(MediatorProfile, mediator.id)
        saved = (profile.bio, profile.expertise, profile.region, profile.fee)
    # Whichever write came last, it is there whole: never half of one and half of the other.
    assert saved in [(v["bio"], v["expertise"], v["region"], v["fee"]) for v in versions]


async def _status(web, case_id):
    return await case_status(web.client, web.settings, case_id)
