"""The account actions, each one door for the page and the JSON API: sign in, Forgot Password?, a password from an
activation or reset link, changing the password, My Profile, and center staff editing a person.

Setting or changing a password signs the person out everywhere: their `session_version` goes up, and a session
opened under an older version is refused (the session that changed the password moves up with it).
Confidential notes are the center's own notes about a person, and the user type is how the center classifies
them: only staff write either, and confidential notes never reach a participant's page or JSON.
"""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import PasswordToken, Person, utcnow
from core.errors import Expired, Invalid, NotFound, Throttled
from core.time import as_utc
from features.access import Viewer
from features.accounts.emails import send_password_link
from features.accounts.models import (
    USER_TYPES,
    NewPassword,
    PasswordChange,
    PasswordLinkOut,
    PasswordResetRequest,
    PasswordSet,
    ProfileOut,
    ProfileUpdate,
    ResetRequested,
    SignIn,
    StaffPersonOut,
    StaffPersonUpdate,
)
from features.accounts.security import (
    OpenedSession,
    clear_login_failures,
    login_throttled,
    new_password_hash,
    password_changed,
    password_matches,
    record_login_failure,
    reset_links_exhausted,
    start_session,
    usable_password_token,
    use_password_token,
)
from features.context import AppContext

THROTTLED_MESSAGE = 'Too many failed sign-in attempts for this email. Wait 15 minutes, or use "Forgot Password?".'
WRONG_CREDENTIALS_MESSAGE = "The email or password is not right."
WRONG_CURRENT_PASSWORD = "Your current password is not right."
FORGOT_PASSWORD_ANSWER = "If an account exists for that email, we have sent it a link to choose a new password. The link works once, for 2 hours."
LINK_EXPIRED = "This link has expired or has already been used. Ask for a new one with Forgot Password?"
EMAIL_TAKEN = "Another account already uses this email address."


async def _person_by_email(db: AsyncSession, email: str) -> Person | None:
    return (await db.execute(select(Person).where(func.lower(Person.email) == email))).scalar_one_or_none()


# ---- signing in and passwords ---------------------------------------------------------------------


async def sign_in(db: AsyncSession, credentials: SignIn) -> OpenedSession:
    """Check the credentials (failures per email slow guessing down) and open a new session."""
    email = credentials.email
    if await login_throttled(db, email):
        raise Throttled(THROTTLED_MESSAGE)
    person = await _person_by_email(db, email)
    # An unknown email costs the same hash check as a known one, so timing does not tell who has an account.
    if not await password_matches(person, credentials.password) or person is None:
        await record_login_failure(db, email)
        await db.commit()
        raise Invalid(WRONG_CREDENTIALS_MESSAGE, {"email": WRONG_CREDENTIALS_MESSAGE, "password": WRONG_CREDENTIALS_MESSAGE})
    await clear_login_failures(db, email)
    opened = start_session(db, person)
    await db.commit()
    return opened


async def request_password_reset(ctx: AppContext, db: AsyncSession, request: PasswordResetRequest) -> ResetRequested:
    """Email a reset link if there is such an account and it has not had three this hour; the answer is the same
    either way, so nobody can learn who has an account here."""
    person = await _person_by_email(db, request.email)
    if person is not None and not await reset_links_exhausted(db, person):
        await send_password_link(ctx, db, person, "reset")
    return ResetRequested(message=FORGOT_PASSWORD_ANSWER)


async def _usable_link(db: AsyncSession, token: str) -> tuple[PasswordToken, Person]:
    row = await usable_password_token(db, token)
    person = await db.get(Person, row.person_id) if row is not None else None
    if row is None or person is None:
        raise Expired(LINK_EXPIRED)
    return row, person


async def password_link(db: AsyncSession, token: str) -> PasswordLinkOut:
    """What a usable link is for (the account's email, until when); a used or late link is Expired."""
    row, person = await _usable_link(db, token)
    return PasswordLinkOut(email=person.email, purpose=row.purpose, expires_at=as_utc(row.expires_at))


async def set_password_from_link(db: AsyncSession, token: str, new: NewPassword) -> PasswordSet:
    """Set the password from an activation or reset link, once; every session of the person ends and their other
    links die with this one. Returns the account's email, so the sign-in can start from it."""
    _row, person = await _usable_link(db, token)
    done = PasswordSet(email=person.email)
    password_hash = await new_password_hash(new.password)
    if not await use_password_token(db, token, utcnow()):
        # Used by someone else, or run out, while the password was being hashed.
        raise Expired(LINK_EXPIRED)
    person.password_hash = password_hash
    await password_changed(db, person)
    await db.commit()
    return done


async def change_password(db: AsyncSession, viewer: Viewer, change: PasswordChange) -> None:
    """Change the password after checking the current one; this session stays signed in, every other one ends."""
    person = viewer.person
    email = person.email.lower()
    # A wrong current password counts as a failed sign-in: a found session must not become a way to guess.
    if await login_throttled(db, email):
        raise Throttled(THROTTLED_MESSAGE)
    if not await password_matches(person, change.current_password):
        await record_login_failure(db, email)
        await db.commit()
        raise Invalid(WRONG_CURRENT_PASSWORD, {"current_password": WRONG_CURRENT_PASSWORD})
    person.password_hash = await new_password_hash(change.password)
    await password_changed(db, person)
    viewer.web_session.session_version = person.session_version
    await db.commit()


# ---- My Profile and staff editing a person --------------------------------------------------------


@dataclass
class PersonPage:
    """A person's details as a form shows them: the saved values, or what was typed when the form came back."""

    person: ProfileOut
    values: dict[str, object]
    user_types: list[str]


def profile_form(person: Person, staff: bool, typed: dict[str, object] | None = None) -> PersonPage:
    saved = (StaffPersonOut if staff else ProfileOut).model_validate(person)
    values: dict[str, object] = saved.model_dump()
    if typed is not None:
        values.update({key: typed.get(key, "") for key in (StaffPersonUpdate if staff else ProfileUpdate).model_fields})
        values["contact_hidden"] = bool(typed.get("contact_hidden"))
    # A user type from before the list keeps showing as chosen until staff pick another.
    user_types = list(USER_TYPES) if person.user_type in USER_TYPES else [person.user_type, *USER_TYPES]
    return PersonPage(person=saved, values=values, user_types=user_types)


async def staff_person(db: AsyncSession, person_id: int) -> Person:
    person = await db.get(Person, person_id)
    if person is None:
        raise NotFound("No such person.")
    return person


async def update_my_profile(db: AsyncSession, viewer: Viewer, changes: ProfileUpdate) -> ProfileOut:
    """My Profile, the same for everyone: staff keep their confidential notes through `update_person`."""
    await _save(db, viewer.person, changes)
    return ProfileOut.model_validate(viewer.person)


async def update_person(db: AsyncSession, person_id: int, changes: StaffPersonUpdate) -> StaffPersonOut:
    person = await staff_person(db, person_id)
    if changes.user_type is not None and changes.user_type not in USER_TYPES and changes.user_type != person.user_type:
        message = f"Choose the user type from the list: {', '.join(USER_TYPES)}."
        raise Invalid(message, {"user_type": message})
    await _save(db, person, changes)
    return StaffPersonOut.model_validate(person)


async def _save(db: AsyncSession, person: Person, changes: ProfileUpdate) -> None:
    values = changes.model_dump(exclude_none=True)
    email = values.get("email")
    if email is not None and await db.scalar(select(Person.id).where(func.lower(Person.email) == email, Person.id != person.id)) is not None:
        raise Invalid(EMAIL_TAKEN, {"email": EMAIL_TAKEN})
    if values.get("time_zone") == "":
        values["time_zone"] = None
    for key, value in values.items():
        setattr(person, key, value)
    try:
        await db.commit()
    except IntegrityError:
        # Someone took the email between the check and the commit. The rollback expires everything loaded in this
        # session (the signed-in person too, whom the page still shows), so load it back before answering.
        await db.rollback()
        for loaded in list(db.identity_map.values()):
            await db.refresh(loaded)
        raise Invalid(EMAIL_TAKEN, {"email": EMAIL_TAKEN}) from None
