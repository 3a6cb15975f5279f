"""A small center with every kind of person the access rules tell apart, built fast and directly.

Case A runs through its workflow to `accepted` with Mediator 1, who disclosed a relationship with Katy (disclosure 1,
which both parties accepted); Ivy joined after that, so Mediator 1's re-confirmation about her waits; discussions are open with a caucus room of
Mediator 1 and Katy; Mediator 1 shared one document with Katy; Katy posted a message; Mediator 1 put an
event on the calendar and proposed two times for the mediation, which nobody has answered yet. Case B (Otto and Olga) waits on Mediator 1's conflict check. Mediator 2 was on
case A's panel but was not selected, so case A is none of their business.
"""

import re
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count

from fastapi.routing import APIRoute
from sqlalchemy import select, update

from core.db.models import Case, Email, Participant, Person
from core.db.session import transaction
from features.accounts.security import hash_password
from features.calendar.models import CalendarEventIn
from features.calendar.service import save_event
from features.cases.models import NewMessage
from features.cases.roster import roster_for
from features.cases.service import post_message as post_case_message
from features.discussions.models import NewCaucusRoom, NewRoomMessage
from features.discussions.service import create_caucus_room, open_discussions, post_message
from features.documents.models import NewDocument
from features.documents.service import add_document
from features.scheduling.models import ProposalIn, SlotIn
from features.scheduling.service import propose_times
from tests.support import eventually, handle, make_case, make_center, signed_in_access, wait_for_stage
from tests.web_support import PASSWORD, Browser
from workflows.case import CaseWorkflow
from workflows.types import ConflictDecision, DisclosureAnswers, DisclosureReply, IntakeDecision, RankingSubmission, RosterChange

ADDRESS = "742 Evergreen Terrace, Springfield, CA 90210"
OTHER_ADDRESS = "1 Elsewhere Road, Fresno, CA 93650"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# Who may be asking, as the matrix and the documentation name them.
ANONYMOUS = "anonymous"
PARTY = "party"  # Katy: initiating party of case A, filer
OTHER_CASE_PARTY = "other_case_party"  # Otto: party of case B only
OTHER_SIDE_REP = "other_side_representative"  # Rex: agent of Taylor, the responding party of case A
INTERESTED = "interested"  # Ivy: interested person on case A
UNSELECTED_MEDIATOR = "unselected_mediator"  # Mediator 2: on case A's panel, not chosen
MEDIATOR = "mediator"  # Mediator 1: serves on case A, is asked for the conflict check on case B
STAFF = "staff"
ROLES = (ANONYMOUS, PARTY, OTHER_CASE_PARTY, OTHER_SIDE_REP, INTERESTED, UNSELECTED_MEDIATOR, MEDIATOR, STAFF)


class Upload:
    """What add_document reads: an uploaded file's name and its bytes in chunks."""

    def __init__(self, filename: str, content: bytes):
        self.filename = filename
        self._content = content

    async def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = len(self._content)
        chunk, self._content = self._content[:size], self._content[size:]
        return chunk


@dataclass
class World:
    web: object
    case_id: int
    other_case_id: int
    people: dict[str, Person]
    taylor: Person
    joint_room_id: int
    caucus_room_id: int
    shared_document_id: int
    message_id: int
    event_id: int
    email_id: int
    _numbers: count = field(default_factory=lambda: count(1))

    @property
    def ctx(self):
        return self.web.asgi.state.ctx

    def person(self, role: str) -> Person:
        return self.people[role]

    async def case(self, case_id: int | None = None) -> Case:
        async with self.web.sessions() as session:
            return await session.get(Case, case_id or self.case_id)

    # ---- things an allowed request may destroy: each request gets its own ------------------------

    async def disposable_message(self) -> int:
        """A Case Home message by Katy."""
        async with self.web.sessions() as session:
            katy = await signed_in_access(session, self.case_id, self.person(PARTY).id)
            return (await post_case_message(session, katy, NewMessage(body=f"Disposable note {next(self._numbers)}"))).id

    async def disposable_document(self) -> int:
        """A document Katy uploaded and shared with nobody."""
        async with self.web.sessions() as session:
            katy = await signed_in_access(session, self.case_id, self.person(PARTY).id)
            details = NewDocument(category="Others", title=f"Scratch {next(self._numbers)}")
            return (await add_document(self.ctx, session, katy, Upload("scratch.pdf", PDF), details)).id

    async def disposable_participant(self) -> int:
        """An interested person on case A, there to be removed."""
        n = next(self._numbers)
        async with transaction(self.web.sessions) as session:
            person = Person(email=f"passer.by{n}@example.com", full_name=f"Passer By {n}")
            session.add(person)
            await session.flush()
            row = Participant(case_id=self.case_id, person_id=person.id, role="interested")
            session.add(row)
            await session.flush()
            return row.id

    # ---- signed-in browsers --------------------------------------------------------------------

    async def browsers(self, stack: AsyncExitStack, roles=ROLES) -> dict[str, Browser]:
        """One browser per role, signed in (the anonymous one holds the pre-sign-in CSRF cookie and token)."""
        found = {}
        for role in roles:
            browser = await stack.enter_async_context(self.web.browser())
            await self.sign_in(browser, role)
            found[role] = browser
        return found

    async def sign_in(self, browser: Browser, role: str) -> None:
        if role == ANONYMOUS:
            await browser.get("/login")
        else:
            signed = await browser.login(self.person(role).email)
            assert signed.status_code == 303, f"{role} could not sign in: {signed.status_code}"
            await browser.get("/profile")
        assert browser.csrf, f"no CSRF token for {role}"


async def build_world(web) -> World:
    center = await make_center(web.sessions, mediators=3)
    m1, m2, m3 = (m.id for m in center.mediators)
    client, settings = web.client, web.settings

    case_id, ids = await make_case(web.sessions, client, settings, address=ADDRESS)
    other_case_id, other_ids = await make_case(
        web.sessions, client, settings, parties=[("Otto Other", "initiating"), ("Olga Other", "responding")], address=OTHER_ADDRESS
    )
    for case, parties in ((case_id, ids), (other_case_id, other_ids)):
        wf = handle(client, settings, case)
        await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
        await wait_for_stage(client, settings, case, "ranking")
        for party in parties.values():
            await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=party, party_id=party, ranked=[m1, m2, m3], eliminated=[]))
        await wait_for_stage(client, settings, case, "conflict_check")
    # Mediator 1 accepts case A with a disclosure, which both parties accept: disclosure 1 of case A.
    wf = handle(client, settings, case_id)
    disclosure = DisclosureAnswers(relationship="I once sold a house to Katy Perry.", relationship_person_ids=[ids["Katy Perry"]])
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True, disclosure=disclosure))
    for party in ids.values():
        await wf.execute_update(CaseWorkflow.respond_to_disclosure, DisclosureReply(actor_id=party, party_id=party, number=1, objects=False))
    await wait_for_stage(client, settings, case_id, "accepted")

    async def mirrored():
        async with web.sessions() as session:
            a, b = await session.get(Case, case_id), await session.get(Case, other_case_id)
            serving = await session.scalar(select(Participant.id).where(Participant.case_id == case_id, Participant.person_id == m1))
            return a.mediator_id == m1 and serving is not None and b.candidate_mediator_id == m1 and b.stage == "conflict_check"

    await eventually(mirrored)

    katy, taylor, otto = ids["Katy Perry"], ids["Taylor Swift"], other_ids["Otto Other"]
    async with transaction(web.sessions) as session:
        rex = Person(email="rex.agent@example.com", full_name="Rex Agent")
        ivy = Person(email="ivy.interested@example.com", full_name="Ivy Interested")
        session.add_all([rex, ivy])
        await session.flush()
        session.add_all(
            [
                Participant(case_id=case_id, person_id=rex.id, role="representative", represents_id=taylor, representative_kind="Agent"),
                Participant(case_id=case_id, person_id=ivy.id, role="interested"),
            ]
        )
        rex_id, ivy_id = rex.id, ivy.id
        await session.execute(update(Person).values(password_hash=hash_password(PASSWORD)))
        roster = await roster_for(session, case_id)
    # Ivy joined after acceptance: a re-confirmation about her waits for Mediator 1.
    await handle(client, settings, case_id).execute_update(
        CaseWorkflow.change_roster, RosterChange(parties=roster, actor_id=center.staff.id, added_person_id=ivy_id, added_role="interested")
    )

    ctx = web.asgi.state.ctx
    async with web.sessions() as session:
        case = await session.get(Case, case_id)
        mediator = await signed_in_access(session, case_id, m1)
        joint = await open_discussions(session, mediator)
        caucus = await create_caucus_room(session, mediator, NewCaucusRoom(name="Caucus with Katy", member_ids=[katy]))
        joint_id, caucus_id = joint.id, caucus.id
        await post_message(ctx, session, mediator, caucus_id, NewRoomMessage(body="Between us: what would you settle for?"))
        brief = NewDocument(category="Correspondence", title="Mediator's brief", share_with=[katy])
        document_id = (await add_document(ctx, session, mediator, Upload("brief.pdf", PDF), brief)).id
        message = await post_case_message(session, await signed_in_access(session, case_id, katy), NewMessage(body="Looking forward to resolving this."))
        message_id = message.id
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
        event = await save_event(
            ctx,
            session,
            mediator,
            CalendarEventIn(title="Pre-mediation call", starts_at=starts, ends_at=starts + timedelta(hours=1), meeting_type="Phone"),
        )
        event_id = event.id
        later = [SlotIn(starts_at=starts + timedelta(days=d), ends_at=starts + timedelta(days=d, hours=3)) for d in (1, 2)]
        await propose_times(ctx, session, mediator, ProposalIn(slots=later))
        email_id = await session.scalar(select(Email.id).order_by(Email.id).limit(1))
        people = {p.id: p for p in (await session.execute(select(Person))).scalars()}

    return World(
        web=web,
        case_id=case_id,
        other_case_id=other_case_id,
        people={
            PARTY: people[katy],
            OTHER_CASE_PARTY: people[otto],
            OTHER_SIDE_REP: people[rex_id],
            INTERESTED: people[ivy_id],
            UNSELECTED_MEDIATOR: people[m2],
            MEDIATOR: people[m1],
            STAFF: people[center.staff.id],
        },
        taylor=people[taylor],
        joint_room_id=joint_id,
        caucus_room_id=caucus_id,
        shared_document_id=document_id,
        message_id=message_id,
        event_id=event_id,
        email_id=email_id,
    )


# ---- the route table -----------------------------------------------------------------------------

PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def api_routes(app) -> list[tuple[str, str, APIRoute]]:
    """Every (method, path, route) the app serves through FastAPI, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI keeps included routers lazily since 0.16x
    except ImportError:
        contexts = [(r, r) for r in app.routes]
    else:
        contexts = [(c, c.original_route) for c in iter_route_contexts(app.routes)]
    found = []
    for effective, original in contexts:
        if isinstance(original, APIRoute):
            for method in sorted(effective.methods):
                found.append((method, effective.path, original))
    return found


def fill_path(path: str, values: dict[str, object]) -> str:
    return PATH_PARAM.sub(lambda m: str(values[m.group(1)]), path)
