"""Small activities the case workflow calls: publish its state, record ballots, propose panels, purge records.
(Its emails go through activities/notifications.py, like every other email.)"""

from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.board import current_wait, keep_board_in_step, refresh_mirror_waiting
from activities.types import BallotAudit, PanelRequest, RetentionRecord, StageRecord
from core.case_state import CaseState, state_to_json
from core.db.models import (
    BallotRecord,
    Case,
    ConflictCheckRequest,
    DiscussionRoom,
    Document,
    DocumentShare,
    MediatorProfile,
    Message,
    Participant,
    RoomMember,
    RoomMessage,
    utcnow,
)
from core.db.session import transaction
from core.settings import Settings
from core.storage import FileStore
from notifications.sender import Mailer, PermanentEmailError


def _parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment) if moment else None


class CaseActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        mailer: Mailer,
        settings: Settings,
        files: FileStore,
    ):
        self._files = files
        self._sessions = sessions
        self._mailer = mailer
        self._settings = settings

    @activity.defn
    async def record_stage(self, record: StageRecord) -> None:
        async with transaction(self._sessions) as session:
            case = await session.get(Case, record.case_id)
            if case is None:
                # Filing commits the case just after starting its workflow; a retry finds it.
                raise ApplicationError(f"Case {record.case_id} is not in the database yet")
            moved = (case.stage, case.candidate_mediator_id) != (record.stage, record.candidate_mediator_id)
            case.stage = record.stage
            case.stage_deadline = _parse(record.stage_deadline)
            case.ranking_round = record.ranking_round
            case.panel = list(record.panel)
            case.candidate_mediator_id = record.candidate_mediator_id
            case.mediator_id = record.mediator_id
            case.fee_deposit_collected = record.fee_deposit_collected
            case.mediation_scheduled = record.mediation_scheduled
            case.outcome = record.outcome
            case.stage_note = record.note
            if record.mediator_id is not None:
                await _ensure_mediator_participant(session, record.case_id, record.mediator_id)
            await refresh_mirror_waiting(session, record.case_id, moved)

    @activity.defn
    async def publish_state(self, state: CaseState) -> bool:
        """Write the case's state (a local activity of its workflow); a version older than the stored one is ignored.

        Returns whether this write was the newest. The list columns (stage, deadline, mediator...) are written with
        it, in the same statement, so a list and a case page never disagree; what the staff board reads (who the case
        waits on, its stage periods, its conflict checks) in the same transaction, only by the newest write."""
        async with transaction(self._sessions) as session:
            waiting = await current_wait(session, state)
            written = await session.execute(
                update(Case)
                .where(Case.id == state.case_id, Case.state_version < state.version)
                .values(
                    state=state_to_json(state),
                    state_version=state.version,
                    stage=state.stage,
                    stage_since=_parse(state.stage_since),
                    stage_deadline=_parse(state.stage_deadline),
                    ranking_round=state.ranking_round,
                    panel=list(state.panel),
                    candidate_mediator_id=state.candidate_mediator_id,
                    mediator_id=state.mediator_id,
                    fee_deposit_collected=state.fee_deposit_collected,
                    mediation_scheduled=state.mediation_scheduled,
                    outcome=state.outcome,
                    stage_note=state.note,
                    retention_due_at=_parse(state.retention_due_at),
                    waiting_on_kind=waiting.kind if waiting else None,
                    waiting_since=_parse(waiting.since) if waiting else None,
                )
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult, written).rowcount == 0:
                if await session.get(Case, state.case_id) is None:
                    # Filing commits the case just after starting its workflow; a retry finds it.
                    raise ApplicationError(f"Case {state.case_id} is not in the database yet")
                return False
            if state.mediator_id is not None:
                await _ensure_mediator_participant(session, state.case_id, state.mediator_id)
            await _drop_replaced_mediators(session, state)
            await _record_conflict_check_requests(session, state)
            await keep_board_in_step(session, state, waiting)
        return True

    @activity.defn
    async def record_ballot(self, audit: BallotAudit) -> None:
        try:
            async with transaction(self._sessions) as session:
                session.add(
                    BallotRecord(
                        case_id=audit.case_id,
                        ranking_round=audit.ranking_round,
                        party_id=audit.party_id,
                        submitted_by_id=audit.submitted_by_id,
                        side=audit.side,
                        ranked=list(audit.ranked),
                        eliminated=list(audit.eliminated),
                        submitted_at=datetime.fromisoformat(audit.submitted_at),
                        submission_key=audit.submission_key,
                        fingerprint=audit.fingerprint,
                    )
                )
                await refresh_mirror_waiting(session, audit.case_id, moved=False)
        except IntegrityError:
            # An earlier attempt of this activity already recorded it.
            pass

    @activity.defn
    async def propose_panel(self, request: PanelRequest) -> list[int]:
        """The next mediators from the directory, skipping those this case already tried, least busy first."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(MediatorProfile.person_id)
                .where(MediatorProfile.in_directory.is_(True), MediatorProfile.person_id.not_in(request.exclude or [-1]))
                .order_by(MediatorProfile.person_id)
            )
            candidates = [r[0] for r in rows]
            case = await session.get(Case, request.case_id)
            busy: dict[int, int] = {}
            if candidates:
                for (mediator_id,) in await session.execute(
                    select(Case.mediator_id).where(Case.mediator_id.in_(candidates), Case.stage.in_(["accepted", "scheduled"]))
                ):
                    if mediator_id is not None:
                        busy[mediator_id] = busy.get(mediator_id, 0) + 1
            # Rotate by case id so equally busy mediators share the work instead of the first ones taking all.
            offset = (case.id if case else 0) % len(candidates) if candidates else 0
            rotated = candidates[offset:] + candidates[:offset]
            rotated.sort(key=lambda m: busy.get(m, 0))
            return rotated[: request.size]

    @activity.defn
    async def record_retention(self, record: RetentionRecord) -> None:
        async with transaction(self._sessions) as session:
            case = await session.get(Case, record.case_id)
            if case is not None:
                case.retention_due_at = datetime.fromisoformat(record.due_at)

    @activity.defn
    async def purge_case_records(self, case_id: int) -> int:
        """Delete a closed case's documents (files too), messages and discussions; the case row and its outcome stay.

        The files go first, while the rows still say which files there are: if storage is down, the activity fails
        before anything is deleted and Temporal retries it; if it stops half-way, the retry deletes the rest
        (deleting a file twice is harmless). The other order would lose the list of files to a retry."""
        async with self._sessions() as session:
            keys = set((await session.execute(select(Document.storage_key).where(Document.case_id == case_id))).scalars())
        for key in sorted(keys):
            await self._files.delete(key)
        async with transaction(self._sessions) as session:
            # A document added since the files above were deleted goes too; its file is deleted once its row is gone.
            added_since = set((await session.execute(select(Document.storage_key).where(Document.case_id == case_id))).scalars()) - keys
            room_ids = select(DiscussionRoom.id).where(DiscussionRoom.case_id == case_id)
            await session.execute(delete(RoomMessage).where(RoomMessage.room_id.in_(room_ids)))
            await session.execute(delete(DocumentShare).where(DocumentShare.document_id.in_(select(Document.id).where(Document.case_id == case_id))))
            await session.execute(delete(Document).where(Document.case_id == case_id))
            await session.execute(delete(RoomMember).where(RoomMember.room_id.in_(room_ids)))
            await session.execute(delete(DiscussionRoom).where(DiscussionRoom.case_id == case_id))
            await session.execute(delete(Message).where(Message.case_id == case_id))
            case = await session.get(Case, case_id)
            if case is not None:
                case.records_purged_at = utcnow()
        for key in sorted(added_since):
            await self._files.delete(key)
        return len(keys | added_since)

    @activity.defn
    async def deliver_stored_email(self, idempotency_key: str) -> bool:
        """The delivery step of `AccountEmailWorkflow`, kept for the account emails queued before notifications had one
        pipeline: new ones go through `NotificationActivities.send_notification`."""
        try:
            return await self._mailer.deliver_stored(idempotency_key)
        except PermanentEmailError as error:
            raise ApplicationError(str(error), type="PermanentEmailError", non_retryable=True) from error


async def _record_conflict_check_requests(session: AsyncSession, state: CaseState) -> None:
    """Each mediator the case asked for its conflict check, with how their last request ended."""
    last = {attempt.mediator_id: attempt.outcome for attempt in state.conflict_attempts}
    if not last:
        return
    stored = {
        row.mediator_id: row for row in (await session.execute(select(ConflictCheckRequest).where(ConflictCheckRequest.case_id == state.case_id))).scalars()
    }
    for mediator_id, outcome in last.items():
        if mediator_id in stored:
            stored[mediator_id].outcome = outcome
        else:
            session.add(ConflictCheckRequest(case_id=state.case_id, mediator_id=mediator_id, outcome=outcome))


# A mediator who served and whose part ended (an objection to their disclosure upheld, or they stepped down).
REPLACED_OUTCOMES = ("objection_upheld", "stepped_down")


async def _drop_replaced_mediators(session: AsyncSession, state: CaseState) -> None:
    """A mediator replaced after acceptance is no longer on the case: its pages are no longer theirs."""
    replaced = {a.mediator_id for a in state.conflict_attempts if a.outcome in REPLACED_OUTCOMES} - {state.mediator_id}
    if replaced:
        await session.execute(
            delete(Participant).where(Participant.case_id == state.case_id, Participant.role == "mediator", Participant.person_id.in_(replaced))
        )


async def _ensure_mediator_participant(session: AsyncSession, case_id: int, mediator_id: int) -> None:
    existing = await session.execute(
        select(Participant.id).where(Participant.case_id == case_id, Participant.person_id == mediator_id, Participant.role == "mediator")
    )
    if existing.first() is None:
        session.add(Participant(case_id=case_id, person_id=mediator_id, role="mediator"))
