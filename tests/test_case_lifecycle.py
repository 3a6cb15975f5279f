"""The case workflow end to end on the time-skipping test server: days pass in milliseconds."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from core.db.models import BallotRecord, Case
from core.time import long_time, zone_for
from tests.support import emails, eventually, handle, join_case, make_case, make_center, status, wait_for_stage
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
    received = await eventually(lambda: _at_least(2, emails(sessions, "Request to Mediate received")))
    # The filer is told what happens next; the center is asked to review (not told "the center will review it").
    to_katy = next(e for e in received if e.to_email == "katy.perry@example.com")
    to_center = next(e for e in received if e.to_email == "mediation@car.org")
    assert to_katy.text_body.startswith("Hello Katy Perry,\n\nWe have received your Request to Mediate") and "Regards," in to_katy.text_body
    assert to_center.text_body.startswith("Hello center staff,\n\nA Request to Mediate was filed") and "Please review it" in to_center.text_body
    assert "The center will review it" not in to_center.text_body and "Hello C.A.R." not in to_center.text_body

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
    request = await eventually(lambda: emails(sessions, "Conflict check requested", to="mediator1@example.com"))
    assert "The parties of case" in request[0].text_body and "ranked you highest of the proposed mediators" in request[0].text_body
    # The handbook's notice at the tally: every participant learns who was selected and that the check can take 2 days.
    selected = await eventually(lambda: _at_least(2, emails(sessions, "Mediator selected RE: 742 Evergreen Terrace")))
    assert {e.to_email for e in selected} == {"katy.perry@example.com", "taylor.swift@example.com"}
    for mail in selected:
        assert "The mediator with the highest ranking by the parties is Mediator 1." in mail.text_body
        assert "conflict check to ensure neutrality for all parties, which can take up to 2 days" in mail.text_body
        assert "Mediator 2" not in mail.text_body and "3/2" not in mail.text_body

    await handle(env.client, settings, case_id).execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
    current = await wait_for_stage(env.client, settings, case_id, "accepted")
    assert current.mediator_id == m1
    told = await eventually(lambda: _at_least(2, emails(sessions, "Your mediator RE:")))
    assert {e.to_email for e in told} == {"katy.perry@example.com", "taylor.swift@example.com"}
    assert "Mediator 1 has accepted to mediate case" in told[0].text_body and "contact you to gather information" in told[0].text_body
    # The mediator is not told that they themselves have accepted: they are thanked and given their next steps.
    thanked = await eventually(lambda: emails(sessions, "You are the mediator RE:", to="mediator1@example.com"))
    assert thanked[0].text_body.startswith("Hello Mediator 1,\n\nThank you for accepting case")
    assert "Mediator 1 has accepted" not in thanked[0].text_body and "bill for your fee deposit" in thanked[0].text_body

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
    assert [t.detail for t in current.timeline if t.event == "ranking_reminder"] == ["Reminder sent to 1 person (1 party)"] * 2
    assert "ranking_deadline" in [t.event for t in current.timeline]
    assert len(await reminders()) == 2
    # Taylor learns the round closed without her ranking; the center learns whose rankings were missing.
    missed = await eventually(lambda: emails(sessions, "The mediator ranking closed without your ranking", to="taylor.swift@example.com"))
    assert "closed at its deadline" in missed[0].text_body and "chosen from the rankings the other parties submitted" in missed[0].text_body
    assert await emails(sessions, "The mediator ranking closed without your ranking", to="katy.perry@example.com") == []
    staff = await eventually(lambda: emails(sessions, "Ranking deadline passed with rankings missing", to="mediation@car.org"))
    assert "without rankings from Taylor Swift. 1 ranking was counted. Mediator 3 was selected" in staff[0].text_body
    selected = await eventually(lambda: _at_least(2, emails(sessions, "Mediator selected RE:")))
    assert all("is Mediator 3." in e.text_body for e in selected)


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
    assert {e.to_email for e in notices} == {"katy.perry@example.com", "taylor.swift@example.com"}
    for notice in notices:
        # Who could not serve and who is asked next, as the handbook promises; never the mediator's reason.
        assert "Mediator 2, the mediator selected for case" in notice.text_body and "is unable to accept the matter" in notice.text_body
        assert "The case is reassigned to Mediator 1, the next mediator in the order of preference" in notice.text_body
        assert "seller" not in notice.text_body and "seller" not in notice.html_body
    to_center = await eventually(lambda: emails(sessions, "Mediator declined RE:", to="mediation@car.org"))
    assert "Mediator 2 declined case" in to_center[0].text_body and "Their reason: I represented the seller in 2023." in to_center[0].text_body
    assert "Mediator 1, next in the order, is now asked" in to_center[0].text_body
    request = await eventually(lambda: emails(sessions, "Conflict check requested", to="mediator1@example.com"))
    assert "The mediator ranked above you by the parties" in request[0].text_body and "could not serve, so you are next" in request[0].text_body
    assert "ranked you highest" not in request[0].text_body
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
    # The mediator whose time ran out is told so; the center and the parties learn who could not serve and who is next.
    dropped = await eventually(lambda: emails(sessions, "Conflict check closed RE:", to="mediator1@example.com"))
    assert "so you are no longer asked to mediate it" in dropped[0].text_body and "Nothing more is needed from you" in dropped[0].text_body
    expired = await eventually(lambda: emails(sessions, "Conflict check expired RE:", to="mediation@car.org"))
    assert "Mediator 1 did not answer the conflict check" in expired[0].text_body and "Mediator 2, next in the order" in expired[0].text_body
    notices = await eventually(lambda: _at_least(2, emails(sessions, "Mediator reassignment RE:")))
    assert all("did not confirm acceptance within the time allowed" in n.text_body and "reassigned to Mediator 2" in n.text_body for n in notices)


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
    assert "No other mediator remains from this panel, so the center will propose a new panel" in last_notice[0].text_body
    declined = await eventually(lambda: emails(sessions, "Mediator declined RE:", to="mediation@car.org"))
    assert "No mediator remains in the order" in declined[0].text_body
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


async def test_reminders_follow_the_deadline_when_staff_extend_it(time_skipping_env, sessions, settings):
    """Reminders are planned before the deadline in force (4 days and 1 day before it): an extension of 3 days on day 5
    brings a reminder 4 days and another 1 day before the new deadline, instead of the last one 4 days before it."""
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    await rank(env, settings, case_id, people["Katy Perry"], [m1, m2, m3])
    reminders = lambda: emails(sessions, "Reminder: please submit your mediator rankings", to="taylor.swift@example.com")  # noqa: E731

    await env.sleep(timedelta(days=3, hours=1))
    await eventually(reminders)
    await env.sleep(timedelta(days=1, hours=23))  # day 5
    wf = handle(env.client, settings, case_id)
    extended = await wf.execute_update(CaseWorkflow.extend_ranking, DeadlineExtension(actor_id=center.staff.id, extra_seconds=3 * 86400))
    new_deadline = datetime.fromisoformat(extended.stage_deadline)

    await env.sleep(timedelta(hours=23))  # day 6, less an hour: the old second reminder's time has passed unsent
    assert len(await reminders()) == 1
    await env.sleep(timedelta(hours=2))
    second = await eventually(lambda: _at_least(2, reminders()))
    # Taylor has no zone of her own: the reminder states the new deadline in the center's.
    assert long_time(new_deadline, zone_for(None, settings.center_time_zone)) in second[1].text_body
    await env.sleep(timedelta(days=2, hours=22))  # day 9, less an hour
    assert len(await reminders()) == 2
    await env.sleep(timedelta(hours=2))
    await eventually(lambda: _at_least(3, reminders()))
    assert (await status(env.client, settings, case_id)).stage == "ranking"

    await env.sleep(timedelta(days=1))
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    opened = datetime.fromisoformat(next(t.at for t in current.timeline if t.event == "ranking_opened"))
    sent = [datetime.fromisoformat(t.at) - opened for t in current.timeline if t.event == "ranking_reminder"]
    assert [round(s / timedelta(hours=1)) for s in sent] == [3 * 24, 6 * 24, 9 * 24]
    assert len(await reminders()) == 3


async def test_an_extension_of_hours_moves_the_reminders_by_as_many_hours(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    await rank(env, settings, case_id, people["Taylor Swift"], [m1, m2, m3])
    reminders = lambda: emails(sessions, "Reminder: please submit your mediator rankings", to="katy.perry@example.com")  # noqa: E731
    await env.sleep(timedelta(days=1))
    await handle(env.client, settings, case_id).execute_update(
        CaseWorkflow.extend_ranking, DeadlineExtension(actor_id=center.staff.id, extra_seconds=12 * 3600)
    )

    await env.sleep(timedelta(days=2, hours=11))  # 3 days 11 hours in: past the unextended reminder, before the moved one
    assert await reminders() == []
    await env.sleep(timedelta(hours=2))
    await eventually(reminders)
    await env.sleep(timedelta(days=2, hours=22))  # 6 days 11 hours
    assert len(await reminders()) == 1
    await env.sleep(timedelta(hours=2))
    await eventually(lambda: _at_least(2, reminders()))
    await env.sleep(timedelta(hours=22))  # 7 days 11 hours: the deadline, moved by 12 hours, has not passed yet
    assert (await status(env.client, settings, case_id)).stage == "ranking"
    await env.sleep(timedelta(hours=2))
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    opened = datetime.fromisoformat(next(t.at for t in current.timeline if t.event == "ranking_opened"))
    deadline = datetime.fromisoformat(next(t.at for t in current.timeline if t.event == "ranking_deadline"))
    assert round((deadline - opened) / timedelta(hours=1)) == 7 * 24 + 12


async def test_representatives_and_interested_persons_are_told_in_their_own_words(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    await join_case(sessions, env.client, settings, case_id, "Rex Attorney", "representative", represents=taylor)
    await join_case(sessions, env.client, settings, case_id, "Ivy Interested", "interested")
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    asked = await eventually(lambda: emails(sessions, "Please submit your mediator rankings", to="rex.attorney@example.com"))
    assert "submit the mediator rankings of the party you represent" in asked[0].text_body
    assert await emails(sessions, "Please submit your mediator rankings", to="ivy.interested@example.com") == []
    await rank(env, settings, case_id, katy, [m2, m1, m3])

    await env.sleep(timedelta(days=3, hours=1))
    reminded = await eventually(lambda: _at_least(2, emails(sessions, "Reminder: please submit your mediator rankings")))
    assert {e.to_email for e in reminded} == {"taylor.swift@example.com", "rex.attorney@example.com"}
    assert "the mediator rankings of the party you represent" in next(e for e in reminded if e.to_email == "rex.attorney@example.com").text_body
    # Two people were reminded for one party, and the timeline says so.
    timeline = (await status(env.client, settings, case_id)).timeline
    assert [t.detail for t in timeline if t.event == "ranking_reminder"] == ["Reminder sent to 2 people (1 party)"]

    await handle(env.client, settings, case_id).execute_update(CaseWorkflow.close_ranking, StaffAction(actor_id=center.staff.id, reason="Proceed"))
    await wait_for_stage(env.client, settings, case_id, "conflict_check")
    closed = await eventually(lambda: _at_least(2, emails(sessions, "The mediator ranking closed without your ranking")))
    assert {e.to_email for e in closed} == {"taylor.swift@example.com", "rex.attorney@example.com"}
    assert (
        "closed early, when the center closed it, without a ranking from the party you represent"
        in next(e for e in closed if e.to_email == "rex.attorney@example.com").text_body
    )
    selected = await eventually(lambda: _at_least(4, emails(sessions, "Mediator selected RE:")))
    assert {e.to_email for e in selected} == {"katy.perry@example.com", "taylor.swift@example.com", "rex.attorney@example.com", "ivy.interested@example.com"}
    assert all("is Mediator 2." in e.text_body for e in selected)
    # Staff closed the round themselves: no "deadline passed" notice.
    assert await emails(sessions, "Ranking deadline passed") == []

    await handle(env.client, settings, case_id).execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m2, accept=True))
    told = await eventually(lambda: _at_least(3, emails(sessions, "Your mediator RE:")))
    to_ivy = next(e for e in told if e.to_email == "ivy.interested@example.com")
    assert "coordinate schedules for the mediation with the parties" in to_ivy.text_body and "contact you" not in to_ivy.text_body


async def test_without_any_ranking_the_panel_order_is_asked_and_says_so(time_skipping_env, sessions, settings):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, _ = await make_case(sessions, env.client, settings)
    await accept_intake(env, settings, case_id, center.staff.id, [m1, m2, m3])
    await env.sleep(timedelta(days=7, hours=1))
    current = await wait_for_stage(env.client, settings, case_id, "conflict_check")
    assert current.candidate_mediator_id == m1 and current.tally.ballots_counted == 0

    request = await eventually(lambda: emails(sessions, "Conflict check requested", to="mediator1@example.com"))
    assert "submitted a ranking, so the mediators are asked in the order of the proposed panel, and you are first" in request[0].text_body
    assert "The parties" not in request[0].text_body
    selected = await eventually(lambda: _at_least(2, emails(sessions, "Mediator selected RE:")))
    assert all("No mediator rankings were received" in e.text_body and "starting with Mediator 1" in e.text_body for e in selected)
    staff = await eventually(lambda: emails(sessions, "Ranking deadline passed", to="mediation@car.org"))
    assert "without rankings from Katy Perry and Taylor Swift. 0 rankings were counted." in staff[0].text_body
    missed = await eventually(lambda: _at_least(2, emails(sessions, "The mediator ranking closed without your ranking")))
    assert all("No party ranked" in e.text_body for e in missed)

    await handle(env.client, settings, case_id).execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=False, reason="Conflict"))
    second = await eventually(lambda: emails(sessions, "Conflict check requested", to="mediator2@example.com"))
    assert "the mediator before you on the proposed panel could not serve, so you are asked next" in second[0].text_body


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
    notices = await eventually(lambda: _at_least(4, emails(sessions, "Case withdrawn RE:")))
    assert {e.to_email for e in notices} == {"katy.perry@example.com", "taylor.swift@example.com", "mediation@car.org", "mediator1@example.com"}
    # The mediator in the middle of the check is told it is no longer needed; the reason is for the people on the case.
    to_mediator = next(e for e in notices if e.to_email == "mediator1@example.com")
    assert "for which you were asked to do a conflict check, has been withdrawn" in to_mediator.text_body
    assert "settled on their own" not in to_mediator.text_body
    assert "Reason: The parties settled on their own." in next(e for e in notices if e.to_email == "katy.perry@example.com").text_body
    # The case's workflow completed when the case ended, so a second withdrawal reaches nothing (the app's door,
    # features/lifecycle.py, answers it "This case is already over").
    assert await wf.result() == "withdrawn"
    with pytest.raises(RPCError) as refused:
        await wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=center.staff.id, reason="again"))
    assert refused.value.status == RPCStatusCode.NOT_FOUND


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
