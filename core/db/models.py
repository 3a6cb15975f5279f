"""What pages need to list and search. The case workflow owns the lifecycle; activities keep these rows in step."""

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # What the handbook's My Profile calls "user type": Party, Agent, Attorney, Mediator, Center staff...
    user_type: Mapped[str] = mapped_column(String(40), default="Party")
    organization: Mapped[str] = mapped_column(String(200), default="")
    address1: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(50), default="")
    zip: Mapped[str] = mapped_column(String(20), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    confidential_notes: Mapped[str] = mapped_column(Text, default="")
    contact_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # The IANA zone the person reads and types times in; None follows the center's (MEDIATION_CENTER_TIME_ZONE).
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    # None until the person sets a password from their activation email.
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Bumped whenever the password changes (set from a link, or changed on My Profile): a session opened under an
    # older version is refused, so whoever held one is signed out.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mediator_profile: Mapped["MediatorProfile | None"] = relationship(back_populates="person", uselist=False)


class MediatorProfile(Base):
    """An entry of the center's mediator directory, from which panels are proposed."""

    __tablename__ = "mediator_profiles"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    expertise: Mapped[str] = mapped_column(String(300), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    languages: Mapped[str] = mapped_column(String(200), default="English")
    fee: Mapped[str] = mapped_column(String(100), default="")
    in_directory: Mapped[bool] = mapped_column(Boolean, default=True)

    person: Mapped[Person] = relationship(back_populates="mediator_profile")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_stage_deadline", "stage", "stage_deadline"),
        # The staff board (features/staff/board.py): open cases by kind of wait, by how long, by deadline, by mediator.
        Index("ix_cases_waiting_kind_since", "waiting_on_kind", "waiting_since"),
        Index("ix_cases_waiting_since", "waiting_since"),
        Index("ix_cases_deadline", "stage_deadline"),
        Index("ix_cases_candidate_mediator", "candidate_mediator_id"),
        # The board's counts per stage (open, overdue) read from this index alone.
        Index("ix_cases_stage_deadline_waiting", "stage", "stage_deadline", "waiting_on_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Request to Mediate as filed.
    property_address: Mapped[str] = mapped_column(String(300))
    dispute_bases: Mapped[list[str]] = mapped_column(JSON, default=list)
    dispute_value: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Mirrors of the workflow's state, written by activities.
    stage: Mapped[str] = mapped_column(String(40), default="intake_review", index=True)
    stage_deadline: Mapped[datetime | None] = mapped_column(nullable=True)
    ranking_round: Mapped[int] = mapped_column(Integer, default=0)
    panel: Mapped[list[int]] = mapped_column(JSON, default=list)
    candidate_mediator_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True, index=True)
    fee_deposit_collected: Mapped[bool] = mapped_column(Boolean, default=False)
    mediation_scheduled: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    stage_note: Mapped[str] = mapped_column(Text, default="")
    # The whole state as the workflow last published it (core/case_state.py), and that publication's version:
    # a write carrying an older version is ignored, so what pages read never goes back.
    state: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    state_version: Mapped[int] = mapped_column(Integer, default=0)
    stage_since: Mapped[datetime | None] = mapped_column(nullable=True)
    # Set by the mediator; until then the Discussions tab says they are not open yet.
    discussions_open: Mapped[bool] = mapped_column(Boolean, default=False)
    # When a closed case's records are deleted (the workflow's retention timer), and when that happened.
    retention_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    records_purged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # What the case waits for (core/waiting.py: intake_review, ranking, conflict_check, ...) and since when, written
    # with each publication of its state; None once the case is over. Who is waited on is in `case_waiting_on`.
    waiting_on_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    waiting_since: Mapped[datetime | None] = mapped_column(nullable=True)

    participants: Mapped[list["Participant"]] = relationship(back_populates="case", cascade="all, delete-orphan")

    # "Katy Perry vs Taylor Swift", filled in by whoever loaded the parties (not a column).
    title: str = ""


ROLES = ("party", "representative", "interested", "mediator", "staff")
SIDES = ("initiating", "responding")


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("case_id", "person_id", "role", name="uq_participant_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    side: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # For a representative: the party (a person) they act for, and how (Attorney, Agent, Power of attorney).
    represents_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    representative_kind: Mapped[str] = mapped_column(String(40), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="participants")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    represents: Mapped[Person | None] = relationship(foreign_keys=[represents_id])


class ConflictCheckRequest(Base):
    """A mediator asked for a case's conflict check, with how their last request ended (pending, accepted, declined,
    timed_out, withdrawn). Written with the case's published state, so My Cases can find the cases a mediator was asked
    about and is not on: without it, a mediator who declined or ran out of time would meet "No such case"."""

    __tablename__ = "conflict_check_requests"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    outcome: Mapped[str] = mapped_column(String(20), default="pending")


class BallotRecord(Base):
    """Every ballot as submitted, revisions included: the staff audit trail."""

    __tablename__ = "ballots"
    __table_args__ = (Index("ix_ballots_case_round", "case_id", "ranking_round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    ranking_round: Mapped[int] = mapped_column(Integer)
    party_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    side: Mapped[str] = mapped_column(String(20))
    ranked: Mapped[list[int]] = mapped_column(JSON)
    eliminated: Mapped[list[int]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column()
    # The workflow's own key for the submission, so an activity retry records it once.
    submission_key: Mapped[str] = mapped_column(String(200), unique=True)
    # A short digest of the ballot as counted (workflows/ballot_fingerprint.py), which the party's receipt gives too;
    # empty for ballots recorded before fingerprints.
    fingerprint: Mapped[str] = mapped_column(String(20), default="")


class Email(Base):
    """The outbox and the send ledger: one row per message, keyed so a retried activity never sends twice."""

    __tablename__ = "emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    to_email: Mapped[str] = mapped_column(String(320), index=True)
    to_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # pending -> sent; "outbox" transport means it was kept here for a person to read instead of sent.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    transport: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Files sent with the message (a calendar event's .ics), kept so a retry or a stored email sends the same:
    # [{"filename": ..., "content_type": ..., "content": base64}]; None for a message without any.
    attachments: Mapped[list[dict] | None] = mapped_column(JSON, nullable=True)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored, and sign-out revokes the row."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The person's session_version when this session was opened (or when it changed the password itself).
    session_version: Mapped[int] = mapped_column(Integer, default=0)


class PasswordToken(Base):
    """A single-use, expiring link to set a password: account activation or "Forgot Password?"."""

    __tablename__ = "password_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # activation or reset
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class LoginFailure(Base):
    """Failed sign-ins, counted per email to slow down password guessing across every API process."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WorkerPresence(Base):
    """Each worker process says it is alive every few seconds, so the web can tell when changes must pause."""

    __tablename__ = "worker_presence"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    task_queue: Mapped[str] = mapped_column(String(200), index=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """A Case Home message, visible to every participant of the case."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_case_created", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Person] = relationship()


class DiscussionRoom(Base):
    """The joint room (everyone on the case) or a private caucus room with chosen members."""

    __tablename__ = "discussion_rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # joint or caucus
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoomMember(Base):
    __tablename__ = "room_members"

    room_id: Mapped[int] = mapped_column(ForeignKey("discussion_rooms.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)


class Document(Base):
    """A file of the case. Stored under a generated name; only people it is shared with (plus uploader and staff) see it."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    category: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str] = mapped_column(String(200))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # Set when the file was attached in a discussion room: shared with that room's members.
    room_id: Mapped[int | None] = mapped_column(ForeignKey("discussion_rooms.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploader: Mapped[Person] = relationship()


class DocumentShare(Base):
    __tablename__ = "document_shares"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)


class RoomMessage(Base):
    __tablename__ = "room_messages"
    __table_args__ = (Index("ix_room_messages_room_created", "room_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("discussion_rooms.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Person] = relationship()


class CalendarEvent(Base):
    __tablename__ = "calendar_events"
    __table_args__ = (Index("ix_calendar_case_start", "case_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    meeting_type: Mapped[str] = mapped_column(String(20))  # Online, In person, Phone
    location: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # The "Mediation" session itself: adding it moves the case to scheduled in its workflow.
    is_mediation: Mapped[bool] = mapped_column(Boolean, default=False)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The scheduling poll whose picked time this event is: one event per poll, however often its booking is retried.
    scheduling_poll_id: Mapped[int | None] = mapped_column(ForeignKey("scheduling_polls.id"), nullable=True, unique=True)


class CaseWaitingOn(Base):
    """Each person an open case waits on (the parties who have not ranked, the mediator asked for a conflict check),
    kept in step with the published state; the staff board finds cases by these people's names."""

    __tablename__ = "case_waiting_on"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)


class CaseStagePeriod(Base):
    """Each stay of a case in a stage, from its published timeline (core/waiting.py): the board's median time per stage."""

    __tablename__ = "case_stage_periods"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_stage_period_seq"), Index("ix_stage_periods_left", "left_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # Its place among the case's periods, oldest first (0, 1, ...).
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(40))
    entered_at: Mapped[datetime] = mapped_column()
    left_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # left_at - entered_at, stored so medians need no date arithmetic that differs between databases.
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)


class ConflictCheckRecord(Base):
    """Each conflict-check request to a mediator and how it ended, from the published state: the directory's figures."""

    __tablename__ = "conflict_checks"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_conflict_check_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # Its place among the case's attempts (0, 1, ...), as in CaseState.conflict_attempts.
    seq: Mapped[int] = mapped_column(Integer)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    ranking_round: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column()
    deadline: Mapped[datetime] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(20))  # pending, accepted, declined, timed_out, withdrawn
    # When it got its outcome, and how long after the request that was.
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)


class SchedulingPoll(Base):
    """A poll round of a case's scheduling (core/scheduling.py), as its workflow last published it.

    What the staff board and reminders read: `status` "open" with `answers_due_at` is a poll waiting on answers,
    and its respondents with `answered` false are the people it waits on."""

    __tablename__ = "scheduling_polls"
    __table_args__ = (
        UniqueConstraint("case_id", "number", name="uq_scheduling_poll_number"),
        Index("ix_scheduling_polls_status_due", "status", "answers_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # 1 for the case's first poll, 2 for the next...: part of the workflow id.
    number: Mapped[int] = mapped_column(Integer)
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    mediator_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[datetime] = mapped_column()
    answers_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reminder_at: Mapped[datetime | None] = mapped_column(nullable=True)
    picked_slot: Mapped[int | None] = mapped_column(Integer, nullable=True)
    picked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    # Not a foreign key: the event refers to its poll, and one of the two has to be written first.
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_reason: Mapped[str] = mapped_column(Text, default="")
    # The version of the published state these rows hold: an older write is ignored.
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SchedulingSlot(Base):
    __tablename__ = "scheduling_slots"

    poll_id: Mapped[int] = mapped_column(ForeignKey("scheduling_polls.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()


class SchedulingRespondent(Base):
    """A person the poll asks, and whether they have marked every time in it."""

    __tablename__ = "scheduling_respondents"

    poll_id: Mapped[int] = mapped_column(ForeignKey("scheduling_polls.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))
    answered: Mapped[bool] = mapped_column(Boolean, default=False)


class SchedulingAnswer(Base):
    __tablename__ = "scheduling_answers"

    poll_id: Mapped[int] = mapped_column(ForeignKey("scheduling_polls.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    answer: Mapped[str] = mapped_column(String(20))
    answered_at: Mapped[datetime] = mapped_column()
