"""What a scheduling poll's workflow asks of the world: publish the poll, see whether its case has moved on, and turn
the picked time into the Mediation session (the case scheduled in its own workflow, the event on the calendar)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.board import refresh_wait
from core.db.models import CalendarEvent, Case, SchedulingPoll
from core.db.session import transaction
from core.scheduling import PollState
from core.scheduling_store import write_poll
from core.settings import Settings
from core.stages import FINAL_STAGES, Stage

MEDIATION_TITLE = "Mediation"
CASE_OVER = "This case is over; its mediation can no longer be scheduled."
SCHEDULED_ELSEWHERE = "The Mediation session was put on the case calendar."


@dataclass
class MediationBooking:
    """The picked time of a poll, to become the case's Mediation session."""

    case_id: int
    poll_workflow_id: str
    actor_id: int
    is_staff: bool
    starts_at: str
    ends_at: str
    meeting_type: str
    location: str = ""
    notes: str = ""


class SchedulingActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = sessions
        self._settings = settings

    @activity.defn
    async def publish_poll(self, state: PollState) -> bool:
        """Write the poll (a local activity of its workflow); a version older than the stored one is ignored."""
        async with transaction(self._sessions) as session:
            written = await write_poll(session, state)
            if written:
                # The staff board shows an accepted case with an open poll as waiting on whoever has not answered.
                await refresh_wait(session, state.case_id)
            return written

    @activity.defn
    async def case_moved_on(self, case_id: int) -> str:
        """Why the poll no longer matters (the case is scheduled or over), or "" while the case waits for a time."""
        async with self._sessions() as session:
            case = await session.get(Case, case_id)
        if case is None or case.stage in {str(s) for s in FINAL_STAGES}:
            return CASE_OVER
        if case.mediation_scheduled or case.stage == Stage.SCHEDULED:
            return SCHEDULED_ELSEWHERE
        return ""

    @activity.defn
    async def book_mediation(self, booking: MediationBooking) -> int:
        """Schedule the case in its workflow, then put the Mediation session on its calendar; returns the event's id.

        Safe to retry at any point: the case's Update carries an id of its own (Temporal answers a repeat with the
        first answer), a case already scheduled is not asked again, and the event is keyed by its poll. A refusal by
        the case (it is over) is final and nothing is written."""
        async with self._sessions() as session:
            case = await session.get(Case, booking.case_id)
            poll_id = await session.scalar(select(SchedulingPoll.id).where(SchedulingPoll.workflow_id == booking.poll_workflow_id))
            existing = await session.scalar(select(CalendarEvent.id).where(CalendarEvent.scheduling_poll_id == poll_id)) if poll_id else None
        if existing is not None:
            return existing
        if case is None or poll_id is None:
            # The poll is published when it opens, long before a pick; a retry finds both.
            raise ApplicationError(f"Case {booking.case_id} or poll {booking.poll_workflow_id} is not in the database yet")
        if case.stage in {str(s) for s in FINAL_STAGES}:
            raise ApplicationError(CASE_OVER, type="BookingRefused", non_retryable=True)
        if not (case.mediation_scheduled or case.stage == Stage.SCHEDULED):
            await self._schedule_case(booking)
        async with transaction(self._sessions) as session:
            event = CalendarEvent(
                case_id=booking.case_id,
                created_by_id=booking.actor_id,
                title=MEDIATION_TITLE,
                starts_at=datetime.fromisoformat(booking.starts_at),
                ends_at=datetime.fromisoformat(booking.ends_at),
                meeting_type=booking.meeting_type,
                location=booking.location,
                notes=booking.notes,
                is_mediation=True,
                sequence=0,
                scheduling_poll_id=poll_id,
            )
            session.add(event)
            await session.flush()
            return event.id

    async def _schedule_case(self, booking: MediationBooking) -> None:
        # By name: the case workflow sits above this layer. It answers once the case's state, now "scheduled", is
        # in the database.
        handle = activity.client().get_workflow_handle(self._settings.workflow_id(booking.case_id))
        try:
            await handle.execute_update(
                "record_scheduled",
                {"actor_id": booking.actor_id, "is_staff": booking.is_staff},
                id=f"{booking.poll_workflow_id}/book-mediation",
                rpc_timeout=self._settings.action_timeout,
            )
        except WorkflowUpdateFailedError as error:
            async with self._sessions() as session:
                case = await session.get(Case, booking.case_id)
            if case is not None and case.mediation_scheduled and case.stage not in {str(s) for s in FINAL_STAGES}:
                # Scheduled a moment ago from the case Calendar: the case is as this booking wants it.
                return
            message = getattr(error.cause, "message", None) or str(error.cause)
            raise ApplicationError(message, type="BookingRefused", non_retryable=True) from error
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND or "already completed" in str(error).lower():
                raise ApplicationError(CASE_OVER, type="BookingRefused", non_retryable=True) from error
            raise
