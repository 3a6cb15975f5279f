"""My Profile, and center staff editing anyone's profile: one validation and one save for the pages and the JSON API.

Confidential notes are the center's own notes about a person, and the user type is how the center classifies them:
only staff write either, and confidential notes never reach a participant's page or JSON.
"""

import re
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Person
from core.inputs import normalized_email

USER_TYPES = ("Party", "Agent", "Attorney", "Power of attorney", "Representative", "Interested person", "Mediator", "Center staff")

# Labels as on the handbook's My Profile form; limits match the columns in db/models.py.
FIELDS = {
    "email": ("Email", 320),
    "full_name": ("Full Name", 200),
    "organization": ("Organization", 200),
    "address1": ("Address1", 200),
    "city": ("City", 100),
    "state": ("State", 50),
    "zip": ("Zip", 20),
    "phone": ("Phone", 40),
}
MAX_NOTES = 5000
PHONE_PATTERN = re.compile(r"^[0-9+().\-\s]*(?:(?:x|ext\.?)\s?[0-9]+)?$", re.IGNORECASE)
ZIP_PATTERN = re.compile(r"^[0-9A-Za-z\- ]*$")


class ProfileProblem(Exception):
    """Input the person can correct; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class ProfileForm:
    email: str = ""
    full_name: str = ""
    organization: str = ""
    address1: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    phone: str = ""
    contact_hidden: bool = False
    # None means "not this viewer's to change": the saved value stays as it is.
    user_type: str | None = None
    confidential_notes: str | None = None

    @classmethod
    def of(cls, person: Person, staff: bool) -> "ProfileForm":
        return cls(
            email=person.email,
            full_name=person.full_name,
            organization=person.organization,
            address1=person.address1,
            city=person.city,
            state=person.state,
            zip=person.zip,
            phone=person.phone,
            contact_hidden=person.contact_hidden,
            user_type=person.user_type if staff else None,
            confidential_notes=person.confidential_notes if staff else None,
        )

    @classmethod
    def from_form(cls, form, staff: bool) -> "ProfileForm":
        values = {key: str(form.get(key, "")).strip() for key in FIELDS}
        return cls(
            **values,
            contact_hidden=str(form.get("contact_hidden", "")).lower() in ("yes", "on", "true", "1"),
            user_type=str(form.get("user_type", "")).strip() if staff else None,
            confidential_notes=str(form.get("confidential_notes", "")).strip() if staff else None,
        )

    def problems(self, current_user_type: str = "") -> dict[str, str]:
        errors: dict[str, str] = {}
        for key, (label, limit) in FIELDS.items():
            if len(getattr(self, key)) > limit:
                errors[key] = f"{label} is too long ({limit} characters at most)."
        if "email" not in errors and normalized_email(self.email) is None:
            errors["email"] = "Enter a valid email address."
        if "full_name" not in errors and not self.full_name:
            errors["full_name"] = "Enter your full name."
        if "phone" not in errors and not PHONE_PATTERN.match(self.phone):
            errors["phone"] = "Use digits, spaces and + ( ) - . in the phone number (an extension may follow as x123)."
        if "zip" not in errors and not ZIP_PATTERN.match(self.zip):
            errors["zip"] = "Use letters, digits, spaces and - in the zip code."
        if self.user_type is not None and self.user_type not in USER_TYPES and self.user_type != current_user_type:
            errors["user_type"] = f"Choose the user type from the list: {', '.join(USER_TYPES)}."
        if self.confidential_notes is not None and len(self.confidential_notes) > MAX_NOTES:
            errors["confidential_notes"] = f"Keep the confidential notes under {MAX_NOTES:,} characters."
        return errors


async def get_person(db: AsyncSession, person_id: int) -> Person:
    person = await db.get(Person, person_id)
    if person is None:
        raise LookupError("No such person.")
    return person


async def save_profile(db: AsyncSession, person: Person, form: ProfileForm, staff: bool) -> Person:
    """Validate and save; raises ProfileProblem with every field that needs correcting, and saves nothing then."""
    if not staff:
        form = replace(form, user_type=None, confidential_notes=None)
    form = replace(form, email=form.email.lower())
    errors = form.problems(person.user_type)
    if "email" not in errors:
        taken = await db.scalar(select(Person.id).where(func.lower(Person.email) == form.email, Person.id != person.id))
        if taken is not None:
            errors["email"] = "Another account already uses this email address."
    if errors:
        raise ProfileProblem(errors)

    for key in FIELDS:
        setattr(person, key, getattr(form, key))
    person.contact_hidden = form.contact_hidden
    if form.user_type is not None:
        person.user_type = form.user_type
    if form.confidential_notes is not None:
        person.confidential_notes = form.confidential_notes
    try:
        await db.commit()
    except IntegrityError:
        # Someone took the email between the check and the commit. The rollback expires everything loaded in this
        # session (the signed-in person too, whom the page still shows), so load it back before answering.
        await db.rollback()
        for loaded in list(db.identity_map.values()):
            await db.refresh(loaded)
        raise ProfileProblem({"email": "Another account already uses this email address."}) from None
    return person
