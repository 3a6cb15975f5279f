"""Send an email exactly once per idempotency key: through SendGrid, or into the local outbox."""

import asyncio
import base64
from dataclasses import dataclass

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Attachment, Content, Disposition, FileContent, FileName, FileType, Mail, To
from sendgrid.helpers.mail import Email as SendGridAddress
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Email, utcnow
from core.db.session import transaction
from core.settings import Settings

SENDGRID_TIMEOUT_SECONDS = 30
# A request SendGrid rejects as malformed will be rejected again; anything else (outage, throttling) may pass later.
PERMANENT_STATUSES = {400, 413}


@dataclass(frozen=True)
class EmailAttachment:
    """A file sent with an email, such as a calendar event's .ics."""

    filename: str
    content_type: str
    content: bytes

    def to_ledger(self) -> dict[str, str]:
        return {"filename": self.filename, "content_type": self.content_type, "content": base64.b64encode(self.content).decode("ascii")}

    @classmethod
    def from_ledger(cls, stored: dict[str, str]) -> "EmailAttachment":
        return cls(stored["filename"], stored["content_type"], base64.b64decode(stored["content"]))


@dataclass(frozen=True)
class OutgoingEmail:
    idempotency_key: str
    to_email: str
    to_name: str
    subject: str
    text_body: str
    html_body: str
    case_id: int | None = None
    attachments: tuple[EmailAttachment, ...] = ()


class PermanentEmailError(Exception):
    """SendGrid refused the message in a way a retry cannot fix."""


class EmailDeliveryFailed(Exception):
    """SendGrid could not take the message now; a retry may succeed."""


class Mailer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = sessions
        self._settings = settings

    @property
    def transport(self) -> str:
        return "sendgrid" if self._settings.sendgrid_api_key else "outbox"

    async def send(self, email: OutgoingEmail) -> bool:
        """Deliver the email unless one with the same key already went out. Returns whether it was sent now."""
        # The outbox transport keeps the email as its delivery: claiming it and marking it sent is one write.
        if not await self._claim(email, delivered=self.transport == "outbox"):
            return False
        if self.transport == "sendgrid":
            await self.deliver_stored(email.idempotency_key)
        return True

    async def send_all(self, emails: list[OutgoingEmail]) -> int:
        """Send each email once; one refused address does not keep the message from the others.

        Returns how many went out now; raises PermanentEmailError naming every refused one after trying all.
        """
        sent, refused = 0, []
        for email in emails:
            try:
                sent += await self.send(email)
            except PermanentEmailError as error:
                refused.append(str(error))
        if refused:
            raise PermanentEmailError("; ".join(refused))
        return sent

    async def keep_all(self, emails: list[OutgoingEmail]) -> list[str]:
        """Keep the emails in the ledger in one transaction, in order. With the outbox, keeping is their delivery;
        with SendGrid they wait for `deliver_stored`. Returns the keys still to deliver (none with the outbox), and
        never an email already sent, so keeping the same emails again changes nothing."""
        delivered = self.transport == "outbox"
        to_deliver: list[str] = []
        async with transaction(self._sessions) as session:
            existing = {
                row.idempotency_key: row
                for row in (await session.execute(select(Email).where(Email.idempotency_key.in_([e.idempotency_key for e in emails] or [""])))).scalars()
            }
            for email in emails:
                row = existing.get(email.idempotency_key)
                if row is None:
                    row = self._ledger_entry(email)
                    row.attempts = 1 if delivered else 0
                    session.add(row)
                    existing[email.idempotency_key] = row
                    if delivered:
                        row.status, row.sent_at = "sent", utcnow()
                if row.status != "sent" and email.idempotency_key not in to_deliver:
                    to_deliver.append(email.idempotency_key)
        return to_deliver

    async def store(self, email: OutgoingEmail) -> bool:
        """Keep the email in the ledger to be delivered later by deliver_stored; False if the key is already taken."""
        return await self._claim(email)

    async def deliver_stored(self, key: str) -> bool:
        async with self._sessions() as session:
            row = await _ledger_row(session, key)
        if row is None:
            raise PermanentEmailError(f"No stored email with key {key}")
        if row.status == "sent":
            return False
        provider_id = ""
        if self.transport == "sendgrid":
            # Counted before the attempt, so the ledger shows tries that failed too.
            async with transaction(self._sessions) as session:
                await session.execute(update(Email).where(Email.idempotency_key == key).values(attempts=Email.attempts + 1))
            attachments = tuple(EmailAttachment.from_ledger(a) for a in row.attachments or [])
            stored = OutgoingEmail(key, row.to_email, row.to_name, row.subject, row.text_body, row.html_body, row.case_id, attachments)
            provider_id = await asyncio.to_thread(self._send_with_sendgrid, stored)
        async with transaction(self._sessions) as session:
            row = await _ledger_row(session, key)
            assert row is not None, "a ledger row is never deleted"
            row.status = "sent"
            row.sent_at = utcnow()
            row.transport = self.transport
            row.provider_message_id = provider_id
        return True

    def _ledger_entry(self, email: OutgoingEmail) -> Email:
        return Email(
            idempotency_key=email.idempotency_key,
            case_id=email.case_id,
            to_email=email.to_email,
            to_name=email.to_name,
            subject=email.subject,
            text_body=email.text_body,
            html_body=email.html_body,
            transport=self.transport,
            attachments=[a.to_ledger() for a in email.attachments] or None,
        )

    async def _claim(self, email: OutgoingEmail, delivered: bool = False) -> bool:
        try:
            async with transaction(self._sessions) as session:
                row = await _ledger_row(session, email.idempotency_key)
                if row is None:
                    row = self._ledger_entry(email)
                    session.add(row)
                elif row.status == "sent":
                    return False
                if delivered:
                    # Kept in the outbox: that is the one attempt. SendGrid attempts are counted by deliver_stored.
                    row.attempts = (row.attempts or 0) + 1
                    row.status, row.sent_at = "sent", utcnow()
        except IntegrityError:
            # Another attempt claimed the same key at the same moment; it will deliver it.
            return False
        return True

    def _send_with_sendgrid(self, email: OutgoingEmail) -> str:
        client = SendGridAPIClient(api_key=self._settings.sendgrid_api_key, host=self._settings.sendgrid_host)
        client.client.timeout = SENDGRID_TIMEOUT_SECONDS
        message = Mail(
            from_email=SendGridAddress(self._settings.email_from, self._settings.email_from_name),
            to_emails=To(email.to_email, email.to_name or None),
            subject=email.subject,
        )
        message.add_content(Content("text/plain", email.text_body))
        message.add_content(Content("text/html", email.html_body))
        for attached in email.attachments:
            message.add_attachment(
                Attachment(
                    FileContent(base64.b64encode(attached.content).decode("ascii")),
                    FileName(attached.filename),
                    FileType(attached.content_type),
                    Disposition("attachment"),
                )
            )
        try:
            response = client.send(message)
        except HTTPError as error:
            detail = f"SendGrid answered {error.status_code} for {email.idempotency_key}"
            if error.status_code in PERMANENT_STATUSES:
                raise PermanentEmailError(detail) from error
            raise EmailDeliveryFailed(detail) from error
        except OSError as error:
            raise EmailDeliveryFailed(f"SendGrid unreachable: {error}") from error
        return (response.headers or {}).get("X-Message-Id", "") if hasattr(response.headers, "get") else ""


async def _ledger_row(session: AsyncSession, key: str) -> Email | None:
    return (await session.execute(select(Email).where(Email.idempotency_key == key))).scalar_one_or_none()
