"""The center's mediator directory, from which panels are proposed: listing, adding and editing mediators."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import MediatorProfile, Person
from core.errors import Invalid, NotFound
from features.accounts.emails import send_password_link
from features.context import AppContext
from features.staff.models import DirectoryEntry, DirectoryEntryIn

NO_SUCH_MEDIATOR = "No such mediator in the directory."


def _entry(profile: MediatorProfile, person: Person) -> DirectoryEntry:
    return DirectoryEntry(
        person_id=person.id,
        name=person.full_name,
        email=person.email,
        bio=profile.bio,
        expertise=profile.expertise,
        region=profile.region,
        languages=profile.languages,
        fee=profile.fee,
        in_directory=profile.in_directory,
    )


async def directory(db: AsyncSession, listed_only: bool = False) -> list[DirectoryEntry]:
    query = select(MediatorProfile, Person).join(Person, Person.id == MediatorProfile.person_id).order_by(Person.full_name, Person.id)
    if listed_only:
        query = query.where(MediatorProfile.in_directory.is_(True))
    return [_entry(profile, person) for profile, person in (await db.execute(query)).all()]


async def get_mediator(db: AsyncSession, person_id: int) -> DirectoryEntry:
    row = (
        await db.execute(select(MediatorProfile, Person).join(Person, Person.id == MediatorProfile.person_id).where(MediatorProfile.person_id == person_id))
    ).first()
    if row is None:
        raise NotFound(NO_SUCH_MEDIATOR)
    return _entry(*row)


def _apply(profile: MediatorProfile, entry: DirectoryEntryIn) -> None:
    profile.bio = entry.bio
    profile.expertise = entry.expertise
    profile.region = entry.region
    profile.languages = entry.languages
    profile.fee = entry.fee
    profile.in_directory = entry.in_directory


async def add_mediator(ctx: AppContext, db: AsyncSession, entry: DirectoryEntryIn) -> DirectoryEntry:
    """List a mediator; someone new to the center gets an activation email so they can answer conflict checks."""
    person = (await db.execute(select(Person).where(Person.email == entry.email))).scalar_one_or_none()
    if person is not None and await db.get(MediatorProfile, person.id) is not None:
        message = f"{person.full_name} ({entry.email}) is already in the directory; edit that entry instead."
        raise Invalid(message, {"email": message})
    if person is None:
        person = Person(email=entry.email, full_name=entry.name, user_type="Mediator")
        db.add(person)
        await db.flush()
    profile = MediatorProfile(person_id=person.id)
    _apply(profile, entry)
    db.add(profile)
    await db.commit()
    if person.password_hash is None:
        await send_password_link(ctx, db, person, "activation")
    return _entry(profile, person)


async def edit_mediator(db: AsyncSession, person_id: int, entry: DirectoryEntryIn) -> DirectoryEntry:
    profile = await db.get(MediatorProfile, person_id)
    person = await db.get(Person, person_id)
    if profile is None or person is None:
        raise NotFound(NO_SUCH_MEDIATOR)
    if entry.email != person.email:
        taken = (await db.execute(select(Person.id).where(Person.email == entry.email, Person.id != person_id))).first()
        if taken:
            message = f"Another account already uses {entry.email}."
            raise Invalid(message, {"email": message})
    person.full_name = entry.name
    person.email = entry.email
    _apply(profile, entry)
    await db.commit()
    return _entry(profile, person)
