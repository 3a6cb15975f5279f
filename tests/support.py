"""Builders and waits shared by the tests: a center with staff, a mediator directory and cases."""

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle

from core.case_state import CaseState
from core.db.models import Email, MediatorProfile, Participant, Person
from core.db.session import transaction
from core.settings import Settings
from features.access import CaseAccess, Viewer, access_to_case
from features.accounts.security import session_for_token, start_session
from features.cases.roster import NewCase, PartyContact, file_case, roster_for
from workflows.case import CaseWorkflow


@dataclass
class Center:
    staff: Person
    mediators: list[Person]


async def make_center(sessions: async_sessionmaker[AsyncSession], mediators: int = 6) -> Center:
    async with transaction(sessions) as session:
        staff = Person(email="staff@car.org", full_name="Center Staff", user_type="Center staff", is_staff=True)
        session.add(staff)
        people = []
        for n in range(1, mediators + 1):
            person = Person(email=f"mediator{n}@example.com", full_name=f"Mediator {n}", user_type="Mediator")
            person.mediator_profile = MediatorProfile(bio=f"Mediator {n} bio", expertise="Residential", region="Los Angeles")
            session.add(person)
            people.append(person)
    return Center(staff=staff, mediators=people)


async def make_case(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    parties: list[tuple[str, str]] | None = None,
    address: str = "742 Evergreen Terrace, Springfield, CA 90210",
) -> tuple[int, dict[str, int]]:
    """File a case; returns its id and the person id of each party by name."""
    parties = parties or [("Katy Perry", "initiating"), ("Taylor Swift", "responding")]
    async with transaction(sessions) as session:
        filer_name, _ = parties[0]
        filer = Person(email=_email(filer_name), full_name=filer_name)
        session.add(filer)
        await session.flush()
        case = await file_case(
            session,
            client,
            settings,
            NewCase(
                property_address=address,
                dispute_bases=["Deposit dispute"],
                dispute_value="$75,001 and over",
                description="The buyer's deposit was not returned.",
                filer_id=filer.id,
                parties=[PartyContact(full_name=n, email=_email(n), side=s) for n, s in parties[1:]],
            ),
        )
        case_id = case.id
    async with sessions() as session:
        people = (await session.execute(select(Person).where(Person.email.in_([_email(n) for n, _ in parties])))).scalars()
        ids = {p.full_name: p.id for p in people}
    return case_id, ids


async def join_case(
    sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings, case_id: int, name: str, role: str, represents: int | None = None
) -> int:
    """Put a representative (of the party `represents`) or an interested person on the case, as staff do, and tell its
    workflow the roster; returns their person id."""
    async with transaction(sessions) as session:
        person = Person(email=_email(name), full_name=name)
        session.add(person)
        await session.flush()
        session.add(
            Participant(case_id=case_id, person_id=person.id, role=role, represents_id=represents, representative_kind="Attorney" if represents else "")
        )
        await session.flush()
        person_id, roster = person.id, await roster_for(session, case_id)
    await handle(client, settings, case_id).execute_update(CaseWorkflow.set_roster, roster)
    return person_id


def _email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@example.com"


def handle(client: Client, settings: Settings, case_id: int) -> WorkflowHandle:
    return client.get_workflow_handle_for(CaseWorkflow.run, settings.workflow_id(case_id))


async def status(client: Client, settings: Settings, case_id: int) -> CaseState:
    return await handle(client, settings, case_id).query(CaseWorkflow.status)


async def eventually(check, timeout: float = 15.0):
    """Poll an async check until it returns something truthy: activities finish after the update or timer that started them."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {result!r})")
        await asyncio.sleep(0.05)


async def wait_for_stage(client: Client, settings: Settings, case_id: int, stage: str) -> CaseState:
    async def check():
        current = await status(client, settings, case_id)
        return current if current.stage == stage else None

    return await eventually(check)


async def emails(sessions: async_sessionmaker[AsyncSession], subject_starts: str = "", to: str | None = None) -> list[Email]:
    async with sessions() as session:
        query = select(Email).order_by(Email.id)
        if subject_starts:
            query = query.where(Email.subject.startswith(subject_starts))
        if to:
            query = query.where(Email.to_email == to)
        return list((await session.execute(query)).scalars())


async def signed_in_access(session: AsyncSession, case_id: int, person_id: int) -> CaseAccess:
    """What a request by this person on the case would get: a real sign-in session, and their access to the case."""
    opened = start_session(session, await session.get(Person, person_id))
    await session.flush()
    web_session, person = await session_for_token(session, opened.token)
    access = await access_to_case(session, case_id, Viewer(person=person, web_session=web_session))
    assert access is not None, f"person {person_id} is not on case {case_id}"
    return access
