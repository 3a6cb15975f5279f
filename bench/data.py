"""Fast set-up straight into the database and Temporal, for what is scenery rather than the thing measured.

People are inserted with one precomputed password hash (argon2 hashing 20,000 times would take
minutes and measure nothing). Cases for the open-cases and latency scenarios are inserted the way
`services/cases.file_case` writes them, then started with the same CaseInput and accepted at intake with
the same Update the staff console sends, so they wait in ranking exactly like filed cases.
"""

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError

from commands.demo import MEDIATOR_PASSWORD, MEDIATORS, STAFF
from core.db.models import Case, MediatorProfile, Participant, Person
from core.settings import Settings
from features.accounts.security import hash_password
from workflows.case import CaseWorkflow
from workflows.types import CaseInput, IntakeDecision, LifecycleTimers, RosterParty

BENCH_PASSWORD = "bench-party-password-1"
CHUNK = 1000


@dataclass
class Party:
    id: int
    email: str
    full_name: str


@dataclass
class OpenCase:
    case_id: int
    initiating: Party
    responding: Party


@dataclass
class Cast:
    """The demo's staff member and mediators (seeded by `commands/dev.py`), by id and sign-in."""

    staff_id: int
    staff_email: str
    staff_password: str
    mediator_ids: list[int]
    mediator_emails: dict[int, str]
    mediator_password: str


async def cast(sessions: async_sessionmaker[AsyncSession]) -> Cast:
    async with sessions() as db:
        staff_id = (await db.execute(select(Person.id).where(Person.email == STAFF.email))).scalar_one()
        emails = [m.person.email for m in MEDIATORS]
        rows = (
            await db.execute(select(Person.id, Person.email).join(MediatorProfile, MediatorProfile.person_id == Person.id).where(Person.email.in_(emails)))
        ).all()
    by_email = {email: pid for pid, email in rows}
    ids = [by_email[e] for e in emails if e in by_email]
    return Cast(staff_id, STAFF.email, STAFF.password, ids, {by_email[e]: e for e in emails if e in by_email}, MEDIATOR_PASSWORD)


async def create_parties(sessions: async_sessionmaker[AsyncSession], tag: str, count: int) -> list[Party]:
    """`count` people who can sign in with BENCH_PASSWORD, named so staff search can find them."""
    password_hash = hash_password(BENCH_PASSWORD)
    rows = [
        {"email": f"{tag}-{n}@bench.example", "full_name": f"Bench {tag.title()} Person{n:05d}", "user_type": "Party", "password_hash": password_hash}
        for n in range(count)
    ]
    async with sessions() as db, db.begin():
        for start in range(0, len(rows), CHUNK):
            await db.execute(insert(Person), rows[start : start + CHUNK])
    async with sessions() as db:
        found = (await db.execute(select(Person.id, Person.email, Person.full_name).where(Person.email.like(f"{tag}-%@bench.example")))).all()
    by_email = {email: Party(pid, email, name) for pid, email, name in found}
    return [by_email[row["email"]] for row in rows]


async def insert_cases(sessions: async_sessionmaker[AsyncSession], tag: str, parties: list[Party]) -> list[OpenCase]:
    """One case per pair of parties (initiating filer, responding party), as filing writes them."""
    pairs = [(parties[i], parties[i + 1]) for i in range(0, len(parties) - 1, 2)]
    cases: list[OpenCase] = []
    async with sessions() as db, db.begin():
        for start in range(0, len(pairs), CHUNK):
            chunk = pairs[start : start + CHUNK]
            rows = [
                Case(
                    property_address=f"{1000 + start + n} Benchmark Avenue, {tag.title()} City, CA 90001",
                    dispute_bases=["Deposit dispute"],
                    dispute_value="$12,501 to $25,000",
                    description="Created by the benchmark.",
                    filed_by_id=a.id,
                )
                for n, (a, _b) in enumerate(chunk)
            ]
            db.add_all(rows)
            await db.flush()
            participants = []
            for case, (a, b) in zip(rows, chunk, strict=False):
                participants.append({"case_id": case.id, "person_id": a.id, "role": "party", "side": "initiating"})
                participants.append({"case_id": case.id, "person_id": b.id, "role": "party", "side": "responding"})
                cases.append(OpenCase(case.id, a, b))
            await db.execute(insert(Participant), participants)
    return cases


async def start_and_accept(client: Client, settings: Settings, cases: list[OpenCase], staff_id: int, panel: list[int], concurrency: int) -> dict:
    """Start each case's workflow and accept its intake with the panel; returns how long that took."""
    gate = asyncio.Semaphore(concurrency)
    timers = LifecycleTimers.from_settings(settings)

    async def one(case: OpenCase) -> None:
        async with gate:
            handle = await client.start_workflow(
                CaseWorkflow.run,
                CaseInput(
                    case_id=case.case_id,
                    property_address=f"case {case.case_id}",
                    filed_by_id=case.initiating.id,
                    parties=[RosterParty(case.initiating.id, "initiating"), RosterParty(case.responding.id, "responding")],
                    timers=timers,
                ),
                id=settings.workflow_id(case.case_id),
                task_queue=settings.task_queue,
            )
            decision = IntakeDecision(accept=True, actor_id=staff_id, panel=list(panel))
            # A busy server answers a waiting update with a timeout; the same update id makes the retry count once.
            for attempt in range(5):
                try:
                    await handle.execute_update(CaseWorkflow.review_intake, decision, id=f"bench-intake-{case.case_id}")
                    return
                except WorkflowUpdateRPCTimeoutOrCancelledError:
                    if attempt == 4:
                        raise

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in cases))
    elapsed = time.perf_counter() - started
    return {"cases": len(cases), "seconds": round(elapsed, 2), "cases_per_second": round(len(cases) / elapsed, 1) if elapsed else None}


async def wait_for_stage(sessions: async_sessionmaker[AsyncSession], case_ids: list[int], stage: str, timeout: float) -> float:
    """Wait until the database mirror shows every case in `stage`; returns the seconds waited."""
    started = time.monotonic()
    wanted = len(case_ids)
    low, high = min(case_ids), max(case_ids)
    while True:
        async with sessions() as db:
            done = (await db.execute(select(func.count()).select_from(Case).where(Case.id.between(low, high), Case.stage == stage))).scalar_one()
        if done >= wanted:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"only {done} of {wanted} cases reached {stage} within {timeout:.0f} s")
        await asyncio.sleep(0.5)
