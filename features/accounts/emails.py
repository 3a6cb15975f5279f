"""Account emails: activation for people added to a case, and password reset links."""

from sqlalchemy.ext.asyncio import AsyncSession

from features.accounts.security import issue_password_link
from core.db.models import Person
from notifications.sender import OutgoingEmail
from core.settings import Settings
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from features.context import AppContext
from workflows.account_email import AccountEmailWorkflow


async def send_password_link(ctx: AppContext, db: AsyncSession, person: Person, purpose: str, case_title: str = "") -> None:
    """Create a single-use link, commit it, and queue its email (the ledger has its own transaction)."""
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
    await ctx.mailer.store(
        OutgoingEmail(key, person.email, person.full_name, rendered.subject, rendered.text, rendered.html)
    )
    await deliver_stored_email(await ctx.temporal.client(), ctx.settings, key)


async def deliver_stored_email(client: Client, settings: Settings, key: str) -> None:
    await client.start_workflow(
        AccountEmailWorkflow.run,
        key,
        id=f"email-{key}",
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
