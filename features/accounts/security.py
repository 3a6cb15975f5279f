"""Passwords, sign-in sessions, single-use password links and login throttling: the pieces the account actions
(features/accounts/service.py) are made of."""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import LoginFailure, PasswordToken, Person, WebSession, utcnow
from core.time import as_utc

SESSION_COOKIE = "mediation_session"
SESSION_LIFETIME = timedelta(days=7)
PASSWORD_LINK_LIFETIME = {"activation": timedelta(days=7), "reset": timedelta(hours=2)}
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_ALLOWED = 5
RESET_LINK_WINDOW = timedelta(hours=1)
RESET_LINKS_PER_WINDOW = 3

_hasher = PasswordHasher()
# Verifying against this keeps a sign-in for an unknown email as slow as one for a known email.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(person: Person | None, password: str) -> bool:
    try:
        return _hasher.verify(person.password_hash if person and person.password_hash else _DUMMY_HASH, password) and bool(person and person.password_hash)
    except (VerificationError, InvalidHashError):
        return False


# argon2 is deliberately slow; off the event loop it does not stall every other request while it works.


async def password_matches(person: Person | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, person, password)


async def new_password_hash(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- sessions -------------------------------------------------------------------------------------


@dataclass
class OpenedSession:
    """A new sign-in: the cookie's token (only its digest is stored) and the CSRF token bound to the session."""

    token: str
    csrf_token: str


def start_session(db: AsyncSession, person: Person) -> OpenedSession:
    opened = OpenedSession(token=secrets.token_urlsafe(32), csrf_token=secrets.token_urlsafe(32))
    db.add(
        WebSession(
            token_hash=_digest(opened.token),
            person_id=person.id,
            csrf_token=opened.csrf_token,
            expires_at=utcnow() + SESSION_LIFETIME,
            session_version=person.session_version or 0,
        )
    )
    return opened


async def session_for_token(db: AsyncSession, token: str | None) -> tuple[WebSession, Person] | None:
    """The session and its person, unless it was signed out, has expired, or the password changed since it opened."""
    if not token:
        return None
    row = await db.get(WebSession, _digest(token))
    if row is None or row.revoked or as_utc(row.expires_at) <= utcnow():
        return None
    person = await db.get(Person, row.person_id)
    if person is None or (row.session_version or 0) < (person.session_version or 0):
        return None
    return row, person


async def end_session(db: AsyncSession, token: str | None) -> None:
    if token:
        row = await db.get(WebSession, _digest(token))
        if row:
            row.revoked = True


async def password_changed(db: AsyncSession, person: Person) -> None:
    """Sign the person out everywhere (their sessions carry an older version now) and retire their unused links."""
    person.session_version = (person.session_version or 0) + 1
    await db.execute(update(PasswordToken).where(PasswordToken.person_id == person.id, PasswordToken.used_at.is_(None)).values(used_at=utcnow()))


# ---- password links ---------------------------------------------------------------------------------


async def issue_password_link(db: AsyncSession, person: Person, purpose: str) -> str:
    token = secrets.token_urlsafe(32)
    db.add(
        PasswordToken(
            token_hash=_digest(token),
            person_id=person.id,
            purpose=purpose,
            expires_at=utcnow() + PASSWORD_LINK_LIFETIME[purpose],
        )
    )
    return token


async def usable_password_token(db: AsyncSession, token: str) -> PasswordToken | None:
    row = await db.get(PasswordToken, _digest(token))
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= utcnow():
        return None
    return row


async def use_password_token(db: AsyncSession, token: str, at: datetime) -> bool:
    """Mark the link used, if it still is usable: one write, so two people racing with one link cannot both win."""
    claimed = await db.execute(
        update(PasswordToken)
        .where(PasswordToken.token_hash == _digest(token), PasswordToken.used_at.is_(None), PasswordToken.expires_at > at)
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult, claimed).rowcount == 1


async def reset_links_exhausted(db: AsyncSession, person: Person) -> bool:
    """Whether this person already got as many reset emails as an hour allows: "Forgot Password?" must not flood an inbox."""
    since = utcnow() - RESET_LINK_WINDOW
    count = await db.scalar(
        select(func.count())
        .select_from(PasswordToken)
        .where(PasswordToken.person_id == person.id, PasswordToken.purpose == "reset", PasswordToken.created_at >= since)
    )
    return (count or 0) >= RESET_LINKS_PER_WINDOW


# ---- guessing ---------------------------------------------------------------------------------------


async def login_throttled(db: AsyncSession, email: str) -> bool:
    since = utcnow() - LOGIN_FAILURE_WINDOW
    count = await db.scalar(select(func.count()).select_from(LoginFailure).where(LoginFailure.email == email, LoginFailure.at >= since))
    return (count or 0) >= LOGIN_FAILURES_ALLOWED


async def record_login_failure(db: AsyncSession, email: str) -> None:
    db.add(LoginFailure(email=email))


async def clear_login_failures(db: AsyncSession, email: str) -> None:
    await db.execute(delete(LoginFailure).where(LoginFailure.email == email))
