"""The Request to Mediate form: validation a person can act on, then filing and activation emails."""

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from features.context import AppContext
from core.inputs import normalized_email
from core.db.models import Case, Participant, Person
from features.accounts.emails import send_password_link
from core.case_facts import case_titles
from features.cases.roster import DISPUTE_BASES, DISPUTE_VALUES, PartyContact, RequestToMediate, file_case
from features.lifecycle import LifecycleUnavailable

log = logging.getLogger(__name__)

MAX_OTHER_PARTIES = 4
FILER_ROLES = {"party": "", "agent": "Agent", "attorney": "Attorney", "power_of_attorney": "Power of attorney"}


class FilingProblem(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class FilingForm:
    property_address: str = ""
    dispute_bases: list[str] = field(default_factory=list)
    dispute_value: str = ""
    description: str = ""
    filer_role: str = "party"
    party_name: str = ""
    party_email: str = ""
    others: list[PartyContact] = field(default_factory=list)

    @classmethod
    def blank(cls, person: Person) -> "FilingForm":
        return cls(others=[PartyContact("", "", "responding")])

    @classmethod
    def from_form(cls, form) -> "FilingForm":
        others = []
        for n in range(1, MAX_OTHER_PARTIES + 1):
            name, email = str(form.get(f"other_name_{n}", "")).strip(), str(form.get(f"other_email_{n}", "")).strip()
            if name or email:
                others.append(PartyContact(name, email, str(form.get(f"other_side_{n}", "responding"))))
        return cls(
            property_address=str(form.get("property_address", "")).strip(),
            dispute_bases=[str(b) for b in form.getlist("dispute_bases")],
            dispute_value=str(form.get("dispute_value", "")),
            description=str(form.get("description", "")).strip(),
            filer_role=str(form.get("filer_role", "party")),
            party_name=str(form.get("party_name", "")).strip(),
            party_email=str(form.get("party_email", "")).strip(),
            others=others,
        )

    def problems(self, filer: Person) -> dict[str, str]:
        errors: dict[str, str] = {}
        if len(self.property_address) < 5:
            errors["property_address"] = "Enter the address of the subject property."
        elif len(self.property_address) > 300:
            errors["property_address"] = "The property address is too long (300 characters at most)."
        if not self.dispute_bases:
            errors["dispute_bases"] = "Select at least one basis of the dispute."
        elif any(b not in DISPUTE_BASES for b in self.dispute_bases):
            errors["dispute_bases"] = "Choose the basis of the dispute from the list."
        if self.dispute_value not in DISPUTE_VALUES:
            errors["dispute_value"] = "Choose the estimated value of the dispute."
        if len(self.description) > 5000:
            errors["description"] = "Keep the description under 5,000 characters."
        if self.filer_role not in FILER_ROLES:
            errors["filer_role"] = "Say whether you file as a party or for a party."
        elif self.filer_role != "party":
            if not self.party_name or normalized_email(self.party_email) is None:
                errors["party"] = "Give the name and email of the party you represent."
            elif self.party_email.lower() == filer.email:
                errors["party"] = "The party you represent must have their own email."
        if not self.others:
            errors["others"] = "Name at least one other party, with their email."
        for n, other in enumerate(self.others, start=1):
            if not other.full_name or normalized_email(other.email) is None:
                errors["others"] = f"Other party {n}: give both a name and a valid email."
            elif other.side not in ("initiating", "responding"):
                errors["others"] = f"Other party {n}: choose their side."
            elif other.email.lower() in (filer.email, self.party_email.lower()):
                errors["others"] = f"Other party {n}: each party needs their own email."
        if not any(o.side == "responding" for o in self.others):
            errors.setdefault("others", "Name at least one responding party (the other side of the dispute).")
        return errors


async def file_request(ctx: AppContext, db: AsyncSession, filer: Person, form: FilingForm) -> Case:
    errors = form.problems(filer)
    if errors:
        raise FilingProblem(errors)
    parties = list(form.others)
    if form.filer_role != "party":
        parties.insert(0, PartyContact(form.party_name, form.party_email, "initiating"))
    request = RequestToMediate(
        property_address=form.property_address,
        dispute_bases=form.dispute_bases,
        dispute_value=form.dispute_value,
        description=form.description,
        filer_id=filer.id,
        filer_represents_first_party=form.filer_role != "party",
        filer_representative_kind=FILER_ROLES.get(form.filer_role, ""),
        parties=parties,
    )
    client = await ctx.temporal.client()
    try:
        case = await file_case(db, client, ctx.settings, request)
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
        await db.execute(
            select(Person).join(Participant, Participant.person_id == Person.id).where(Participant.case_id == case_id, Person.password_hash.is_(None))
        )
    ).scalars().unique()
    for person in people:
        await send_password_link(ctx, db, person, "activation", case_title=title)
    await db.commit()
