"""The staff board: every open case, what it is waiting on (intake review, a party's ranking, a mediator's conflict
check, a new panel...), since when, its deadline and whether that has passed; counts and median times per stage;
each mediator's conflict-check figures.

Everything is read from what each case's publication stored beside its state (activities/board.py, derived by
core/waiting.py), with indexes, so the board answers as fast at 10,000 open cases as the case list does; no
workflow is asked. The page, the JSON API and the CSV export take the same `BoardQuery`.
"""

import csv
import io
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.case_facts import case_titles
from core.db.models import Case, CaseStagePeriod, CaseWaitingOn, ConflictCheckRecord, Person
from core.inputs import MAX_ID, Line
from core.stages import FINAL_STAGES, Stage, stage_label
from core.time import UtcDateTime, as_utc
from core.waiting import ANSWERS, KINDS, describe
from features.staff.directory import directory, get_mediator
from features.staff.models import PAGE_SIZE, ConflictCheckFigures, DirectoryEntry

OPEN_STAGES = [s.value for s in Stage if s not in FINAL_STAGES]
SORTS = {
    "waiting_since": "Waiting longest",
    "deadline": "Deadline",
    "stage": "Stage",
    "case": "Case ID",
}
MEDIAN_WINDOWS_DAYS = (30, 90)
# The medians move only when a stay ends (seen at once: the newest period and the newest end change) or as the windows
# slide (a few minutes are nothing in 30 days): each process reuses them that long rather than sorting every stay of
# the last 90 days on each view of the board.
MEDIANS_REUSED_SECONDS = 300.0
# A CSV export is read in slices of this many cases, so a 10,000-case export never loads every title at once.
CSV_SLICE = 500


# ---- what is asked -------------------------------------------------------------------------------------


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class BoardQuery(BaseModel):
    """Which open cases, in which order, which page: the same for the page, the JSON API and the CSV export."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field("", description=f"What the case waits on: {', '.join(KINDS)}; empty for all.")
    stage: str = Field("", description=f"The case's stage: {', '.join(OPEN_STAGES)}; empty for all.")
    overdue: Literal["", "yes", "no"] = Field("", description="yes: only cases whose deadline has passed; no: only the others.")
    person: Annotated[str, Line(200, "the name")] = Field("", description="Part of the name of someone the case waits on.")
    mediator: int | None = Field(None, description="A mediator's person id: cases they serve on or are asked to check.")
    sort: Literal["waiting_since", "deadline", "stage", "case"] = Field("waiting_since", description="waiting_since, deadline, stage or case.")
    order: Literal["asc", "desc"] = Field("asc", description="asc: longest waiting, soonest deadline, earliest stage, lowest id first.")
    page: int = Field(1, description="Pages of 50.")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        kind = kind.strip()
        if kind and kind not in KINDS:
            raise PydanticCustomError("kind", "Unknown kind of wait {kind!r}; choose one of: {choices}.", {"kind": kind, "choices": ", ".join(KINDS)})
        return kind

    @field_validator("stage")
    @classmethod
    def _open_stage(cls, stage: str) -> str:
        stage = stage.strip()
        if stage and stage not in OPEN_STAGES:
            raise PydanticCustomError(
                "stage", "Unknown stage {stage!r} for an open case; choose one of: {choices}.", {"stage": stage, "choices": ", ".join(OPEN_STAGES)}
            )
        return stage

    @field_validator("overdue", "sort", "order", mode="before")
    @classmethod
    def _choice(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("mediator", mode="before")
    @classmethod
    def _mediator_id(cls, value: object) -> object:
        value = _blank_is_none(value)
        if isinstance(value, str):
            if not value.strip().isdigit():
                raise PydanticCustomError("mediator", "Choose a mediator from the list.")
            value = int(value.strip())
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID):
            raise PydanticCustomError("mediator", "Choose a mediator from the list.")
        return value

    @field_validator("page", mode="before")
    @classmethod
    def _page_number(cls, value: object) -> object:
        value = _blank_is_none(value)
        if value is None:
            return 1
        if isinstance(value, str):
            if not value.strip().isdigit():
                raise PydanticCustomError("page", "The page is a number, 1 or more.")
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000:
            raise PydanticCustomError("page", "The page is a number from 1 to 1,000,000.")
        return value

    def filters(self) -> dict[str, Any]:
        """The filters and order as a page address keeps them: what differs from the defaults, the page number apart."""
        return self.model_dump(exclude={"page"}, exclude_defaults=True)


# ---- what is answered ------------------------------------------------------------------------------------


class WaitedOn(BaseModel):
    person_id: int
    name: str


class BoardRow(BaseModel):
    case_id: int
    title: str
    property_address: str
    stage: str
    stage_label: str
    kind: str = Field(description="What the case waits on: intake_review, ranking, conflict_check, new_panel, mediator_steps...")
    kind_label: str
    waiting_on: str = Field(description='In words: "Taylor Swift\'s ranking", "Mediator 1\'s conflict check".')
    people: list[WaitedOn] = Field(description="The people waited on (none when the center itself is).")
    waiting_since: UtcDateTime | None = Field(description="RFC 3339, UTC; null for a case on the older mirror until its next stage.")
    waiting_seconds: float | None = Field(description="How long it has waited, at the time of the answer.")
    deadline: UtcDateTime | None = Field(description="RFC 3339, UTC; the stage's deadline, if it has one.")
    overdue: bool = Field(description="The deadline has passed.")
    mediator_id: int | None = Field(description="The case's mediator, or the mediator asked for the conflict check.")
    mediator_name: str


class StageFigures(BaseModel):
    stage: str
    stage_label: str
    open_cases: int
    overdue: int
    median_seconds_30d: float | None = Field(description="Median time cases spent in this stage, over stays that ended in the last 30 days.")
    stays_30d: int = Field(description="How many stays that median is taken over.")
    median_seconds_90d: float | None
    stays_90d: int


class Board(BaseModel):
    items: list[BoardRow]
    page: int
    pages: int
    total: int = Field(description="Open cases matching the filters.")
    page_size: int = PAGE_SIZE
    query: BoardQuery
    open_cases: int = Field(description="Every open case, whatever the filters.")
    overdue: int = Field(description="Open cases past their deadline, whatever the filters.")
    stages: list[StageFigures] = Field(description="Per stage: open cases, overdue ones, and median time spent in it (30 and 90 days).")
    as_of: UtcDateTime = Field(description="The moment overdue and waiting times were computed against.")


# ---- the board -------------------------------------------------------------------------------------------


IS_OPEN = Case.waiting_on_kind.is_not(None)


def _now(now: datetime | None) -> datetime:
    return as_utc(now) if now is not None else datetime.now(UTC)


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _conditions(query: BoardQuery, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [IS_OPEN]
    if query.kind:
        conditions.append(Case.waiting_on_kind == query.kind)
    if query.stage:
        conditions.append(Case.stage == query.stage)
    if query.overdue == "yes":
        conditions.append(Case.stage_deadline < now)
    elif query.overdue == "no":
        conditions.append(or_(Case.stage_deadline.is_(None), Case.stage_deadline >= now))
    if query.person:
        waited = (
            select(CaseWaitingOn.case_id)
            .join(Person, Person.id == CaseWaitingOn.person_id)
            .where(func.lower(Person.full_name).like(_like(query.person), escape="\\"))
        )
        conditions.append(Case.id.in_(waited))
    if query.mediator is not None:
        conditions.append(or_(Case.mediator_id == query.mediator, Case.candidate_mediator_id == query.mediator))
    return conditions


def _ordered(statement: Select, query: BoardQuery) -> Select:
    descending = query.order == "desc"

    def way(column: Any) -> Any:
        return (column.desc() if descending else column.asc()).nulls_last()

    stage_order = case({stage.value: n for n, stage in enumerate(Stage)}, value=Case.stage, else_=len(Stage))
    first = {
        "waiting_since": [way(Case.waiting_since)],
        "deadline": [way(Case.stage_deadline), Case.waiting_since.asc().nulls_last()],
        "stage": [way(stage_order), Case.waiting_since.asc().nulls_last()],
        "case": [],
    }[query.sort]
    return statement.order_by(*first, Case.id.desc() if descending and query.sort == "case" else Case.id.asc())


def _selected(conditions: list[ColumnElement[bool]]) -> Select:
    mediator = aliased(Person)
    mediator_id = func.coalesce(Case.mediator_id, Case.candidate_mediator_id)
    return (
        select(
            Case.id,
            Case.property_address,
            Case.stage,
            Case.waiting_on_kind,
            Case.waiting_since,
            Case.stage_deadline,
            mediator_id.label("mediator_id"),
            mediator.full_name.label("mediator_name"),
        )
        .outerjoin(mediator, mediator.id == mediator_id)
        .where(and_(*conditions))
    )


async def _rows(db: AsyncSession, found: list[Any], now: datetime) -> list[BoardRow]:
    ids = [row.id for row in found]
    titles = await case_titles(db, ids)
    people: dict[int, list[WaitedOn]] = {case_id: [] for case_id in ids}
    if ids:
        waited = await db.execute(
            select(CaseWaitingOn.case_id, Person.id, Person.full_name)
            .join(Person, Person.id == CaseWaitingOn.person_id)
            .where(CaseWaitingOn.case_id.in_(ids))
            .order_by(CaseWaitingOn.case_id, Person.full_name, Person.id)
        )
        for case_id, person_id, name in waited:
            people[case_id].append(WaitedOn(person_id=person_id, name=name))
    rows = []
    for row in found:
        since = as_utc(row.waiting_since) if row.waiting_since else None
        deadline = as_utc(row.stage_deadline) if row.stage_deadline else None
        kind = KINDS.get(row.waiting_on_kind)
        rows.append(
            BoardRow(
                case_id=row.id,
                title=titles[row.id],
                property_address=row.property_address,
                stage=row.stage,
                stage_label=stage_label(row.stage),
                kind=row.waiting_on_kind,
                kind_label=kind.label if kind else row.waiting_on_kind,
                waiting_on=describe(row.waiting_on_kind, [p.name for p in people[row.id]]),
                people=people[row.id],
                waiting_since=since,
                waiting_seconds=max(0.0, (now - since).total_seconds()) if since else None,
                deadline=deadline,
                overdue=deadline is not None and deadline < now,
                mediator_id=row.mediator_id,
                mediator_name=row.mediator_name or "",
            )
        )
    return rows


async def board(db: AsyncSession, query: BoardQuery, now: datetime | None = None) -> Board:
    """One page of open cases with what each waits on, and the figures per stage."""
    asked_about = now is not None
    now = _now(now)
    conditions = _conditions(query, now)
    stages = await stage_figures(db, now if asked_about else None)
    open_cases = sum(s.open_cases for s in stages)
    filtered = len(conditions) > 1
    total = (await db.execute(select(func.count(Case.id)).where(and_(*conditions)))).scalar_one() if filtered else open_cases
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(query.page, pages)
    # The page's ids first, from an index alone, then their details: a page deep into the board skips index entries
    # rather than rows joined to their mediator.
    ids = list((await db.execute(_ordered(select(Case.id).where(and_(*conditions)), query).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))).scalars())
    found = list((await db.execute(_selected([Case.id.in_(ids)]))).all()) if ids else []
    position = {case_id: n for n, case_id in enumerate(ids)}
    found.sort(key=lambda row: position[row.id])
    return Board(
        items=await _rows(db, found, now),
        page=page,
        pages=pages,
        total=total,
        query=query.model_copy(update={"page": page}),
        open_cases=open_cases,
        overdue=sum(s.overdue for s in stages),
        stages=stages,
        as_of=now,
    )


async def _medians(db: AsyncSession, key: Any, value: Any, where: list[ColumnElement[bool]]) -> dict[Any, tuple[float, int]]:
    """Per key, the median of `value` and how many values it is taken over, computed by the database (window
    functions, on SQLite and PostgreSQL alike) so only a row per key comes back however many values there are."""
    ranked = (
        select(
            key.label("key"),
            value.label("value"),
            func.row_number().over(partition_by=key, order_by=value).label("position"),
            func.count().over(partition_by=key).label("n"),
        )
        .where(*where)
        .subquery()
    )
    middle = ranked.c.position.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    rows = await db.execute(select(ranked.c.key, func.avg(ranked.c.value), func.max(ranked.c.n)).where(middle).group_by(ranked.c.key))
    return {k: (float(median), int(n)) for k, median, n in rows}


@dataclass
class _Medians:
    marker: tuple[Any, ...]
    computed_at: float
    by_window: dict[int, dict[Any, tuple[float, int]]]


# Per database (tests and tools run several in one process).
_remembered: dict[str, _Medians] = {}


async def _stage_medians(db: AsyncSession, now: datetime, reuse: bool) -> dict[int, dict[Any, tuple[float, int]]]:
    """Per window (30, 90 days), per stage: the median seconds of the stays that ended in it, and how many there were."""
    newest = (
        await db.execute(select(select(func.max(CaseStagePeriod.id)).scalar_subquery(), select(func.max(CaseStagePeriod.left_at)).scalar_subquery()))
    ).one()
    marker = tuple(newest)
    database = db.get_bind().engine.url.render_as_string(hide_password=True)
    known = _remembered.get(database)
    if reuse and known is not None and known.marker == marker and time.monotonic() - known.computed_at < MEDIANS_REUSED_SECONDS:
        return known.by_window
    by_window = {
        days: await _medians(
            db,
            CaseStagePeriod.stage,
            CaseStagePeriod.seconds,
            [CaseStagePeriod.left_at >= now - timedelta(days=days), CaseStagePeriod.seconds.is_not(None)],
        )
        for days in MEDIAN_WINDOWS_DAYS
    }
    if reuse:
        _remembered[database] = _Medians(marker=marker, computed_at=time.monotonic(), by_window=by_window)
    return by_window


async def stage_figures(db: AsyncSession, now: datetime | None = None) -> list[StageFigures]:
    """Per stage a case can wait in: how many open cases are in it, how many of those are overdue, and the median time
    spent in it over the stays that ended in the last 30 and 90 days (stays still going are not counted). Asked
    about another moment than now, the medians are computed afresh."""
    reuse = now is None
    now = _now(now)
    counts = {
        stage: (int(n), int(late or 0))
        for stage, n, late in await db.execute(
            select(Case.stage, func.count(Case.id), func.sum(case((Case.stage_deadline < now, 1), else_=0))).where(IS_OPEN).group_by(Case.stage)
        )
    }
    medians = await _stage_medians(db, now, reuse)
    stages = OPEN_STAGES + sorted((set(counts) | set(medians[30]) | set(medians[90])) - set(OPEN_STAGES) - {s.value for s in FINAL_STAGES})
    return [
        StageFigures(
            stage=stage,
            stage_label=stage_label(stage),
            open_cases=counts.get(stage, (0, 0))[0],
            overdue=counts.get(stage, (0, 0))[1],
            median_seconds_30d=medians[30].get(stage, (None, 0))[0],
            stays_30d=medians[30].get(stage, (None, 0))[1],
            median_seconds_90d=medians[90].get(stage, (None, 0))[0],
            stays_90d=medians[90].get(stage, (None, 0))[1],
        )
        for stage in stages
    ]


# ---- the CSV export --------------------------------------------------------------------------------------


CSV_HEADER = [
    "case_id",
    "title",
    "property_address",
    "stage",
    "waiting_on_kind",
    "waiting_on",
    "people_waited_on",
    "waiting_since_utc",
    "deadline_utc",
    "overdue",
    "mediator",
]


def _cell(value: object) -> str:
    """A cell as text; one a spreadsheet would run as a formula (=, +, -, @ first) is quoted with a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def csv_filename(now: datetime | None = None) -> str:
    return f"waiting-board-{_now(now):%Y-%m-%d}.csv"


async def board_csv(db: AsyncSession, query: BoardQuery, now: datetime | None = None) -> str:
    """Every open case matching the filters (all pages), in the board's order, as CSV with a header row."""
    now = _now(now)
    found = list((await db.execute(_ordered(_selected(_conditions(query, now)), query))).all())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for start in range(0, len(found), CSV_SLICE):
        writer.writerows(_csv_lines(await _rows(db, found[start : start + CSV_SLICE], now)))
    return out.getvalue()


def _csv_lines(rows: Iterable[BoardRow]) -> Iterable[list[str]]:
    for row in rows:
        yield [
            str(row.case_id),
            _cell(row.title),
            _cell(row.property_address),
            row.stage,
            row.kind,
            _cell(row.waiting_on),
            _cell("; ".join(p.name for p in row.people)),
            _iso(row.waiting_since),
            _iso(row.deadline),
            "yes" if row.overdue else "no",
            _cell(row.mediator_name),
        ]


# ---- the mediators' conflict-check figures ---------------------------------------------------------------


async def conflict_check_figures(db: AsyncSession, mediator_ids: list[int] | None = None) -> dict[int, ConflictCheckFigures]:
    """Per mediator, every conflict check asked of them and how it ended, and the median time they took to answer
    (accepted or declined; a check that timed out had no answer)."""
    where: list[ColumnElement[bool]] = [] if mediator_ids is None else [ConflictCheckRecord.mediator_id.in_(mediator_ids or [-1])]

    def outcome(name: str) -> Any:
        return func.sum(case((ConflictCheckRecord.outcome == name, 1), else_=0))

    counts = await db.execute(
        select(
            ConflictCheckRecord.mediator_id,
            func.count(ConflictCheckRecord.id),
            outcome("accepted"),
            outcome("declined"),
            outcome("timed_out"),
            outcome("pending"),
        )
        .where(*where)
        .group_by(ConflictCheckRecord.mediator_id)
    )
    medians = await _medians(
        db,
        ConflictCheckRecord.mediator_id,
        ConflictCheckRecord.seconds,
        [*where, ConflictCheckRecord.outcome.in_(ANSWERS), ConflictCheckRecord.seconds.is_not(None)],
    )
    return {
        mediator_id: ConflictCheckFigures(
            requests=int(requests),
            accepted=int(accepted or 0),
            declined=int(declined or 0),
            timed_out=int(timed_out or 0),
            pending=int(pending or 0),
            median_answer_seconds=medians.get(mediator_id, (None, 0))[0],
        )
        for mediator_id, requests, accepted, declined, timed_out, pending in counts
    }


async def directory_with_figures(db: AsyncSession) -> list[DirectoryEntry]:
    """The mediator directory, each entry with its conflict-check figures: staff only."""
    entries = await directory(db)
    figures = await conflict_check_figures(db)
    return [entry.model_copy(update={"conflict_checks": figures.get(entry.person_id, ConflictCheckFigures())}) for entry in entries]


async def mediator_with_figures(db: AsyncSession, person_id: int) -> DirectoryEntry:
    entry = await get_mediator(db, person_id)
    figures = await conflict_check_figures(db, [person_id])
    return entry.model_copy(update={"conflict_checks": figures.get(person_id, ConflictCheckFigures())})
