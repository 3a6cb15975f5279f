"""Every setting a center can change without touching code, read from MEDIATION_* environment variables."""

import json
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.time import DEFAULT_TIME_ZONE, known_time_zone

DURATION_FIELDS = (
    "worker_presence_interval",
    "worker_absent_after",
    "action_timeout",
    "ranking_window",
    "conflict_check_window",
    "conflict_check_reminder_after",
    "disclosure_objection_window",
    "retention_period",
    "retention_sweep_interval",
    "discussion_digest_delay",
    "scheduling_reminder_after",
    "scheduling_answer_window",
)


class SettingsError(Exception):
    """A setting cannot be read; the message names the variable and says what it accepts."""


def _seconds_or_iso(value: object) -> object:
    # A plain number is seconds, as the README documents ("172800"); anything else is left to pydantic, which
    # reads ISO 8601 durations ("P2D", "PT60S") and [D,]HH:MM:SS.
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        return float(value.strip())
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    # Empty means the embedded default: a SQLite file in data_dir.
    database_url: str = ""

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "mediation-cases"
    # Cases kept in a worker's memory between events; the rest are replayed from history when they wake.
    # About 0.2 MB each: 500 keeps a worker near 250 MB however many cases are open.
    worker_max_cached_workflows: int = 250
    # Each worker says it is alive this often; with no word from any worker for `worker_absent_after`, the web
    # says changes are paused and actions answer 503 without sending anything.
    worker_presence_interval: timedelta = timedelta(seconds=5)
    worker_absent_after: timedelta = timedelta(seconds=20)
    # How long an action waits for its case's workflow to answer before saying it could not be confirmed.
    action_timeout: timedelta = timedelta(seconds=20)
    temporal_ui_url: str = "http://127.0.0.1:8233"
    # Lets several centers (or test runs) share one Temporal namespace without their case ids colliding.
    workflow_id_prefix: str = "case-"

    # No key means the embedded default: every email lands in the outbox table staff can read.
    sendgrid_api_key: str = ""
    sendgrid_host: str = "https://api.sendgrid.com"
    email_from: str = "no-reply@car.odr.com"
    email_from_name: str = "C.A.R. Mediation Center"
    center_name: str = "C.A.R. Real Estate Mediation Center"
    center_email: str = "mediation@car.org"
    center_phone: str = "213-739-8376"
    public_base_url: str = "http://127.0.0.1:8000"
    # The zone the center works in (an IANA name): times are shown and typed in it for everyone who has not chosen
    # their own on My Profile, and the center's own emails use it. Stored times stay UTC.
    center_time_zone: str = DEFAULT_TIME_ZONE

    secret_key: str = "dev-only-secret-change-me"
    cookie_secure: bool = False

    panel_size: int = Field(3, ge=2)
    max_eliminations: int = Field(1, ge=0)
    ranking_window: timedelta = timedelta(days=7)
    # Reminders to parties who have not ranked, this long before the deadline in force (re-planned when staff extend it).
    ranking_reminders_before_deadline: Annotated[list[timedelta], NoDecode] = [timedelta(days=4), timedelta(days=1)]
    # The older setting, counted from the round's start: still read, so an existing .env keeps its reminders
    # (turned into times before the deadline) unless ranking_reminders_before_deadline is set as well.
    ranking_reminder_offsets: Annotated[list[timedelta], NoDecode] = [timedelta(days=3), timedelta(days=6)]
    conflict_check_window: timedelta = timedelta(days=2)
    conflict_check_reminder_after: timedelta = timedelta(days=1)
    # How long the parties have to object to what a mediator disclosed (frozen into each case when it is filed).
    disclosure_objection_window: timedelta = timedelta(days=2)
    retention_period: timedelta = timedelta(days=730)
    # How often the retention Schedule looks for ended cases past the retention period.
    retention_sweep_interval: timedelta = timedelta(hours=1)
    # A scheduling poll: those who have not marked every proposed time are reminded this long after the times were
    # proposed, and answers close this long after (the mediator is then asked to pick a time or propose more).
    scheduling_reminder_after: timedelta = timedelta(days=2)
    scheduling_answer_window: timedelta = timedelta(days=5)

    # Where uploaded files live. "local": a folder in data_dir, the embedded default, seen by this machine only.
    # "s3": an S3-compatible bucket (AWS S3, MinIO) that every web replica and worker shares. Empty: "s3" when a
    # bucket is named, otherwise "local".
    storage_backend: Literal["", "local", "s3"] = ""
    s3_bucket: str = Field("", validate_default=True)
    # Empty means AWS itself; MinIO and other S3-compatible servers give their address (http://minio:9000).
    s3_endpoint_url: str = ""
    # Empty means the standard AWS chain (AWS_REGION, AWS_DEFAULT_REGION, ~/.aws/config).
    s3_region: str = ""
    # Empty means the standard AWS chain too: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance role.
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    # Prepended to every object name, so one bucket can hold several centers or environments ("center-a/").
    s3_key_prefix: str = ""

    max_upload_bytes: int = 10 * 1024 * 1024
    # Extensions people may upload; each is checked against the file's content too.
    allowed_upload_extensions: list[str] = ["pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "doc", "docx", "xls", "xlsx"]
    # New discussion messages are gathered this long before one email goes to each room member.
    discussion_digest_delay: timedelta = timedelta(minutes=10)

    @field_validator(*DURATION_FIELDS, mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return _seconds_or_iso(value)

    @field_validator("s3_bucket")
    @classmethod
    def _bucket_for_s3(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("storage_backend") == "s3" and not value.strip():
            raise ValueError("name the bucket when MEDIATION_STORAGE_BACKEND=s3")
        return value.strip()

    @field_validator("center_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        name = known_time_zone(value)
        if name is None:
            raise ValueError("not a time zone in the IANA database")
        return name

    @field_validator("ranking_reminders_before_deadline", "ranking_reminder_offsets", mode="before")
    @classmethod
    def _durations(cls, value: object) -> object:
        if isinstance(value, str):
            # JSON (["P3D", "P6D"]) as before, or simply "259200,518400" / "P3D,P6D".
            text = value.strip()
            try:
                value = json.loads(text) if text.startswith("[") else [part for part in text.split(",") if part.strip()]
            except ValueError:
                return value
        if isinstance(value, list):
            return [_seconds_or_iso(item.strip() if isinstance(item, str) else item) for item in value]
        return value

    @model_validator(mode="after")
    def _reminders_from_the_older_setting(self) -> "Settings":
        if "ranking_reminder_offsets" in self.model_fields_set and "ranking_reminders_before_deadline" not in self.model_fields_set:
            window = self.ranking_window
            self.ranking_reminders_before_deadline = sorted(
                (window - offset for offset in self.ranking_reminder_offsets if timedelta(0) < offset < window), reverse=True
            )
        return self

    def workflow_id(self, case_id: int) -> str:
        return f"{self.workflow_id_prefix}{case_id}"

    def poll_workflow_id(self, case_id: int, number: int) -> str:
        """The workflow of a case's scheduling poll `number` (1 for its first)."""
        return f"{self.workflow_id(case_id)}-poll-{number}"

    @property
    def resolved_storage_backend(self) -> Literal["local", "s3"]:
        if self.storage_backend:
            return self.storage_backend
        return "s3" if self.s3_bucket else "local"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'mediation.db').resolve()}"


def readable(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        name = "MEDIATION_" + "_".join(str(part) for part in problem["loc"][:1]).upper()
        hint = ""
        if problem["loc"][:1] and str(problem["loc"][0]) in DURATION_FIELDS + ("ranking_reminders_before_deadline", "ranking_reminder_offsets"):
            hint = " Give seconds (172800) or an ISO 8601 duration (P2D, PT10M)."
        if problem["loc"][:1] == ("center_time_zone",):
            hint = " Give an IANA time zone name such as America/Los_Angeles, America/Chicago or America/New_York."
        lines.append(f"{name}={problem.get('input')!r}: {str(problem['msg']).removeprefix('Value error, ')}.{hint}")
    return "The settings cannot be read:\n  " + "\n  ".join(lines)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(readable(error)) from None
