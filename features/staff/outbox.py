"""The email outbox: every email the platform sent or kept, newest first, for staff to read."""

import math

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Email
from core.errors import NotFound
from features.staff.models import PAGE_SIZE, EmailSummary, EmailView, Outbox


async def outbox(db: AsyncSession, page: int = 1) -> Outbox:
    total = (await db.execute(select(func.count(Email.id)))).scalar_one()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = (await db.execute(select(Email).order_by(Email.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))).scalars()
    return Outbox(items=[EmailSummary.model_validate(e) for e in rows], page=page, pages=pages, total=total)


async def outbox_email(db: AsyncSession, email_id: int) -> EmailView:
    email = await db.get(Email, email_id)
    if email is None:
        raise NotFound("No such email.")
    return EmailView.model_validate(email)
