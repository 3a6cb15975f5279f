"""A case started on older workflow code finishes on the current code: a change the case had already met the
old way stays old for that case (replay must match its history), and a change it had not yet met applies.

The older code is the current code with every patch answered "not yet" (what `workflow.patched` returns in
the code before a patch existed); the case runs on it for a while, then a worker with the current code takes
over from history.
"""

from datetime import timedelta

from temporalio import workflow

from core.db.models import Case
from features.cases.roster import roster_for
from tests.support import emails, eventually, handle, join_case, make_case, make_center, wait_for_stage
from workflows.case import (
    BALLOT_RECEIPT_PATCH,
    DISCLOSURE_PATCH,
    INVITATION_FIRST_PATCH,
    LOCAL_BALLOT_AUDIT_PATCH,
    PEOPLE_TOLD_PATCH,
    RETENTION_BY_SCHEDULE_PATCH,
    RETENTION_PATCH,
    CaseWorkflow,
)
from workflows.types import CaseClosure, ConflictDecision, DisclosureAnswers, IntakeDecision, RankingSubmission, Reconfirmation, RosterChange
from workflows.worker import build_worker


def patch_markers(history) -> list[str]:
    markers = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes") and event.marker_recorded_event_attributes.marker_name == "core_patch":
            markers.append(event.marker_recorded_event_attributes.details["patch-data"].payloads[0].data.decode())
    return markers


async def test_case_started_before_the_patches_finishes_on_the_current_code(time_skipping_env, sessions, settings, monkeypatch):
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])

    # Older code: no patch exists yet.
    monkeypatch.setattr(workflow, "patched", lambda _patch_id: False)
    # No cache, hence no sticky task queue: the next worker must get the case's tasks at once, and the test
    # server's clock (frozen while the test waits on an update) would never let a sticky timeout expire.
    older = settings.model_copy(update={"worker_max_cached_workflows": 0})
    async with build_worker(env.client, sessions, older):
        case_id, people = await make_case(sessions, env.client, settings)
        wf = handle(env.client, settings, case_id)
        await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
        await wait_for_stage(env.client, settings, case_id, "ranking")
        katy, taylor = people["Katy Perry"], people["Taylor Swift"]
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=katy, party_id=katy, ranked=[m1, m2, m3]))
    monkeypatch.undo()
    assert patch_markers(await wf.fetch_history()) == []

    # The current code takes over: it replays what happened (old branches) and goes on with the new ones.
    async with build_worker(env.client, sessions, settings):
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=taylor, party_id=taylor, ranked=[m1, m3, m2]))
        await wait_for_stage(env.client, settings, case_id, "conflict_check")
        await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
        await wait_for_stage(env.client, settings, case_id, "accepted")
        await wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="settled"))
        await wait_for_stage(env.client, settings, case_id, "closed")
        assert await wf.result() == "closed"

    markers = patch_markers(await wf.fetch_history())
    # A patch answers once per case: the ballot audit and the invitation order had already been decided the
    # old way, so they stay old for this case (both ballots are normal activities); retention had never come
    # up, so this case gets the newest behaviour: it completes when it ends (the retention sweep deletes its
    # records later), with no timer of its own.
    assert markers == [f'{{"id":"{RETENTION_BY_SCHEDULE_PATCH}","deprecated":false}}']
    assert RETENTION_PATCH not in str(markers)
    assert LOCAL_BALLOT_AUDIT_PATCH not in str(markers) and INVITATION_FIRST_PATCH not in str(markers)
    # Its ranking round had begun the old way, so its workflow keeps the old notices to the end (no tally notice);
    # the words of the emails it does send are the new ones, which address each recipient in their role.
    assert PEOPLE_TOLD_PATCH not in str(markers)
    assert await emails(sessions, "Mediator selected") == []
    # Its first ballot was taken the old way, so its second gets no receipt either.
    assert BALLOT_RECEIPT_PATCH not in str(markers) and await emails(sessions, "Receipt of") == []
    assert len(await emails(sessions, "You are the mediator", to="mediator1@example.com")) == 1
    ballot_events = [
        e
        for e in (await wf.fetch_history()).events
        if e.HasField("activity_task_scheduled_event_attributes") and e.activity_task_scheduled_event_attributes.activity_type.name == "record_ballot"
    ]
    assert len(ballot_events) == 2


async def _at_least(count, awaitable):
    rows = await awaitable
    return rows if len(rows) >= count else None


async def test_a_case_already_sleeping_on_its_own_retention_timer_still_purges_on_the_current_code(time_skipping_env, sessions, settings, monkeypatch):
    """Cases that ended before the retention sweep existed wait on a timer of their own; the current code keeps it."""
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    current = workflow.patched
    monkeypatch.setattr(workflow, "patched", lambda patch_id: False if patch_id == RETENTION_BY_SCHEDULE_PATCH else current(patch_id))
    older = settings.model_copy(update={"worker_max_cached_workflows": 0})
    async with build_worker(env.client, sessions, older):
        case_id, people = await make_case(sessions, env.client, settings)
        wf = handle(env.client, settings, case_id)
        await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
        for party in people.values():
            await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=party, party_id=party, ranked=[m1, m2, m3]))
        await wait_for_stage(env.client, settings, case_id, "conflict_check")
        await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
        await wait_for_stage(env.client, settings, case_id, "accepted")
        await wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="settled"))

        async def sleeping():
            async with sessions() as session:
                return (await session.get(Case, case_id)).retention_due_at

        await eventually(sleeping)
    monkeypatch.undo()

    async with build_worker(env.client, sessions, settings):
        await env.sleep(timedelta(days=731))

        async def purged():
            async with sessions() as session:
                return (await session.get(Case, case_id)).records_purged_at

        await eventually(purged)
        assert await wf.result() == "closed"
    markers = patch_markers(await wf.fetch_history())
    assert f'"id":"{RETENTION_PATCH}"' in str(markers) and RETENTION_BY_SCHEDULE_PATCH not in str(markers)


async def test_a_case_accepted_before_disclosures_asks_its_mediator_again_when_someone_joins(time_skipping_env, sessions, settings, monkeypatch):
    """The continuing duty reaches cases accepted on the older code: the first person to join after the current code
    takes over is asked about (the patch is decided there, once, for the case)."""
    env = time_skipping_env
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    monkeypatch.setattr(workflow, "patched", lambda _patch_id: False)
    older = settings.model_copy(update={"worker_max_cached_workflows": 0})
    async with build_worker(env.client, sessions, older):
        case_id, people = await make_case(sessions, env.client, settings)
        wf = handle(env.client, settings, case_id)
        await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
        await wait_for_stage(env.client, settings, case_id, "ranking")
        for party in people.values():
            await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=party, party_id=party, ranked=[m1, m2, m3]))
        await wait_for_stage(env.client, settings, case_id, "conflict_check")
        await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
        await wait_for_stage(env.client, settings, case_id, "accepted")
    monkeypatch.undo()
    assert patch_markers(await wf.fetch_history()) == []

    async with build_worker(env.client, sessions, settings):
        ivy = await join_case(sessions, env.client, settings, case_id, "Ivy Interested", "interested")
        async with sessions() as session:
            roster = await roster_for(session, case_id)
        await wf.execute_update(CaseWorkflow.change_roster, RosterChange(parties=roster, added_person_id=ivy, added_role="interested"))
        asked = (await wf.query(CaseWorkflow.status)).disclosures
        assert [(r.kind, r.status, r.about_person_id) for r in asked] == [("reconfirmation", "awaiting_mediator", ivy)]
        await eventually(lambda: emails(sessions, "Please confirm again: a person joined", to="mediator1@example.com"))
        await wf.execute_update(CaseWorkflow.reconfirm, Reconfirmation(actor_id=m1, person_id=ivy, disclosure=DisclosureAnswers()))
        await wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="settled"))
        assert await wf.result() == "closed"
    assert f'"id":"{DISCLOSURE_PATCH}"' in str(patch_markers(await wf.fetch_history()))
