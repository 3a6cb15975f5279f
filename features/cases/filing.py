"""Filing a Request to Mediate: what needs the filer to check, then the case, its parties, its workflow, and the
activation emails of people who have no account yet."""

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from core.case_facts import case_titles
from core.db.models import Case, Participant, Person
from core.errors import Invalid
from features.accounts.emails import send_password_link
from features.cases.models import FILER_ROLES, RequestToMediate
from features.cases.roster import NewCase, PartyContact, file_case
from features.context import AppContext
from features.lifecycle import LifecycleUnavailable

log = logging.getLogger(__name__)


def filing_problems(filer: Person, request: RequestToMediate) -> dict[str, str]:
    """What the form's own limits cannot know: who the filer is, and that every party has an email of their own."""
    errors: dict[str, str] = {}
    if request.filer_role != "party":
        if not request.party_name:
            errors["party_name"] = "Give the name of the party you represent."
        if not request.party_email:
            errors["party_email"] = "Give the email of the party you represent."
        elif request.party_email == filer.email:
            errors["party_email"] = "The party you represent must have their own email."
    if not any(o.side == "responding" for o in request.others):
        errors["others"] = "Name at least one responding party (the other side of the dispute)."
    taken = {filer.email, request.party_email} - {""}
    for n, other in enumerate(request.others):
        if other.email in taken:
            errors[f"others.{n}.email"] = f"Other party {n + 1}: each party needs their own email."
        taken.add(other.email)
    return errors


async def file_request(ctx: AppContext, db: AsyncSession, filer: Person, request: RequestToMediate) -> Case:
    """File the request: the case and its parties are saved and its workflow started together, or neither."""
    errors = filing_problems(filer, request)
    if errors:
        raise Invalid("; ".join(errors.values()), errors)
    parties = [PartyContact(o.full_name, o.email, o.side) for o in request.others]
    if request.filer_role != "party":
        parties.insert(0, PartyContact(request.party_name, request.party_email, "initiating"))
    record = NewCase(
        property_address=request.property_address,
        dispute_bases=list(request.dispute_bases),
        dispute_value=request.dispute_value,
        description=request.description,
        filer_id=filer.id,
        filer_represents_first_party=request.filer_role != "party",
        filer_representative_kind=FILER_ROLES[request.filer_role],
        parties=parties,
    )
    client = await ctx.temporal.client()
    try:
        case = await file_case(db, client, ctx.settings, record)
    except RPCError as error:
        await db.rollback()
        raise LifecycleUnavailable("The case service is not reachable right now; your request was not filed. Please try again.") from error
    try:
        case.title = (await case_titles(db, [case.id]))[case.id]
        await db.commit()
    except Exception:
        # The workflow started but its case was not saved: stop it, so no half-filed case lives on.
        await client.get_workflow_handle(ctx.settings.workflow_id(case.id)).terminate("filing was not saved")
        raise
    try:
        await invite_new_people(ctx, db, case.id, case.title)
    except (SQLAlchemyError, RPCError, LifecycleUnavailable):
        # The case is filed; answering "nothing was changed" now would make the filer file it twice.
        # People without a password can still get a link from "Forgot Password?".
        log.exception("case %s is filed but its activation emails could not be queued", case.id)
    return case


async def invite_new_people(ctx: AppContext, db: AsyncSession, case_id: int, title: str) -> None:
    """Everyone on the case who has never set a password gets an activation link."""
    people = (
        (
            await db.execute(
                select(Person).join(Participant, Participant.person_id == Person.id).where(Participant.case_id == case_id, Person.password_hash.is_(None))
            )
        )
        .scalars()
        .unique()
    )
    for person in people:
        await send_password_link(ctx, db, person, "activation", case_title=title)
    await db.commit()
