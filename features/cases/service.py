"""A case's own pages: My Cases, Case Home with its messages, Intake Details and Users. Everything is read from the
database (the case's state as its workflow published it), so none of these pages waits on a worker."""

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.case_facts import case_titles
from core.case_state import CaseState
from core.db.models import CalendarEvent, Case, ConflictCheckRequest, Message, Participant, Person
from core.errors import Forbidden, NotFound, Rejected
from core.stages import stage_label
from core.time import as_utc
from core.wording import duration_words
from features.access import CaseAccess, Viewer
from features.cases.disclosures import DisclosureView, disclosure_views
from features.cases.mediator_requests import WHAT_HAPPENED, last_attempt, what_happened
from features.cases.models import CaseItem, CasePage, CaseUserOut, ContactOut, IntakeOut, MessageOut, NewMessage, WelcomeOut
from features.cases.next_steps import MARK_THE_TIMES, NextStep, next_steps
from features.cases.state import case_state
from features.scheduling.service import open_poll_for

MY_CASES_PAGE_SIZE = 10
# The handbook's first entry of every Case Home.
WELCOME_TITLE = "Welcome to C.A.R. Mediation!"
WELCOME_BODY = "Welcome to C.A.R. Mediation. Please remember any messages you post here will be visible to everyone."
ROLE_LABELS = {"party": "Party", "representative": "Representative", "interested": "Interested person", "mediator": "Mediator", "staff": "Center staff"}
SIDE_LABELS = {"initiating": "Initiating", "responding": "Responding"}
# Parties first, then whoever acts for them, then the voluntary participants, then the neutral.
ROLE_ORDER = {"party": 0, "representative": 1, "interested": 2, "mediator": 3, "staff": 4}
SIDE_ORDER = {"initiating": 0, "responding": 1}
# The handbook: the Request to Mediate is visible to parties, their representatives (and the mediator); interested persons do not see it.
INTAKE_ROLES = ("party", "representative", "mediator")


# ---- My Cases -------------------------------------------------------------------------------------


async def my_cases(db: AsyncSession, viewer: Viewer, page: int = 1) -> CasePage:
    """The cases this person takes part in, newest first, a page at a time (staff: every case)."""
    query = select(Case)
    on_case = select(Participant.case_id).where(Participant.person_id == viewer.id)
    asked = select(ConflictCheckRequest.case_id).where(ConflictCheckRequest.mediator_id == viewer.id)
    if not viewer.is_staff:
        # A mediator asked for a conflict check is not a participant yet, but must find the case to answer, and
        # afterwards (declined, out of time, withdrawn) what became of it.
        query = query.where(or_(Case.id.in_(on_case), Case.candidate_mediator_id == viewer.id, Case.id.in_(asked)))
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    pages = max(1, math.ceil(total / MY_CASES_PAGE_SIZE))
    page = min(max(1, page), pages)
    cases = list((await db.execute(query.order_by(Case.id.desc()).limit(MY_CASES_PAGE_SIZE).offset((page - 1) * MY_CASES_PAGE_SIZE))).scalars())
    titles = await case_titles(db, [c.id for c in cases])
    participating = set((await db.execute(on_case.where(Participant.case_id.in_([c.id for c in cases] or [-1])))).scalars())
    items = []
    for c in cases:
        requested = c.stage == "conflict_check" and c.candidate_mediator_id == viewer.id
        ended, state = None, None
        if not (viewer.is_staff or requested or c.id in participating):
            state = await case_state(db, c)
            ended = last_attempt(state, viewer.id)
        items.append(
            CaseItem(
                id=c.id,
                title=titles[c.id],
                property_address=c.property_address,
                stage=c.stage,
                stage_label=stage_label(c.stage),
                stage_deadline=as_utc(c.stage_deadline) if c.stage_deadline else None,
                conflict_check_requested=requested,
                conflict_check_ended=ended.outcome if ended and ended.outcome in WHAT_HAPPENED else None,
                what_happened=what_happened(ended, state) if ended else "",
            )
        )
    return CasePage(items=items, total=total, page=page, pages=pages, page_size=MY_CASES_PAGE_SIZE)


# ---- Case Home ------------------------------------------------------------------------------------


@dataclass
class MediatorSelection:
    """The handbook's notice at the tally, as Case Home shows it during the conflict check: who is asked, how long the
    check can take, and who could not serve before them in this round (never why, and never anyone's ranking)."""

    mediator: Person
    by_ranking: bool
    check_takes: str
    deadline: str | None
    could_not_serve: list[tuple[str, str]]


@dataclass
class CaseHome:
    case: Case
    title: str
    state: CaseState
    steps: list[NextStep]
    mediator: Person | None
    events: list[CalendarEvent]
    messages: list[MessageOut]
    welcome: WelcomeOut
    selection: MediatorSelection | None = None
    # Disclosures the parties may still object to (or the center decide), and re-confirmations waiting.
    disclosures: list[DisclosureView] = field(default_factory=list)


UNABLE_TO_SERVE = {"declined": "was unable to accept the matter", "timed_out": "did not confirm acceptance in time"}


async def mediator_selection(db: AsyncSession, state: CaseState) -> MediatorSelection | None:
    if state.stage != "conflict_check" or state.candidate_mediator_id is None:
        return None
    mediator = await db.get(Person, state.candidate_mediator_id)
    this_round = [a for a in state.conflict_attempts if a.ranking_round == state.ranking_round]
    current = next((a for a in reversed(this_round) if a.mediator_id == state.candidate_mediator_id), None)
    if mediator is None or current is None:
        return None
    earlier = [a for a in this_round if a is not current and a.outcome in UNABLE_TO_SERVE]
    names = {p.id: p.full_name for p in (await db.execute(select(Person).where(Person.id.in_([a.mediator_id for a in earlier] or [-1])))).scalars()}
    took = datetime.fromisoformat(current.deadline) - datetime.fromisoformat(current.started_at)
    return MediatorSelection(
        mediator=mediator,
        by_ranking=bool(state.tally and state.tally.ballots_counted),
        check_takes=duration_words(int(took.total_seconds())),
        deadline=current.deadline,
        could_not_serve=[(names.get(a.mediator_id, "A mediator"), UNABLE_TO_SERVE[a.outcome]) for a in earlier],
    )


async def case_home(db: AsyncSession, access: CaseAccess, center_name: str) -> CaseHome:
    case = access.case
    state = await case_state(db, case)
    steps = next_steps(state, access.viewer.id, access.is_staff, access.represented_party_ids, {p.role for p in access.roles})
    if state.stage == "accepted" and await open_poll_for(db, case.id, access.viewer.id) is not None:
        steps.append(NextStep(MARK_THE_TIMES, f"/cases/{case.id}/scheduling"))
    events = list(
        (await db.execute(select(CalendarEvent).where(CalendarEvent.case_id == case.id).order_by(CalendarEvent.starts_at, CalendarEvent.id))).scalars()
    )
    return CaseHome(
        case=case,
        title=(await case_titles(db, [case.id]))[case.id],
        state=state,
        steps=steps,
        mediator=await db.get(Person, state.mediator_id) if state.mediator_id else None,
        events=events,
        messages=await case_messages(db, access),
        welcome=welcome(case, center_name),
        selection=await mediator_selection(db, state),
        disclosures=[view for view in await disclosure_views(db, access, state) if view.record.pending],
    )


def welcome(case: Case, center_name: str) -> WelcomeOut:
    """The center's welcome, dated when the case was filed: the oldest entry of the case's messages."""
    return WelcomeOut(title=WELCOME_TITLE, body=WELCOME_BODY, author_name=center_name, created_at=as_utc(case.filed_at))


# ---- Case Home messages -----------------------------------------------------------------------------


def _message_out(message: Message, access: CaseAccess) -> MessageOut:
    return MessageOut(
        id=message.id,
        author_id=message.author_id,
        author_name=message.author.full_name,
        body=message.body,
        created_at=as_utc(message.created_at),
        can_delete=access.is_staff or message.author_id == access.viewer.id,
    )


async def case_messages(db: AsyncSession, access: CaseAccess) -> list[MessageOut]:
    """Newest first; every participant of the case sees them all."""
    query = (
        select(Message).where(Message.case_id == access.case.id).options(selectinload(Message.author)).order_by(Message.created_at.desc(), Message.id.desc())
    )
    return [_message_out(m, access) for m in (await db.execute(query)).scalars()]


async def post_message(db: AsyncSession, access: CaseAccess, new: NewMessage) -> MessageOut:
    if access.case.records_purged_at is not None:
        raise Rejected("This case is closed and its records were deleted under the retention policy, so no new messages can be added.")
    message = Message(case_id=access.case.id, author=access.viewer.person, body=new.body)
    db.add(message)
    await db.commit()
    return _message_out(message, access)


async def _deletable_message(db: AsyncSession, access: CaseAccess, message_id: int) -> Message:
    """Its author, or center staff, may delete a message; for anyone else it is not theirs (403)."""
    message = await db.get(Message, message_id, options=[selectinload(Message.author)])
    if message is None or message.case_id != access.case.id:
        raise NotFound("No such message on this case.")
    if not (access.is_staff or message.author_id == access.viewer.id):
        raise Forbidden("Only the person who posted a message, or center staff, can delete it.")
    return message


async def message_to_delete(db: AsyncSession, access: CaseAccess, message_id: int) -> MessageOut:
    """The message as the person is asked to confirm its deletion, if they may delete it."""
    return _message_out(await _deletable_message(db, access, message_id), access)


async def delete_message(db: AsyncSession, access: CaseAccess, message_id: int) -> None:
    await db.delete(await _deletable_message(db, access, message_id))
    await db.commit()


# ---- Intake Details and Users ---------------------------------------------------------------------


def can_see_intake(access: CaseAccess) -> bool:
    return access.is_staff or access.has_role(*INTAKE_ROLES)


async def intake_details(db: AsyncSession, access: CaseAccess) -> IntakeOut:
    if not can_see_intake(access):
        # Not found rather than forbidden: interested persons are not told what the filing holds, not even that it is there.
        raise NotFound("Intake Details are shown to the parties, their representatives and the mediator.")
    case = access.case
    filer = await db.get(Person, case.filed_by_id)
    return IntakeOut(
        case_id=case.id,
        property_address=case.property_address,
        dispute_bases=list(case.dispute_bases or []),
        dispute_value=case.dispute_value,
        description=case.description,
        filed_by_id=case.filed_by_id,
        filed_by_name=filer.full_name if filer else "",
        filed_at=as_utc(case.filed_at),
    )


async def case_users(db: AsyncSession, access: CaseAccess) -> list[CaseUserOut]:
    """Everyone on the case, with contact details unless a person asked for them to be hidden (staff see them)."""
    rows = (
        (
            await db.execute(
                select(Participant)
                .where(Participant.case_id == access.case.id)
                .options(selectinload(Participant.person), selectinload(Participant.represents))
                .order_by(Participant.id)
            )
        )
        .scalars()
        .all()
    )
    party_sides = {p.person_id: p.side for p in rows if p.role == "party"}
    users = []
    for p in rows:
        # A representative stands on the side of the party they act for.
        side = p.side if p.role == "party" else party_sides.get(p.represents_id) if p.role == "representative" and p.represents_id else None
        shown = not p.person.contact_hidden or access.is_staff or p.person_id == access.viewer.id
        users.append(
            CaseUserOut(
                participant_id=p.id,
                person_id=p.person_id,
                name=p.person.full_name,
                role=p.role,
                role_label=ROLE_LABELS.get(p.role, p.role),
                side=side,
                side_label=SIDE_LABELS.get(side or "", ""),
                represents_id=p.represents_id if p.role == "representative" else None,
                represents_name=p.represents.full_name if p.role == "representative" and p.represents else "",
                representative_kind=p.representative_kind if p.role == "representative" else "",
                contact_hidden=p.person.contact_hidden,
                contact=ContactOut.model_validate(p.person) if shown else None,
            )
        )
    users.sort(key=lambda u: (ROLE_ORDER.get(u.role, 9), SIDE_ORDER.get(u.side or "", 2), u.participant_id))
    return users
