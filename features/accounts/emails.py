"""Account emails: activation for people added to a case, and password reset links.

The link is a secret: the email is rendered here, where the link is made, and kept in the ledger; the one
notification pipeline then delivers it by its key, so the link never enters workflow history."""

from sqlalchemy.ext.asyncio import AsyncSession

from activities.types import Notification
from core.db.models import Person
from features.accounts.security import issue_password_link
from features.context import AppContext
from features.notifications import notify
from notifications.sender import OutgoingEmail


async def send_password_link(ctx: AppContext, db: AsyncSession, person: Person, purpose: str, case_title: str = "") -> None:
    """Create a single-use link, commit it, keep its email in the ledger, and have it delivered."""
    token = await issue_password_link(db, person, purpose)
    await db.commit()
    link = f"{ctx.settings.public_base_url.rstrip('/')}/set-password/{token}"
    rendered = ctx.emails.render(
        "account_activation" if purpose == "activation" else "password_reset",
        recipient_name=person.full_name,
        link=link,
        case_title=case_title,
    )
    key = f"account/{purpose}/{person.id}/{token[:12]}"
    await ctx.mailer.store(OutgoingEmail(key, person.email, person.full_name, rendered.subject, rendered.text, rendered.html))
    template = "account_activation" if purpose == "activation" else "password_reset"
    await notify(ctx, Notification(key=key, template=template, case_id=0, stored_key=key))
