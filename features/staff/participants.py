"""Staff adding and removing people on a case: the workflow's roster and the participants table change together.

The workflow takes the new roster first and the table follows; if the workflow refuses, nothing was written. Each
change runs in a session of its own, so a rollback there leaves the request's session (which holds the signed-in
viewer) untouched.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from features.context import AppContext
from core.inputs import is_id
from core.db.models import Participant, Person
from features.accounts.emails import send_password_link
from core.case_facts import case_titles
from features.cases.roster import person_for_email, roster_for, roster_of
from core.inputs import normalized_email
from features.lifecycle import run_update
from features.staff.console import StaffProblem, get_case
from workflows.case import CaseWorkflow

ADDABLE_ROLES = {"party": "Party", "representative": "Representative", "interested": "Interested person"}
SIDES = {"initiating": "Initiating", "responding": "Responding"}
REPRESENTATIVE_KINDS = ("Attorney", "Agent", "Power of attorney")
ROLE_NAMES = {**ADDABLE_ROLES, "mediator": "Mediator", "staff": "Center staff"}


@dataclass
class ParticipantForm:
    name: str = ""
    email: str = ""
    role: str = "party"
    side: str = ""
    represents_id: int | None = None
    kind: str = ""

    @classmethod
    def from_form(cls, form) -> "ParticipantForm":
        raw = str(form.get("represents_id", "")).strip()
        return cls(
            name=str(form.get("name", "")).strip(),
            email=str(form.get("email", "")).strip(),
            role=str(form.get("role", "")).strip(),
            side=str(form.get("side", "")).strip(),
            represents_id=int(raw) if raw.isdigit() and is_id(int(raw)) else None,
            kind=str(form.get("kind", "")).strip(),
        )

    def problem(self) -> str | None:
        if not self.name or len(self.name) > 200:
            return "Enter the person's full name (200 characters at most)."
        if normalized_email(self.email) is None or len(self.email) > 320:
            return "Enter a valid email address for the person."
        if self.role not in ADDABLE_ROLES:
            return "Choose whether the person is a party, a representative or an interested person."
        if self.role == "party" and self.side not in SIDES:
            return "Choose the party's side: initiating or responding."
        if self.role == "representative":
            if self.represents_id is None:
                return "Choose the party this representative acts for."
            if self.kind not in REPRESENTATIVE_KINDS:
                return f"Choose how the representative acts: {', '.join(REPRESENTATIVE_KINDS)}."
        return None


async def _change_roster(ctx: AppContext, db: AsyncSession, case_id: int, add: Participant | None = None, remove: Participant | None = None) -> None:
    """The workflow takes the new roster first, and only then is the participants table changed to match.

    Nothing is written while the workflow decides (it writes the case's state itself, which a pending write of ours
    would block), so a refusal leaves the table as it was. If the write then fails (two staff adding the same
    person at once), the workflow is given the table's roster again, so the two never disagree."""
    rows = (await db.execute(select(Participant).where(Participant.case_id == case_id).order_by(Participant.id))).scalars().all()
    after = [p for p in rows if p is not remove] + ([add] if add is not None else [])
    await run_update(ctx, case_id, CaseWorkflow.set_roster, roster_of(after))
    if add is not None:
        db.add(add)
    if remove is not None:
        await db.delete(remove)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        await run_update(ctx, case_id, CaseWorkflow.set_roster, await roster_for(db, case_id))
        raise


async def add_participant(ctx: AppContext, case_id: int, form: ParticipantForm) -> str:
    async with ctx.sessions() as db:
        return await _add(ctx, db, case_id, form)


async def _add(ctx: AppContext, db: AsyncSession, case_id: int, form: ParticipantForm) -> str:
    await get_case(db, case_id)
    problem = form.problem()
    if problem:
        raise StaffProblem(problem)
    if form.role == "representative":
        party = (
            await db.execute(
                select(Participant).where(Participant.case_id == case_id, Participant.person_id == form.represents_id, Participant.role == "party")
            )
        ).scalar_one_or_none()
        if party is None:
            raise StaffProblem("A representative must act for one of this case's parties.")

    email = form.email.lower()
    existing = (await db.execute(select(Person).where(Person.email == email))).scalar_one_or_none()
    if existing is not None:
        roles = (
            await db.execute(select(Participant.role).where(Participant.case_id == case_id, Participant.person_id == existing.id))
        ).scalars().all()
        if roles:
            names = ", ".join(ROLE_NAMES.get(r, r).lower() for r in roles)
            raise StaffProblem(f"{existing.full_name} already takes part in this case ({names}); remove them first to change their role.")
    user_type = form.kind if form.role == "representative" else ADDABLE_ROLES[form.role]
    person = existing or await person_for_email(db, email, form.name, user_type=user_type)
    if existing is None:
        # Committed on its own so the workflow's email activity can already find this person when the roster
        # change asks it to write to them; an account with no case is harmless if the roster change is refused.
        await db.commit()

    added = Participant(
        case_id=case_id,
        person_id=person.id,
        role=form.role,
        side=form.side if form.role == "party" else None,
        represents_id=form.represents_id if form.role == "representative" else None,
        representative_kind=form.kind if form.role == "representative" else "",
    )
    await _change_roster(ctx, db, case_id, add=added)

    notice = f"{person.full_name} was added as {_role_phrase(form)}."
    if person.password_hash is None:
        title = (await case_titles(db, [case_id]))[case_id]
        await send_password_link(ctx, db, person, "activation", case_title=title)
        notice += " They were emailed a link to activate their account."
    return notice


def _role_phrase(form: ParticipantForm) -> str:
    if form.role == "party":
        return f"a {form.side} party"
    if form.role == "representative":
        return f"a representative ({form.kind})"
    return "an interested person"


async def remove_participant(ctx: AppContext, case_id: int, participant_id: int) -> str:
    async with ctx.sessions() as db:
        return await _remove(ctx, db, case_id, participant_id)


async def _remove(ctx: AppContext, db: AsyncSession, case_id: int, participant_id: int) -> str:
    await get_case(db, case_id)
    row = await db.get(Participant, participant_id)
    if row is None or row.case_id != case_id:
        raise LookupError("That person is not on this case.")
    if row.role == "mediator":
        raise StaffProblem("The case's mediator cannot be removed here; the mediator changes only through a new panel and conflict check.")
    person = await db.get(Person, row.person_id)
    name = person.full_name if person else "The person"
    if row.role == "party":
        others = (await db.execute(select(Participant).where(Participant.case_id == case_id, Participant.id != row.id))).scalars().all()
        if any(p.role == "representative" and p.represents_id == row.person_id for p in others):
            raise StaffProblem(f"Remove {name}'s representatives first.")
        if not any(p.role == "party" and p.side == row.side for p in others):
            raise StaffProblem(f"{name} is the only {row.side} party; add another {row.side} party before removing them.")
    await _change_roster(ctx, db, case_id, remove=row)
    return f"{name} was removed from the case."
