"""The center staff console: every case, one case's full picture, and the staff actions on a case.

Pages and the JSON API both call these functions, so each staff action has exactly one implementation. What the
lifecycle allows at each moment (reasons required, panels valid, rounds open) is the workflow's to say; the
console checks only what is not about the lifecycle, such as that a panel comes from the directory.
"""

import math
import re
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.case_facts import case_titles
from core.case_state import CaseState
from core.db.models import BallotRecord, Case, MediatorProfile, Participant, Person
from core.errors import Invalid, NotFound
from core.inputs import is_id
from core.stages import STAGE_LABELS, Stage, stage_label
from core.time import as_utc, long_time, zone_for
from features.cases.state import case_state, current_ballots, state_after
from features.context import AppContext
from features.lifecycle import run_update
from features.staff.directory import directory
from features.staff.models import (
    PAGE_SIZE,
    ActionResult,
    BallotAuditRow,
    CaseList,
    CaseRow,
    DirectoryEntry,
    Extension,
    FiledRequest,
    IntakeReview,
    NewPanel,
    ObjectionDecision,
    ParticipantRow,
    RoundClosing,
    StaffCase,
    Withdrawal,
)
from workflows.case import CaseWorkflow
from workflows.types import DeadlineExtension, IntakeDecision, ObjectionRuling, StaffAction
from workflows.types import NewPanel as PanelProposal

STAGE_CHOICES = [(s.value, STAGE_LABELS[s]) for s in Stage]
PERSON_TAG = re.compile(r"\[person (\d+)\]")


# ---- the case list ----------------------------------------------------------------------------------


def stage_filter(stage: str) -> str:
    stage = (stage or "").strip()
    if stage and stage not in {s.value for s in Stage}:
        message = f"Unknown stage {stage!r}; choose one of: {', '.join(s.value for s in Stage)}."
        raise Invalid(message, {"stage": message})
    return stage


def _case_query(stage: str, q: str) -> Select:
    query = select(Case)
    if stage:
        query = query.where(Case.stage == stage)
    if q:
        pattern = f"%{q.lower()}%"
        party_match = (
            select(Participant.case_id)
            .join(Person, Person.id == Participant.person_id)
            .where(Participant.role == "party", func.lower(Person.full_name).like(pattern))
        )
        conditions: list[ColumnElement[bool]] = [func.lower(Case.property_address).like(pattern), Case.id.in_(party_match)]
        digits = q.removeprefix("#")
        if digits.isdigit() and is_id(int(digits)):
            conditions.append(Case.id == int(digits))
        query = query.where(or_(*conditions))
    return query


async def list_cases(db: AsyncSession, stage: str = "", q: str = "", page: int = 1) -> CaseList:
    """One page of cases, newest first, from the database alone, so the list stays fast however many cases run."""
    stage = stage_filter(stage)
    q = " ".join((q or "").split())[:200]
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
            stage_label=stage_label(case.stage),
            stage_deadline=case.stage_deadline,
            mediator_name=mediator_name or "",
            filed_at=case.filed_at,
        )
        for case, mediator_name in rows
    ]
    return CaseList(items=items, page=page, pages=pages, total=total, stage=stage, q=q)


# ---- one case ---------------------------------------------------------------------------------------


@dataclass
class CaseDetail:
    """The staff case page: the case as the JSON API gives it, plus the directory to choose panels from."""

    case: Case
    view: StaffCase
    directory: list[DirectoryEntry] = field(default_factory=list)

    @property
    def state(self) -> CaseState:
        return self.view.status

    @property
    def title(self) -> str:
        return self.view.title

    @property
    def filed_by(self) -> str:
        return self.view.request.filed_by_name

    @property
    def participants(self) -> list[ParticipantRow]:
        return self.view.participants

    @property
    def ballots(self):
        return self.view.ballots

    @property
    def ballot_audit(self) -> list[BallotAuditRow]:
        return self.view.ballot_audit

    @property
    def temporal_url(self) -> str:
        return self.view.temporal_url

    def name(self, person_id: int | None) -> str:
        if person_id is None:
            return ""
        return self.view.names.get(person_id, f"Person {person_id}")


async def get_case(db: AsyncSession, case_id: int) -> Case:
    case = await db.get(Case, case_id)
    if case is None:
        raise NotFound("No such case.")
    return case


def temporal_url(ctx: AppContext, case_id: int) -> str:
    s = ctx.settings
    return f"{s.temporal_ui_url.rstrip('/')}/namespaces/{s.temporal_namespace}/workflows/{s.workflow_id(case_id)}"


async def _people(db: AsyncSession, ids: set[int | None]) -> dict[int, Person]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {p.id: p for p in (await db.execute(select(Person).where(Person.id.in_(wanted)))).scalars()}


async def participants_of(db: AsyncSession, case_id: int) -> list[ParticipantRow]:
    rows = (await db.execute(select(Participant).where(Participant.case_id == case_id).order_by(Participant.id))).scalars().all()
    wanted: set[int | None] = {p.person_id for p in rows}
    wanted |= {p.represents_id for p in rows}
    people = await _people(db, wanted)
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


async def case_detail(ctx: AppContext, db: AsyncSession, case_id: int) -> CaseDetail:
    """The filed request, the people, the case's state and every ballot: what staff need to act on a case."""
    case = await get_case(db, case_id)
    state = await case_state(db, case, retention=ctx.settings.retention_period)
    ballots = await current_ballots(db, state)
    audit = (await db.execute(select(BallotRecord).where(BallotRecord.case_id == case_id).order_by(BallotRecord.submitted_at, BallotRecord.id))).scalars().all()

    ids: set[int | None] = {case.filed_by_id, state.candidate_mediator_id, state.mediator_id, *state.panel, *state.tried_mediator_ids}
    ids |= {p.person_id for p in state.parties} | {r for p in state.parties for r in p.representative_ids}
    for tally in ([state.tally] if state.tally else []) + state.tally_history:
        ids |= set(tally.order) | set(tally.eliminated) | {int(m) for m in tally.scores}
    ids |= {a.mediator_id for a in state.conflict_attempts}
    for disclosure in state.disclosures:
        ids |= {disclosure.mediator_id, disclosure.about_person_id, disclosure.decided_by_id, *disclosure.relationship_person_ids}
        ids |= set(disclosure.may_object_party_ids) | {r.party_id for r in disclosure.responses} | {r.by_id for r in disclosure.responses}
    for ballot in ballots:
        ids |= {ballot.party_id, ballot.submitted_by_id, *ballot.ranked, *ballot.eliminated}
    for record in audit:
        ids |= {record.party_id, record.submitted_by_id, *record.ranked, *record.eliminated}
    ids |= {int(n) for entry in state.timeline for n in PERSON_TAG.findall(entry.detail)}
    names = {pid: p.full_name for pid, p in (await _people(db, ids)).items()}
    # The timeline names people by id; staff read names.
    for entry in state.timeline:
        entry.detail = PERSON_TAG.sub(lambda m: f"({names.get(int(m.group(1)), 'person ' + m.group(1))})", entry.detail)

    view = StaffCase(
        id=case.id,
        title=(await case_titles(db, [case_id]))[case_id],
        request=FiledRequest(
            property_address=case.property_address,
            dispute_bases=list(case.dispute_bases or []),
            dispute_value=case.dispute_value,
            description=case.description,
            filed_by_id=case.filed_by_id,
            filed_by_name=names.get(case.filed_by_id, ""),
            filed_at=as_utc(case.filed_at),
        ),
        participants=await participants_of(db, case_id),
        status=state,
        ballots=ballots,
        ballot_audit=_audit_rows(state, list(audit)),
        names=names,
        temporal_url=temporal_url(ctx, case_id),
    )
    return CaseDetail(case=case, view=view, directory=await directory(db, listed_only=True))


def _audit_rows(state: CaseState, audit: list[BallotRecord]) -> list[BallotAuditRow]:
    """Every ballot as submitted, each marked if a tally counted it: the last ballot of the round of each party counted."""
    counted_ids: set[int] = set()
    for tally in state.tally_history:
        of_round = [r for r in audit if r.ranking_round == tally.ranking_round]
        # Tallies from before the counted parties were recorded counted every party's last ballot.
        parties = set(tally.counted_party_ids) if tally.counted_party_ids else {r.party_id for r in of_round} if tally.ballots_counted else set()
        last: dict[int, BallotRecord] = {}
        for record in of_round:
            if record.party_id in parties and (record.party_id not in last or record.id > last[record.party_id].id):
                last[record.party_id] = record
        counted_ids |= {r.id for r in last.values()}
    return [BallotAuditRow.model_validate(r).model_copy(update={"counted": r.id in counted_ids}) for r in audit]


# ---- staff actions on a case ------------------------------------------------------------------------


def _result(message: str, state: CaseState) -> ActionResult:
    return ActionResult(message=message, stage=state.stage, stage_label=state.stage_label)


async def _from_directory(db: AsyncSession, panel: list[int]) -> list[int]:
    """The chosen mediators, as given, once each is known to be listed in the directory.

    A mediator named twice is passed on: the workflow's rule refuses that, in its own words."""
    unique = set(panel)
    if unique:
        listed = set(
            (await db.execute(select(MediatorProfile.person_id).where(MediatorProfile.person_id.in_(unique), MediatorProfile.in_directory.is_(True))))
            .scalars()
            .all()
        )
        if unique - listed:
            message = "Choose the panel from the mediators listed in the directory."
            raise Invalid(message, {"panel": message})
    return list(panel)


async def review_intake(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, review: IntakeReview) -> ActionResult:
    case = await get_case(db, case_id)
    chosen = await _from_directory(db, review.panel) if review.accept else []
    decision = IntakeDecision(accept=review.accept, actor_id=actor_id, panel=chosen, reason="" if review.accept else review.reason)
    state = await state_after(db, case, await run_update(ctx, case_id, CaseWorkflow.review_intake, decision, db=db))
    if not review.accept:
        return _result("The request was rejected; the filer is told why by email.", state)
    if chosen:
        return _result(f"Intake accepted with a panel of {len(chosen)} mediators; the parties are asked to rank them.", state)
    return _result("Intake accepted with a panel proposed from the directory; the parties are asked to rank it.", state)


async def extend_ranking(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, extension: Extension) -> ActionResult:
    case = await get_case(db, case_id)
    answer = await run_update(ctx, case_id, CaseWorkflow.extend_ranking, DeadlineExtension(actor_id=actor_id, extra_seconds=extension.seconds), db=db)
    state = await state_after(db, case, answer)
    unit = extension.unit if extension.amount != 1 else extension.unit.rstrip("s")
    actor = await db.get(Person, actor_id)
    zone = zone_for(actor.time_zone if actor else None, ctx.settings.center_time_zone)
    deadline = long_time(state.stage_deadline, zone) if state.stage_deadline else "unchanged"
    return _result(f"The ranking round was extended by {extension.amount} {unit}; new deadline {deadline}.", state)


async def close_ranking(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, closing: RoundClosing) -> ActionResult:
    case = await get_case(db, case_id)
    answer = await run_update(ctx, case_id, CaseWorkflow.close_ranking, StaffAction(actor_id=actor_id, reason=closing.reason), db=db)
    return _result("The ranking round was closed; the ballots received were tallied.", await state_after(db, case, answer))


async def propose_new_panel(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, proposal: NewPanel) -> ActionResult:
    case = await get_case(db, case_id)
    chosen = await _from_directory(db, proposal.panel)
    answer = await run_update(ctx, case_id, CaseWorkflow.propose_new_panel, PanelProposal(actor_id=actor_id, panel=chosen), db=db)
    state = await state_after(db, case, answer)
    if chosen:
        return _result(f"A new panel of {len(chosen)} mediators was proposed; the parties are asked to rank it.", state)
    return _result("A new panel was proposed from the directory; the parties are asked to rank it.", state)


async def decide_objection(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, number: int, decision: ObjectionDecision) -> ActionResult:
    """Uphold or overrule a party's objection to a mediator's disclosure, with the reason everyone concerned reads."""
    case = await get_case(db, case_id)
    state = await case_state(db, case)
    if not any(r.number == number and r.disclosed for r in state.disclosures):
        raise NotFound("No such disclosure on this case.")
    ruling = ObjectionRuling(actor_id=actor_id, number=number, uphold=decision.uphold, reason=decision.reason)
    state = await state_after(db, case, await run_update(ctx, case_id, CaseWorkflow.decide_objection, ruling, db=db))
    if not decision.uphold:
        return _result("The objection was overruled: the disclosure stands. The parties and the mediator are told why by email.", state)
    if state.stage == "conflict_check":
        return _result("The objection was upheld: the next mediator in the order is asked for the conflict check. Everyone is told by email.", state)
    return _result("The objection was upheld: no mediator is left in the order, so the case needs a new panel. Everyone is told by email.", state)


async def withdraw(ctx: AppContext, db: AsyncSession, actor_id: int, case_id: int, withdrawal: Withdrawal) -> ActionResult:
    case = await get_case(db, case_id)
    answer = await run_update(ctx, case_id, CaseWorkflow.withdraw, StaffAction(actor_id=actor_id, reason=withdrawal.reason), db=db)
    return _result("The case was withdrawn; everyone on it is told by email.", await state_after(db, case, answer))
