"""Staff adding and removing people on a case: the workflow's roster and the participants table change together.

The workflow takes the new roster first and the table follows; if the workflow refuses, nothing was written. Each
change runs in a session of its own, so a rollback there leaves the request's session (which holds the signed-in
viewer) untouched. The staff console and the case's Users tab both come here.
"""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.case_facts import case_titles
from core.db.models import Participant, Person
from core.errors import Invalid, NotFound
from features.accounts.emails import send_password_link
from features.cases.roster import person_for_email, roster_for, roster_of
from features.context import AppContext
from features.lifecycle import run_update
from features.staff.console import get_case
from features.staff.models import ADDABLE_ROLES, NewParticipant
from workflows.case import CaseWorkflow
from workflows.types import RosterChange

ROLE_NAMES = {**ADDABLE_ROLES, "mediator": "Mediator", "staff": "Center staff"}
# Once the mediator has answered the disclosure questions, whoever joins is asked about (the continuing duty).
RECONFIRMING_STAGES = ("disclosure_review", "accepted", "scheduled")


def _refused(field: str, message: str) -> Invalid:
    return Invalid(message, {field: message})


async def _change_roster(ctx: AppContext, db: AsyncSession, case_id: int, add: Participant | None = None, remove: Participant | None = None) -> None:
    """The workflow takes the new roster first, and only then is the participants table changed to match.

    Nothing is written while the workflow decides (it writes the case's state itself, which a pending write of ours
    would block), so a refusal leaves the table as it was. If the write then fails (two staff adding the same
    person at once), the workflow is given the table's roster again, so the two never disagree."""
    rows = (await db.execute(select(Participant).where(Participant.case_id == case_id).order_by(Participant.id))).scalars().all()
    after = [p for p in rows if p is not remove] + ([add] if add is not None else [])
    # Who joins is said, so that once a mediator serves they confirm again that they have no conflict with them.
    change = RosterChange(
        parties=roster_of(after),
        added_person_id=add.person_id if add is not None else None,
        added_role=add.role if add is not None else "",
        removed_person_id=remove.person_id if remove is not None else None,
    )
    await run_update(ctx, case_id, CaseWorkflow.change_roster, change)
    if add is not None:
        db.add(add)
    if remove is not None:
        await db.delete(remove)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        undone = RosterChange(parties=await roster_for(db, case_id), removed_person_id=add.person_id if add is not None else None)
        await run_update(ctx, case_id, CaseWorkflow.change_roster, undone)
        raise


async def add_participant(ctx: AppContext, case_id: int, new: NewParticipant) -> str:
    async with ctx.sessions() as db:
        return await _add(ctx, db, case_id, new)


async def _add(ctx: AppContext, db: AsyncSession, case_id: int, new: NewParticipant) -> str:
    stage_before = (await get_case(db, case_id)).stage
    if new.role == "representative":
        party = (
            await db.execute(select(Participant).where(Participant.case_id == case_id, Participant.person_id == new.represents_id, Participant.role == "party"))
        ).scalar_one_or_none()
        if party is None:
            raise _refused("represents_id", "A representative must act for one of this case's parties.")

    existing = (await db.execute(select(Person).where(Person.email == new.email))).scalar_one_or_none()
    if existing is not None:
        roles = (await db.execute(select(Participant.role).where(Participant.case_id == case_id, Participant.person_id == existing.id))).scalars().all()
        if roles:
            names = ", ".join(ROLE_NAMES.get(r, r).lower() for r in roles)
            raise _refused("email", f"{existing.full_name} already takes part in this case ({names}); remove them first to change their role.")
    user_type = new.kind if new.role == "representative" else ADDABLE_ROLES[new.role]
    person = existing or await person_for_email(db, new.email, new.name, user_type=user_type)
    if existing is None:
        # Committed on its own so the workflow's email activity can already find this person when the roster
        # change asks it to write to them; an account with no case is harmless if the roster change is refused.
        await db.commit()

    added = Participant(
        case_id=case_id,
        person_id=person.id,
        role=new.role,
        side=new.side if new.role == "party" else None,
        represents_id=new.represents_id if new.role == "representative" else None,
        representative_kind=new.kind if new.role == "representative" else "",
    )
    await _change_roster(ctx, db, case_id, add=added)

    notice = f"{person.full_name} was added as {_role_phrase(new)}."
    if stage_before in RECONFIRMING_STAGES:
        notice += " The mediator is asked to confirm again that they have no conflict of interest with them."
    if person.password_hash is None:
        title = (await case_titles(db, [case_id]))[case_id]
        await send_password_link(ctx, db, person, "activation", case_title=title)
        notice += " They were emailed a link to activate their account."
    return notice


def _role_phrase(new: NewParticipant) -> str:
    if new.role == "party":
        return f"a {new.side} party"
    if new.role == "representative":
        return f"a representative ({new.kind})"
    return "an interested person"


async def remove_participant(ctx: AppContext, case_id: int, participant_id: int) -> str:
    async with ctx.sessions() as db:
        return await _remove(ctx, db, case_id, participant_id)


async def _remove(ctx: AppContext, db: AsyncSession, case_id: int, participant_id: int) -> str:
    await get_case(db, case_id)
    row = await db.get(Participant, participant_id)
    if row is None or row.case_id != case_id:
        raise NotFound("That person is not on this case.")
    if row.role == "mediator":
        raise _refused("participant", "The case's mediator cannot be removed here; the mediator changes only through a new panel and conflict check.")
    person = await db.get(Person, row.person_id)
    name = person.full_name if person else "The person"
    if row.role == "party":
        others = (await db.execute(select(Participant).where(Participant.case_id == case_id, Participant.id != row.id))).scalars().all()
        if any(p.role == "representative" and p.represents_id == row.person_id for p in others):
            raise _refused("participant", f"Remove {name}'s representatives first.")
        if not any(p.role == "party" and p.side == row.side for p in others):
            raise _refused("participant", f"{name} is the only {row.side} party; add another {row.side} party before removing them.")
    await _change_roster(ctx, db, case_id, remove=row)
    return f"{name} was removed from the case."
