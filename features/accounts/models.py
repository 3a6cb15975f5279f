"""What goes into and comes out of the account actions, for the pages and the JSON API alike: one input model per
action (signing in, Forgot Password?, a password from a link, changing it, My Profile, staff editing a person)."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError, core_schema

from core.inputs import EmailAddress, Line, Paragraphs
from core.time import known_time_zone, unknown_time_zone

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000
USER_TYPES = ("Party", "Agent", "Attorney", "Power of attorney", "Representative", "Interested person", "Mediator", "Center staff")
PASSWORDS_DIFFER = "The two passwords do not match."


@dataclass(frozen=True)
class Password:
    """A password as typed (`Annotated[str, Password("Enter your password.")]`): never trimmed or collapsed (every
    character counts), with a length people can read."""

    required: str
    at_least: int = 0

    def check(self, value: str) -> str:
        if not value:
            raise PydanticCustomError("required", self.required)
        if len(value) < self.at_least:
            raise PydanticCustomError("too_short", f"Choose a password of at least {self.at_least} characters.")
        if len(value) > MAX_PASSWORD_LENGTH:
            raise PydanticCustomError("too_long", f"Keep the password to {MAX_PASSWORD_LENGTH:,} characters (it has {len(value):,}).")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {**handler(schema), "maxLength": MAX_PASSWORD_LENGTH, "format": "password"}


# ---- signing in and passwords ---------------------------------------------------------------------


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, EmailAddress()]
    password: Annotated[str, Password("Enter your password.")]


class PasswordResetRequest(BaseModel):
    """Forgot Password?: the email of the account to send a link to choose a new password."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, EmailAddress()]


class NewPassword(BaseModel):
    """A new password, typed twice (from an activation or reset link, or on My Profile)."""

    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, Password("Choose a new password.", at_least=MIN_PASSWORD_LENGTH)]
    confirm: Annotated[str, Password("Repeat the new password.")]

    @field_validator("confirm")
    @classmethod
    def _same_twice(cls, confirm: str, info: ValidationInfo) -> str:
        # When the password itself was refused, that is the one thing to fix first.
        if "password" in info.data and confirm != info.data["password"]:
            raise PydanticCustomError("mismatch", PASSWORDS_DIFFER)
        return confirm


class PasswordChange(NewPassword):
    """Change password on My Profile: the current password proves it is the person, not whoever found the session."""

    current_password: Annotated[str, Password("Enter your current password.")]


class SignedIn(BaseModel):
    csrf_token: str = Field(description="Send this as the X-CSRF-Token header on every POST, PUT and DELETE.")


class ResetRequested(BaseModel):
    message: str = Field(description="The same whatever the email, so nobody learns who has an account here.")


class PasswordLinkOut(BaseModel):
    """A usable activation or reset link: whose account it sets the password of, and until when."""

    email: str = Field(description="The email of the account; sign in with it once the password is set.")
    purpose: Literal["activation", "reset"]
    expires_at: datetime = Field(description="RFC 3339, UTC")


class PasswordSet(BaseModel):
    email: str = Field(description="The email of the account whose password is now set: sign in with it.")


# ---- My Profile -------------------------------------------------------------------------------------

PHONE_PATTERN = re.compile(r"^[0-9+().\-\s]*(?:(?:x|ext\.?)\s?[0-9]+)?$", re.IGNORECASE)
ZIP_PATTERN = re.compile(r"^[0-9A-Za-z\- ]*$")


def _phone(value: str) -> str:
    if not PHONE_PATTERN.match(value):
        raise PydanticCustomError("phone", "Use digits, spaces and + ( ) - . in the phone number (an extension may follow as x123).")
    return value


def _zip(value: str) -> str:
    if not ZIP_PATTERN.match(value):
        raise PydanticCustomError("zip", "Use letters, digits, spaces and - in the zip code.")
    return value


def _time_zone(value: str) -> str:
    # Blank: no zone of one's own, times follow the center's.
    if not value:
        return ""
    name = known_time_zone(value)
    if name is None:
        raise PydanticCustomError("time_zone", unknown_time_zone(value))
    return name


# Labels as on the handbook's My Profile form; limits match the columns in core/db/models.py.
Phone = Annotated[str, Line(40, "the phone number"), AfterValidator(_phone)]
Zip = Annotated[str, Line(20, "the zip code"), AfterValidator(_zip)]
TimeZoneName = Annotated[str, Line(64, "the time zone"), AfterValidator(_time_zone)]


class ProfileUpdate(BaseModel):
    """My Profile. A field left out (or null) keeps its saved value, so a client may send only what changes; the
    page sends every field."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, EmailAddress()] | None = None
    full_name: Annotated[str, Line(200, "the full name", required="Enter your full name.")] | None = None
    organization: Annotated[str, Line(200, "the organization")] | None = None
    address1: Annotated[str, Line(200, "the address")] | None = None
    city: Annotated[str, Line(100, "the city")] | None = None
    state: Annotated[str, Line(50, "the state")] | None = None
    zip: Zip | None = None
    phone: Phone | None = None
    contact_hidden: bool | None = Field(None, description="Hide the contact details from the other participants of the person's cases.")
    time_zone: TimeZoneName | None = Field(
        None, description="The IANA time zone the person reads and types times in (America/New_York); empty follows the center's."
    )


class StaffPersonUpdate(ProfileUpdate):
    """Center staff editing a person: everything of My Profile, and the center's own fields."""

    user_type: Annotated[str, Line(40, "the user type")] | None = Field(
        None, description=f"How the center classifies the person; one of: {', '.join(USER_TYPES)}."
    )
    confidential_notes: Annotated[str, Paragraphs(5000, "the confidential notes")] | None = Field(
        None, description="The center's own notes; never shown to the person or other participants."
    )


class ProfileOut(BaseModel):
    """A person as they see themselves (My Profile, who is signed in)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_type: str
    email: str
    full_name: str
    organization: str
    address1: str
    city: str
    state: str
    zip: str
    phone: str
    contact_hidden: bool = Field(description="Contact details are hidden from the other participants of this person's cases.")
    time_zone: str | None = Field(description="The IANA time zone the person reads and types times in; null follows the center's.")
    is_staff: bool


class StaffPersonOut(ProfileOut):
    confidential_notes: str = Field(description="The center's own notes; never shown to the person or other participants.")
