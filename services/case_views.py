"""What pages show about a case: its title, and each person's next steps computed from the workflow status."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Participant, Person
from workflows.types import CaseStatus


@dataclass
class NextStep:
    text: str
    link: str = ""


NO_ACTION = "There is no action required at your end."


async def case_titles(db: AsyncSession, case_ids: list[int]) -> dict[int, str]:
    """'Katy Perry vs Taylor Swift' for each case: initiating parties vs responding parties."""
    rows = (
        await db.execute(
            select(Participant.case_id, Participant.side, Person.full_name)
            .join(Person, Person.id == Participant.person_id)
            .where(Participant.case_id.in_(case_ids or [-1]), Participant.role == "party")
            .order_by(Participant.id)
        )
    ).all()
    sides: dict[int, dict[str, list[str]]] = {cid: {"initiating": [], "responding": []} for cid in case_ids}
    for case_id, side, name in rows:
        sides[case_id].setdefault(side or "initiating", []).append(name)
    titles = {}
    for case_id, names in sides.items():
        left, right = ", ".join(names["initiating"]), ", ".join(names["responding"])
        titles[case_id] = f"{left} vs {right}" if left and right else left or right or "New case"
    return titles


def next_steps(status: CaseStatus, viewer_id: int, is_staff: bool, acts_for: list[int], roles: set[str]) -> list[NextStep]:
    case = status.case_id
    steps: list[NextStep] = []
    if status.stage == "ranking" and acts_for:
        progress = {p.person_id: p.submitted for p in status.parties}
        pending = [pid for pid in acts_for if pid in progress and not progress[pid]]
        if pending:
            steps.append(NextStep("Submit Mediator Ranking", f"/cases/{case}/ranking"))
    if status.stage == "conflict_check" and status.candidate_mediator_id == viewer_id:
        steps.append(NextStep("Complete the conflict check: accept the case or decline for a conflict", f"/cases/{case}/conflict-check"))
    if status.stage in ("accepted", "scheduled") and status.mediator_id == viewer_id:
        if not status.fee_deposit_collected:
            steps.append(NextStep("Collect fee deposit", f"/cases/{case}/mediator"))
        if not status.mediation_scheduled:
            steps.append(NextStep("Schedule the mediation", f"/cases/{case}/mediator"))
        if status.fee_deposit_collected and status.mediation_scheduled:
            steps.append(NextStep("Close the case with its outcome after the mediation", f"/cases/{case}/mediator"))
    if is_staff:
        if status.stage == "intake_review":
            steps.append(NextStep("Review the Request to Mediate and propose a panel", f"/staff/cases/{case}"))
        if status.stage == "awaiting_new_panel":
            steps.append(NextStep("Propose a new panel of mediators", f"/staff/cases/{case}"))
    return steps
