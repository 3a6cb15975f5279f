"""Rules for what people type, shared by every form and JSON body."""

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import Field

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
