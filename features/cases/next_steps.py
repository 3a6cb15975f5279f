"""Each person's next steps on a case, computed from its lifecycle status."""

from dataclasses import dataclass
from datetime import UTC, datetime

from core.case_state import CaseState


@dataclass
class NextStep:
    text: str
    link: str = ""


NO_ACTION = "There is no action required at your end."
SCHEDULE_THE_MEDIATION = "Schedule the mediation: propose times to the participants, or put the Mediation session on the calendar"
MARK_THE_TIMES = "Mark the times you can attend the mediation"


def next_steps(status: CaseState, viewer_id: int, is_staff: bool, acts_for: list[int], roles: set[str]) -> list[NextStep]:
    case = status.case_id
    steps: list[NextStep] = []
    if status.stage == "ranking" and acts_for:
        progress = {p.person_id: p.submitted for p in status.parties}
        pending = [pid for pid in acts_for if pid in progress and not progress[pid]]
        if pending:
            steps.append(NextStep("Submit Mediator Ranking", f"/cases/{case}/ranking"))
    if status.stage == "conflict_check" and status.candidate_mediator_id == viewer_id:
        steps.append(NextStep("Complete the conflict check: accept the case or decline for a conflict", f"/cases/{case}/conflict-check"))
    now = datetime.now(UTC)
    for record in status.disclosures:
        window_open = record.status in ("open", "objected") and record.objections_until and now < datetime.fromisoformat(record.objections_until)
        answered = {r.party_id for r in record.responses}
        if window_open and any(p in record.may_object_party_ids and p not in answered for p in acts_for):
            steps.append(NextStep("Read the mediator's disclosure and say whether you object", f"/cases/{case}/disclosures/{record.number}"))
        if record.status == "awaiting_mediator" and record.mediator_id == viewer_id and status.mediator_id == viewer_id:
            steps.append(
                NextStep("Confirm again that you have no conflict of interest with a person who joined", f"/cases/{case}/reconfirm/{record.about_person_id}")
            )
        if is_staff and record.status == "objected":
            steps.append(NextStep("Decide the objection to the mediator's disclosure", f"/staff/cases/{case}#disclosures"))
    if status.stage in ("accepted", "scheduled") and status.mediator_id == viewer_id:
        if not status.fee_deposit_collected:
            steps.append(NextStep("Collect fee deposit", f"/cases/{case}/mediator"))
        if not status.mediation_scheduled:
            steps.append(NextStep(SCHEDULE_THE_MEDIATION, f"/cases/{case}/scheduling"))
        if status.fee_deposit_collected and status.mediation_scheduled:
            steps.append(NextStep("Close the case with its outcome after the mediation", f"/cases/{case}/mediator"))
    if is_staff:
        if status.stage == "intake_review":
            steps.append(NextStep("Review the Request to Mediate and propose a panel", f"/staff/cases/{case}"))
        if status.stage == "awaiting_new_panel":
            steps.append(NextStep("Propose a new panel of mediators", f"/staff/cases/{case}"))
    return steps
