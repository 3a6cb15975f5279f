"""The one notification pipeline: every email the platform sends (case events, discussion digests, calendar
changes, account links) is one `Notification`, sent by the one activity below with the one retry policy, through
the one ledger (`notifications/sender.py`, the `emails` table), so a retried attempt never sends twice.

Each email is written for its recipient: their name, and whether they are a party, a representative, an interested
person, the mediator or the center. Emails that carry a secret (a password link) are rendered where the secret is
made and stored in the ledger first; the notification then only names the stored email, so no secret ever enters
workflow history.
"""

from dataclasses import dataclass
from datetime import timedelta

from jinja2 import TemplateError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.types import ActivityOptions, Notification
from core.case_facts import case_titles, room_member_ids
from core.db.models import CalendarEvent, Case, DiscussionRoom, MediatorProfile, Participant, Person, RoomMessage, SchedulingPoll
from core.scheduling import tally_slots
from core.scheduling_store import stored_poll
from core.settings import Settings
from core.time import as_utc
from notifications.icalendar import ICS_TYPE, event_file, event_file_name
from notifications.render import EmailRenderer
from notifications.sender import EmailAttachment, Mailer, OutgoingEmail, PermanentEmailError

# The one retry policy for email: SendGrid outages are retried for as long as they last, a refusal is final.
EMAIL_DELIVERY: ActivityOptions = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=5), non_retryable_error_types=["PermanentEmailError"]),
}


# Keeping a case's emails in the ledger is a local activity of its workflow: a quick database write, retried briefly.
KEEP_EMAILS: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
}


@dataclass
class KeptNotifications:
    # Ledger keys still to hand to SendGrid, in order; none with the outbox, where keeping them was their delivery.
    to_deliver: list[str]
    # Notifications that could not be written for their recipients ("template: why"), for the case's timeline.
    failures: list[str]


@dataclass
class Recipient:
    # With the notification's key, this keys the email in the ledger: "12" for a person, "center" for the center.
    suffix: str
    name: str
    email: str
    # party, representative, interested, mediator, staff or center: what the email may say to them.
    role: str
    # The IANA zone their times are written in; None: the center's.
    time_zone: str | None = None


async def send_or_fail(mailer: Mailer, emails: list[OutgoingEmail]) -> int:
    """Send the emails; addresses SendGrid refused for good fail the activity without retries (the workflow logs it)."""
    try:
        return await mailer.send_all(emails)
    except PermanentEmailError as error:
        raise ApplicationError(str(error), type="PermanentEmailError", non_retryable=True) from error


class NotificationActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], mailer: Mailer, renderer: EmailRenderer, settings: Settings):
        self._sessions = sessions
        self._mailer = mailer
        self._renderer = renderer
        self._settings = settings

    @activity.defn
    async def send_notification(self, notification: Notification) -> int:
        """Render and send one email per recipient; returns how many went out now (a retry skips what already did)."""
        if notification.stored_key:
            try:
                return int(await self._mailer.deliver_stored(notification.stored_key))
            except PermanentEmailError as error:
                raise ApplicationError(str(error), type="PermanentEmailError", non_retryable=True) from error
        async with self._sessions() as db:
            if notification.template == "discussion_digest":
                emails = await self._digest(db, notification)
            else:
                emails = await self._case_event(db, notification)
        return await send_or_fail(self._mailer, emails)

    @activity.defn
    async def keep_notifications(self, notifications: list[Notification]) -> KeptNotifications:
        """Render each notification for its recipients and keep the emails in the ledger, in order, in one
        transaction. A local activity of the case workflow: with the outbox an email then costs no round trip to the
        Temporal server at all; with SendGrid, `deliver_emails` sends what this returns, retried through outages."""
        emails: list[OutgoingEmail] = []
        failures: list[str] = []
        async with self._sessions() as db:
            for notification in notifications:
                try:
                    if notification.template == "discussion_digest":
                        emails += await self._digest(db, notification)
                    else:
                        emails += await self._case_event(db, notification)
                except TemplateError as error:
                    # A template that cannot be rendered will not render on a retry either: report it and go on.
                    failures.append(f"{notification.template}: {error}")
        return KeptNotifications(to_deliver=await self._mailer.keep_all(emails), failures=failures)

    @activity.defn
    async def deliver_emails(self, keys: list[str]) -> int:
        """Hand the kept emails to SendGrid in order; one refused address does not keep the others from going out."""
        sent, refused = 0, []
        for key in keys:
            try:
                sent += await self._mailer.deliver_stored(key)
            except PermanentEmailError as error:
                refused.append(str(error))
        if refused:
            raise ApplicationError("; ".join(refused), type="PermanentEmailError", non_retryable=True)
        return sent

    # ---- a case event ---------------------------------------------------------------------------------

    async def _case_event(self, db: AsyncSession, notification: Notification) -> list[OutgoingEmail]:
        case = await db.get(Case, notification.case_id)
        if case is None:
            raise ApplicationError(f"Case {notification.case_id} is not in the database yet")
        recipients = await self._recipients(db, case, notification)
        extra, attachments = await self._template_context(db, case, notification)
        context = {
            "case": case,
            "case_title": (await case_titles(db, [case.id]))[case.id],
            "details": notification.details,
            "names": await _names_for_details(db, notification.details),
            **extra,
        }
        emails = []
        for recipient in recipients:
            rendered = self._renderer.render(notification.template, recipient.time_zone, recipient_name=recipient.name, recipient=recipient, **context)
            emails.append(
                OutgoingEmail(
                    idempotency_key=f"{notification.key}:{recipient.suffix}",
                    to_email=recipient.email,
                    to_name=recipient.name,
                    subject=rendered.subject,
                    text_body=rendered.text,
                    html_body=rendered.html,
                    case_id=case.id,
                    attachments=attachments,
                )
            )
        return emails

    async def _recipients(self, db: AsyncSession, case: Case, notification: Notification) -> list[Recipient]:
        roles: dict[int, str] = {}
        for person_id, role in await db.execute(select(Participant.person_id, Participant.role).where(Participant.case_id == case.id).order_by(Participant.id)):
            # Someone with two roles on a case is written to in the first (a party before their other hats).
            roles.setdefault(person_id, role)
        ids = list(dict.fromkeys(notification.recipient_ids))
        if notification.all_participants:
            ids += [pid for pid in roles if pid not in ids]
        ids = [pid for pid in ids if pid not in notification.except_ids]
        people = {p.id: p for p in (await db.execute(select(Person).where(Person.id.in_(ids or [-1])))).scalars()}
        mediators = set((await db.execute(select(MediatorProfile.person_id).where(MediatorProfile.person_id.in_(ids or [-1])))).scalars())
        recipients = []
        for pid in ids:
            person = people.get(pid)
            if person is None:
                continue
            role = roles.get(pid) or ("mediator" if pid in mediators else "staff" if person.is_staff else "party")
            recipients.append(Recipient(str(pid), person.full_name, person.email, role, person.time_zone))
        if notification.to_center:
            recipients.append(Recipient("center", self._settings.center_name, self._settings.center_email, "center"))
        return recipients

    async def _template_context(self, db: AsyncSession, case: Case, notification: Notification) -> tuple[dict, tuple[EmailAttachment, ...]]:
        """What a template needs beyond the case, and the files the email carries: a calendar event as it now stands
        (with its .ics attached), a scheduling poll with its times."""
        context: dict = {}
        attachments: tuple[EmailAttachment, ...] = ()
        if "poll_workflow_id" in notification.details:
            row = await db.scalar(select(SchedulingPoll).where(SchedulingPoll.workflow_id == notification.details["poll_workflow_id"]))
            if row is None or row.case_id != case.id:
                # Published before any email about it is queued; a retry finds it.
                raise ApplicationError(f"Scheduling poll {notification.details['poll_workflow_id']} is not in the database yet")
            poll = await stored_poll(db, row)
            context |= {"poll": poll, "best_first": tally_slots(poll), "scheduling_link": f"{self._base_url}/cases/{case.id}/scheduling"}
        if "event_id" in notification.details:
            event = await db.get(CalendarEvent, int(notification.details["event_id"]))
            if event is None or event.case_id != case.id:
                raise ApplicationError(f"Calendar event {notification.details['event_id']} of case {case.id} is gone", non_retryable=True)
            context |= {
                "event": event,
                "starts_at": as_utc(event.starts_at),
                "ends_at": as_utc(event.ends_at),
                "change": notification.details.get("change", "added"),
                "calendar_link": f"{self._base_url}/cases/{case.id}/calendar",
                "ics_link": f"{self._base_url}/cases/{case.id}/calendar/{event.id}.ics",
            }
            attachments = (EmailAttachment(event_file_name(case, event), ICS_TYPE, event_file(self._settings, case, event)),)
        if notification.template == "ballot_receipt":
            # The ballot in the party's own order: the names of the mediators it ranked, best first, and eliminated.
            context |= {
                "ranked_names": await _names_in_order(db, notification.details.get("ranked_mediator_ids", "")),
                "eliminated_names": await _names_in_order(db, notification.details.get("eliminated_mediator_ids", "")),
            }
        return context, attachments

    @property
    def _base_url(self) -> str:
        return self._settings.public_base_url.rstrip("/")

    # ---- a discussion digest ------------------------------------------------------------------------------

    async def _digest(self, db: AsyncSession, notification: Notification) -> list[OutgoingEmail]:
        """Each member of the room is told of the gathered messages that someone else wrote: how many, from whom,
        and a link; never the text, which stays behind the sign-in. A member who wrote all of them is told nothing."""
        room = await db.get(DiscussionRoom, int(notification.details["room_id"]))
        if room is None:
            # The case's records were purged after retention; there is nothing left to tell anyone about.
            return []
        case = await db.get(Case, room.case_id)
        message_ids = [int(m) for m in notification.details.get("message_ids", "").split(",") if m.isdigit()]
        messages = (
            (await db.execute(select(RoomMessage).where(RoomMessage.room_id == room.id, RoomMessage.id.in_(message_ids or [-1])).order_by(RoomMessage.id)))
            .scalars()
            .all()
        )
        if not messages or case is None:
            return []
        members = await room_member_ids(db, room)
        authors = list(dict.fromkeys(m.author_id for m in messages))
        people = {p.id: p for p in (await db.execute(select(Person).where(Person.id.in_(members + authors)))).scalars()}
        title = (await case_titles(db, [case.id]))[case.id]
        room_url = f"{self._settings.public_base_url.rstrip('/')}/cases/{case.id}/discussions/rooms/{room.id}"
        emails = []
        for pid in members:
            person = people.get(pid)
            theirs = [m for m in messages if m.author_id != pid]
            if person is None or not theirs:
                continue
            rendered = self._renderer.render(
                "discussion_digest",
                recipient_name=person.full_name,
                case=case,
                case_title=title,
                room_name=room.name,
                count=len(theirs),
                authors=[people[a].full_name for a in dict.fromkeys(m.author_id for m in theirs) if a in people],
                room_url=room_url,
            )
            emails.append(
                OutgoingEmail(
                    idempotency_key=f"{notification.key}:{pid}",
                    to_email=person.email,
                    to_name=person.full_name,
                    subject=rendered.subject,
                    text_body=rendered.text,
                    html_body=rendered.html,
                    case_id=case.id,
                )
            )
        return emails


async def _names_for_details(session: AsyncSession, details: dict[str, str]) -> dict[str, str]:
    """The name of each person a notification's details name: "mediator_id" gives names["mediator"], and a list such
    as "missing_party_ids" ("3,4") gives names["missing_party"], the names joined ("Taylor Swift and Ed Sheeran")."""
    ids = {key: int(value) for key, value in details.items() if key.endswith("_id") and value.isdigit()}
    groups = {key: [int(v) for v in value.split(",") if v.isdigit()] for key, value in details.items() if key.endswith("_ids")}
    wanted = {*ids.values(), *(pid for group in groups.values() for pid in group)}
    if not wanted:
        return {}
    people = {p.id: p.full_name for p in (await session.execute(select(Person).where(Person.id.in_(wanted)))).scalars()}
    names = {key.removesuffix("_id"): people.get(pid, "") for key, pid in ids.items()}
    for key, group in groups.items():
        found = [people[pid] for pid in group if pid in people]
        names[key.removesuffix("_ids")] = " and ".join(filter(None, [", ".join(found[:-1]), found[-1] if found else ""]))
    return names


async def _names_in_order(session: AsyncSession, ids: str) -> list[str]:
    """The names of the people listed in `ids` ("5,3,9"), in that order."""
    wanted = [int(v) for v in ids.split(",") if v.isdigit()]
    people = {p.id: p.full_name for p in (await session.execute(select(Person).where(Person.id.in_(wanted or [-1])))).scalars()}
    return [people.get(pid, f"Mediator #{pid}") for pid in wanted]
