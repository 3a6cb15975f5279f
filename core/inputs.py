"""Rules for what people type, shared by every form and JSON body."""

from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

EMAIL_PROBLEM = "Enter a valid email address, like name@example.com."


def normalized_email(text: str) -> str | None:
    """The address as the center stores it (checked by `email-validator`, lowercased), or None if it is not one.

    Deliverability is not checked: that would need the network, and a typo'd domain is the person's to fix.
    """
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


# Ids are PostgreSQL INTEGER columns: anything outside 1..2^31-1 names nothing, on SQLite and PostgreSQL alike.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID, description="An id (1 to 2147483647)")]


def is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


# ---- text ----------------------------------------------------------------------------------------


def _one_line(value: object) -> object:
    # What a person types in one box: no line breaks, runs of spaces as one, nothing around it.
    return " ".join(value.split()) if isinstance(value, str) else value


def _paragraphs(value: object) -> object:
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _limits(label: str, max_length: int, required: str | None):
    def check(value: str) -> str:
        if not value and required:
            raise PydanticCustomError("required", required)
        if len(value) > max_length:
            raise PydanticCustomError("too_long", f"Keep {label} to {max_length:,} characters (it has {len(value):,}).")
        return value

    return check


def Line(max_length: int, label: str, required: str | None = None) -> Any:
    """One line of text: trimmed, inner whitespace collapsed; `required` is the sentence shown when it is left empty."""
    return Annotated[str, BeforeValidator(_one_line), AfterValidator(_limits(label, max_length, required)), Field(json_schema_extra={"maxLength": max_length})]


def Paragraphs(max_length: int, label: str, required: str | None = None) -> Any:
    """Text that may run over several lines (line breaks and tabs kept), trimmed at both ends."""
    return Annotated[str, BeforeValidator(_paragraphs), AfterValidator(_limits(label, max_length, required)), Field(json_schema_extra={"maxLength": max_length})]


def _email(value: str) -> str:
    if not value:
        return value
    address = normalized_email(value)
    if address is None:
        raise PydanticCustomError("email", EMAIL_PROBLEM)
    return address


def EmailAddress(required: str | None = "Enter an email address.") -> Any:
    """An email address as the center stores it: checked by email-validator, lowercased."""
    return Annotated[str, BeforeValidator(_one_line), AfterValidator(_limits("the email address", 320, required)), AfterValidator(_email),
                     Field(json_schema_extra={"format": "email", "maxLength": 320})]
