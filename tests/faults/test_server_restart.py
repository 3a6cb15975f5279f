"""The Temporal server stopped (SIGTERM) and started again on the same SQLite file in the middle of a
ranking round: the case, the submitted ballot and the pending reminder all survive; the reminder goes out
once, when due, and the deadline tally happens."""

import asyncio
import signal
from datetime import datetime, timedelta

import pytest

from core.db.models import BallotRecord, Case
from tests.faults.processes import DevServer, count, wait_until
from tests.support import emails, handle, make_case, make_center, status, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision, RankingSubmission

pytestmark = pytest.mark.faults

WINDOW = timedelta(seconds=24)
REMINDER_AT = timedelta(seconds=12)


@pytest.fixture
async def own_server(tmp_path):
    """A server of this test's own: the shared one must not go down under the other tests."""
    server = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    server.start()
    yield server
    server.kill()


async def test_server_restart_mid_ranking_loses_nothing(own_server, settings, sessions, start_worker, cleanup_cases):
    client = await own_server.wait_ready()
    settings = settings.model_copy(
        update={"temporal_address": own_server.address, "ranking_window": WINDOW, "ranking_reminders_before_deadline": [WINDOW - REMINDER_AT]}
    )
    worker = await start_worker(settings)

    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, client, settings)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    wf = handle(client, settings, case_id)
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
    await wait_for_stage(client, settings, case_id, "ranking")
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=katy, party_id=katy, ranked=[m2, m1], eliminated=[m3]))
    opened = datetime.fromisoformat(next(t.at for t in (await status(client, settings, case_id)).timeline if t.event == "ranking_opened"))

    async def quiet():
        # Every activity so far has finished: what the restart must keep lives only in Temporal's history now.
        mail = await emails(sessions)
        return (
            await count(sessions, BallotRecord, BallotRecord.case_id == case_id)
            and any(e.subject.startswith("Mediator ranking received") for e in mail)
            and all(e.status == "sent" for e in mail)
        )

    await wait_until(quiet, 15, what="ballot recorded and its email sent")
    await asyncio.sleep(0.5)
    assert own_server.stop(signal.SIGTERM) == 0, f"the dev server did not stop cleanly:\n{own_server.output()}"
    await asyncio.sleep(2)
    assert worker.alive(), f"the worker died while the server was down:\n{worker.output()}"
    own_server.start()
    client = await own_server.wait_ready()
    cleanup_cases(client, settings)
    wf = handle(client, settings, case_id)

    current = await status(client, settings, case_id)
    assert current.stage == "ranking" and current.ranking_round == 1
    assert {p.person_id: p.submitted for p in current.parties} == {katy: True, taylor: False}
    [ballot] = await wf.query(CaseWorkflow.ballots)
    assert (ballot.party_id, ballot.ranked, ballot.eliminated) == (katy, [m2, m1], [m3])
    if datetime.now(opened.tzinfo) < opened + REMINDER_AT - timedelta(seconds=1):
        assert await emails(sessions, "Reminder: please submit") == [], "the reminder went out before it was due"

    reminders = await wait_until(lambda: emails(sessions, "Reminder: please submit"), 30, what="ranking reminder")
    assert [e.to_email for e in reminders] == ["taylor.swift@example.com"]

    async def tallied():
        now = await status(client, settings, case_id)
        return now if now.stage == "conflict_check" else None

    current = await wait_until(tallied, 30, what="deadline tally")
    await asyncio.sleep(1)
    current = await status(client, settings, case_id)
    timeline = {t.event: t for t in current.timeline}
    events = [t.event for t in current.timeline]
    assert events.count("ranking_reminder") == 1 and events.count("ranking_deadline") == 1 and events.count("tallied") == 1
    assert datetime.fromisoformat(timeline["ranking_reminder"].at) - opened >= REMINDER_AT
    assert datetime.fromisoformat(timeline["ranking_deadline"].at) - opened >= WINDOW
    assert current.tally.ballots_counted == 1 and current.tally.order == [m2, m1] and current.tally.eliminated == [m3]
    assert current.candidate_mediator_id == m2
    assert [e.to_email for e in await emails(sessions, "Reminder: please submit")] == ["taylor.swift@example.com"]
    assert await count(sessions, BallotRecord, BallotRecord.case_id == case_id) == 1
    assert await count(sessions, Case) == 1
    await wait_until(lambda: count(sessions, Case, Case.id == case_id, Case.stage == "conflict_check"), 10, what="stage mirrored")
    assert worker.alive()
