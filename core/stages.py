"""The stages of a case's life, as the lifecycle moves through them and every page names them."""

from enum import StrEnum


class Stage(StrEnum):
    INTAKE_REVIEW = "intake_review"
    REJECTED = "rejected"
    RANKING = "ranking"
    CONFLICT_CHECK = "conflict_check"
    DISCLOSURE_REVIEW = "disclosure_review"
    AWAITING_NEW_PANEL = "awaiting_new_panel"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


STAGE_LABELS = {
    Stage.INTAKE_REVIEW: "Intake review",
    Stage.REJECTED: "Rejected at intake",
    Stage.RANKING: "Mediator ranking",
    Stage.CONFLICT_CHECK: "Conflict check",
    Stage.DISCLOSURE_REVIEW: "Mediator disclosure: objection window",
    Stage.AWAITING_NEW_PANEL: "Awaiting a new panel",
    Stage.ACCEPTED: "Mediator accepted",
    Stage.SCHEDULED: "Mediation scheduled",
    Stage.CLOSED: "Closed",
    Stage.WITHDRAWN: "Withdrawn",
}

FINAL_STAGES = {Stage.REJECTED, Stage.CLOSED, Stage.WITHDRAWN}
OUTCOMES = ("settled", "not_settled", "withdrawn")


def stage_label(stage: str) -> str:
    try:
        return STAGE_LABELS[Stage(stage)]
    except ValueError:
        return stage
