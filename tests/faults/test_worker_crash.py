"""A worker killed with SIGKILL in the middle of a conflict check: a new worker picks the case up, and the
conflict-check timers (reminder, then expiry) each fire exactly once, even though they came due while no
worker was running."""

import asyncio
from datetime import datetime, timedelta

import pytest

from core.db.models import Case, Email
from tests.faults.processes import count, wait_until
from tests.support import emails, handle, make_case, make_center, status, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision, RankingSubmission

pytestmark = pytest.mark.faults

WINDOW = timedelta(seconds=20)
REMINDER_AFTER = timedelta(seconds=10)


async def test_killed_worker_mid_conflict_check_resumes_and_timers_fire_once(dev_client, settings, sessions, start_worker, cleanup_cases):
    settings = settings.model_copy(update={"conflict_check_window": WINDOW, "conflict_check_reminder_after": REMINDER_AFTER})
    client = dev_client
    cleanup_cases(client, settings)
    first = await start_worker(settings)

    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, client, settings)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    wf = handle(client, settings, case_id)
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
    await wait_for_stage(client, settings, case_id, "ranking")
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=katy, party_id=katy, ranked=[m1, m2, m3]))
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=taylor, party_id=taylor, ranked=[m1, m3, m2]))

    async def conflict_check_settled():
        # Kill only once the request email and the stage are written: an activity cut off mid-flight would
        # otherwise wait out its start-to-close timeout, which is about activities, not timers.
        current = await status(client, settings, case_id)
        if current.stage != "conflict_check" or current.candidate_mediator_id != m1:
            return None
        sent = [e for e in await emails(sessions, "Conflict check requested", to="mediator1@example.com") if e.status == "sent"]
        return current if sent and await count(sessions, Case, Case.id == case_id, Case.stage == "conflict_check") else None

    checking = await wait_until(conflict_check_settled, 20, what="conflict check started for mediator 1")
    started = datetime.fromisoformat(checking.conflict_attempts[0].started_at)
    await asyncio.sleep(0.5)
    first.kill()
    assert not first.alive()

    # Stay down until the reminder timer has come due with no worker to run it.
    reminder_due = started + REMINDER_AFTER
    await asyncio.sleep(max(0.0, (reminder_due - datetime.now(reminder_due.tzinfo)).total_seconds()) + 1.5)
    assert await emails(sessions, "Reminder: conflict check") == []
    second = await start_worker(settings)

    reminder = await wait_until(lambda: emails(sessions, "Reminder: conflict check"), 25, what="conflict-check reminder")
    assert [e.to_email for e in reminder] == ["mediator1@example.com"]

    async def moved_on():
        current = await status(client, settings, case_id)
        mail = await emails(sessions, "Conflict check requested", to="mediator2@example.com")
        told = await emails(sessions, "Mediator reassignment")
        return current if current.candidate_mediator_id == m2 and mail and len(told) >= 2 else None

    current = await wait_until(moved_on, 30, what="reassignment to mediator 2")
    # Let anything that would fire twice have its chance before counting.
    await asyncio.sleep(2)
    current = await status(client, settings, case_id)
    assert second.alive()
    assert current.stage == "conflict_check" and current.candidate_mediator_id == m2
    assert current.tried_mediator_ids == [m1]
    assert [(a.mediator_id, a.outcome) for a in current.conflict_attempts] == [(m1, "timed_out"), (m2, "pending")]
    events = [t.event for t in current.timeline]
    assert events.count("conflict_check_expired") == 1 and events.count("conflict_check_started") == 2

    assert [e.to_email for e in await emails(sessions, "Reminder: conflict check")] == ["mediator1@example.com"]
    told = await emails(sessions, "Mediator reassignment")
    assert sorted(e.to_email for e in told) == ["katy.perry@example.com", "taylor.swift@example.com"]
    assert len(await emails(sessions, "Conflict check requested", to="mediator1@example.com")) == 1
    assert len(await emails(sessions, "Conflict check requested", to="mediator2@example.com")) == 1
    assert await count(sessions, Email, Email.status != "sent") == 0
    expired = datetime.fromisoformat(current.conflict_attempts[1].started_at)
    # The expiry came at the window's end, not reset by the crash: 20 s after the check started.
    assert WINDOW <= expired - started < WINDOW + timedelta(seconds=10)
