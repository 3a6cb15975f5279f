"""The case workflow end to end on the time-skipping test server: days pass in milliseconds."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from core.db.models import BallotRecord, Case
from tests.support import emails, eventually, handle, make_case, make_center, status, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import (
    CaseClosure,
    ConflictDecision,
    DeadlineExtension,
    IntakeDecision,
    MediatorMilestone,
    NewPanel,
    RankingSubmission,
    StaffAction,
)

pytestmark = [pytest.mark.usefixtures("worker"), pytest.mark.both_databases]


async def accept_intake(env, settings, case_id, staff_id, panel):
    await handle(env.client, settings, case_id).execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=staff_id, panel=panel))
    return await wait_for_stage(env.client, settings, case_id, "ranking")


async def rank(env, settings, case_id, party_id, ranked, eliminated=(), actor_id=None):
    return await handle(env.client, settings, case_id).execute_update(
        CaseWorkflow.submit_ranking,
        RankingSubmission(actor_id=actor_id or party_id, party_id=party_id, ranked=list(ranked), eliminated=list(eliminated)),
    )


async def rejection(coro) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await coro
    return str(failure.value.cause)


async def test_filed_case_reaches_accepted_mediator_and_closes(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]

    assert (await status(env.client, settings, case_id)).stage == "intake_review"
    await eventually(lambda: emails(sessions, "Request to Mediate received"))

    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    requests = await eventually(lambda: _at_least(2, emails(sessions, "Please submit your mediator rankings RE: 742 Evergreen Terrace")))
    assert {e.to_email for e in requests} == {"katy.perry@example.com", "taylor.swift@example.com"}
    taylor_mail = next(e for e in requests if e.to_email == "taylor.swift@example.com")
    assert taylor_mail.text_body.startswith("Hello Taylor Swift,\n\nPlease login to your account and submit your mediator rankings.")
    assert "mediation@car.org" in taylor_mail.text_body and "213-739-8376" in taylor_mail.text_body

    receipt = await rank(env, settings, case_id, katy, [m2, m1], eliminated=[m3])
    assert receipt.waiting_for == [taylor] and not receipt.revision
    await rank(env, settings, case_id, taylor, [m1, m2, m3])

    # The last ballot closes the round at once: nobody waits for the 7-day deadline.
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    # m3 was eliminated; m1 scores 2+1=3 and m2 scores 1+2=3; worst rank ties at 2; m1 comes first on the panel.
    assert current.tally.order == [m1, m2] and current.tally.eliminated == [m3]
    assert current.tally.scores == {str(m1): "3", str(m2): "3"}
    assert current.candidate_mediator_id == m1
    await eventually(lambda: emails(sessions, "Conflict check requested", to="mediator1@example.com"))

    await handle(env.client, settings, case_id).execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
    current = await wait_for_stage(env.client, settings, case_id, "accepted")
    assert current.mediator_id == m1
    told = await eventually(lambda: _at_least(3, emails(sessions, "Your mediator RE:")))
    assert {"katy.perry@example.com", "taylor.swift@example.com", "mediator1@example.com"} <= {e.to_email for e in told}
    assert "Mediator 1 has accepted" in told[0].text_body

    async def case_row():
        async with sessions() as session:
            row = await session.get(Case, case_id)
            return row if row.stage == "accepted" else None

    row = await eventually(case_row)
    assert row.mediator_id == m1 and row.stage_deadline is None

    wf = handle(env.client, settings, case_id)
    await wf.execute_update(CaseWorkflow.record_fee_deposit, MediatorMilestone(actor_id=m1))
    await wf.execute_update(CaseWorkflow.record_scheduled, MediatorMilestone(actor_id=m1))
    await wait_for_stage(env.client, settings, case_id, "scheduled")
    assert "one of: settled" in await rejection(wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="won")))
    assert "mediator or center staff" in await rejection(wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=katy, outcome="settled")))
    await wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="settled"))
    final = await wait_for_stage(env.client, settings, case_id, "closed")
    assert final.outcome == "settled" and final.fee_deposit_collected and final.mediation_scheduled
    events = [t.event for t in final.timeline]
    assert events.index("intake_accepted") < events.index("tallied") < events.index("mediator_accepted") < events.index("closed")
    await eventually(lambda: emails(sessions, "Case closed RE:"))


async def test_silent_party_gets_reminders_on_time_and_forfeits_at_deadline(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    katy = people["Katy Perry"]
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    await rank(env, settings, case_id, katy, [m3, m2, m1])

    reminders = lambda: emails(sessions, "Reminder: please submit your mediator rankings")  # noqa: E731
    await env.sleep(timedelta(days=2, hours=23))
    assert await reminders() == []
    await env.sleep(timedelta(hours=2))
    first = await eventually(reminders)
    # Only the party that has not ranked is reminded.
    assert [e.to_email for e in first] == ["taylor.swift@example.com"]
    assert "If no ranking is received by then" in first[0].text_body

    await env.sleep(timedelta(days=2, hours=22))
    assert len(await reminders()) == 1
    await env.sleep(timedelta(hours=2))
    await eventually(lambda: _at_least(2, reminders()))
    assert (await status(env.client, settings, case_id)).stage == "ranking"

    await env.sleep(timedelta(days=1))
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    assert current.tally.ballots_counted == 1
    assert current.tally.order == [m3, m2, m1]
    assert [t.event for t in current.timeline].count("ranking_reminder") == 2
    assert "ranking_deadline" in [t.event for t in current.timeline]
    assert len(await reminders()) == 2


async def test_declined_conflict_check_reassigns_to_next_mediator(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    await rank(env, settings, case_id, people["Katy Perry"], [m2, m3, m1])
    await rank(env, settings, case_id, people["Taylor Swift"], [m2, m1, m3])
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    assert current.tally.order == [m2, m1, m3]

    wf = handle(env.client, settings, case_id)
    assert "Only the mediator asked" in await rejection(wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True)))
    assert "why you must decline" in await rejection(wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m2, accept=False)))
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m2, accept=False, reason="I represented the seller in 2023."))

    async def next_candidate():
        s = await status(env.client, settings, case_id)
        return s if s.candidate_mediator_id == m1 else None

    current = await eventually(next_candidate)
    assert current.conflict_attempts[0].outcome == "declined"
    assert current.conflict_attempts[0].reason == "I represented the seller in 2023."
    notices = await eventually(lambda: _at_least(2, emails(sessions, "Mediator reassignment RE:")))
    assert "reassignment to the next mediator" in notices[0].text_body
    await eventually(lambda: emails(sessions, "Conflict check requested", to="mediator1@example.com"))
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
    assert (await wait_for_stage(env.client, settings, case_id, "accepted")).mediator_id == m1


async def test_silent_mediator_is_reminded_after_a_day_and_replaced_after_two(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    await rank(env, settings, case_id, people["Katy Perry"], [m1, m2, m3])
    await rank(env, settings, case_id, people["Taylor Swift"], [m1, m3, m2])
    await wait_for_stage(env.client, settings, case_id, "conflict_check")

    reminder = lambda: emails(sessions, "Reminder: conflict check", to="mediator1@example.com")  # noqa: E731
    await env.sleep(timedelta(hours=23))
    assert await reminder() == []
    await env.sleep(timedelta(hours=2))
    await eventually(reminder)
    assert (await status(env.client, settings, case_id)).candidate_mediator_id == m1

    await env.sleep(timedelta(hours=23, minutes=30))

    async def replaced():
        s = await status(env.client, settings, case_id)
        return s if s.candidate_mediator_id != m1 else None

    current = await eventually(replaced)
    # m2 and m3 tie on score (2+3 = 3+2); worst rank ties at 3; m2 is earlier on the panel.
    assert current.candidate_mediator_id == m2
    assert current.conflict_attempts[0].outcome == "timed_out"
    assert len(await reminder()) == 1


async def test_exhausted_order_asks_staff_for_new_panel_and_starts_new_round(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3, m4, m5, m6 = (m.id for m in center.mediators)
    case_id, people = await make_case(sessions, env.client, settings)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    # No panel given: the directory proposes three mediators.
    await handle(env.client, settings, case_id).execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id))
    first = await wait_for_stage(env.client, settings, case_id, "ranking")
    assert len(first.panel) == 3 and len(set(first.panel)) == 3
    a, b, c = first.panel
    # Each side eliminates a different mediator: only one survives.
    await rank(env, settings, case_id, katy, [a, b], eliminated=[c])
    await rank(env, settings, case_id, taylor, [a, c], eliminated=[b])
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    assert current.tally.order == [a]
    wf = handle(env.client, settings, case_id)
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=a, accept=False, reason="Conflict"))

    current = await wait_for_stage(env.client, settings, case_id, "awaiting_new_panel")
    assert current.tried_mediator_ids == [a]
    await eventually(lambda: emails(sessions, "New mediator panel needed", to="mediation@car.org"))
    last_notice = await eventually(lambda: emails(sessions, "Mediator reassignment RE:"))
    assert "The center will propose a new panel" in last_notice[0].text_body
    assert "A mediator can appear only once" in await rejection(
        wf.execute_update(CaseWorkflow.propose_new_panel, NewPanel(actor_id=center.staff.id, panel=[m4, m4]))
    )

    await wf.execute_update(CaseWorkflow.propose_new_panel, NewPanel(actor_id=center.staff.id))
    second = await wait_for_stage(env.client, settings, case_id, "ranking")
    assert second.ranking_round == 2 and a not in second.panel and len(second.panel) == 3
    assert not any(p.submitted for p in second.parties)
    await eventually(lambda: _at_least(4, emails(sessions, "Please submit your mediator rankings")))
    x, y, z = second.panel
    await rank(env, settings, case_id, katy, [x, y, z])
    await rank(env, settings, case_id, taylor, [y, x, z])
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    assert current.tally.ranking_round == 2 and len(current.tally_history) == 2


async def test_party_can_revise_ballot_until_round_closes(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(
        sessions, env.client, settings, parties=[("Katy Perry", "initiating"), ("Taylor Swift", "responding"), ("Ed Sheeran", "responding")]
    )
    katy, taylor, ed = people["Katy Perry"], people["Taylor Swift"], people["Ed Sheeran"]
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    await rank(env, settings, case_id, katy, [m1, m2, m3])
    await env.sleep(timedelta(days=1))
    receipt = await rank(env, settings, case_id, katy, [m3, m2], eliminated=[m1])
    assert receipt.revision and not receipt.unchanged
    # Submitting the same ballot again (a double click or a retried request) changes nothing.
    again = await rank(env, settings, case_id, katy, [m3, m2], eliminated=[m1])
    assert again.unchanged
    await rank(env, settings, case_id, taylor, [m2, m3, m1])
    await rank(env, settings, case_id, ed, [m3, m2, m1])
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    # Katy's revision counts: m1 eliminated. Initiating: m3=1, m2=2. Responding: m2=(1+2)/2=3/2, m3=(2+1)/2=3/2.
    assert current.tally.scores == {str(m2): "7/2", str(m3): "5/2"}
    assert current.tally.order == [m3, m2]

    async def audit():
        async with sessions() as session:
            rows = (await session.execute(select(BallotRecord).where(BallotRecord.case_id == case_id))).scalars().all()
            return rows if len(rows) == 4 else None

    rows = await audit() or await eventually(audit)
    assert [r.party_id for r in rows].count(katy) == 2
    assert len(await emails(sessions, "Mediator ranking revised", to="mediation@car.org")) == 1
    assert "Mediator rankings are not open" in await rejection(rank(env, settings, case_id, katy, [m2, m3], eliminated=[m1]))


async def test_bad_ballots_and_outsiders_are_rejected_with_reason_and_never_enter_history(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3, m4 = (m.id for m in center.mediators[:4])
    case_id, people = await make_case(sessions, env.client, settings)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    early = await rejection(rank(env, settings, case_id, katy, [m1, m2, m3]))
    assert "not open" in early
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])

    cases = {
        "missing": ([m1, m2], [], katy, katy, "missing"),
        "twice": ([m1, m1, m2, m3], [], katy, katy, "only once"),
        "unknown": ([m1, m2, m3, m4], [], katy, katy, "Not on the proposed panel"),
        "nothing ranked": ([], [m1, m2, m3], katy, katy, "Rank at least one"),
        "too many eliminated": ([m1], [m2, m3], katy, katy, "at most 1 mediator"),
        "outsider": ([m1, m2, m3], [], m4, m4, "Only a party of this case"),
        "acting for another": ([m1, m2, m3], [], taylor, katy, "only for yourself or for a party you represent"),
    }
    for name, (ranked, eliminated, party, actor, message) in cases.items():
        reason = await rejection(rank(env, settings, case_id, party, ranked, eliminated, actor_id=actor))
        assert message in reason, (name, reason)

    history = await handle(env.client, settings, case_id).fetch_history()
    accepted_updates = [e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert [e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name for e in accepted_updates] == ["review_intake"]
    current = await status(env.client, settings, case_id)
    assert current.stage == "ranking" and not any(p.submitted for p in current.parties)


async def test_staff_extend_then_close_round_early(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    first = await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    wf = handle(env.client, settings, case_id)
    assert "positive amount" in await rejection(wf.execute_update(CaseWorkflow.extend_ranking, DeadlineExtension(actor_id=center.staff.id, extra_seconds=0)))
    extended = await wf.execute_update(CaseWorkflow.extend_ranking, DeadlineExtension(actor_id=center.staff.id, extra_seconds=3 * 86400))
    assert (await status(env.client, settings, case_id)).stage_deadline == extended.stage_deadline > first.stage_deadline

    await env.sleep(timedelta(days=8))
    assert (await status(env.client, settings, case_id)).stage == "ranking"
    await rank(env, settings, case_id, people["Taylor Swift"], [m2, m1, m3])
    await wf.execute_update(CaseWorkflow.close_ranking, StaffAction(actor_id=center.staff.id, reason="Katy asked us to proceed"))
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    assert current.tally.ballots_counted == 1 and current.candidate_mediator_id == m2


async def test_staff_can_withdraw_a_case_mid_conflict_check(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    await rank(env, settings, case_id, people["Katy Perry"], [m1, m2, m3])
    await rank(env, settings, case_id, people["Taylor Swift"], [m1, m2, m3])
    await wait_for_stage(env.client, settings, case_id, "conflict_check")
    wf = handle(env.client, settings, case_id)
    assert "Give a reason" in await rejection(wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=center.staff.id)))
    await wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=center.staff.id, reason="The parties settled on their own."))
    final = await wait_for_stage(env.client, settings, case_id, "withdrawn")
    assert final.conflict_attempts[0].outcome == "withdrawn" and final.outcome == "withdrawn"
    notices = await eventually(lambda: _at_least(3, emails(sessions, "Case withdrawn RE:")))
    assert {"katy.perry@example.com", "taylor.swift@example.com", "mediation@car.org"} <= {e.to_email for e in notices}
    assert "already over" in await rejection(wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=center.staff.id, reason="again")))


async def test_rejected_intake_tells_the_filer_why(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    case_id, people = await make_case(sessions, env.client, settings)
    wf = handle(env.client, settings, case_id)
    assert "reason" in await rejection(wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=False, actor_id=center.staff.id)))
    await wf.execute_update(
        CaseWorkflow.review_intake, IntakeDecision(accept=False, actor_id=center.staff.id, reason="Claims under $12,500 belong in small claims court.")
    )
    assert await wf.result() == "rejected"
    sent = await emails(sessions, "Your Request to Mediate", to="katy.perry@example.com")
    assert "small claims court" in sent[0].text_body


async def _at_least(count, awaitable):
    rows = await awaitable
    return rows if len(rows) >= count else None
