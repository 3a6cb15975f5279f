"""The migration that added the staff board (0008) fills it in for the cases already in the database: from a case's
published state exactly what its next publication would write, and for a case on the older mirror what it waits on.

A real case is run on the time-skipping server (Mediator 1 declines, Mediator 2 is asked), its rows are copied into a
database migrated only as far as before the board, together with a case on the older mirror, and the migration runs.
"""

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from core.db.migrate import PROJECT_ROOT, sync_url
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_url
from tests.support import eventually, handle, status, wait_for_stage
from tests.test_web_board import accept
from tests.test_web_staff import center, filed_case, rank
from workflows.case import CaseWorkflow
from workflows.types import ConflictDecision

pytestmark = pytest.mark.both_databases
BEFORE_THE_BOARD = "0007"


def migrate(url: str, revision: str, down: bool = False) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = url
    (command.downgrade if down else command.upgrade)(config, revision)


@contextmanager
def empty_database(engine_name: str, tmp_path):
    if engine_name == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'before-the-board.db'}"
        return
    name = f"mediation_backfill_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _postgres_url(name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(engine: sa.Engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(sql), params)]


def utc(moment: datetime | str | None) -> datetime | None:
    if moment is None:
        return None
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def moment_or_value(value: object) -> object:
    """SQLite hands moments back as text through a plain query: compare them as moments."""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


async def test_the_board_migration_backfills_published_and_mirror_cases(web, database_engine, tmp_path):
    staff, (m1, m2, m3, _m4) = await center(web)
    case_id, people = await filed_case(web)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    await accept(web, case_id, staff.id, [m1, m2, m3])
    await rank(web, case_id, katy, [m1, m2, m3])
    await rank(web, case_id, taylor, [m1, m2, m3])
    await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
    await handle(web.client, web.settings, case_id).execute_update(
        CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=False, reason="A conflict.")
    )

    async def m2_asked():
        current = await status(web.client, web.settings, case_id)
        return current if current.candidate_mediator_id == m2 else None

    published = await eventually(m2_asked)
    live = sa.create_engine(sync_url(web.settings.resolved_database_url))

    async def written():
        found = rows(live, "SELECT state_version FROM cases WHERE id = :id", id=case_id)
        return found if found[0][0] >= published.version else None

    await eventually(written)

    with empty_database(database_engine, tmp_path) as url:
        migrate(url, BEFORE_THE_BOARD)
        old = sa.create_engine(sync_url(url))
        mirror_id = case_id + 1
        try:
            before, now = sa.MetaData(), sa.MetaData()
            before.reflect(old)
            now.reflect(live)
            with live.connect() as source, old.begin() as target:
                for name in ("people", "cases", "participants", "ballots"):
                    columns = [c.name for c in before.tables[name].columns]
                    copied = [dict(r) for r in source.execute(sa.select(*[now.tables[name].c[c] for c in columns])).mappings()]
                    target.execute(before.tables[name].insert(), copied)
                # A case whose workflow predates the published state: ranking, Katy has ranked, Taylor has not.
                target.execute(
                    before.tables["cases"].insert(),
                    {
                        "id": mirror_id,
                        "property_address": "3 Old Road, Fresno, CA 93650",
                        "dispute_bases": ["Deposit dispute"],
                        "dispute_value": "$12,501 to $25,000",
                        "description": "",
                        "filed_by_id": katy,
                        "filed_at": datetime.now(UTC),
                        "stage": "ranking",
                        "ranking_round": 1,
                        "panel": [m1, m2, m3],
                        "fee_deposit_collected": False,
                        "mediation_scheduled": False,
                        "stage_note": "",
                        "state": None,
                        "state_version": 0,
                        "discussions_open": False,
                        "updated_at": datetime.now(UTC),
                    },
                )
                added = datetime.now(UTC)
                # Ids given, as for the copied rows (PostgreSQL's sequences did not count those).
                last = target.execute(sa.select(sa.func.max(before.tables["participants"].c.id))).scalar_one()
                for n, (person, side) in enumerate(((katy, "initiating"), (taylor, "responding")), start=1):
                    target.execute(
                        before.tables["participants"].insert(),
                        {
                            "id": last + n,
                            "case_id": mirror_id,
                            "person_id": person,
                            "role": "party",
                            "side": side,
                            "representative_kind": "",
                            "added_at": added,
                        },
                    )
                target.execute(
                    before.tables["ballots"].insert(),
                    {
                        "id": target.execute(sa.select(sa.func.max(before.tables["ballots"].c.id))).scalar_one() + 1,
                        "case_id": mirror_id,
                        "ranking_round": 1,
                        "party_id": katy,
                        "submitted_by_id": katy,
                        "side": "initiating",
                        "ranked": [m1, m2, m3],
                        "eliminated": [],
                        "submitted_at": added,
                        "submission_key": "old-ballot-1",
                    },
                )

            migrate(url, "head")

            kinds = {cid: (kind, utc(since)) for cid, kind, since in rows(old, "SELECT id, waiting_on_kind, waiting_since FROM cases")}
            assert kinds[case_id] == ("conflict_check", utc(published.stage_since))
            assert kinds[mirror_id] == ("ranking", None)  # since when is not known for a case on the older mirror
            waited = rows(old, "SELECT case_id, person_id FROM case_waiting_on ORDER BY case_id")
            assert waited == [(case_id, m2), (mirror_id, taylor)]

            # What the backfill wrote for the published case is what its publications wrote live.
            periods = "SELECT seq, stage, entered_at, left_at, seconds FROM case_stage_periods WHERE case_id = :id ORDER BY seq"
            checks = "SELECT seq, mediator_id, outcome, started_at, ended_at, seconds FROM conflict_checks WHERE case_id = :id ORDER BY seq"

            def comparable(found: list[tuple]) -> list[tuple]:
                return [tuple(moment_or_value(v) for v in row) for row in found]

            backfilled = rows(old, periods, id=case_id)
            assert [(seq, stage, left is None) for seq, stage, _, left, _ in backfilled] == [
                (0, "intake_review", False),
                (1, "ranking", False),
                (2, "conflict_check", False),
                (3, "conflict_check", True),
            ]
            assert comparable(backfilled) == comparable(rows(live, periods, id=case_id))
            backfilled_checks = rows(old, checks, id=case_id)
            assert [(seq, mediator, outcome) for seq, mediator, outcome, *_ in backfilled_checks] == [(0, m1, "declined"), (1, m2, "pending")]
            assert backfilled_checks[0][4] is not None and backfilled_checks[1][4] is None
            assert comparable(backfilled_checks) == comparable(rows(live, checks, id=case_id))
            assert rows(old, "SELECT count(*) FROM case_stage_periods WHERE case_id = :id", id=mirror_id) == [(0,)]

            # And it can be taken back.
            migrate(url, BEFORE_THE_BOARD, down=True)
            gone = sa.inspect(old)
            assert "case_stage_periods" not in gone.get_table_names() and "waiting_on_kind" not in {c["name"] for c in gone.get_columns("cases")}
        finally:
            old.dispose()
            live.dispose()
