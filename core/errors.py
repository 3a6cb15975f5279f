"""The one error taxonomy: every refusal a person can meet is one of these, whichever door they came through.

Features raise them; the web maps each kind to one HTTP status and one kind of page in `api/errors.py`, so
the same mistake gets the same status and the same words from the page and from the JSON API.
"""


class DomainError(Exception):
    """A refusal meant for the person who asked. `fields` names the inputs to correct, each with what is wrong."""

    def __init__(self, message: str = "", fields: dict[str, str] | None = None):
        self.fields = dict(fields or {})
        super().__init__(message or "; ".join(self.fields.values()))

    @property
    def message(self) -> str:
        return str(self)


class NotFound(DomainError):
    """There is no such thing for this person: missing, or hidden so that its existence does not leak."""


class Forbidden(DomainError):
    """The person can see this but may not do it."""


class Invalid(DomainError):
    """The input cannot be acted on as given; `fields` says what to change."""


class TooLarge(Invalid):
    """An upload or body is larger than the center accepts."""


class Rejected(DomainError):
    """The case's lifecycle refused the action at this moment (a closed round, an answered check, a case that is over)."""


class Expired(DomainError):
    """A single-use or time-limited thing (a password link) that was used already or whose time is up."""


class Throttled(DomainError):
    """Too many attempts in a short time; wait and try again."""


class Unavailable(DomainError):
    """A service the action needs (Temporal, the database) cannot be reached; the action did not happen."""
