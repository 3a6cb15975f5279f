"""Passwords, sign-in sessions, single-use password links and login throttling."""

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import LoginFailure, PasswordToken, Person, WebSession, utcnow

SESSION_COOKIE = "mediation_session"
SESSION_LIFETIME = timedelta(days=7)
PASSWORD_LINK_LIFETIME = {"activation": timedelta(days=7), "reset": timedelta(hours=2)}
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_ALLOWED = 5
MIN_PASSWORD_LENGTH = 10
RESET_LINK_WINDOW = timedelta(hours=1)
RESET_LINKS_PER_WINDOW = 3

_hasher = PasswordHasher()
# Verifying against this keeps a sign-in for an unknown email as slow as one for a known email.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(person: Person | None, password: str) -> bool:
    try:
        return _hasher.verify(person.password_hash if person and person.password_hash else _DUMMY_HASH, password) and bool(
            person and person.password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, confirm: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
    if password != confirm:
        return "The two passwords do not match."
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; everything here is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


async def start_session(db: AsyncSession, person: Person) -> str:
    token = secrets.token_urlsafe(32)
    db.add(
        WebSession(
            token_hash=_digest(token),
            person_id=person.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utcnow() + SESSION_LIFETIME,
        )
    )
    return token


async def session_for_token(db: AsyncSession, token: str | None) -> tuple[WebSession, Person] | None:
    if not token:
        return None
    row = await db.get(WebSession, _digest(token))
    if row is None or row.revoked or _aware(row.expires_at) <= utcnow():
        return None
    person = await db.get(Person, row.person_id)
    return (row, person) if person else None


async def end_session(db: AsyncSession, token: str | None) -> None:
    if token:
        row = await db.get(WebSession, _digest(token))
        if row:
            row.revoked = True


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
    if row is None or row.used_at is not None or _aware(row.expires_at) <= utcnow():
        return None
    return row


async def set_password_with_token(db: AsyncSession, row: PasswordToken, password: str) -> Person:
    person = await db.get(Person, row.person_id)
    person.password_hash = hash_password(password)
    row.used_at = utcnow()
    # Every other link of this person dies with this one, and so do their open sessions.
    for other in (await db.execute(select(PasswordToken).where(PasswordToken.person_id == person.id, PasswordToken.used_at.is_(None)))).scalars():
        other.used_at = row.used_at
    for open_session in (await db.execute(select(WebSession).where(WebSession.person_id == person.id))).scalars():
        open_session.revoked = True
    return person


async def reset_links_exhausted(db: AsyncSession, person: Person) -> bool:
    """Whether this person already got as many reset emails as an hour allows: "Forgot Password?" must not flood an inbox."""
    since = utcnow() - RESET_LINK_WINDOW
    count = await db.scalar(
        select(func.count()).select_from(PasswordToken).where(
            PasswordToken.person_id == person.id, PasswordToken.purpose == "reset", PasswordToken.created_at >= since
        )
    )
    return (count or 0) >= RESET_LINKS_PER_WINDOW


async def login_throttled(db: AsyncSession, email: str) -> bool:
    since = utcnow() - LOGIN_FAILURE_WINDOW
    count = await db.scalar(select(func.count()).select_from(LoginFailure).where(LoginFailure.email == email, LoginFailure.at >= since))
    return (count or 0) >= LOGIN_FAILURES_ALLOWED


async def record_login_failure(db: AsyncSession, email: str) -> None:
    db.add(LoginFailure(email=email))


async def clear_login_failures(db: AsyncSession, email: str) -> None:
    await db.execute(delete(LoginFailure).where(LoginFailure.email == email))


THROTTLED_MESSAGE = 'Too many failed sign-in attempts for this email. Wait 15 minutes, or use "Forgot Password?".'
WRONG_CREDENTIALS_MESSAGE = "The email or password is not right."


class SignInRefused(Exception):
    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code


async def sign_in(db: AsyncSession, email: str, password: str) -> tuple[Person, str]:
    """Check the credentials (slowing down guessing) and open a session; returns the person and the cookie token."""
    email = email.strip().lower()
    if await login_throttled(db, email):
        raise SignInRefused(THROTTLED_MESSAGE, 429)
    person = (await db.execute(select(Person).where(func.lower(Person.email) == email))).scalar_one_or_none()
    # argon2 is deliberately slow; off the event loop it no longer stalls every other request.
    if not await asyncio.to_thread(verify_password, person, password):
        await record_login_failure(db, email)
        await db.commit()
        raise SignInRefused(WRONG_CREDENTIALS_MESSAGE, 400)
    await clear_login_failures(db, email)
    token = await start_session(db, person)
    await db.commit()
    return person, token


def set_session_cookie(response, token: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True, samesite="lax", secure=secure
    )
