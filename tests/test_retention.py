"""Retention: when a closed case's timer fires, its documents, messages and discussions go, and nothing else."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from activities.case_activities import CaseActivities
from core.db.models import Case, DiscussionRoom, Document, DocumentShare, Message, RoomMember, RoomMessage
from core.db.session import transaction
from core.storage import StorageUnavailable, file_store
from notifications.sender import Mailer
from tests.storage_support import free_port, stored_files
from tests.support import eventually, handle, make_case, make_center, status, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import CaseClosure, ConflictDecision, IntakeDecision, RankingSubmission

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


@pytest.mark.both_storages
async def test_retention_timer_purges_exactly_the_closed_cases_records(time_skipping_env, sessions, settings, web):
    env = time_skipping_env
    center = await make_center(sessions)
    closed_id, closed_people = await accepted_case(env, sessions, settings, center, "1 Closed Road")
    open_id, open_people = await accepted_case(env, sessions, settings, center, "2 Open Road")
    await add_records(sessions, settings, closed_id, next(iter(closed_people.values())), "closed")
    await add_records(sessions, settings, open_id, next(iter(open_people.values())), "open")

    mediator = center.mediators[0].id
    await handle(env.client, settings, closed_id).execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=mediator, outcome="settled"))
    await wait_for_stage(env.client, settings, closed_id, "closed")

    async def due_recorded():
        async with sessions() as session:
            return (await session.get(Case, closed_id)).retention_due_at

    due = await eventually(due_recorded)
    assert (await status(env.client, settings, closed_id)).retention_due_at is not None
    await web.person("records@car.org", "Records Clerk", staff=True)
    async with web.browser() as staff:
        await staff.login("records@car.org")
        page = await staff.get(f"/staff/cases/{closed_id}")
        assert "will be deleted on" in page.text and str(due.year) in page.text

    await env.sleep(timedelta(days=729))
    assert (await counts(sessions, closed_id))["messages"] == 1, "nothing is deleted before the retention period ends"

    await env.sleep(timedelta(days=2))

    async def purged():
        return (await status(env.client, settings, closed_id)).records_purged

    await eventually(purged)
    assert await counts(sessions, closed_id) == {"messages": 0, "documents": 0, "rooms": 0, "room_messages": 0}
    assert await counts(sessions, open_id) == {"messages": 1, "documents": 1, "rooms": 1, "room_messages": 1}
    assert stored_files(settings) == {"open.pdf": 8}, "the closed case's file is deleted, the open case's kept"
    async with sessions() as session:
        closed = await session.get(Case, closed_id)
        assert closed.records_purged_at is not None and closed.outcome == "settled" and closed.stage == "closed"
    assert due is not None


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
