"""The center staff console: the case list, a case's full picture, staff actions, the mediator directory, the outbox.

Pages and the JSON API both call these functions, so each staff action has exactly one implementation.
Workflow refusals surface as `ActionRejected`; input a person can correct surfaces as `StaffProblem`.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from features.context import AppContext
from core.case_state import CaseState
from core.db.models import BallotRecord, Case, Email, MediatorProfile, Participant, Person
from features.accounts.emails import send_password_link
from core.case_facts import case_titles
from core.inputs import is_id, normalized_email
from features.cases.state import case_state, current_ballots, state_after
from features.lifecycle import run_update
from workflows.case import CaseWorkflow
from workflows.types import (
    BallotView,
    DeadlineExtension,
    IntakeDecision,
    NewPanel,
    StaffAction,
)
from core.stages import STAGE_LABELS, Stage

PAGE_SIZE = 50
MAX_EXTENSION_DAYS = 60
DAY_SECONDS = 24 * 60 * 60


class StaffProblem(Exception):
    """Input staff can correct; the message says how."""


@dataclass
class CaseRow:
    id: int
    title: str
    property_address: str
    stage: str
    stage_label: str
    stage_deadline: datetime | None
    mediator_name: str
    filed_at: datetime


@dataclass
class CasePage:
    items: list[CaseRow]
    page: int
    pages: int
    total: int
    stage: str
    q: str


def stage_filter(stage: str) -> str:
    stage = (stage or "").strip()
    if stage and stage not in {s.value for s in Stage}:
        raise StaffProblem(f"Unknown stage {stage!r}; choose one of: {', '.join(s.value for s in Stage)}.")
    return stage


def _case_query(stage: str, q: str) -> Select:
    query = select(Case)
    if stage:
        query = query.where(Case.stage == stage)
    q = q.strip()
    if q:
        pattern = f"%{q.lower()}%"
        party_match = (
            select(Participant.case_id)
            .join(Person, Person.id == Participant.person_id)
            .where(Participant.role == "party", func.lower(Person.full_name).like(pattern))
        )
        conditions = [func.lower(Case.property_address).like(pattern), Case.id.in_(party_match)]
        digits = q.removeprefix("#")
        if digits.isdigit() and is_id(int(digits)):
            conditions.append(Case.id == int(digits))
        query = query.where(or_(*conditions))
    return query


async def list_cases(db: AsyncSession, stage: str = "", q: str = "", page: int = 1) -> CasePage:
    """One page of cases, newest first, from the database mirror alone (no workflow queries, so the list stays fast)."""
    stage = stage_filter(stage)
    q = (q or "").strip()[:200]
    base = _case_query(stage, q)
    total = (await db.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    mediator = aliased(Person)
    rows = (
        await db.execute(
            base.add_columns(mediator.full_name)
            .outerjoin(mediator, mediator.id == Case.mediator_id)
            .order_by(Case.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    ).all()
    titles = await case_titles(db, [case.id for case, _ in rows])
    items = [
        CaseRow(
            id=case.id,
            title=titles[case.id],
            property_address=case.property_address,
            stage=case.stage,
            stage_label=_stage_label(case.stage),
            stage_deadline=case.stage_deadline,
            mediator_name=mediator_name or "",
            filed_at=case.filed_at,
        )
        for case, mediator_name in rows
    ]
    return CasePage(items=items, page=page, pages=pages, total=total, stage=stage, q=q)


def _stage_label(stage: str) -> str:
    try:
        return STAGE_LABELS[Stage(stage)]
    except ValueError:
        return stage


STAGE_CHOICES = [(s.value, STAGE_LABELS[s]) for s in Stage]


# ---- one case -------------------------------------------------------------------------------------


@dataclass
class ParticipantRow:
    id: int
    person_id: int
    name: str
    email: str
    role: str
    side: str | None
    represents_id: int | None
    represents_name: str
    representative_kind: str
    activated: bool


@dataclass
class BallotAuditRow:
    ranking_round: int
    party_id: int
    submitted_by_id: int
    side: str
    ranked: list[int]
    eliminated: list[int]
    submitted_at: datetime


@dataclass
class DirectoryEntry:
    person_id: int
    name: str
    email: str
    expertise: str
    region: str
    languages: str
    fee: str
    bio: str
    in_directory: bool


@dataclass
class CaseDetail:
    case: Case
    title: str
    filed_by: str
    participants: list[ParticipantRow]
    status: CaseState
    ballots: list[BallotView]
    ballot_audit: list[BallotAuditRow]
    names: dict[int, str]
    temporal_url: str
    directory: list[DirectoryEntry] = field(default_factory=list)

    def name(self, person_id: int | None) -> str:
        if person_id is None:
            return ""
        return self.names.get(person_id, f"Person {person_id}")


PERSON_TAG = re.compile(r"\[person (\d+)\]")


async def get_case(db: AsyncSession, case_id: int) -> Case:
    case = await db.get(Case, case_id)
    if case is None:
        raise LookupError("No such case.")
    return case


def temporal_url(ctx: AppContext, case_id: int) -> str:
    s = ctx.settings
    return f"{s.temporal_ui_url.rstrip('/')}/namespaces/{s.temporal_namespace}/workflows/{s.workflow_id(case_id)}"


async def participants_of(db: AsyncSession, case_id: int) -> list[ParticipantRow]:
    rows = (await db.execute(select(Participant).where(Participant.case_id == case_id).order_by(Participant.id))).scalars().all()
    people = await _people(db, {p.person_id for p in rows} | {p.represents_id for p in rows if p.represents_id})
    return [
        ParticipantRow(
            id=p.id,
            person_id=p.person_id,
            name=people[p.person_id].full_name,
            email=people[p.person_id].email,
            role=p.role,
            side=p.side,
            represents_id=p.represents_id,
            represents_name=people[p.represents_id].full_name if p.represents_id in people else "",
            representative_kind=p.representative_kind,
            activated=people[p.person_id].password_hash is not None,
        )
        for p in rows
    ]


async def _people(db: AsyncSession, ids: set[int | None]) -> dict[int, Person]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {p.id: p for p in (await db.execute(select(Person).where(Person.id.in_(wanted)))).scalars()}


async def case_detail(ctx: AppContext, db: AsyncSession, case_id: int) -> CaseDetail:
    """The filed request, the people, and the case's state with every ballot: what staff need to act on a case."""
    case = await get_case(db, case_id)
    status = await case_state(db, case)
    ballots = await current_ballots(db, status)
    audit = (
        await db.execute(select(BallotRecord).where(BallotRecord.case_id == case_id).order_by(BallotRecord.submitted_at, BallotRecord.id))
    ).scalars().all()
    participants = await participants_of(db, case_id)

    ids: set[int | None] = {case.filed_by_id, status.candidate_mediator_id, status.mediator_id, *status.panel, *status.tried_mediator_ids}
    ids |= {p.person_id for p in status.parties} | {r for p in status.parties for r in p.representative_ids}
    for tally in ([status.tally] if status.tally else []) + status.tally_history:
        ids |= set(tally.order) | set(tally.eliminated) | {int(m) for m in tally.scores}
    ids |= {a.mediator_id for a in status.conflict_attempts}
    for ballot in ballots:
        ids |= {ballot.party_id, ballot.submitted_by_id, *ballot.ranked, *ballot.eliminated}
    for record in audit:
        ids |= {record.party_id, record.submitted_by_id, *record.ranked, *record.eliminated}
    ids |= {int(n) for entry in status.timeline for n in PERSON_TAG.findall(entry.detail)}
    names = {pid: p.full_name for pid, p in (await _people(db, ids)).items()}
    for entry in status.timeline:
        entry.detail = PERSON_TAG.sub(lambda m: f"({names.get(int(m.group(1)), 'person ' + m.group(1))})", entry.detail)

    return CaseDetail(
        case=case,
        title=(await case_titles(db, [case_id]))[case_id],
        filed_by=names.get(case.filed_by_id, ""),
        participants=participants,
        status=status,
        ballots=ballots,
        ballot_audit=[
            BallotAuditRow(
                ranking_round=r.ranking_round,
                party_id=r.party_id,
                submitted_by_id=r.submitted_by_id,
                side=r.side,
                ranked=list(r.ranked),
                eliminated=list(r.eliminated),
                submitted_at=r.submitted_at,
            )
            for r in audit
        ],
        names=names,
        temporal_url=temporal_url(ctx, case_id),
        directory=await directory(db, listed_only=True),
    )


# ---- staff actions on a case ----------------------------------------------------------------------


async def _directory_ids(db: AsyncSession, ids: list[int]) -> list[int]:
    """The chosen mediators, in the order given, after checking each is in the directory.

    A mediator named twice is passed on as given: the workflow's rule refuses it with its own words."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        return []
    known = set(
        (await db.execute(select(MediatorProfile.person_id).where(MediatorProfile.person_id.in_(unique), MediatorProfile.in_directory.is_(True))))
        .scalars()
        .all()
    )
    if set(unique) - known:
        raise StaffProblem("Choose the panel from the mediators listed in the directory.")
    return list(ids)


async def review_intake(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, accept: bool, panel: list[int], reason: str) -> str:
    await get_case(db, case_id)
    reason = reason.strip()
    if not accept and not reason:
        raise StaffProblem("Give the filer a reason for rejecting the request.")
    if len(reason) > 2000:
        raise StaffProblem("Keep the reason under 2,000 characters.")
    chosen = await _directory_ids(db, panel) if accept else []
    decision = IntakeDecision(accept=accept, actor_id=actor_id, panel=chosen, reason="" if accept else reason)
    await run_update(ctx, case_id, CaseWorkflow.review_intake, decision)
    if not accept:
        return "The request was rejected; the filer is told why by email."
    if chosen:
        return f"Intake accepted with a panel of {len(chosen)} mediators; the parties are asked to rank them."
    return "Intake accepted; a panel is being proposed from the directory and the parties will be asked to rank it."


def parse_days(raw: str | int | None) -> int:
    try:
        days = int(str(raw).strip())
    except (TypeError, ValueError):
        raise StaffProblem("Enter the number of days to extend the ranking round by.") from None
    if days < 1:
        raise StaffProblem("Extend the ranking round by at least one day.")
    if days > MAX_EXTENSION_DAYS:
        raise StaffProblem(f"Extend the ranking round by at most {MAX_EXTENSION_DAYS} days at a time.")
    return days


async def extend_ranking(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, days: str | int | None) -> str:
    case = await get_case(db, case_id)
    count = parse_days(days)
    answer = await run_update(ctx, case_id, CaseWorkflow.extend_ranking, DeadlineExtension(actor_id=actor_id, extra_seconds=count * DAY_SECONDS))
    deadline = (await state_after(db, case, answer)).stage_deadline or ""
    return f"The ranking round was extended by {count} day{'s' if count != 1 else ''}; new deadline {_when(deadline)}."


def _when(moment: str) -> str:
    return datetime.fromisoformat(moment).strftime("%B %-d, %Y at %-I:%M %p UTC")


async def close_ranking(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, reason: str = "") -> str:
    await get_case(db, case_id)
    await run_update(ctx, case_id, CaseWorkflow.close_ranking, StaffAction(actor_id=actor_id, reason=reason.strip()[:500])
    )
    return "The ranking round was closed; the ballots received are being tallied."


async def propose_new_panel(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, panel: list[int]) -> str:
    await get_case(db, case_id)
    chosen = await _directory_ids(db, panel)
    await run_update(ctx, case_id, CaseWorkflow.propose_new_panel, NewPanel(actor_id=actor_id, panel=chosen))
    if chosen:
        return f"A new panel of {len(chosen)} mediators was proposed; the parties are asked to rank it."
    return "A new panel is being proposed from the directory; the parties will be asked to rank it."


async def withdraw(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, reason: str) -> str:
    await get_case(db, case_id)
    reason = reason.strip()
    if not reason:
        raise StaffProblem("Give a reason for withdrawing the case; the participants will read it.")
    if len(reason) > 2000:
        raise StaffProblem("Keep the reason under 2,000 characters.")
    await run_update(ctx, case_id, CaseWorkflow.withdraw, StaffAction(actor_id=actor_id, reason=reason))
    return "The case was withdrawn; everyone on it is told by email."


# ---- mediator directory ---------------------------------------------------------------------------


async def directory(db: AsyncSession, listed_only: bool = False) -> list[DirectoryEntry]:
    query = select(MediatorProfile, Person).join(Person, Person.id == MediatorProfile.person_id).order_by(Person.full_name, Person.id)
    if listed_only:
        query = query.where(MediatorProfile.in_directory.is_(True))
    return [_entry(profile, person) for profile, person in (await db.execute(query)).all()]


def _entry(profile: MediatorProfile, person: Person) -> DirectoryEntry:
    return DirectoryEntry(
        person_id=person.id,
        name=person.full_name,
        email=person.email,
        expertise=profile.expertise,
        region=profile.region,
        languages=profile.languages,
        fee=profile.fee,
        bio=profile.bio,
        in_directory=profile.in_directory,
    )


@dataclass
class MediatorForm:
    name: str = ""
    email: str = ""
    bio: str = ""
    expertise: str = ""
    region: str = ""
    languages: str = "English"
    fee: str = ""
    in_directory: bool = True

    @classmethod
    def from_form(cls, form) -> "MediatorForm":
        return cls(
            name=str(form.get("name", "")).strip(),
            email=str(form.get("email", "")).strip(),
            bio=str(form.get("bio", "")).strip(),
            expertise=str(form.get("expertise", "")).strip(),
            region=str(form.get("region", "")).strip(),
            languages=str(form.get("languages", "")).strip(),
            fee=str(form.get("fee", "")).strip(),
            in_directory=str(form.get("in_directory", "")).lower() in ("yes", "on", "true", "1"),
        )

    @classmethod
    def of(cls, entry: DirectoryEntry) -> "MediatorForm":
        return cls(entry.name, entry.email, entry.bio, entry.expertise, entry.region, entry.languages, entry.fee, entry.in_directory)

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.name:
            errors["name"] = "Enter the mediator's full name."
        elif len(self.name) > 200:
            errors["name"] = "The name is too long (200 characters at most)."
        if normalized_email(self.email) is None or len(self.email) > 320:
            errors["email"] = "Enter a valid email address for the mediator."
        for key, label, limit in (("expertise", "Expertise", 300), ("region", "Region", 100), ("languages", "Languages", 200), ("fee", "Fee", 100)):
            if len(getattr(self, key)) > limit:
                errors[key] = f"{label} is too long ({limit} characters at most)."
        if not self.languages:
            errors["languages"] = "List at least one language the mediator works in."
        if len(self.bio) > 5000:
            errors["bio"] = "Keep the bio under 5,000 characters."
        return errors


class MediatorProblem(StaffProblem):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


async def get_mediator(db: AsyncSession, person_id: int) -> DirectoryEntry:
    row = (
        await db.execute(select(MediatorProfile, Person).join(Person, Person.id == MediatorProfile.person_id).where(MediatorProfile.person_id == person_id))
    ).first()
    if row is None:
        raise LookupError("No such mediator in the directory.")
    return _entry(*row)


def _apply(profile: MediatorProfile, form: MediatorForm) -> None:
    profile.bio = form.bio
    profile.expertise = form.expertise
    profile.region = form.region
    profile.languages = form.languages
    profile.fee = form.fee
    profile.in_directory = form.in_directory


async def add_mediator(ctx: AppContext, db: AsyncSession, form: MediatorForm) -> DirectoryEntry:
    """List a mediator; someone new to the center gets an activation email so they can answer conflict checks."""
    errors = form.problems()
    if errors:
        raise MediatorProblem(errors)
    email = form.email.lower()
    person = (await db.execute(select(Person).where(Person.email == email))).scalar_one_or_none()
    if person is not None and await db.get(MediatorProfile, person.id) is not None:
        raise MediatorProblem({"email": f"{person.full_name} ({email}) is already in the directory; edit that entry instead."})
    if person is None:
        person = Person(email=email, full_name=form.name, user_type="Mediator")
        db.add(person)
        await db.flush()
    profile = MediatorProfile(person_id=person.id)
    _apply(profile, form)
    db.add(profile)
    await db.commit()
    if person.password_hash is None:
        await send_password_link(ctx, db, person, "activation")
    return _entry(profile, person)


async def edit_mediator(db: AsyncSession, person_id: int, form: MediatorForm) -> DirectoryEntry:
    profile = await db.get(MediatorProfile, person_id)
    if profile is None:
        raise LookupError("No such mediator in the directory.")
    errors = form.problems()
    if errors:
        raise MediatorProblem(errors)
    person = await db.get(Person, person_id)
    assert person is not None
    email = form.email.lower()
    if email != person.email:
        taken = (await db.execute(select(Person.id).where(Person.email == email, Person.id != person_id))).first()
        if taken:
            raise MediatorProblem({"email": f"Another account already uses {email}."})
    person.full_name = form.name
    person.email = email
    _apply(profile, form)
    await db.commit()
    return _entry(profile, person)


# ---- the email outbox -----------------------------------------------------------------------------


@dataclass
class OutboxPage:
    items: list[Email]
    page: int
    pages: int
    total: int


async def outbox(db: AsyncSession, page: int = 1) -> OutboxPage:
    total = (await db.execute(select(func.count(Email.id)))).scalar_one()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    items = list(
        (await db.execute(select(Email).order_by(Email.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))).scalars()
    )
    return OutboxPage(items=items, page=page, pages=pages, total=total)


async def outbox_email(db: AsyncSession, email_id: int) -> Email:
    email = await db.get(Email, email_id)
    if email is None:
        raise LookupError("No such email.")
    return email
