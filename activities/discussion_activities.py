"""The discussion digest's one activity: email each room member about messages they have not been told of."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from core.db.models import Case, DiscussionRoom, Person, RoomMessage
from notifications.render import EmailRenderer
from activities.case_activities import send_or_fail
from notifications.sender import Mailer, OutgoingEmail
from core.case_facts import case_titles
from core.case_facts import room_member_ids
from core.settings import Settings


@dataclass
class DigestBatch:
    room_id: int
    message_ids: list[int]
    # One per digest run: with the recipient it keys the email, so a retried activity never sends twice.
    digest_key: str


class DiscussionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], mailer: Mailer, renderer: EmailRenderer, settings: Settings):
        self._sessions = sessions
        self._mailer = mailer
        self._renderer = renderer
        self._settings = settings

    @activity.defn
    async def send_discussion_digest(self, batch: DigestBatch) -> int:
        """One email per member who wrote none of the gathered messages: how many, from whom, and a link; never the text,
        which stays behind the sign-in."""
        async with self._sessions() as session:
            room = await session.get(DiscussionRoom, batch.room_id)
            if room is None:
                # The case's records were purged after retention; there is nothing left to tell anyone about.
                return 0
            case = await session.get(Case, room.case_id)
            messages = (
                await session.execute(
                    select(RoomMessage).where(RoomMessage.room_id == room.id, RoomMessage.id.in_(batch.message_ids or [-1])).order_by(RoomMessage.id)
                )
            ).scalars().all()
            if not messages or case is None:
                return 0
            author_ids = list(dict.fromkeys(m.author_id for m in messages))
            recipient_ids = [pid for pid in await room_member_ids(session, room) if pid not in author_ids]
            people = {p.id: p for p in (await session.execute(select(Person).where(Person.id.in_(author_ids + recipient_ids)))).scalars()}
            title = (await case_titles(session, [case.id]))[case.id]

        authors = [people[pid].full_name for pid in author_ids if pid in people]
        room_url = f"{self._settings.public_base_url.rstrip('/')}/cases/{case.id}/discussions/rooms/{room.id}"
        emails = []
        for pid in recipient_ids:
            person = people.get(pid)
            if person is None:
                continue
            rendered = self._renderer.render(
                "discussion_digest",
                recipient_name=person.full_name,
                case=case,
                case_title=title,
                room_name=room.name,
                count=len(messages),
                authors=authors,
                room_url=room_url,
            )
            emails.append(
                OutgoingEmail(
                    idempotency_key=f"room-digest:{batch.digest_key}:{pid}",
                    to_email=person.email,
                    to_name=person.full_name,
                    subject=rendered.subject,
                    text_body=rendered.text,
                    html_body=rendered.html,
                    case_id=case.id,
                )
            )
        return await send_or_fail(self._mailer, emails)
