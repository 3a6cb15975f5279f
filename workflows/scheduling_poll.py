"""One durable workflow per scheduling poll of a case: the mediator's proposed times, everyone's answers, the reminder
and the deadline, and the pick that becomes the Mediation session.

Started by the mediator's (or staff's) "Propose times", with the workflow id `{prefix}{case id}-poll-{n}`. Every
change arrives as an Update whose validator refuses bad input before it enters history; the poll publishes its state
to the database (a local activity, each write with a version that only grows), and each Update answers once the
state it led to is written. Its emails leave in order through a queue, each once the state it speaks of is published.
The reminder and the deadline are durable timers; at each, the poll first checks that its case still waits for a time.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.notifications import EMAIL_DELIVERY, NotificationActivities
    from activities.scheduling_activities import MediationBooking, SchedulingActivities
    from activities.types import ActivityOptions, Notification
    from core.scheduling import (
        ANSWERS,
        ANSWERS_CLOSED,
        CANCELLED,
        LIVE_STATUSES,
        MAX_SLOT_HOURS,
        MAX_SLOTS,
        OPEN,
        PICKED,
        RESPONDENT_ROLES,
        PollAnswer,
        PollRespondent,
        PollSlot,
        PollState,
    )
    from core.settings import Settings

PUBLISH_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
}
# Booking asks the case's workflow to schedule the case, which answers within the web's action timeout.
BOOKING_ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(minutes=1),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=["BookingRefused"]),
}


@dataclass
class PollTimers:
    reminder_after_seconds: int
    answer_window_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "PollTimers":
        return cls(
            reminder_after_seconds=int(settings.scheduling_reminder_after.total_seconds()),
            answer_window_seconds=int(settings.scheduling_answer_window.total_seconds()),
        )


@dataclass
class SlotProposal:
    # ISO 8601 with an offset (the web sends UTC).
    starts_at: str
    ends_at: str


@dataclass
class PollInput:
    case_id: int
    number: int
    mediator_id: int
    proposed_by_id: int
    slots: list[SlotProposal]
    # Everyone on the case who marks the times, as the web found them when the poll opened.
    respondents: list[PollRespondent]
    timers: PollTimers


@dataclass
class SlotChoice:
    slot: int
    answer: str


@dataclass
class AvailabilityAnswers:
    actor_id: int
    # The person's part in the case as the web found it: party, representative or interested.
    role: str
    answers: list[SlotChoice]


@dataclass
class MoreSlots:
    actor_id: int
    slots: list[SlotProposal]
    # Everyone who marks the times now: someone who joined the case since the poll opened is asked too.
    respondents: list[PollRespondent] = field(default_factory=list)
    is_staff: bool = False


@dataclass
class SlotPick:
    actor_id: int
    slot: int
    meeting_type: str = "Online"
    location: str = ""
    notes: str = ""
    is_staff: bool = False


@dataclass
class PollCancel:
    actor_id: int
    reason: str = ""
    is_staff: bool = False


def rejected(message: str) -> ApplicationError:
    """Not at this moment of the poll (answered 409)."""
    return ApplicationError(message, type="ActionRejected", non_retryable=True)


def not_allowed(message: str) -> ApplicationError:
    """Not this person's to do (answered 403)."""
    return ApplicationError(message, type="NotAllowed", non_retryable=True)


def invalid(field: str, message: str) -> ApplicationError:
    """The input itself is wrong (answered 422, next to `field`)."""
    return ApplicationError(message, field, type="InvalidInput", non_retryable=True)


CLOSED = "This scheduling poll has closed; reload the page to see where scheduling stands."
PICKING = "A time is being picked for this poll right now; reload the page in a moment."
MANAGERS_ONLY = "Only the case's mediator or center staff can change the proposed times or pick one."


@workflow.defn
class SchedulingPollWorkflow:
    @workflow.init
    def __init__(self, input: PollInput) -> None:
        self._input = input
        self._timers = input.timers
        self._status = OPEN
        self._slots: list[PollSlot] = []
        self._respondents: dict[int, PollRespondent] = {r.person_id: PollRespondent(r.person_id, r.role) for r in input.respondents}
        self._answers: dict[tuple[int, int], PollAnswer] = {}
        self._opened_at = workflow.now()
        self._due = self._opened_at
        self._reminder_at: datetime | None = None
        # Bumped whenever more times are proposed, so the waiting loop plans its timers again.
        self._round = 0
        self._picking = False
        self._picked_slot: int | None = None
        self._picked_by: int | None = None
        self._event_id: int | None = None
        self._closed_at: datetime | None = None
        self._closed_reason = ""
        self._emails: list[tuple[int, Notification]] = []
        self._email_seq = 0
        self._over = False
        self._version = 0
        self._published = 0
        self._finished = False

    @workflow.run
    async def run(self, input: PollInput) -> str:
        mail_queue = asyncio.create_task(self._deliver_emails())
        publisher = asyncio.create_task(self._publish_states())
        self._add_slots(input.slots)
        self._ask_again()
        self._notify("scheduling_poll_opened", recipients=list(self._respondents))
        while self._status in LIVE_STATUSES:
            if self._picking:
                # A pick is under way: whatever it leads to, the timers wait for it.
                await workflow.wait_condition(lambda: not self._picking)
            elif self._status == OPEN:
                await self._while_open()
            else:
                await self._while_a_time_is_to_be_picked()
        self._over = True
        await mail_queue
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._finished = True
        await publisher
        return self._status

    async def _while_open(self) -> None:
        now = workflow.now()
        if now >= self._due:
            if await self._case_still_waits(OPEN):
                self._status = ANSWERS_CLOSED
                self._reminder_at = None
                self._changed()
                silent = [pid for pid, person in self._respondents.items() if not person.answered]
                self._notify("scheduling_poll_deadline", recipients=[self._input.mediator_id], details={"silent_ids": ",".join(map(str, silent))})
            return
        if self._reminder_at is not None and now >= self._reminder_at:
            self._reminder_at = None
            self._changed()
            silent = [pid for pid, person in self._respondents.items() if not person.answered]
            if silent and await self._case_still_waits(OPEN):
                self._notify("scheduling_poll_reminder", recipients=silent)
            return
        wake = min(moment for moment in (self._reminder_at, self._due) if moment is not None)
        asked = self._round
        await self._until(lambda: self._status != OPEN or self._round != asked or self._picking, wake - now)

    async def _while_a_time_is_to_be_picked(self) -> None:
        # Nobody is waited on but the mediator. Now and then the poll looks whether its case moved on without it
        # (scheduled from the Calendar, withdrawn, closed), so it does not stay open for a case that is over.
        asked = self._round
        changed = await self._until(
            lambda: self._status != ANSWERS_CLOSED or self._round != asked or self._picking, timedelta(seconds=self._timers.answer_window_seconds)
        )
        if not changed:
            await self._case_still_waits(ANSWERS_CLOSED)

    async def _until(self, condition, timeout: timedelta) -> bool:
        try:
            await workflow.wait_condition(condition, timeout=timeout)
            return True
        except TimeoutError:
            return False

    async def _case_still_waits(self, status: str) -> bool:
        """Whether the poll may go on as planned: its case still waits for a time and nothing changed the poll while it
        looked. A case that moved on (scheduled from the Calendar, withdrawn, closed) closes the poll, telling nobody."""
        reason = await workflow.execute_local_activity_method(SchedulingActivities.case_moved_on, self._input.case_id, **PUBLISH_ACTIVITY)
        if self._status != status or self._picking:
            return False
        if reason:
            self._close(CANCELLED, reason)
            return False
        return True

    # ---- updates ---------------------------------------------------------------------------------

    @workflow.update
    async def published(self) -> PollState:
        """The poll as it stands, once that is in the database: the web waits on this after starting the poll."""
        return await self._settled()

    @workflow.update
    async def answer(self, answers: AvailabilityAnswers) -> PollState:
        now = workflow.now().isoformat()
        if answers.actor_id not in self._respondents:
            # Joined the case after the poll opened: asked from now on.
            self._respondents[answers.actor_id] = PollRespondent(answers.actor_id, answers.role)
        for choice in answers.answers:
            before = self._answers.get((answers.actor_id, choice.slot))
            if before is None or before.answer != choice.answer:
                self._answers[(answers.actor_id, choice.slot)] = PollAnswer(answers.actor_id, choice.slot, choice.answer, now)
        self._recount()
        self._changed()
        return await self._settled()

    @answer.validator
    def _validate_answer(self, answers: AvailabilityAnswers) -> None:
        if self._status == ANSWERS_CLOSED:
            raise rejected("Answers to this poll closed at its deadline; the mediator is choosing a time.")
        self._require_live()
        if answers.role not in RESPONDENT_ROLES:
            raise not_allowed("Only the parties, their representatives and interested persons mark the times they can attend.")
        numbers = {slot.number for slot in self._slots}
        seen: set[int] = set()
        for index, choice in enumerate(answers.answers):
            if choice.slot not in numbers:
                raise invalid(f"answers.{index}.slot", "There is no such time in this poll; reload the page to see the times proposed.")
            if choice.slot in seen:
                raise invalid(f"answers.{index}.slot", "This time is marked twice; mark each time once.")
            if choice.answer not in ANSWERS:
                raise invalid(f"answers.{index}.answer", "Mark this time available, if need be or unavailable.")
            seen.add(choice.slot)
        missing = numbers - seen
        if missing:
            raise invalid("answers", f"Mark every proposed time: {len(missing)} of the {len(numbers)} times {'is' if len(missing) == 1 else 'are'} not marked.")

    @workflow.update
    async def add_slots(self, more: MoreSlots) -> PollState:
        if more.respondents:
            self._respondents = {r.person_id: PollRespondent(r.person_id, r.role) for r in more.respondents}
        self._add_slots(more.slots)
        self._status = OPEN
        self._ask_again()
        self._notify("scheduling_poll_opened", recipients=list(self._respondents), details={"more_times": "yes"})
        return await self._settled()

    @add_slots.validator
    def _validate_add_slots(self, more: MoreSlots) -> None:
        self._require_live()
        self._require_manager(more.actor_id, more.is_staff)
        if not more.slots:
            raise invalid("slots", "Enter at least one more time: a start and an end.")
        if len(self._slots) + len(more.slots) > MAX_SLOTS:
            room = MAX_SLOTS - len(self._slots)
            raise invalid(
                "slots",
                f"A poll holds at most {MAX_SLOTS} times and this one has {len(self._slots)}, so add at most {room}"
                + (". Cancel this poll to propose other times." if room == 0 else "."),
            )
        self._check_slots(more.slots)

    @workflow.update
    async def pick(self, choice: SlotPick) -> PollState:
        slot = next(s for s in self._slots if s.number == choice.slot)
        self._picking = True
        try:
            self._event_id = await workflow.execute_activity_method(
                SchedulingActivities.book_mediation,
                MediationBooking(
                    case_id=self._input.case_id,
                    poll_workflow_id=workflow.info().workflow_id,
                    actor_id=choice.actor_id,
                    is_staff=choice.is_staff,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    meeting_type=choice.meeting_type,
                    location=choice.location,
                    notes=choice.notes,
                ),
                **BOOKING_ACTIVITY,
            )
        except ActivityError as error:
            # The case refused (it is over): nothing was written, and the poll stays as it was.
            message = getattr(error.cause, "message", None) or "The mediation could not be scheduled."
            raise rejected(message) from None
        finally:
            self._picking = False
        self._picked_slot, self._picked_by = slot.number, choice.actor_id
        self._close(PICKED)
        self._notify("scheduling_picked", all_participants=True, details={"event_id": str(self._event_id), "picked_slot": str(slot.number)})
        return await self._settled()

    @pick.validator
    def _validate_pick(self, choice: SlotPick) -> None:
        self._require_live()
        self._require_manager(choice.actor_id, choice.is_staff)
        slot = next((s for s in self._slots if s.number == choice.slot), None)
        if slot is None:
            raise invalid("slot", "There is no such time in this poll; choose one of the times proposed.")
        if datetime.fromisoformat(slot.starts_at) <= workflow.now():
            raise rejected("That time has already passed; pick a later one or propose more times.")

    @workflow.update
    async def cancel(self, cancellation: PollCancel) -> PollState:
        self._close(CANCELLED, cancellation.reason.strip())
        self._notify("scheduling_poll_cancelled", recipients=list(self._respondents))
        return await self._settled()

    @cancel.validator
    def _validate_cancel(self, cancellation: PollCancel) -> None:
        self._require_live()
        self._require_manager(cancellation.actor_id, cancellation.is_staff)

    def _require_live(self) -> None:
        if self._status not in LIVE_STATUSES:
            raise rejected(CLOSED)
        if self._picking:
            raise rejected(PICKING)

    def _require_manager(self, actor_id: int, is_staff: bool) -> None:
        if not is_staff and actor_id != self._input.mediator_id:
            raise not_allowed(MANAGERS_ONLY)

    def _check_slots(self, proposed: list[SlotProposal]) -> None:
        """Each time: readable, ending after it starts, not too long, still to come, and not proposed already."""
        now = workflow.now()
        taken = {(s.starts_at, s.ends_at) for s in self._slots}
        for index, slot in enumerate(proposed):
            try:
                starts, ends = datetime.fromisoformat(slot.starts_at), datetime.fromisoformat(slot.ends_at)
            except ValueError:
                raise invalid(f"slots.{index}.starts_at", "Give the start and the end of the time as dates and times.") from None
            if starts.tzinfo is None or ends.tzinfo is None:
                raise invalid(f"slots.{index}.starts_at", "Give the start and the end of the time with their offset from UTC.")
            if ends <= starts:
                raise invalid(f"slots.{index}.ends_at", "The time must end after it starts.")
            if ends - starts > timedelta(hours=MAX_SLOT_HOURS):
                raise invalid(f"slots.{index}.ends_at", f"A proposed time can last at most {MAX_SLOT_HOURS} hours.")
            if starts <= now:
                raise invalid(f"slots.{index}.starts_at", "This time has already passed; propose a time still to come.")
            key = (starts.isoformat(), ends.isoformat())
            if key in taken:
                raise invalid(f"slots.{index}.starts_at", "This time is already proposed.")
            taken.add(key)

    # ---- helpers ---------------------------------------------------------------------------------

    def _add_slots(self, proposed: list[SlotProposal]) -> None:
        for slot in proposed:
            number = len(self._slots) + 1
            starts, ends = datetime.fromisoformat(slot.starts_at), datetime.fromisoformat(slot.ends_at)
            self._slots.append(PollSlot(number=number, starts_at=starts.isoformat(), ends_at=ends.isoformat()))
        self._recount()

    def _ask_again(self) -> None:
        """Answers are open from now for the whole window, with the reminder planned within it."""
        now = workflow.now()
        self._due = now + timedelta(seconds=self._timers.answer_window_seconds)
        reminder = now + timedelta(seconds=self._timers.reminder_after_seconds)
        self._reminder_at = reminder if self._timers.reminder_after_seconds > 0 and reminder < self._due else None
        self._round += 1
        self._changed()

    def _recount(self) -> None:
        numbers = {slot.number for slot in self._slots}
        for person in self._respondents.values():
            marked = {slot for (pid, slot) in self._answers if pid == person.person_id}
            person.answered = bool(numbers) and numbers <= marked

    def _close(self, status: str, reason: str = "") -> None:
        self._status = status
        self._closed_at = workflow.now()
        self._closed_reason = reason
        self._reminder_at = None
        self._changed()

    def _changed(self) -> None:
        self._version += 1

    def _state(self, version: int) -> PollState:
        asked = set(self._respondents)
        return PollState(
            case_id=self._input.case_id,
            number=self._input.number,
            workflow_id=workflow.info().workflow_id,
            status=self._status,
            mediator_id=self._input.mediator_id,
            proposed_by_id=self._input.proposed_by_id,
            opened_at=self._opened_at.isoformat(),
            answers_due_at=self._due.isoformat(),
            slots=[PollSlot(s.number, s.starts_at, s.ends_at) for s in self._slots],
            respondents=[PollRespondent(r.person_id, r.role, r.answered) for r in self._respondents.values()],
            answers=[PollAnswer(a.person_id, a.slot, a.answer, a.answered_at) for a in self._answers.values() if a.person_id in asked],
            picked_slot=self._picked_slot,
            picked_by_id=self._picked_by,
            event_id=self._event_id,
            closed_at=self._closed_at.isoformat() if self._closed_at else None,
            closed_reason=self._closed_reason,
            version=version,
            reminder_at=self._reminder_at.isoformat() if self._reminder_at else None,
        )

    async def _publish_states(self) -> None:
        """Write the poll whenever it changes, newest version first; runs until the workflow ends."""
        while True:
            await workflow.wait_condition(lambda: self._version > self._published or self._finished)
            if self._version <= self._published:
                return
            version = self._version
            await workflow.execute_local_activity_method(SchedulingActivities.publish_poll, self._state(version), **PUBLISH_ACTIVITY)
            self._published = version

    async def _settled(self) -> PollState:
        """What an Update answers: the poll once the state it led to is in the database."""
        self._changed()
        await workflow.wait_condition(lambda: self._published >= self._version)
        return self._state(self._published)

    def _notify(self, template: str, recipients: list[int] | None = None, all_participants: bool = False, details: dict[str, str] | None = None) -> None:
        self._email_seq += 1
        notification = Notification(
            key=f"{workflow.info().workflow_id}/{self._email_seq:05d}-{template}",
            template=template,
            case_id=self._input.case_id,
            recipient_ids=list(recipients or []),
            all_participants=all_participants,
            details={
                "poll_workflow_id": workflow.info().workflow_id,
                "mediator_id": str(self._input.mediator_id),
                "deadline": self._due.isoformat(),
                **(details or {}),
            },
        )
        # Sent once the state it speaks of is published: the email reads the poll's times from the database.
        self._emails.append((self._version, notification))

    async def _deliver_emails(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._emails) or self._over)
            if not self._emails:
                return
            needed, notification = self._emails[0]

            def written(needed: int = needed) -> bool:
                return self._published >= needed

            await workflow.wait_condition(written)
            try:
                await workflow.execute_activity_method(NotificationActivities.send_notification, notification, **EMAIL_DELIVERY)
            except ActivityError as error:
                workflow.logger.warning("Scheduling poll email %s failed: %s", notification.template, error.cause or error)
            self._emails.pop(0)

    @workflow.query
    def state(self) -> PollState:
        """For the Temporal Web UI and tests; pages read the published copy in the database."""
        return self._state(self._version)
