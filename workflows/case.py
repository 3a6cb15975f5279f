"""One durable workflow per case: intake, ranking rounds, the conflict check, and the case until it closes.

The workflow is the source of truth for the lifecycle. Every human action arrives as an Update
whose validator rejects bad input before it enters history; activities write the database
mirror and send email. Emails go through an in-workflow queue drained by one coroutine, so
they leave in order and a long email outage never holds up a deadline.
"""

import asyncio
import dataclasses
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.notifications import EMAIL_DELIVERY, KEEP_EMAILS, NotificationActivities
    from activities.types import ActivityOptions, BallotAudit, Notification, PanelRequest, RetentionRecord, StageRecord
    from core.case_state import CaseState, ConflictAttempt, DisclosureResponse, MediatorDisclosure, PartyProgress, TallyResult, TimelineEntry
    from core.stages import FINAL_STAGES, OUTCOMES, STAGE_LABELS, Stage
    from core.wording import counted, duration_words
    from workflows.ballot_fingerprint import ballot_fingerprint
    from workflows.tally import Ballot, InvalidBallot, tally, validate_ballot
    from workflows.types import (
        BallotView,
        CaseClosure,
        CaseInput,
        ConflictDecision,
        DeadlineExtension,
        DisclosureAnswers,
        DisclosureReply,
        IntakeDecision,
        MediatorMilestone,
        NewPanel,
        ObjectionRuling,
        RankingReceipt,
        RankingSubmission,
        Reconfirmation,
        RosterChange,
        RosterParty,
        StaffAction,
    )

DATABASE_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1)),
}


# The state every page reads is written by the workflow itself, as a local activity, each write with a version
# that only grows; Updates answer once the state they led to is written. Cases started earlier keep the mirror.
PUBLISH_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
}

READ_MODEL_PATCH = "state-published-by-the-workflow"
RETENTION_PATCH = "retention-timer"
RETENTION_BY_SCHEDULE_PATCH = "retention-by-schedule"
LOCAL_BALLOT_AUDIT_PATCH = "ballot-audit-local-activity"
INVITATION_FIRST_PATCH = "ranking-invitation-before-stage-record"
# Everyone waited on or dropped is told: the tally notice naming the selected mediator, reminders planned before the
# deadline in force, reassignment notices naming who could not serve and who is next, the center told of declines,
# expired checks and missed deadlines, the dropped mediator and the party whose round closed without its ranking.
PEOPLE_TOLD_PATCH = "everyone-waited-on-or-dropped-is-told"
# A case's emails are written into the ledger by a local activity, a batch at a time; only SendGrid's delivery is
# an activity of its own. Cases that sent emails one activity each before keep doing so until their next email.
EMAILS_KEPT_LOCALLY_PATCH = "emails-kept-by-a-local-activity"
# Each ballot that counts is emailed to its party (and to the representative who sent it) as a receipt: its order,
# its elimination, the time and its fingerprint (workflows/ballot_fingerprint.py). Decided once per case, at its first ballot.
BALLOT_RECEIPT_PATCH = "ballot-receipts-with-fingerprints"
# A mediator who discloses something at the conflict check (or at a re-confirmation, when a person joins after
# acceptance) is the parties' only if no party objects within the window, or the center overrules the objection.
# Decided once per case, at the first disclosure or re-confirmation it meets.
DISCLOSURE_PATCH = "disclosure-objection-window-and-reconfirmation"
ROLES_TO_RECONFIRM = ("party", "representative", "interested")


class CaseWithdrawn(Exception):
    """Raised inside the lifecycle when staff withdraw the case, to leave whatever stage it is in."""


def rejected(message: str) -> ApplicationError:
    """The action cannot happen at this moment of the case (answered 409)."""
    return ApplicationError(message, type="ActionRejected", non_retryable=True)


def not_allowed(message: str) -> ApplicationError:
    """The person may not do this on this case, whatever the moment (answered 403)."""
    return ApplicationError(message, type="NotAllowed", non_retryable=True)


def invalid(field: str, message: str) -> ApplicationError:
    """The input itself is wrong, whatever the moment (answered 422, next to `field`)."""
    return ApplicationError(message, field, type="InvalidInput", non_retryable=True)


@workflow.defn
class CaseWorkflow:
    @workflow.init
    def __init__(self, input: CaseInput) -> None:
        self._case = input
        self._timers = input.timers
        self._parties: dict[int, RosterParty] = {p.person_id: p for p in input.parties}
        self._stage = Stage.INTAKE_REVIEW
        self._stage_since: datetime | None = None
        self._deadline: datetime | None = None
        self._deadline_version = 0
        self._round = 0
        self._panel: list[int] = []
        self._ballots: dict[int, BallotView] = {}
        self._close_round_early = False
        self._intake: IntakeDecision | None = None
        self._tally: TallyResult | None = None
        self._tally_history: list[TallyResult] = []
        self._candidate: int | None = None
        self._conflict_decision: ConflictDecision | None = None
        self._attempts: list[ConflictAttempt] = []
        self._tried: list[int] = []
        self._new_panel: NewPanel | None = None
        self._mediator: int | None = None
        self._fee_deposit_collected = False
        self._mediation_scheduled = False
        self._milestone_pending = False
        self._closure: CaseClosure | None = None
        self._withdrawal: StaffAction | None = None
        self._outcome: str | None = None
        self._note = ""
        self._timeline: list[TimelineEntry] = []
        self._emails: list[Notification] = []
        self._email_seq = 0
        self._lifecycle_over = False
        self._retention_due: datetime | None = None
        self._records_purged = False
        # The mediators' answers to the disclosure questions, and the parties' objection windows.
        self._disclosures: list[MediatorDisclosure] = []
        # What arrived for a disclosure and waits for the lifecycle to apply it: re-confirmation answers and the
        # center's rulings, by disclosure number; every arrival (party replies too) bumps the counter.
        self._reconfirmations: dict[int, Reconfirmation] = {}
        self._rulings: dict[int, ObjectionRuling] = {}
        self._disclosure_inputs = 0
        # People who joined while the parties reviewed a disclosure, before acceptance (person id, role).
        self._joined_during_review: list[tuple[int, str]] = []
        # The published state: every visible change bumps the version; the publisher writes the newest one.
        self._read_model = False
        self._version = 0
        self._published = 0
        self._finished = False
        # False while the lifecycle waits for people or time: an Update's effects have then all been applied.
        self._lifecycle_busy = True

    @workflow.run
    async def run(self, input: CaseInput) -> str:
        self._read_model = workflow.patched(READ_MODEL_PATCH)
        self._stage_since = workflow.now()
        mail_queue = asyncio.create_task(self._deliver_emails())
        publisher = asyncio.create_task(self._publish_states()) if self._read_model else None
        self._log("filed", f"Request to Mediate filed for {input.property_address}")
        try:
            await self._lifecycle()
        except CaseWithdrawn:
            await self._finish_withdrawal()
        self._lifecycle_busy = False
        self._lifecycle_over = True
        await mail_queue
        await workflow.wait_condition(workflow.all_handlers_finished)
        # A case that ends now completes here: the retention Schedule (workflows/retention.py) deletes its records under
        # the center's policy of the day, so no workflow stays open for years. Cases that ended before that sleep on
        # the timer they started; those that ended before retention existed replay without either (no marker).
        ended = self._stage in (Stage.CLOSED, Stage.WITHDRAWN)
        if ended and not workflow.patched(RETENTION_BY_SCHEDULE_PATCH) and workflow.patched(RETENTION_PATCH):
            await self._retain_then_purge()
        self._finished = True
        if publisher is not None:
            await publisher
        return str(self._stage)

    async def _retain_then_purge(self) -> None:
        due = workflow.now() + timedelta(seconds=self._timers.retention_seconds)
        self._retention_due = due
        if self._read_model:
            self._changed()
        else:
            await workflow.execute_activity_method(
                CaseActivities.record_retention, RetentionRecord(case_id=self._case.case_id, due_at=due.isoformat()), **DATABASE_ACTIVITY
            )
        await workflow.sleep(due - workflow.now())
        await workflow.execute_activity_method(CaseActivities.purge_case_records, self._case.case_id, **DATABASE_ACTIVITY)
        self._records_purged = True
        self._log("records_purged", "Documents, messages and discussions deleted at the end of the retention period")

    # ---- the lifecycle -------------------------------------------------------------------------

    async def _lifecycle(self) -> None:
        await self._record()
        self._notify("intake_received", recipients=[self._case.filed_by_id], to_center=True)
        await self._wait(lambda: self._intake is not None)
        assert self._intake is not None
        if not self._intake.accept:
            self._enter(Stage.REJECTED)
            self._note = self._intake.reason
            self._log("intake_rejected", self._intake.reason)
            await self._record()
            self._notify("intake_rejected", recipients=[self._case.filed_by_id], details={"reason": self._intake.reason})
            return
        self._log("intake_accepted")
        panel = self._intake.panel or await self._propose_panel()
        mediator = await self._select_mediator(panel)
        # An objection upheld after acceptance (or the mediator stepping down at a re-confirmation) ends the mediator's
        # part: the next mediator in the last order is asked, or a new panel is ranked, and the case goes on with them.
        while not await self._serve(mediator):
            mediator = await self._select_mediator(self._panel, remaining=self._rest_of_order())

        assert self._closure is not None
        self._end_pending_disclosures()
        self._enter(Stage.CLOSED)
        self._outcome = self._closure.outcome
        self._note = self._closure.note
        self._log("closed", self._closure.outcome.replace("_", " "), self._closure.actor_id)
        await self._record()
        self._notify("case_closed", all_participants=True, details={"outcome": self._closure.outcome})

    async def _select_mediator(self, panel: list[int], remaining: list[int] | None = None) -> int:
        """Rank the panel and ask its mediators in the parties' order until one accepts; when none does, staff propose a
        new panel and the parties rank again. With `remaining` (the rest of the last order, after a mediator's part
        ended), those are asked first, without a new round."""
        while True:
            mediator: int | None = None
            if remaining is not None:
                if remaining:
                    mediator = await self._conflict_check(remaining, continuing=True)
                remaining = None
            elif panel:
                order = await self._ranking_round(panel)
                mediator = await self._conflict_check(order)
            if mediator is not None:
                return mediator
            await self._await_new_panel(
                "No mediator could be assigned from the last panel." if panel else "The mediator directory has no further mediators to propose."
            )
            assert self._new_panel is not None
            panel = self._new_panel.panel or await self._propose_panel()

    async def _serve(self, mediator: int) -> bool:
        """The case with its mediator, from acceptance until it is closed (True), or until their part ends first (False):
        an objection upheld at a re-confirmation, or the mediator stepping down."""
        self._mediator = mediator
        self._candidate = None
        self._deadline = None
        self._enter(Stage.ACCEPTED)
        self._log("mediator_accepted", "", mediator)
        await self._record()
        # The mediator is told in their own words (and even before the published state makes them a participant).
        self._notify(
            "mediator_accepted", all_participants=True, recipients=[mediator] if self._tells_everyone() else [], details={"mediator_id": str(mediator)}
        )
        # People who joined while the parties could still object to the mediator's disclosure were not on the case
        # the mediator answered about: the mediator confirms again for them now.
        for person_id, role in self._joined_during_review:
            self._ask_reconfirmation(person_id, role)
        self._joined_during_review = []

        while self._closure is None:
            seen = self._disclosure_inputs
            window, now = self._next_objection_deadline(), workflow.now()
            if window is None or window > now:
                await self._wait(
                    lambda seen=seen: self._closure is not None or self._milestone_pending or self._disclosure_inputs != seen,
                    timeout=window - now if window is not None else None,
                )
            if self._milestone_pending:
                self._milestone_pending = False
                if self._mediation_scheduled:
                    self._enter(Stage.SCHEDULED)
                await self._record()
            if self._closure is not None:
                # Closing wins: whatever is pending about the mediator ends with the case.
                break
            ended = self._apply_disclosures()
            if ended:
                self._replace_mediator(ended[0])
                return False
        return True

    def _replace_mediator(self, record: MediatorDisclosure) -> None:
        """The mediator's part ends after acceptance: an objection to their disclosure upheld, or they stepped down. The
        case leaves them (their fee deposit and schedule go with them) and everyone is told who is asked next."""
        mediator = record.mediator_id
        attempt = next(a for a in reversed(self._attempts) if a.mediator_id == mediator)
        attempt.outcome = "objection_upheld" if record.status == "upheld" else "stepped_down"
        attempt.reason = record.decision_reason if record.status == "upheld" else record.step_down_reason
        for other in self._disclosures:
            if other.pending and other.mediator_id == mediator:
                other.status, other.settled_at = "superseded", workflow.now().isoformat()
        self._mediator = None
        self._fee_deposit_collected = False
        self._mediation_scheduled = False
        self._milestone_pending = False
        remaining = self._rest_of_order()
        self._log("mediator_replaced", "", mediator)
        self._tell_of_reassignment(attempt, remaining[0] if remaining else None, dropped=mediator)

    async def _ranking_round(self, panel: list[int]) -> list[int]:
        self._round += 1
        self._panel = list(panel)
        self._ballots = {}
        self._close_round_early = False
        self._tally = None
        started = workflow.now()
        self._deadline = started + timedelta(seconds=self._timers.ranking_window_seconds)
        self._enter(Stage.RANKING)
        self._log("ranking_opened", f"Round {self._round}: panel of {len(panel)} mediators")
        # A ballot may arrive the moment the stage is ranking, and the parties' invitation must leave before
        # the center's "ranking received": queue it before anything awaits (cases started earlier keep the old order).
        invite_first = workflow.patched(INVITATION_FIRST_PATCH)
        told = self._tells_everyone()
        if invite_first:
            self._notify("ranking_request", recipients=self._ranking_audience(self._parties))
        await self._record()
        if not invite_first:
            self._notify("ranking_request", recipients=self._ranking_audience(self._parties))

        # Reminders: before the deadline in force, planned again whenever staff move it; cases started earlier
        # keep theirs at fixed offsets from the round's start.
        offsets = sorted(set(self._timers.ranking_reminder_offsets_seconds))
        sent_offsets: set[int] = set()
        planned = self._plan_reminders(started)
        planned_for = self._deadline_version
        deadline_passed = False
        while not (self._everyone_ranked() or self._close_round_early):
            now = workflow.now()
            if now >= self._deadline:
                self._log("ranking_deadline", "The ranking deadline passed")
                deadline_passed = True
                break
            if told:
                if planned_for != self._deadline_version:
                    planned, planned_for = self._plan_reminders(now), self._deadline_version
                if any(moment <= now for moment in planned):
                    planned = [moment for moment in planned if moment > now]
                    self._remind_silent_parties()
                    continue
                wake = min([*planned, self._deadline])
            else:
                pending = [o for o in offsets if o not in sent_offsets and started + timedelta(seconds=o) < self._deadline]
                due = [o for o in pending if started + timedelta(seconds=o) <= now]
                if due:
                    sent_offsets.update(due)
                    self._remind_silent_parties()
                    continue
                wake = min([started + timedelta(seconds=o) for o in pending] + [self._deadline])
            version = self._deadline_version
            await self._wait(
                lambda version=version: self._everyone_ranked() or self._close_round_early or self._deadline_version != version,
                timeout=wake - now,
            )
        order = self._run_tally()
        if told:
            self._tell_the_round_result(deadline_passed)
        return order

    def _plan_reminders(self, after: datetime) -> list[datetime]:
        """The reminders still to come before the deadline in force: each configured time before it that is later than `after`."""
        assert self._deadline is not None
        moments = {self._deadline - timedelta(seconds=before) for before in self._timers.ranking_reminders_before_deadline_seconds if before > 0}
        return sorted(moment for moment in moments if moment > after)

    def _remind_silent_parties(self) -> None:
        silent = {pid: p for pid, p in self._parties.items() if pid not in self._ballots}
        audience = self._ranking_audience(silent)
        # People, not parties: a party's attorney is reminded too, and the timeline says so.
        self._log("ranking_reminder", f"Reminder sent to {counted(len(audience), 'person', 'people')} ({counted(len(silent), 'party', 'parties')})")
        self._notify("ranking_reminder", recipients=audience)

    def _tell_the_round_result(self, deadline_passed: bool) -> None:
        """The handbook's notice at the tally: everyone learns who was selected and that the conflict check is under way;
        a party whose ranking did not arrive is told the round closed without it; the center, of a deadline that passed."""
        assert self._tally is not None
        silent = {pid: p for pid, p in self._parties.items() if pid not in self._ballots}
        selected = str(self._tally.selected) if self._tally.selected is not None else ""
        if silent:
            self._notify(
                "ranking_closed_without_you",
                recipients=self._ranking_audience(silent),
                details={"closed_by": "deadline" if deadline_passed else "center", "ballots_counted": str(self._tally.ballots_counted)},
            )
        if silent and deadline_passed:
            self._notify(
                "ranking_deadline_passed",
                to_center=True,
                details={
                    "missing_party_ids": ",".join(str(pid) for pid in silent),
                    "ballots_counted": str(self._tally.ballots_counted),
                    "selected_mediator_id": selected,
                },
            )
        self._notify(
            "mediator_selected",
            all_participants=True,
            details={
                "mediator_id": selected,
                "ballots_counted": str(self._tally.ballots_counted),
                "check_takes": duration_words(self._timers.conflict_check_window_seconds),
            },
        )

    def _run_tally(self) -> list[int]:
        counted_ballots = [b for b in self._ballots.values() if b.party_id in self._parties]
        ballots = [
            Ballot(party=str(b.party_id), side=b.side, ranked=[str(m) for m in b.ranked], eliminated=[str(m) for m in b.eliminated]) for b in counted_ballots
        ]
        result = tally([str(m) for m in self._panel], ballots, self._timers.max_eliminations)
        self._tally = TallyResult(
            ranking_round=self._round,
            order=[int(m) for m in result.order],
            selected=int(result.selected) if result.selected is not None else None,
            scores={m: str(score) for m, score in result.scores.items()},
            eliminated=sorted({int(m) for b in ballots for m in b.eliminated}),
            ballots_counted=len(ballots),
            counted_party_ids=[b.party_id for b in counted_ballots],
        )
        self._tally_history.append(self._tally)
        # Names, not ids, are what people read: the staff page shows the order itself from the tally.
        self._log("tallied", f"{len(ballots)} ballot(s) counted")
        return self._tally.order

    async def _conflict_check(self, order: list[int], continuing: bool = False) -> int | None:
        """Ask each mediator of `order` in turn until one accepts (and, if they disclosed something, the disclosure stands);
        `continuing`: the order is the rest of one already begun, after a mediator's part ended."""
        window = timedelta(seconds=self._timers.conflict_check_window_seconds)
        reminder_after = timedelta(seconds=self._timers.conflict_check_reminder_after_seconds)
        told = self._tells_everyone()
        ranked = bool(self._tally and self._tally.ballots_counted)
        for position, candidate in enumerate(order):
            started = workflow.now()
            self._candidate = candidate
            self._conflict_decision = None
            # Whoever is on the case now is on the page this mediator answers.
            self._joined_during_review = []
            self._deadline = started + window
            # Why this mediator is asked, which their request and conflict-check page say.
            first = position == 0 and not continuing
            asked_because = ("top_choice" if first else "next_choice") if ranked else ("panel_order" if first else "next_in_panel")
            attempt = ConflictAttempt(
                mediator_id=candidate,
                ranking_round=self._round,
                started_at=started.isoformat(),
                deadline=self._deadline.isoformat(),
                asked_because=asked_because if told else "",
            )
            self._attempts.append(attempt)
            self._enter(Stage.CONFLICT_CHECK)
            self._log("conflict_check_started", "", candidate)
            await self._record()
            if told:
                self._notify(
                    "conflict_check_request",
                    recipients=[candidate],
                    details={"asked_because": asked_because, "check_takes": duration_words(self._timers.conflict_check_window_seconds)},
                )
            else:
                self._notify("conflict_check_request", recipients=[candidate])

            decided = False
            if reminder_after < window:
                decided = await self._wait(lambda: self._conflict_decision is not None, timeout=reminder_after)
                if not decided:
                    self._notify("conflict_check_reminder", recipients=[candidate])
            if not decided:
                decided = await self._wait(lambda: self._conflict_decision is not None, timeout=self._deadline - workflow.now())

            self._tried.append(candidate)
            decision = self._conflict_decision
            if decided and decision and decision.accept:
                record = self._answers_of(candidate, "conflict_check", decision.disclosure, attempt.started_at) if decision.disclosure else None
                if record is None or not record.disclosed:
                    attempt.outcome = "accepted"
                    return candidate
                if not self._discloses():
                    # A case that settled, before disclosures had a window, to accept whatever was answered.
                    record.status, record.settled_at = "accepted", workflow.now().isoformat()
                    attempt.outcome = "accepted"
                    return candidate
                # Something disclosed: the parties may object before the mediator is theirs.
                attempt.outcome = "disclosed"
                if await self._review_disclosure(record):
                    attempt.outcome = "accepted"
                    return candidate
                attempt.outcome, attempt.reason = "objection_upheld", record.decision_reason
            elif decided and decision:
                attempt.outcome, attempt.reason = "declined", decision.reason
                self._log("conflict_declined", decision.reason, candidate)
            else:
                attempt.outcome = "timed_out"
                self._log("conflict_check_expired", "No answer within the conflict-check window", candidate)
            self._candidate = None
            has_next = position + 1 < len(order)
            if told:
                self._tell_of_reassignment(attempt, order[position + 1] if has_next else None)
            else:
                self._notify(
                    "reassignment_notice",
                    recipients=self._ranking_audience(self._parties),
                    details={"next_mediator": "yes" if has_next else ""},
                )
        return None

    def _tell_of_reassignment(self, attempt: ConflictAttempt, next_mediator: int | None, dropped: int | None = None) -> None:
        """Who could not serve and who is asked next: to everyone on the case (never the reason of a decline), to the
        center (with it), and to a mediator whose time ran out. `dropped`: a mediator who served and leaves the case."""
        who = {
            "previous_mediator_id": str(attempt.mediator_id),
            "outcome": attempt.outcome,
            "next_mediator": "yes" if next_mediator is not None else "",
            "next_mediator_id": str(next_mediator) if next_mediator is not None else "",
        }
        self._notify("reassignment_notice", all_participants=True, details=who, except_ids=[dropped] if dropped is not None else None)
        self._notify("mediator_unavailable", to_center=True, details={**who, "reason": attempt.reason})
        if attempt.outcome == "timed_out":
            self._notify("conflict_check_expired", recipients=[attempt.mediator_id], details={"next_mediator": who["next_mediator"]})

    async def _await_new_panel(self, why: str) -> None:
        self._enter(Stage.AWAITING_NEW_PANEL)
        self._deadline = None
        self._new_panel = None
        self._note = why
        self._log("new_panel_needed", why)
        await self._record()
        self._notify("new_panel_needed", to_center=True, details={"reason": why})
        await self._wait(lambda: self._new_panel is not None)
        self._note = ""
        self._log("new_panel_proposed", "", self._new_panel.actor_id if self._new_panel else None)

    async def _finish_withdrawal(self) -> None:
        assert self._withdrawal is not None
        # A mediator in the middle of the conflict check (or whose disclosure the parties are reviewing) is told too: they
        # are not on the case, so "everyone" misses them.
        checking = self._candidate if self._stage in (Stage.CONFLICT_CHECK, Stage.DISCLOSURE_REVIEW) and self._tells_everyone() else None
        for attempt in self._attempts:
            if attempt.outcome in ("pending", "disclosed"):
                attempt.outcome = "withdrawn"
        self._end_pending_disclosures()
        self._enter(Stage.WITHDRAWN)
        self._outcome = "withdrawn"
        self._deadline = None
        self._candidate = None
        self._note = self._withdrawal.reason
        self._log("withdrawn", self._withdrawal.reason, self._withdrawal.actor_id)
        await self._record()
        if checking is not None:
            self._notify(
                "case_withdrawn",
                all_participants=True,
                to_center=True,
                recipients=[checking],
                details={"reason": self._withdrawal.reason, "checking_mediator_id": str(checking)},
            )
        else:
            self._notify("case_withdrawn", all_participants=True, to_center=True, details={"reason": self._withdrawal.reason})

    # ---- disclosures: the objection window and the continuing duty ---------------------------

    def _discloses(self) -> bool:
        """Whether this case reviews disclosures (answered once per case: the first disclosure or re-confirmation decides)."""
        return workflow.patched(DISCLOSURE_PATCH)

    def _disclosure(self, number: int) -> MediatorDisclosure | None:
        return self._disclosures[number - 1] if 0 < number <= len(self._disclosures) else None

    def _answers_of(self, mediator: int, kind: str, answers: DisclosureAnswers, asked_at: str) -> MediatorDisclosure:
        """The mediator's answers as the case's record of them (nothing disclosed: confirmed at once)."""
        now = workflow.now().isoformat()
        record = MediatorDisclosure(number=len(self._disclosures) + 1, mediator_id=mediator, kind=kind, ranking_round=self._round, asked_at=asked_at)
        self._fill_answers(record, answers, now)
        if not record.disclosed:
            record.status, record.settled_at = "confirmed", now
            self._log("nothing_to_disclose", "Answered no to every disclosure question", mediator)
        self._disclosures.append(record)
        return record

    def _fill_answers(self, record: MediatorDisclosure, answers: DisclosureAnswers, now: str) -> None:
        record.answered_at = now
        record.financial_interest = answers.financial_interest.strip()
        record.relationship = answers.relationship.strip()
        record.relationship_person_ids = list(answers.relationship_person_ids) if record.relationship else []
        record.past_services = answers.past_services.strip()
        record.other_matters = answers.other_matters.strip()

    def _open_window(self, record: MediatorDisclosure) -> None:
        """The parties may object to the disclosure until the window closes; everyone on the case is told (the parties
        and their representatives read it), and so are the mediator and the center."""
        until = workflow.now() + timedelta(seconds=self._timers.disclosure_objection_window_seconds)
        record.status = "open"
        record.objections_until = until.isoformat()
        record.may_object_party_ids = list(self._parties)
        about = f" about [person {record.about_person_id}]" if record.about_person_id is not None else ""
        self._log("disclosure_made", f"Disclosure {record.number}{about}: the parties may object until {record.objections_until}", record.mediator_id)
        self._notify("disclosure_made", all_participants=True, recipients=[record.mediator_id], to_center=True, details=self._disclosure_details(record))

    def _disclosure_details(self, record: MediatorDisclosure) -> dict[str, str]:
        return {
            "number": str(record.number),
            "kind": record.kind,
            "mediator_id": str(record.mediator_id),
            "about_person_id": str(record.about_person_id) if record.about_person_id is not None else "",
            "about_role": record.about_role,
            "financial_interest": record.financial_interest,
            "relationship": record.relationship,
            "relationship_person_ids": ",".join(str(p) for p in record.relationship_person_ids),
            "past_services": record.past_services,
            "other_matters": record.other_matters,
            "objections_until": record.objections_until or "",
        }

    async def _review_disclosure(self, record: MediatorDisclosure) -> bool:
        """The parties' objection window on what the mediator disclosed at the conflict check. True when the disclosure
        stands (no objection by the deadline, every party saying it does not object, or an objection overruled); False
        when the center upholds an objection."""
        self._open_window(record)
        assert record.objections_until is not None
        until = datetime.fromisoformat(record.objections_until)
        self._deadline = until
        self._enter(Stage.DISCLOSURE_REVIEW)
        await self._record()
        while record.pending:
            seen = self._disclosure_inputs
            now = workflow.now()
            await self._wait(lambda seen=seen: self._disclosure_inputs != seen, timeout=until - now if now < until else None)
            self._apply_disclosures()
            if record.status == "objected" and workflow.now() >= until and self._deadline is not None:
                # The window has closed with an objection: the case waits on the center's decision, with no deadline.
                self._deadline = None
                self._note = "A party objected to the mediator's disclosure; the center decides."
                await self._record()
        self._note = ""
        return record.status in ("accepted", "overruled")

    def _next_objection_deadline(self) -> datetime | None:
        """When the earliest open objection window closes (the lifecycle wakes then to settle it)."""
        moments = [datetime.fromisoformat(r.objections_until) for r in self._disclosures if r.status == "open" and r.objections_until]
        return min(moments) if moments else None

    def _apply_disclosures(self) -> list[MediatorDisclosure]:
        """Apply what arrived (re-confirmation answers, the parties' replies, the center's rulings) and what time has
        done to every pending disclosure. Returns those that now end the mediator's part: an objection upheld, or the
        mediator stepping down at a re-confirmation."""
        now = workflow.now()
        ended: list[MediatorDisclosure] = []
        for record in self._disclosures:
            if record.status == "awaiting_mediator" and record.number in self._reconfirmations:
                answer = self._reconfirmations.pop(record.number)
                if not answer.accept:
                    record.answered_at = record.settled_at = now.isoformat()
                    record.status, record.step_down_reason = "stepped_down", answer.reason.strip()
                    self._log("mediator_stepped_down", f"{answer.reason.strip()} (on [person {record.about_person_id}] joining)", record.mediator_id)
                    ended.append(record)
                    continue
                self._fill_answers(record, answer.disclosure or DisclosureAnswers(), now.isoformat())
                if not record.disclosed:
                    record.status, record.settled_at = "confirmed", now.isoformat()
                    self._log("reconfirmed", f"Nothing to disclose about [person {record.about_person_id}]", record.mediator_id)
                    continue
                self._open_window(record)
            if record.status not in ("open", "objected"):
                continue
            ruling = self._rulings.pop(record.number, None)
            if ruling is not None:
                record.status = "upheld" if ruling.uphold else "overruled"
                record.decided_by_id, record.decision_reason = ruling.actor_id, ruling.reason.strip()
                record.decided_at = record.settled_at = now.isoformat()
                self._log(
                    "objection_upheld" if ruling.uphold else "objection_overruled", f"Disclosure {record.number}: {record.decision_reason}", ruling.actor_id
                )
                self._notify(
                    "disclosure_outcome",
                    all_participants=True,
                    recipients=[record.mediator_id],
                    details={**self._disclosure_details(record), "outcome": record.status, "reason": record.decision_reason},
                )
                if ruling.uphold:
                    ended.append(record)
            elif record.status == "open":
                waited_on = [p for p in record.may_object_party_ids if p in self._parties]
                answered = {r.party_id: r.objects for r in record.responses}
                if any(answered.values()):
                    record.status = "objected"
                    self._log("disclosure_objected", f"Disclosure {record.number}: the center decides")
                elif all(p in answered for p in waited_on) or record.objections_until is None or now >= datetime.fromisoformat(record.objections_until):
                    record.status, record.settled_at = "accepted", now.isoformat()
                    why = "every party said it does not object" if all(p in answered for p in waited_on) else "no objection by the deadline"
                    self._log("disclosure_accepted", f"Disclosure {record.number}: {why}", record.mediator_id)
                    # At the conflict check, "Your mediator" follows at once; a re-confirmation's outcome is told on its own.
                    if record.kind == "reconfirmation":
                        self._notify(
                            "disclosure_outcome",
                            all_participants=True,
                            recipients=[record.mediator_id],
                            details={**self._disclosure_details(record), "outcome": "accepted"},
                        )
        return ended

    def _ask_reconfirmation(self, person_id: int, role: str) -> None:
        """The continuing duty: a person joined after acceptance, so the mediator answers the disclosure questions again for them."""
        assert self._mediator is not None
        record = MediatorDisclosure(
            number=len(self._disclosures) + 1,
            mediator_id=self._mediator,
            kind="reconfirmation",
            ranking_round=self._round,
            asked_at=workflow.now().isoformat(),
            about_person_id=person_id,
            about_role=role,
            status="awaiting_mediator",
        )
        self._disclosures.append(record)
        self._log("reconfirmation_requested", f"[person {person_id}] joined as {role}", self._mediator)
        self._notify(
            "reconfirmation_request",
            recipients=[self._mediator],
            details={"number": str(record.number), "about_person_id": str(person_id), "about_role": role},
        )

    def _end_pending_disclosures(self) -> None:
        for record in self._disclosures:
            if record.pending:
                record.status, record.settled_at = "ended", workflow.now().isoformat()

    def _rest_of_order(self) -> list[int]:
        """The mediators of the last order not yet asked."""
        return [m for m in (self._tally.order if self._tally else []) if m not in self._tried]

    # ---- helpers -------------------------------------------------------------------------------

    async def _wait(self, condition, timeout: timedelta | None = None) -> bool:
        """Wait for the condition; False on timeout. Withdrawal interrupts any wait."""
        self._lifecycle_busy = False
        try:
            await workflow.wait_condition(lambda: self._withdrawal is not None or condition(), timeout=timeout)
        except TimeoutError:
            if self._withdrawal is None:
                self._lifecycle_busy = True
                return False
        finally:
            self._lifecycle_busy = True
        if self._withdrawal is not None:
            raise CaseWithdrawn()
        return True

    def _tells_everyone(self) -> bool:
        """Whether this case tells everyone waited on or dropped (answered once per case: its first ask decides)."""
        return workflow.patched(PEOPLE_TOLD_PATCH)

    def _everyone_ranked(self) -> bool:
        return bool(self._parties) and all(pid in self._ballots for pid in self._parties)

    def _ranking_audience(self, parties: dict[int, RosterParty]) -> list[int]:
        people: list[int] = []
        for party in parties.values():
            for person in [party.person_id, *party.representative_ids]:
                if person not in people:
                    people.append(person)
        return people

    async def _propose_panel(self) -> list[int]:
        return await workflow.execute_activity_method(
            CaseActivities.propose_panel,
            PanelRequest(case_id=self._case.case_id, size=self._timers.panel_size, exclude=list(self._tried)),
            **DATABASE_ACTIVITY,
        )

    def _enter(self, stage: Stage) -> None:
        self._stage = stage
        self._stage_since = workflow.now()

    def _changed(self) -> None:
        self._version += 1

    async def _publish_states(self) -> None:
        """Write the case's state whenever it changes, newest version first; runs until the workflow ends."""
        while True:
            await workflow.wait_condition(lambda: self._version > self._published or self._finished)
            if self._version <= self._published:
                return
            version = self._version
            await workflow.execute_local_activity_method(CaseActivities.publish_state, self._state(version), **PUBLISH_ACTIVITY)
            self._published = version

    async def _settled(self) -> CaseState | None:
        """What an Update answers: the state once the lifecycle has acted on it and that state is in the database,
        so the page the person sees next already shows it. Cases on the older mirror answer nothing."""
        if not self._read_model:
            return None
        self._changed()
        await workflow.wait_condition(lambda: not self._lifecycle_busy and self._published >= self._version)
        return self._state(self._published)

    async def _record(self) -> None:
        if self._read_model:
            self._changed()
            return
        await workflow.execute_activity_method(
            CaseActivities.record_stage,
            StageRecord(
                case_id=self._case.case_id,
                stage=str(self._stage),
                stage_deadline=self._deadline.isoformat() if self._deadline else None,
                ranking_round=self._round,
                panel=list(self._panel),
                candidate_mediator_id=self._candidate,
                mediator_id=self._mediator,
                fee_deposit_collected=self._fee_deposit_collected,
                mediation_scheduled=self._mediation_scheduled,
                outcome=self._outcome,
                note=self._note,
            ),
            **DATABASE_ACTIVITY,
        )

    def _notify(
        self,
        template: str,
        recipients: list[int] | None = None,
        all_participants: bool = False,
        to_center: bool = False,
        details: dict[str, str] | None = None,
        except_ids: list[int] | None = None,
    ) -> None:
        self._email_seq += 1
        self._emails.append(
            Notification(
                key=f"{workflow.info().workflow_id}/{self._email_seq:05d}-{template}",
                template=template,
                case_id=self._case.case_id,
                recipient_ids=list(recipients or []),
                all_participants=all_participants,
                to_center=to_center,
                details={"deadline": self._deadline.isoformat() if self._deadline else "", **(details or {})},
                except_ids=list(except_ids or []),
            )
        )

    async def _deliver_emails(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._emails) or self._lifecycle_over)
            if not self._emails:
                return
            if workflow.patched(EMAILS_KEPT_LOCALLY_PATCH):
                await self._keep_and_deliver(list(self._emails))
                continue
            notification = self._emails[0]
            try:
                await workflow.execute_activity_method(NotificationActivities.send_notification, notification, **EMAIL_DELIVERY)
            except ActivityError as error:
                self._log("email_failed", f"{notification.template}: {error.cause or error}")
            self._emails.pop(0)

    async def _keep_and_deliver(self, batch: list[Notification]) -> None:
        """Everything queued so far, in order: kept in the ledger (the outbox's delivery), then sent by SendGrid."""
        try:
            kept = await workflow.execute_local_activity_method(NotificationActivities.keep_notifications, batch, **KEEP_EMAILS)
            for failure in kept.failures:
                self._log("email_failed", failure)
            if kept.to_deliver:
                await workflow.execute_activity_method(NotificationActivities.deliver_emails, kept.to_deliver, **EMAIL_DELIVERY)
        except ActivityError as error:
            self._log("email_failed", f"{', '.join(n.template for n in batch)}: {error.cause or error}")
        del self._emails[: len(batch)]

    def _log(self, event: str, detail: str = "", actor: int | None = None) -> None:
        entry = TimelineEntry(at=workflow.now().isoformat(), event=event, detail=detail)
        if actor is not None:
            entry.detail = f"{detail} [person {actor}]".strip()
        self._timeline.append(entry)
        self._changed()

    def _require_stage(self, *stages: Stage, message: str) -> None:
        if self._stage not in stages:
            raise rejected(message)

    # ---- updates: intake -----------------------------------------------------------------------

    @workflow.update
    async def review_intake(self, decision: IntakeDecision) -> CaseState | None:
        self._intake = decision
        return await self._settled()

    @review_intake.validator
    def _validate_review_intake(self, decision: IntakeDecision) -> None:
        self._require_stage(Stage.INTAKE_REVIEW, message="This request has already been reviewed.")
        if self._intake is not None:
            raise rejected("This request has already been reviewed.")
        if not decision.accept and not decision.reason.strip():
            raise invalid("reason", "Give the filer a reason for rejecting the request.")
        if decision.accept:
            self._check_panel(decision.panel)

    def _check_panel(self, panel: list[int]) -> None:
        if len(set(panel)) != len(panel):
            raise invalid("panel", "A mediator can appear only once on a panel.")
        if panel and len(panel) < 2:
            raise invalid("panel", "Propose at least two mediators so the parties have a choice.")

    # ---- updates: ranking ----------------------------------------------------------------------

    @workflow.update
    async def submit_ranking(self, submission: RankingSubmission) -> RankingReceipt:
        party = self._parties[submission.party_id]
        previous = self._ballots.get(submission.party_id)
        unchanged = previous is not None and previous.ranked == submission.ranked and previous.eliminated == submission.eliminated
        ranking_round = self._round
        if not unchanged:
            now = workflow.now().isoformat()
            fingerprint = ballot_fingerprint(self._case.case_id, ranking_round, submission.party_id, submission.ranked, submission.eliminated)
            self._ballots[submission.party_id] = BallotView(
                party_id=submission.party_id,
                side=party.side,
                submitted_by_id=submission.actor_id,
                ranked=list(submission.ranked),
                eliminated=list(submission.eliminated),
                submitted_at=now,
                fingerprint=fingerprint,
            )
            self._log("ranking_revised" if previous else "ranking_submitted", "", submission.party_id)
            self._email_seq += 1
            audit = BallotAudit(
                case_id=self._case.case_id,
                ranking_round=ranking_round,
                party_id=submission.party_id,
                submitted_by_id=submission.actor_id,
                side=party.side,
                ranked=list(submission.ranked),
                eliminated=list(submission.eliminated),
                submitted_at=now,
                submission_key=f"{workflow.info().workflow_id}/ballot-{self._email_seq:05d}",
                fingerprint=fingerprint,
            )
            received = {"party_id": str(submission.party_id), "revision": "yes" if previous else ""}
            # With the published state the lifecycle no longer waits on a write of its own, so the last ballot's
            # tally (and its conflict-check request) would overtake this notice: queue it before awaiting anything.
            if self._read_model:
                self._notify("ballot_received", to_center=True, details=received)
            # The receipt too, so it arrives before the tally's notice.
            if workflow.patched(BALLOT_RECEIPT_PATCH):
                self._notify(
                    "ballot_receipt",
                    recipients=list(dict.fromkeys([submission.party_id, submission.actor_id])),
                    details={
                        **received,
                        "submitted_by_id": str(submission.actor_id),
                        "ranking_round": str(ranking_round),
                        "ranked_mediator_ids": ",".join(str(m) for m in submission.ranked),
                        "eliminated_mediator_ids": ",".join(str(m) for m in submission.eliminated),
                        "submitted_at": now,
                        "fingerprint": fingerprint,
                    },
                )
            # The party waits for this write; as a local activity it costs no extra round trips to the server.
            if workflow.patched(LOCAL_BALLOT_AUDIT_PATCH):
                await workflow.execute_local_activity_method(CaseActivities.record_ballot, audit, **DATABASE_ACTIVITY)
            else:
                await workflow.execute_activity_method(CaseActivities.record_ballot, audit, **DATABASE_ACTIVITY)
            if not self._read_model:
                self._notify("ballot_received", to_center=True, details=received)
        waiting_for = [pid for pid in self._parties if pid not in self._ballots]
        counts = self._ballots.get(submission.party_id)
        return RankingReceipt(
            ranking_round=ranking_round,
            revision=previous is not None,
            unchanged=unchanged,
            waiting_for=waiting_for,
            state=await self._settled(),
            fingerprint=counts.fingerprint if counts is not None else "",
        )

    @submit_ranking.validator
    def _validate_submit_ranking(self, submission: RankingSubmission) -> None:
        self._require_stage(Stage.RANKING, message="Mediator rankings are not open for this case right now.")
        if self._close_round_early or self._everyone_ranked() and submission.party_id not in self._ballots:
            raise rejected("This ranking round has closed.")
        party = self._parties.get(submission.party_id)
        if party is None:
            raise not_allowed("Only a party of this case, or its representative, can submit a mediator ranking.")
        if submission.actor_id != party.person_id and submission.actor_id not in party.representative_ids:
            raise not_allowed("You can submit a ranking only for yourself or for a party you represent.")
        try:
            validate_ballot(
                [str(m) for m in self._panel],
                Ballot(
                    party=str(submission.party_id),
                    side=party.side,
                    ranked=[str(m) for m in submission.ranked],
                    eliminated=[str(m) for m in submission.eliminated],
                ),
                self._timers.max_eliminations,
            )
        except InvalidBallot as error:
            raise invalid("ranked", str(error)) from None

    @workflow.update
    async def extend_ranking(self, extension: DeadlineExtension) -> CaseState | None:
        assert self._deadline is not None
        self._deadline += timedelta(seconds=extension.extra_seconds)
        self._deadline_version += 1
        self._log("ranking_extended", f"New deadline {self._deadline.isoformat()}", extension.actor_id)
        await self._record()
        return await self._settled()

    @extend_ranking.validator
    def _validate_extend_ranking(self, extension: DeadlineExtension) -> None:
        self._require_stage(Stage.RANKING, message="Only an open ranking round can be extended.")
        if extension.extra_seconds <= 0:
            raise invalid("amount", "Extend the deadline by a positive amount of time.")

    @workflow.update
    async def close_ranking(self, action: StaffAction) -> CaseState | None:
        self._close_round_early = True
        self._log("ranking_closed_early", action.reason, action.actor_id)
        return await self._settled()

    @close_ranking.validator
    def _validate_close_ranking(self, action: StaffAction) -> None:
        self._require_stage(Stage.RANKING, message="There is no open ranking round to close.")
        if self._close_round_early:
            raise rejected("This ranking round is already closing.")

    # ---- updates: conflict check and panels ----------------------------------------------------

    @workflow.update
    async def decide_conflict(self, decision: ConflictDecision) -> CaseState | None:
        self._conflict_decision = decision
        return await self._settled()

    @decide_conflict.validator
    def _validate_decide_conflict(self, decision: ConflictDecision) -> None:
        self._require_stage(Stage.CONFLICT_CHECK, message="There is no conflict check waiting for an answer.")
        if decision.actor_id != self._candidate:
            raise not_allowed("Only the mediator asked to do the conflict check can answer it.")
        if self._conflict_decision is not None:
            raise rejected("You have already answered this conflict check.")
        if not decision.accept and not decision.reason.strip():
            raise invalid("reason", "Say briefly why you must decline (the nature of the conflict).")

    @workflow.update
    async def propose_new_panel(self, panel: NewPanel) -> CaseState | None:
        self._new_panel = panel
        return await self._settled()

    @propose_new_panel.validator
    def _validate_propose_new_panel(self, panel: NewPanel) -> None:
        self._require_stage(Stage.AWAITING_NEW_PANEL, message="This case is not waiting for a new panel.")
        if self._new_panel is not None:
            raise rejected("A new panel has already been proposed.")
        self._check_panel(panel.panel)

    @workflow.update
    async def set_roster(self, parties: list[RosterParty]) -> CaseState | None:
        self._take_roster(parties)
        return await self._settled()

    @set_roster.validator
    def _validate_set_roster(self, parties: list[RosterParty]) -> None:
        if self._stage in FINAL_STAGES:
            raise rejected("This case is over; its participants can no longer change.")
        ids = [p.person_id for p in parties]
        if len(set(ids)) != len(ids):
            raise invalid("roster", "A person can be a party only once.")
        if any(p.side not in ("initiating", "responding") for p in parties):
            raise invalid("roster", "Each party is on the initiating or the responding side.")

    def _take_roster(self, parties: list[RosterParty]) -> None:
        added = {p.person_id: p for p in parties if p.person_id not in self._parties}
        self._parties = {p.person_id: p for p in parties}
        self._log("roster_changed", f"{len(parties)} parties")
        if self._stage == Stage.RANKING and added:
            self._notify("ranking_request", recipients=self._ranking_audience(added))

    @workflow.update
    async def change_roster(self, change: RosterChange) -> CaseState | None:
        """The roster after staff add or remove a person: as `set_roster`, and once the mediator has answered the
        disclosure questions, whoever joins is asked about (the continuing duty)."""
        self._take_roster(change.parties)
        if change.removed_person_id is not None:
            for record in self._disclosures:
                if record.status == "awaiting_mediator" and record.about_person_id == change.removed_person_id:
                    record.status, record.settled_at = "superseded", workflow.now().isoformat()
                    self._log("reconfirmation_dropped", f"[person {change.removed_person_id}] left the case before the mediator answered")
        added = change.added_person_id
        if added is not None and self._stage in (Stage.ACCEPTED, Stage.SCHEDULED, Stage.DISCLOSURE_REVIEW) and self._discloses():
            if self._stage == Stage.DISCLOSURE_REVIEW:
                self._joined_during_review.append((added, change.added_role))
            else:
                self._ask_reconfirmation(added, change.added_role)
        return await self._settled()

    @change_roster.validator
    def _validate_change_roster(self, change: RosterChange) -> None:
        self._validate_set_roster(change.parties)
        if change.added_person_id is not None and change.added_role not in ROLES_TO_RECONFIRM:
            raise invalid("role", "A person joins as a party, a representative or an interested person.")

    # ---- updates: disclosures ------------------------------------------------------------------

    @workflow.update
    async def reconfirm(self, answer: Reconfirmation) -> CaseState | None:
        """The mediator's answer for a person who joined after acceptance."""
        record = self._awaiting_reconfirmation(answer.person_id)
        assert record is not None
        self._reconfirmations[record.number] = answer
        self._disclosure_inputs += 1
        return await self._settled()

    @reconfirm.validator
    def _validate_reconfirm(self, answer: Reconfirmation) -> None:
        record = self._awaiting_reconfirmation(answer.person_id)
        if record is None:
            raise rejected("No re-confirmation is waiting for this person: it was answered already, or they left the case.")
        if answer.actor_id != self._mediator or answer.actor_id != record.mediator_id:
            raise not_allowed("Only the case's mediator can confirm again for a person who joined the case.")
        if record.number in self._reconfirmations:
            raise rejected("You have already answered for this person.")
        if not answer.accept and not answer.reason.strip():
            raise invalid("reason", "Say briefly why you must step down (the nature of the conflict).")

    def _awaiting_reconfirmation(self, person_id: int) -> MediatorDisclosure | None:
        return next((r for r in self._disclosures if r.status == "awaiting_mediator" and r.about_person_id == person_id), None)

    @workflow.update
    async def respond_to_disclosure(self, reply: DisclosureReply) -> CaseState | None:
        """A party (or its representative) objects to a disclosure, saying why, or says it does not object."""
        record = self._disclosure(reply.number)
        assert record is not None
        record.responses.append(
            DisclosureResponse(party_id=reply.party_id, by_id=reply.actor_id, objects=reply.objects, at=workflow.now().isoformat(), reason=reply.reason.strip())
        )
        by = f" (by [person {reply.actor_id}])" if reply.actor_id != reply.party_id else ""
        if reply.objects:
            self._log("disclosure_objection", f"Disclosure {record.number}{by}: {reply.reason.strip()}", reply.party_id)
            self._notify(
                "disclosure_objection",
                to_center=True,
                details={**self._disclosure_details(record), "party_id": str(reply.party_id), "by_id": str(reply.actor_id), "reason": reply.reason.strip()},
            )
        else:
            self._log("disclosure_not_objected", f"Disclosure {record.number}{by}", reply.party_id)
        self._disclosure_inputs += 1
        return await self._settled()

    @respond_to_disclosure.validator
    def _validate_respond_to_disclosure(self, reply: DisclosureReply) -> None:
        record = self._disclosure(reply.number)
        if record is None or not record.disclosed:
            raise rejected("There is no such disclosure on this case.")
        party = self._parties.get(reply.party_id)
        if party is None:
            raise not_allowed("Only a party of this case, or its representative, can answer the mediator's disclosure.")
        if reply.actor_id != party.person_id and reply.actor_id not in party.representative_ids:
            raise not_allowed("You can answer a disclosure only for yourself or for a party you represent.")
        window_open = record.objections_until is not None and workflow.now() < datetime.fromisoformat(record.objections_until)
        if record.status not in ("open", "objected") or not window_open:
            raise rejected("The time to object to this disclosure has passed.")
        if reply.party_id not in record.may_object_party_ids:
            raise rejected("This party joined the case after the disclosure was made; the mediator is asked to confirm again for them.")
        if any(r.party_id == reply.party_id for r in record.responses):
            raise rejected("This party has already answered this disclosure.")
        if reply.objects and not reply.reason.strip():
            raise invalid("reason", "Say briefly why you object to this mediator; the center reads it.")

    @workflow.update
    async def decide_objection(self, ruling: ObjectionRuling) -> CaseState | None:
        """Staff decide an objection: uphold it (the next mediator in the order is asked) or overrule it, with reasons."""
        self._rulings[ruling.number] = ruling
        self._disclosure_inputs += 1
        return await self._settled()

    @decide_objection.validator
    def _validate_decide_objection(self, ruling: ObjectionRuling) -> None:
        record = self._disclosure(ruling.number)
        objected = record is not None and record.status in ("open", "objected") and any(r.objects for r in record.responses)
        if record is None or not objected or ruling.number in self._rulings:
            raise rejected("There is no objection to this disclosure waiting for the center's decision.")
        if not ruling.reason.strip():
            raise invalid("reason", "Give the reason for the decision; the parties and the mediator read it.")

    # ---- updates: after acceptance -------------------------------------------------------------

    def _check_mediator_or_staff(self, actor: MediatorMilestone | CaseClosure) -> None:
        if not actor.is_staff and actor.actor_id != self._mediator:
            raise not_allowed("Only the case's mediator or center staff can do this.")

    @workflow.update
    async def record_fee_deposit(self, milestone: MediatorMilestone) -> CaseState | None:
        self._fee_deposit_collected = True
        self._milestone_pending = True
        self._log("fee_deposit_collected", "", milestone.actor_id)
        return await self._settled()

    @record_fee_deposit.validator
    def _validate_record_fee_deposit(self, milestone: MediatorMilestone) -> None:
        self._require_stage(Stage.ACCEPTED, Stage.SCHEDULED, message="The fee deposit is collected once a mediator has accepted.")
        self._check_mediator_or_staff(milestone)
        if self._fee_deposit_collected:
            raise rejected("The fee deposit is already recorded as collected.")

    @workflow.update
    async def record_scheduled(self, milestone: MediatorMilestone) -> CaseState | None:
        self._mediation_scheduled = True
        self._milestone_pending = True
        self._log("mediation_scheduled", "", milestone.actor_id)
        return await self._settled()

    @record_scheduled.validator
    def _validate_record_scheduled(self, milestone: MediatorMilestone) -> None:
        self._require_stage(Stage.ACCEPTED, message="The mediation can be scheduled once a mediator has accepted, and only once.")
        self._check_mediator_or_staff(milestone)

    @workflow.update
    async def close_case(self, closure: CaseClosure) -> CaseState | None:
        self._closure = closure
        return await self._settled()

    @close_case.validator
    def _validate_close_case(self, closure: CaseClosure) -> None:
        self._require_stage(Stage.ACCEPTED, Stage.SCHEDULED, message="A case is closed with an outcome once a mediator has accepted it.")
        self._check_mediator_or_staff(closure)
        if self._closure is not None:
            raise rejected("This case is already closing.")
        if closure.outcome not in OUTCOMES:
            raise invalid("outcome", f"The outcome must be one of: {', '.join(o.replace('_', ' ') for o in OUTCOMES)}.")

    @workflow.update
    async def withdraw(self, action: StaffAction) -> CaseState | None:
        self._withdrawal = action
        return await self._settled()

    @withdraw.validator
    def _validate_withdraw(self, action: StaffAction) -> None:
        if self._stage in FINAL_STAGES or self._withdrawal is not None or self._closure is not None:
            raise rejected("This case is already over.")
        if not action.reason.strip():
            raise invalid("reason", "Give a reason for withdrawing the case; the participants will read it.")

    # ---- queries -------------------------------------------------------------------------------

    def _state(self, version: int) -> CaseState:
        return CaseState(
            case_id=self._case.case_id,
            stage=str(self._stage),
            stage_label=STAGE_LABELS[self._stage],
            stage_deadline=self._deadline.isoformat() if self._deadline else None,
            ranking_round=self._round,
            panel=list(self._panel),
            parties=[
                PartyProgress(person_id=p.person_id, side=p.side, representative_ids=list(p.representative_ids), submitted=p.person_id in self._ballots)
                for p in self._parties.values()
            ],
            tally=self._tally,
            tally_history=list(self._tally_history),
            candidate_mediator_id=self._candidate,
            mediator_id=self._mediator,
            tried_mediator_ids=list(self._tried),
            conflict_attempts=[dataclasses.replace(a) for a in self._attempts],
            fee_deposit_collected=self._fee_deposit_collected,
            mediation_scheduled=self._mediation_scheduled,
            outcome=self._outcome,
            note=self._note,
            timeline=list(self._timeline),
            retention_due_at=self._retention_due.isoformat() if self._retention_due else None,
            records_purged=self._records_purged,
            version=version,
            stage_since=self._stage_since.isoformat() if self._stage_since else None,
            disclosures=[
                dataclasses.replace(r, responses=list(r.responses), relationship_person_ids=list(r.relationship_person_ids)) for r in self._disclosures
            ],
        )

    @workflow.query
    def status(self) -> CaseState:
        """The full lifecycle state, without individual ballots (those are for staff: see `ballots`).
        Pages read the published copy in the database; this is for the staff console's live view and for tests."""
        return self._state(self._version)

    @workflow.query
    def ballots(self) -> list[BallotView]:
        return list(self._ballots.values())

    @workflow.query
    def ballot_of(self, party_id: int) -> BallotView | None:
        return self._ballots.get(party_id)
