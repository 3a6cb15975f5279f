"""Rules for what people type, shared by every form and JSON body."""

from dataclasses import dataclass
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

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
# Each is metadata for `Annotated[str, ...]`, so the limits and the words for breaking them live in the model
# that both doors share, and the JSON schema shows the limit.


def _one_line(value: object) -> object:
    # What a person types in one box: no line breaks, runs of spaces as one, nothing around it.
    return " ".join(value.split()) if isinstance(value, str) else value


def _paragraphs(value: object) -> object:
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


@dataclass(frozen=True)
class Line:
    """One line of text (`Annotated[str, Line(200, "the title", required="Enter a title.")]`): trimmed, inner
    whitespace collapsed, at most `max_length` characters; `required` is the sentence shown when it is left empty.
    `label` names the field inside a sentence ("Keep the title to 200 characters")."""

    max_length: int
    label: str
    required: str | None = None

    def clean(self, value: object) -> object:
        return _one_line(value)

    def check(self, value: str) -> str:
        if not value and self.required:
            raise PydanticCustomError("required", self.required)
        if len(value) > self.max_length:
            raise PydanticCustomError("too_long", f"Keep {self.label} to {self.max_length:,} characters (it has {len(value):,}).")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.clean, core_schema.no_info_after_validator_function(self.check, handler(source)))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {**handler(schema), "maxLength": self.max_length}


@dataclass(frozen=True)
class Paragraphs(Line):
    """Text that may run over several lines (line breaks and tabs kept), trimmed at both ends."""

    def clean(self, value: object) -> object:
        return _paragraphs(value)


@dataclass(frozen=True)
class EmailAddress(Line):
    """An email address as the center stores it: checked by email-validator, lowercased."""

    max_length: int = 320
    label: str = "the email address"
    required: str | None = "Enter an email address."

    def check(self, value: str) -> str:
        value = super().check(value)
        if not value:
            return value
        address = normalized_email(value)
        if address is None:
            raise PydanticCustomError("email", EMAIL_PROBLEM)
        return address

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {**super().__get_pydantic_json_schema__(schema, handler), "format": "email"}


@dataclass(frozen=True)
class OneOf:
    """One of a fixed list of choices (`Annotated[str, OneOf(OUTCOMES, "Choose the outcome.")]`), refused in the
    person's words rather than as a list of every allowed value."""

    choices: tuple[str, ...]
    message: str

    def check(self, value: str) -> str:
        if value not in self.choices:
            raise PydanticCustomError("choice", self.message)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {**handler(schema), "enum": list(self.choices)}
