"""Scheduling by availability: the one service function per action behind the Scheduling page and the JSON API.

The mediator (or staff) proposes times, which starts a poll's workflow (workflows/scheduling_poll.py); the parties,
representatives and interested persons mark each time; the mediator picks one, which the poll turns into the
Mediation session (the case scheduled in its workflow, the event on the calendar, everyone emailed the .ics).
Pages and the API read the poll as its workflow published it to the database, never the workflow itself.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from core.db.models import Case, Participant, Person, SchedulingPoll, SchedulingRespondent, utcnow
from core.errors import Forbidden, Invalid, Rejected
from core.scheduling import (
    LIVE_STATUSES,
    MAX_SLOT_HOURS,
    MIN_SLOTS_TO_OPEN,
    OPEN,
    RESPONDENT_ROLES,
    STATUS_LABELS,
    PollRespondent,
    PollState,
    tally_slots,
)
from core.scheduling_store import last_poll_number, latest_poll
from core.stages import FINAL_STAGES, Stage
from core.time import zone_for
from features.access import CaseAccess
from features.context import AppContext
from features.lifecycle import PAUSED, UNREACHABLE, LifecycleUnavailable, run_workflow_update
from features.scheduling.models import (
    AnswersIn,
    CancelIn,
    MyAnswerOut,
    PickIn,
    PollOut,
    ProposalIn,
    RespondentOut,
    SchedulingOut,
    SlotOut,
    SlotTallyOut,
)
from workflows.scheduling_poll import (
    CLOSED,
    AvailabilityAnswers,
    MoreSlots,
    PollCancel,
    PollInput,
    PollTimers,
    SchedulingPollWorkflow,
    SlotChoice,
    SlotPick,
    SlotProposal,
)

MANAGERS_ONLY = "Only the case's mediator or center staff can propose times for the mediation, pick one or cancel the poll."
RESPONDENTS_ONLY = "Only the parties, their representatives and interested persons mark the times they can attend."
NOT_YET = "Times for the mediation are proposed once a mediator has accepted the case."
ALREADY_SCHEDULED = "The mediation is already scheduled; change its time on the case Calendar."
CASE_OVER = "This case is over; its mediation can no longer be scheduled."


# ---- who may do what ------------------------------------------------------------------------------


def can_manage(access: CaseAccess) -> bool:
    case = access.case
    return access.is_staff or (case.mediator_id is not None and case.mediator_id == access.viewer.id)


def check_can_manage(access: CaseAccess) -> None:
    if not can_manage(access):
        raise Forbidden(MANAGERS_ONLY)


def respondent_role(access: CaseAccess) -> str | None:
    """The viewer's part in the poll: their first role among party, representative and interested, if any."""
    roles = {p.role for p in access.roles}
    return next((role for role in RESPONDENT_ROLES if role in roles), None)


def check_can_answer(access: CaseAccess) -> str:
    role = respondent_role(access)
    if role is None:
        raise Forbidden(RESPONDENTS_ONLY)
    return role


def _check_case_waits(case: Case) -> None:
    """The case must have its mediator and no Mediation session yet."""
    if case.stage in {str(s) for s in FINAL_STAGES}:
        raise Rejected(CASE_OVER)
    if case.mediation_scheduled or case.stage == Stage.SCHEDULED:
        raise Rejected(ALREADY_SCHEDULED)
    if case.stage != Stage.ACCEPTED:
        raise Rejected(NOT_YET)


# ---- reading ----------------------------------------------------------------------------------------


async def _names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {p.id: p.full_name for p in (await db.execute(select(Person).where(Person.id.in_(ids)))).scalars()}


async def poll_out(db: AsyncSession, access: CaseAccess, poll: PollState) -> PollOut:
    """The poll as the viewer may see it: everyone on the case sees its times and their own answers; the mediator and
    staff see everyone's answers, best time first, and who has not answered."""
    manager = can_manage(access)
    waits = access.case.stage == Stage.ACCEPTED and not access.case.mediation_scheduled
    asked = {r.person_id for r in poll.respondents}
    best_first = respondents = None
    if manager:
        names = await _names(db, asked)
        respondents = [RespondentOut(person_id=r.person_id, name=names.get(r.person_id, ""), role=r.role, answered=r.answered) for r in poll.respondents]
        best_first = [
            SlotTallyOut(
                number=t.slot.number,
                starts_at=datetime.fromisoformat(t.slot.starts_at),
                ends_at=datetime.fromisoformat(t.slot.ends_at),
                available=t.available,
                if_need_be=t.if_need_be,
                unavailable=t.unavailable,
                parties_available=t.parties_available,
                parties_if_need_be=t.parties_if_need_be,
                parties_unavailable=t.parties_unavailable,
                parties_silent=t.parties_silent,
                works_for_every_party=t.works_for_every_party,
                answers=dict(t.answers),
            )
            for t in tally_slots(poll)
        ]
    label = STATUS_LABELS.get(poll.status, poll.status)
    if poll.status in LIVE_STATUSES and not waits:
        # The poll closes itself at its next timer; until then it must not look open for a case that moved on.
        label = "Closed: " + (ALREADY_SCHEDULED if access.case.mediation_scheduled or access.case.stage == Stage.SCHEDULED else CASE_OVER)
    return PollOut(
        number=poll.number,
        status=poll.status,
        status_label=label,
        opened_at=datetime.fromisoformat(poll.opened_at),
        answers_due_at=datetime.fromisoformat(poll.answers_due_at) if poll.answers_due_at else None,
        slots=[SlotOut(number=s.number, starts_at=datetime.fromisoformat(s.starts_at), ends_at=datetime.fromisoformat(s.ends_at)) for s in poll.slots],
        my_answers=[MyAnswerOut(slot=a.slot, answer=a.answer) for a in poll.answers if a.person_id == access.viewer.id],
        can_answer=poll.status == OPEN and waits and respondent_role(access) is not None,
        can_manage=manager and poll.status in LIVE_STATUSES,
        best_first=best_first,
        respondents=respondents,
        picked_slot=poll.picked_slot,
        event_id=poll.event_id,
        closed_at=datetime.fromisoformat(poll.closed_at) if poll.closed_at else None,
        closed_reason=poll.closed_reason,
    )


async def _scheduling_out(db: AsyncSession, access: CaseAccess, poll: PollState | None) -> SchedulingOut:
    case = access.case
    waits = case.stage == Stage.ACCEPTED and not case.mediation_scheduled
    shown = await poll_out(db, access, poll) if poll is not None else None
    return SchedulingOut(
        case_id=case.id,
        poll=shown,
        can_propose=can_manage(access) and waits and (shown is None or shown.status not in LIVE_STATUSES or shown.room > 0),
        ics_url=f"/cases/{case.id}/calendar/{shown.event_id}.ics" if shown is not None and shown.event_id else None,
    )


async def scheduling(db: AsyncSession, access: CaseAccess) -> SchedulingOut:
    """The case's latest poll as the viewer may see it, and whether they may propose times."""
    return await _scheduling_out(db, access, await latest_poll(db, access.case.id))


def poll_temporal_url(ctx: AppContext, case_id: int, number: int) -> str:
    """The poll's workflow in the Temporal Web UI, for staff."""
    s = ctx.settings
    return f"{s.temporal_ui_url.rstrip('/')}/namespaces/{s.temporal_namespace}/workflows/{s.poll_workflow_id(case_id, number)}"


async def open_poll_for(db: AsyncSession, case_id: int, person_id: int) -> SchedulingPoll | None:
    """The case's poll open for answers in which this person has not marked every time: a next step of theirs."""
    return await db.scalar(
        select(SchedulingPoll)
        .join(SchedulingRespondent, SchedulingRespondent.poll_id == SchedulingPoll.id)
        .where(
            SchedulingPoll.case_id == case_id,
            SchedulingPoll.status == OPEN,
            SchedulingRespondent.person_id == person_id,
            SchedulingRespondent.answered.is_(False),
        )
        .limit(1)
    )


# ---- acting -----------------------------------------------------------------------------------------


async def _poll_row(db: AsyncSession, case_id: int, number: int) -> SchedulingPoll:
    row = await db.scalar(select(SchedulingPoll).where(SchedulingPoll.case_id == case_id, SchedulingPoll.number == number))
    if row is None:
        message = f"There is no poll {number} on this case; reload the page to see the current one."
        raise Invalid(message, {"poll": message})
    return row


async def _respondents(db: AsyncSession, case_id: int) -> list[PollRespondent]:
    """Everyone on the case who marks the times, each once, in their first role of party, representative, interested."""
    rows = (await db.execute(select(Participant.person_id, Participant.role).where(Participant.case_id == case_id).order_by(Participant.id))).all()
    roles: dict[int, str] = {}
    for person_id, role in rows:
        if role in RESPONDENT_ROLES and (person_id not in roles or RESPONDENT_ROLES.index(role) < RESPONDENT_ROLES.index(roles[person_id])):
            roles[person_id] = role
    return [PollRespondent(person_id=pid, role=role) for pid, role in roles.items()]


def _proposals(values: ProposalIn, zone: ZoneInfo, now: datetime) -> list[SlotProposal]:
    """The times as UTC moments, each checked as the poll's workflow checks them, so the page names the field."""
    problems: dict[str, str] = {}
    placed = values.placed_in(zone)
    seen: set[tuple[datetime, datetime]] = set()
    for index, (starts, ends) in enumerate(placed):
        if ends - starts > timedelta(hours=MAX_SLOT_HOURS):
            problems.setdefault(f"slots.{index}.ends_at", f"A proposed time can last at most {MAX_SLOT_HOURS} hours.")
        if starts <= now:
            problems.setdefault(f"slots.{index}.starts_at", "This time has already passed; propose a time still to come.")
        if (starts, ends) in seen:
            problems.setdefault(f"slots.{index}.starts_at", "This time is already proposed.")
        seen.add((starts, ends))
    if problems:
        raise Invalid("; ".join(problems.values()), problems)
    return [SlotProposal(starts_at=starts.isoformat(), ends_at=ends.isoformat()) for starts, ends in placed]


async def propose_times(ctx: AppContext, db: AsyncSession, access: CaseAccess, values: ProposalIn) -> SchedulingOut:
    """Open a poll with these times (no `poll` given), or add them to the open poll `poll`; everyone asked is emailed."""
    check_can_manage(access)
    case, person = access.case, access.viewer.person
    _check_case_waits(case)
    proposals = _proposals(values, zone_for(person.time_zone, ctx.settings.center_time_zone), utcnow())
    respondents = await _respondents(db, case.id)
    if values.poll is not None:
        row = await _poll_row(db, case.id, values.poll)
        more = MoreSlots(actor_id=person.id, slots=proposals, respondents=respondents, is_staff=person.is_staff)
        state = await run_workflow_update(ctx, row.workflow_id, SchedulingPollWorkflow.add_slots, more, db=db, gone=CLOSED)
        return await _scheduling_out(db, access, state)

    current = await latest_poll(db, case.id)
    if current is not None and current.status in LIVE_STATUSES:
        message = f"Times are already proposed for this case (poll {current.number}): add more to that poll, or cancel it first."
        raise Rejected(message, {"poll": message})
    if len(proposals) < MIN_SLOTS_TO_OPEN:
        message = f"Propose at least {MIN_SLOTS_TO_OPEN} times, so the participants have a choice."
        raise Invalid(message, {"slots": message})
    number = (await last_poll_number(db, case.id)) + 1
    poll = PollInput(
        case_id=case.id,
        number=number,
        mediator_id=case.mediator_id or person.id,
        proposed_by_id=person.id,
        slots=proposals,
        respondents=respondents,
        timers=PollTimers.from_settings(ctx.settings),
    )
    workflow_id = ctx.settings.poll_workflow_id(case.id, number)
    if not await ctx.workers_present():
        raise LifecycleUnavailable(PAUSED)
    client = await ctx.temporal.client()
    try:
        await client.start_workflow(
            SchedulingPollWorkflow.run,
            poll,
            id=workflow_id,
            task_queue=ctx.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        raise Rejected("Someone proposed times for this case at the same moment; reload the page to see them.") from None
    except RPCError as error:
        raise LifecycleUnavailable(UNREACHABLE) from error
    # Answered once the new poll is in the database, so the next page shows it.
    state = await run_workflow_update(ctx, workflow_id, SchedulingPollWorkflow.published, db=db, gone=CLOSED)
    return await _scheduling_out(db, access, state)


async def answer_times(ctx: AppContext, db: AsyncSession, access: CaseAccess, values: AnswersIn) -> SchedulingOut:
    """The viewer's availability for every time of the poll; changeable until answers close."""
    role = check_can_answer(access)
    _check_case_waits(access.case)
    row = await _poll_row(db, access.case.id, values.poll)
    answers = AvailabilityAnswers(actor_id=access.viewer.id, role=role, answers=[SlotChoice(slot=a.slot, answer=a.answer) for a in values.answers])
    state = await run_workflow_update(ctx, row.workflow_id, SchedulingPollWorkflow.answer, answers, db=db, gone=CLOSED)
    return await _scheduling_out(db, access, state)


async def pick_time(ctx: AppContext, db: AsyncSession, access: CaseAccess, values: PickIn) -> SchedulingOut:
    """The time that becomes the Mediation session: the case is scheduled and everyone is emailed the .ics."""
    check_can_manage(access)
    case, person = access.case, access.viewer.person
    _check_case_waits(case)
    row = await _poll_row(db, case.id, values.poll)
    choice = SlotPick(
        actor_id=person.id,
        slot=values.slot,
        meeting_type=values.meeting_type,
        location=values.location,
        notes=values.notes,
        is_staff=person.is_staff,
    )
    state = await run_workflow_update(ctx, row.workflow_id, SchedulingPollWorkflow.pick, choice, db=db, gone=CLOSED)
    # The case is scheduled by now (the pick answers once its workflow has said so): read it as it stands.
    await db.refresh(case)
    return await _scheduling_out(db, access, state)


async def cancel_poll(ctx: AppContext, db: AsyncSession, access: CaseAccess, values: CancelIn) -> SchedulingOut:
    """Withdraw the proposed times; those asked are told there is no need to answer."""
    check_can_manage(access)
    row = await _poll_row(db, access.case.id, values.poll)
    cancellation = PollCancel(actor_id=access.viewer.id, reason=values.reason, is_staff=access.is_staff)
    state = await run_workflow_update(ctx, row.workflow_id, SchedulingPollWorkflow.cancel, cancellation, db=db, gone=CLOSED)
    return await _scheduling_out(db, access, state)
