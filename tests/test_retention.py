"""Retention: a case's workflow completes when the case ends; the retention sweep (started by a Temporal Schedule)
deletes the documents, messages and discussions of every ended case past the center's policy of the day, and nothing else."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus

from activities.case_activities import CaseActivities
from core.db.models import Case, DiscussionRoom, Document, DocumentShare, Message, RoomMember, RoomMessage
from core.db.session import transaction
from core.storage import StorageUnavailable, file_store
from core.time import as_utc
from notifications.sender import Mailer
from tests.storage_support import free_port, stored_files
from tests.support import eventually, handle, make_case, make_center, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.retention import RetentionSweep, RetentionSweepWorkflow
from workflows.types import CaseClosure, ConflictDecision, IntakeDecision, RankingSubmission, StaffAction
from workflows.worker import build_worker

pytestmark = [pytest.mark.usefixtures("worker"), pytest.mark.both_databases]


async def accepted_case(env, sessions, settings, center, address):
    case_id, people = await make_case(sessions, env.client, settings, address=address, parties=[(f"{address} A", "initiating"), (f"{address} B", "responding")])
    wf = handle(env.client, settings, case_id)
    panel = [m.id for m in center.mediators[:3]]
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=panel))
    await wait_for_stage(env.client, settings, case_id, "ranking")
    for person in people.values():
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=person, party_id=person, ranked=panel))
    await wait_for_stage(env.client, settings, case_id, "conflict_check")
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=panel[0], accept=True))
    await wait_for_stage(env.client, settings, case_id, "accepted")
    return case_id, people


async def add_records(sessions, settings, case_id, author_id, tag):
    files = file_store(settings)
    async with transaction(sessions) as session:
        session.add(Message(case_id=case_id, author_id=author_id, body=f"message of {tag}"))
        room = DiscussionRoom(case_id=case_id, name="Joint room", kind="joint", created_by_id=author_id)
        session.add(room)
        await session.flush()
        session.add(RoomMember(room_id=room.id, person_id=author_id))
        document = Document(
            case_id=case_id,
            uploader_id=author_id,
            category="Contract",
            title=f"contract of {tag}",
            file_name="contract.pdf",
            storage_key=f"{tag}.pdf",
            content_type="application/pdf",
            size_bytes=8,
            room_id=room.id,
        )
        session.add(document)
        await session.flush()
        session.add(DocumentShare(document_id=document.id, person_id=author_id))
        session.add(RoomMessage(room_id=room.id, author_id=author_id, body="see attached", document_id=document.id))
    await files.save(f"{tag}.pdf", one_chunk(b"%PDF-1.4"))


async def one_chunk(content: bytes):
    yield content


async def counts(sessions, case_id):
    async with sessions() as session:
        rooms = select(DiscussionRoom.id).where(DiscussionRoom.case_id == case_id)
        return {
            "messages": await session.scalar(select(func.count()).select_from(Message).where(Message.case_id == case_id)),
            "documents": await session.scalar(select(func.count()).select_from(Document).where(Document.case_id == case_id)),
            "rooms": await session.scalar(select(func.count()).select_from(DiscussionRoom).where(DiscussionRoom.case_id == case_id)),
            "room_messages": await session.scalar(select(func.count()).select_from(RoomMessage).where(RoomMessage.room_id.in_(rooms))),
        }


async def sweep(env, settings, batch_size: int = 100) -> int:
    """One run of what the retention Schedule starts, on the worker whose settings hold the policy of the day."""
    return await env.client.execute_workflow(
        RetentionSweepWorkflow.run,
        RetentionSweep(batch_size=batch_size),
        id=f"{settings.workflow_id_prefix}retention-sweep-{uuid.uuid4().hex[:6]}",
        task_queue=settings.task_queue,
    )


@pytest.mark.both_storages
async def test_an_ended_case_completes_and_the_sweep_deletes_exactly_its_records_under_the_policy_of_the_day(time_skipping_env, sessions, settings, web):
    env = time_skipping_env
    center = await make_center(sessions)
    closed_id, closed_people = await accepted_case(env, sessions, settings, center, "1 Closed Road")
    open_id, open_people = await accepted_case(env, sessions, settings, center, "2 Open Road")
    await add_records(sessions, settings, closed_id, next(iter(closed_people.values())), "closed")
    await add_records(sessions, settings, open_id, next(iter(open_people.values())), "open")

    mediator = center.mediators[0].id
    closed = handle(env.client, settings, closed_id)
    await closed.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=mediator, outcome="settled"))
    # The case's workflow completes when the case ends: nothing stays open for the retention period.
    assert await closed.result() == "closed"
    description = await closed.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED

    async def ended_at():
        async with sessions() as session:
            case = await session.get(Case, closed_id)
            return case.stage_since if case.stage == "closed" else None

    ended = as_utc(await eventually(ended_at))
    await web.person("records@car.org", "Records Clerk", staff=True)
    async with web.browser() as staff:
        await staff.login("records@car.org")
        page = await staff.get(f"/staff/cases/{closed_id}")
        due = ended + settings.retention_period
        assert "will be deleted on" in page.text and str(due.year) in page.text

    # Under the center's two-year policy nothing is due yet.
    assert await sweep(env, settings) == 0
    assert (await counts(sessions, closed_id))["messages"] == 1

    # The center shortens its policy: the next sweep applies it to the case that already ended, and to no other.
    async with build_worker(env.client, sessions, shorter := settings.model_copy(update={"retention_period": timedelta(0), "task_queue": "shorter"})):
        assert await sweep(env, shorter) == 1
        assert await sweep(env, shorter) == 0, "a second sweep finds nothing left to delete"
    assert await counts(sessions, closed_id) == {"messages": 0, "documents": 0, "rooms": 0, "room_messages": 0}
    assert await counts(sessions, open_id) == {"messages": 1, "documents": 1, "rooms": 1, "room_messages": 1}
    assert stored_files(settings) == {"open.pdf": 8}, "the closed case's file is deleted, the open case's kept"
    async with sessions() as session:
        row = await session.get(Case, closed_id)
        assert row.records_purged_at is not None and row.outcome == "settled" and row.stage == "closed"
    async with web.browser() as staff:
        await staff.login("records@car.org")
        page = await staff.get(f"/staff/cases/{closed_id}")
        assert "have been deleted" in page.text and "will be deleted on" not in page.text


async def test_the_sweep_works_in_batches_and_takes_withdrawn_and_rejected_cases_too(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    ended = []
    for n, how in enumerate(["withdrawn", "rejected", "withdrawn"]):
        case_id, people = await make_case(
            sessions, env.client, settings, address=f"{n} Ended Lane", parties=[(f"Ended {n} A", "initiating"), (f"Ended {n} B", "responding")]
        )
        await add_records(sessions, settings, case_id, next(iter(people.values())), f"ended{n}")
        wf = handle(env.client, settings, case_id)
        if how == "withdrawn":
            await wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=center.staff.id, reason="Settled on their own."))
        else:
            await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=False, actor_id=center.staff.id, reason="Small claims."))
        assert await wf.result() == how
        ended.append(case_id)
    await eventually(lambda: _all_published(sessions, ended))
    async with build_worker(env.client, sessions, shorter := settings.model_copy(update={"retention_period": timedelta(0), "task_queue": "shorter"})):
        # Two at a time: the sweep continues as new after each full batch, so its history stays small.
        assert await sweep(env, shorter, batch_size=2) == 3
    for case_id in ended:
        assert await counts(sessions, case_id) == {"messages": 0, "documents": 0, "rooms": 0, "room_messages": 0}


async def _all_published(sessions, case_ids):
    async with sessions() as session:
        rows = (await session.execute(select(Case).where(Case.id.in_(case_ids)))).scalars().all()
        return all(r.stage in ("withdrawn", "rejected") and r.stage_since is not None for r in rows)


@pytest.mark.parametrize("file_storage", ["s3"], indirect=True)
async def test_a_purge_while_the_bucket_is_down_deletes_nothing_and_its_retry_deletes_everything(time_skipping_env, sessions, settings):
    case_id, people = await make_case(sessions, time_skipping_env.client, settings)
    await add_records(sessions, settings, case_id, next(iter(people.values())), "closed")
    down = settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(StorageUnavailable):
        await CaseActivities(sessions, Mailer(sessions, down), down, file_store(down)).purge_case_records(case_id)
    # Temporal retries a failed activity: the rows still say which file to delete, and nothing is half-gone.
    assert await counts(sessions, case_id) == {"messages": 1, "documents": 1, "rooms": 1, "room_messages": 1}
    assert stored_files(settings) == {"closed.pdf": 8}

    assert await CaseActivities(sessions, Mailer(sessions, settings), settings, file_store(settings)).purge_case_records(case_id) == 1
    assert await counts(sessions, case_id) == {"messages": 0, "documents": 0, "rooms": 0, "room_messages": 0}
    assert stored_files(settings) == {}
