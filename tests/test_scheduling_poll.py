"""The scheduling poll's workflow on the time-skipping test server: the reminder after 2 days and the deadline after 5
pass in milliseconds; every change goes through an Update whose validator refuses bad input before it enters history;
the pick schedules the case and puts the Mediation session on the calendar."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from core.db.models import CalendarEvent, Case, SchedulingPoll, SchedulingRespondent
from core.scheduling import PollRespondent
from core.time import as_utc
from tests.support import emails, eventually, handle, join_case, make_case, make_center, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.scheduling_poll import (
    AvailabilityAnswers,
    MoreSlots,
    PollCancel,
    PollInput,
    PollTimers,
    SchedulingPollWorkflow,
    SlotChoice,
    SlotPick,
    SlotProposal,
)
from workflows.types import ConflictDecision, IntakeDecision, MediatorMilestone, RankingSubmission

pytestmark = [pytest.mark.usefixtures("worker"), pytest.mark.both_databases]

OPENED = "Please mark the times you can attend RE:"
REMINDER = "Reminder: please mark the times you can attend RE:"
ANSWERS_ARE_IN = "Answers are in: pick the time for the mediation RE:"
SCHEDULED = "Mediation scheduled:"


async def accepted_case(env, sessions, settings):
    """Katy against Taylor, with Taylor's attorney Rex and Ivy (interested); Mediator 1 accepted. Returns ids by name."""
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, env.client, settings)
    people["Rex Attorney"] = await join_case(sessions, env.client, settings, case_id, "Rex Attorney", "representative", represents=people["Taylor Swift"])
    people["Ivy Interested"] = await join_case(sessions, env.client, settings, case_id, "Ivy Interested", "interested")
    wf = handle(env.client, settings, case_id)
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
    await wait_for_stage(env.client, settings, case_id, "ranking")
    for party in ("Katy Perry", "Taylor Swift"):
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=people[party], party_id=people[party], ranked=[m1, m2, m3]))
    await wait_for_stage(env.client, settings, case_id, "conflict_check")
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
    await wait_for_stage(env.client, settings, case_id, "accepted")
    people["Mediator 1"], people["Staff"] = m1, center.staff.id
    return case_id, people


def respondents(people) -> list[PollRespondent]:
    return [
        PollRespondent(people["Katy Perry"], "party"),
        PollRespondent(people["Taylor Swift"], "party"),
        PollRespondent(people["Rex Attorney"], "representative"),
        PollRespondent(people["Ivy Interested"], "interested"),
    ]


def slot(start: datetime, hours: int = 3) -> SlotProposal:
    return SlotProposal(starts_at=start.isoformat(), ends_at=(start + timedelta(hours=hours)).isoformat())


async def open_poll(env, settings, case_id, people, starts: list[datetime], number: int = 1) -> WorkflowHandle:
    """As the web's "Propose times" does: start the poll's workflow, then wait until it is in the database."""
    poll = await env.client.start_workflow(
        SchedulingPollWorkflow.run,
        PollInput(
            case_id=case_id,
            number=number,
            mediator_id=people["Mediator 1"],
            proposed_by_id=people["Mediator 1"],
            slots=[slot(s) for s in starts],
            respondents=respondents(people),
            timers=PollTimers.from_settings(settings),
        ),
        id=settings.poll_workflow_id(case_id, number),
        task_queue=settings.task_queue,
    )
    await poll.execute_update(SchedulingPollWorkflow.published)
    return poll


def answers(actor: int, role: str, *marks: tuple[int, str]) -> AvailabilityAnswers:
    return AvailabilityAnswers(actor_id=actor, role=role, answers=[SlotChoice(slot=n, answer=a) for n, a in marks])


async def refusal(coro) -> tuple[str, list]:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await coro
    cause = failure.value.cause
    return str(cause), list(getattr(cause, "details", []) or [])


async def silent_people(sessions, settings, case_id: int) -> set[int]:
    """Who the published poll still waits on: the query the staff board makes."""
    async with sessions() as session:
        return set(
            (
                await session.execute(
                    select(SchedulingRespondent.person_id)
                    .join(SchedulingPoll, SchedulingPoll.id == SchedulingRespondent.poll_id)
                    .where(SchedulingPoll.case_id == case_id, SchedulingPoll.status == "open", SchedulingRespondent.answered.is_(False))
                )
            ).scalars()
        )


async def poll_row(sessions, workflow_id: str) -> SchedulingPoll:
    async with sessions() as session:
        return await session.scalar(select(SchedulingPoll).where(SchedulingPoll.workflow_id == workflow_id))


async def at_least(count, rows):
    found = await rows
    return found if len(found) >= count else None


async def test_reminder_after_two_days_deadline_after_five_then_more_times_and_the_pick(time_skipping_env, sessions, settings):
    env = time_skipping_env
    case_id, people = await accepted_case(env, sessions, settings)
    katy, taylor, rex, ivy = (people[n] for n in ("Katy Perry", "Taylor Swift", "Rex Attorney", "Ivy Interested"))
    now = await env.get_current_time()
    first, second, third = (now + timedelta(days=d, hours=2) for d in (10, 11, 12))
    poll = await open_poll(env, settings, case_id, people, [first, second, third])

    opened = await eventually(lambda: at_least(4, emails(sessions, OPENED)))
    assert {e.to_email for e in opened} == {"katy.perry@example.com", "taylor.swift@example.com", "rex.attorney@example.com", "ivy.interested@example.com"}
    to_rex = next(e for e in opened if e.to_email == "rex.attorney@example.com")
    assert "Mediator 1, the mediator of case" in to_rex.text_body and "with the party you represent" in to_rex.text_body
    assert to_rex.text_body.count("\n- ") == 3 and f"/cases/{case_id}/scheduling" in to_rex.text_body
    assert "As an interested person on the case" in next(e for e in opened if e.to_email == "ivy.interested@example.com").text_body
    assert await silent_people(sessions, settings, case_id) == {katy, taylor, rex, ivy}
    row = await poll_row(sessions, poll.id)
    assert row.status == "open" and row.answers_due_at is not None

    await poll.execute_update(SchedulingPollWorkflow.answer, answers(katy, "party", (1, "available"), (2, "if_need_be"), (3, "available")))
    await poll.execute_update(SchedulingPollWorkflow.answer, answers(ivy, "interested", (1, "unavailable"), (2, "available"), (3, "available")))
    # Katy changes her mind before answers close.
    await poll.execute_update(SchedulingPollWorkflow.answer, answers(katy, "party", (1, "unavailable"), (2, "if_need_be"), (3, "available")))
    assert await silent_people(sessions, settings, case_id) == {taylor, rex}

    reminders = lambda: emails(sessions, REMINDER)  # noqa: E731
    await env.sleep(timedelta(days=1, hours=23))
    assert await reminders() == []
    await env.sleep(timedelta(hours=2))
    reminded = await eventually(lambda: at_least(2, reminders()))
    # Only those who have not marked every time are reminded.
    assert {e.to_email for e in reminded} == {"taylor.swift@example.com", "rex.attorney@example.com"}

    await poll.execute_update(SchedulingPollWorkflow.answer, answers(taylor, "party", (1, "available"), (2, "available"), (3, "available")))
    await env.sleep(timedelta(days=2, hours=22))  # 4 days 23 hours in: answers still open
    assert (await poll_row(sessions, poll.id)).status == "open"
    assert len(await reminders()) == 2
    await env.sleep(timedelta(hours=2))
    told = await eventually(lambda: emails(sessions, ANSWERS_ARE_IN, to="mediator1@example.com"))
    # Time 3 suits both parties (both available): the best; Rex never answered.
    assert "The best time, which every party can attend, is" in told[0].text_body and "Rex Attorney did not mark every time" in told[0].text_body
    assert (await poll_row(sessions, poll.id)).status == "answers_closed"
    text, _ = await refusal(
        poll.execute_update(SchedulingPollWorkflow.answer, answers(rex, "representative", (1, "available"), (2, "available"), (3, "available")))
    )
    assert "closed at its deadline" in text

    # More times reopen answers for a new window; everyone asked is emailed again.
    fourth = now + timedelta(days=14, hours=2)
    await poll.execute_update(SchedulingPollWorkflow.add_slots, MoreSlots(actor_id=people["Mediator 1"], slots=[slot(fourth)], respondents=respondents(people)))
    row = await poll_row(sessions, poll.id)
    assert row.status == "open"
    assert await silent_people(sessions, settings, case_id) == {katy, taylor, rex, ivy}
    more = await eventually(lambda: at_least(4, emails(sessions, "More times proposed: please mark them RE:")))
    assert all(e.text_body.count("\n- ") == 4 for e in more)

    picked = await poll.execute_update(SchedulingPollWorkflow.pick, SlotPick(actor_id=people["Mediator 1"], slot=3, location="https://zoom.example.com/j/42"))
    assert picked.status == "picked" and picked.picked_slot == 3 and picked.event_id is not None
    async with sessions() as session:
        case = await session.get(Case, case_id)
        event = await session.get(CalendarEvent, picked.event_id)
    assert case.stage == "scheduled" and case.mediation_scheduled
    assert event.is_mediation and event.title == "Mediation" and event.location == "https://zoom.example.com/j/42"
    assert as_utc(event.starts_at) == third and as_utc(event.ends_at) == third + timedelta(hours=3)
    # Everyone on the case, the mediator too, is emailed the time with the .ics attached.
    scheduled = await eventually(lambda: at_least(5, emails(sessions, SCHEDULED)))
    assert {e.to_email for e in scheduled} == {
        "katy.perry@example.com",
        "taylor.swift@example.com",
        "rex.attorney@example.com",
        "ivy.interested@example.com",
        "mediator1@example.com",
    }
    for mail in scheduled:
        (attached,) = mail.attachments
        assert attached["filename"] == f"case-{case_id}-event-{event.id}.ics" and attached["content_type"].startswith("text/calendar")
    assert await poll.result() == "picked"


async def test_bad_answers_and_outsiders_are_refused_before_they_enter_history(time_skipping_env, sessions, settings):
    env = time_skipping_env
    case_id, people = await accepted_case(env, sessions, settings)
    katy = people["Katy Perry"]
    now = await env.get_current_time()
    poll = await open_poll(env, settings, case_id, people, [now + timedelta(days=3), now + timedelta(days=4)])

    text, fields = await refusal(poll.execute_update(SchedulingPollWorkflow.answer, answers(katy, "party", (1, "available"))))
    assert "1 of the 2 times is not marked" in text and fields == ["answers"]
    text, fields = await refusal(poll.execute_update(SchedulingPollWorkflow.answer, answers(katy, "party", (1, "available"), (9, "available"))))
    assert "no such time" in text and fields == ["answers.1.slot"]
    text, fields = await refusal(poll.execute_update(SchedulingPollWorkflow.answer, answers(katy, "party", (1, "maybe"), (2, "available"))))
    assert fields == ["answers.0.answer"]
    text, _ = await refusal(poll.execute_update(SchedulingPollWorkflow.answer, answers(people["Mediator 1"], "mediator", (1, "available"), (2, "available"))))
    assert "Only the parties" in text
    text, _ = await refusal(poll.execute_update(SchedulingPollWorkflow.pick, SlotPick(actor_id=katy, slot=1)))
    assert "Only the case's mediator or center staff" in text
    text, fields = await refusal(poll.execute_update(SchedulingPollWorkflow.pick, SlotPick(actor_id=people["Mediator 1"], slot=5)))
    assert fields == ["slot"]
    too_many = [slot(now + timedelta(days=10 + n)) for n in range(7)]
    text, fields = await refusal(poll.execute_update(SchedulingPollWorkflow.add_slots, MoreSlots(actor_id=people["Mediator 1"], slots=too_many)))
    assert "at most 8 times" in text and fields == ["slots"]
    text, fields = await refusal(
        poll.execute_update(SchedulingPollWorkflow.add_slots, MoreSlots(actor_id=people["Mediator 1"], slots=[slot(now - timedelta(days=1))]))
    )
    assert "already passed" in text and fields == ["slots.0.starts_at"]
    backwards = SlotProposal(starts_at=(now + timedelta(days=9)).isoformat(), ends_at=(now + timedelta(days=8)).isoformat())
    text, fields = await refusal(poll.execute_update(SchedulingPollWorkflow.add_slots, MoreSlots(actor_id=people["Mediator 1"], slots=[backwards])))
    assert fields == ["slots.0.ends_at"]
    # Refused Updates never enter history: the only one accepted is the web's wait for the new poll.
    history = await poll.fetch_history()
    accepted = [e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert [e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name for e in accepted] == ["published"]

    # Staff may pick; a time that has passed cannot be picked.
    await env.sleep(timedelta(days=3, hours=1))
    text, _ = await refusal(poll.execute_update(SchedulingPollWorkflow.pick, SlotPick(actor_id=people["Staff"], slot=1, is_staff=True)))
    assert "already passed" in text
    picked = await poll.execute_update(SchedulingPollWorkflow.pick, SlotPick(actor_id=people["Staff"], slot=2, is_staff=True, meeting_type="In person"))
    assert picked.status == "picked"
    text, _ = await refusal(poll.execute_update(SchedulingPollWorkflow.cancel, PollCancel(actor_id=people["Mediator 1"])))
    assert "has closed" in text


async def test_a_poll_whose_case_was_scheduled_from_the_calendar_closes_itself_without_reminding(time_skipping_env, sessions, settings):
    env = time_skipping_env
    case_id, people = await accepted_case(env, sessions, settings)
    now = await env.get_current_time()
    poll = await open_poll(env, settings, case_id, people, [now + timedelta(days=10), now + timedelta(days=11)])
    await handle(env.client, settings, case_id).execute_update(CaseWorkflow.record_scheduled, MediatorMilestone(actor_id=people["Mediator 1"]))
    await wait_for_stage(env.client, settings, case_id, "scheduled")

    await env.sleep(timedelta(days=2, hours=1))
    assert await poll.result() == "cancelled"
    row = await poll_row(sessions, poll.id)
    assert row.status == "cancelled" and "put on the case calendar" in row.closed_reason
    assert await emails(sessions, REMINDER) == []


async def test_cancelled_poll_tells_those_asked_and_a_new_poll_can_open(time_skipping_env, sessions, settings):
    env = time_skipping_env
    case_id, people = await accepted_case(env, sessions, settings)
    now = await env.get_current_time()
    poll = await open_poll(env, settings, case_id, people, [now + timedelta(days=10), now + timedelta(days=11)])
    cancelled = await poll.execute_update(SchedulingPollWorkflow.cancel, PollCancel(actor_id=people["Mediator 1"], reason="The parties asked for evenings"))
    assert cancelled.status == "cancelled"
    told = await eventually(lambda: at_least(4, emails(sessions, "Proposed times withdrawn RE:")))
    assert all("(The parties asked for evenings)" in e.text_body for e in told)
    assert await poll.result() == "cancelled"

    second = await open_poll(env, settings, case_id, people, [now + timedelta(days=12, hours=18), now + timedelta(days=13, hours=18)], number=2)
    assert (await poll_row(sessions, second.id)).number == 2
    assert await silent_people(sessions, settings, case_id) == {people[n] for n in ("Katy Perry", "Taylor Swift", "Rex Attorney", "Ivy Interested")}
