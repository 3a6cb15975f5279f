"""A mediator's disclosure and the parties' objection window, on the time-skipping test server: the window's timer,
objections decided by staff both ways, and the continuing duty when someone joins after acceptance."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from core.db.models import Participant, Person
from core.db.session import transaction
from features.cases.roster import roster_for
from tests.support import emails, eventually, handle, join_case, make_case, make_center, status, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import (
    CaseClosure,
    ConflictDecision,
    DisclosureAnswers,
    DisclosureReply,
    IntakeDecision,
    MediatorMilestone,
    ObjectionRuling,
    RankingSubmission,
    Reconfirmation,
    RosterChange,
    StaffAction,
)

pytestmark = pytest.mark.usefixtures("worker")

KNOWS_KATY = DisclosureAnswers(relationship="I sold a house to Katy Perry in 2019.", relationship_person_ids=[])
NOTHING = DisclosureAnswers()


async def rejection(coro) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await coro
    return str(failure.value.cause)


async def _at_least(count, awaitable):
    rows = await awaitable
    return rows if len(rows) >= count else None


class Case:
    """A filed case with Katy (initiating), Taylor (responding) and Ivy (an interested person), ranked by both parties
    so that the panel's order is Mediator 1, 2, 3; the first conflict-check request is out."""

    def __init__(self, env, sessions, settings, center, case_id, people, ivy):
        self.env, self.sessions, self.settings, self.center = env, sessions, settings, center
        self.case_id, self.katy, self.taylor, self.ivy = case_id, people["Katy Perry"], people["Taylor Swift"], ivy
        self.m1, self.m2, self.m3 = (m.id for m in center.mediators[:3])
        self.wf = handle(env.client, settings, case_id)

    @classmethod
    async def at_conflict_check(cls, env, sessions, settings) -> "Case":
        center = await make_center(sessions)
        case_id, people = await make_case(sessions, env.client, settings)
        ivy = await join_case(sessions, env.client, settings, case_id, "Ivy Interested", "interested")
        case = cls(env, sessions, settings, center, case_id, people, ivy)
        await case.wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[case.m1, case.m2, case.m3]))
        await case.stage("ranking")
        for party in (case.katy, case.taylor):
            await case.wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=party, party_id=party, ranked=[case.m1, case.m2, case.m3]))
        await case.asked(case.m1)
        return case

    async def stage(self, stage: str):
        return await wait_for_stage(self.env.client, self.settings, self.case_id, stage)

    async def asked(self, mediator: int):
        async def check():
            current = await status(self.env.client, self.settings, self.case_id)
            return current if current.stage == "conflict_check" and current.candidate_mediator_id == mediator else None

        return await eventually(check)

    async def answer(self, mediator: int, disclosure: DisclosureAnswers | None = None, accept: bool = True, reason: str = ""):
        return await self.wf.execute_update(
            CaseWorkflow.decide_conflict, ConflictDecision(actor_id=mediator, accept=accept, reason=reason, disclosure=disclosure)
        )

    async def reply(self, party: int, objects: bool, reason: str = "", number: int = 1, actor: int | None = None):
        return await self.wf.execute_update(
            CaseWorkflow.respond_to_disclosure, DisclosureReply(actor_id=actor or party, party_id=party, number=number, objects=objects, reason=reason)
        )

    async def rule(self, uphold: bool, reason: str, number: int = 1):
        return await self.wf.execute_update(
            CaseWorkflow.decide_objection, ObjectionRuling(actor_id=self.center.staff.id, number=number, uphold=uphold, reason=reason)
        )

    async def add(self, name: str, role: str, side: str | None = None, represents: int | None = None) -> int:
        """Staff add a person after acceptance: the participants table and the workflow's roster, saying who joined."""
        async with transaction(self.sessions) as session:
            person = Person(email=name.lower().replace(" ", ".") + "@example.com", full_name=name)
            session.add(person)
            await session.flush()
            session.add(
                Participant(
                    case_id=self.case_id,
                    person_id=person.id,
                    role=role,
                    side=side,
                    represents_id=represents,
                    representative_kind="Attorney" if represents else "",
                )
            )
            await session.flush()
            person_id, roster = person.id, await roster_for(session, self.case_id)
        await self.wf.execute_update(
            CaseWorkflow.change_roster, RosterChange(parties=roster, actor_id=self.center.staff.id, added_person_id=person_id, added_role=role)
        )
        return person_id

    async def emails(self, subject: str, to: str | None = None, at_least: int = 1):
        return await eventually(lambda: _at_least(at_least, emails(self.sessions, subject, to=to)))


async def test_a_disclosure_nobody_objects_to_stands_when_the_window_closes(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    answered = await case.answer(case.m1, DisclosureAnswers(relationship="I sold a house to Katy Perry in 2019.", relationship_person_ids=[case.katy]))
    assert answered.stage == "disclosure_review" and answered.candidate_mediator_id == case.m1 and answered.mediator_id is None
    record = answered.disclosures[0]
    assert record.status == "open" and record.kind == "conflict_check" and record.may_object_party_ids == [case.katy, case.taylor]
    until = datetime.fromisoformat(record.objections_until)
    assert until - datetime.fromisoformat(record.answered_at) == timedelta(days=2) and answered.stage_deadline == record.objections_until
    assert answered.conflict_attempts[0].outcome == "disclosed"

    # The parties (and the center) read the disclosure; the interested person learns only that there is one.
    told = await case.emails("Mediator disclosure RE:", at_least=4)
    to = {e.to_email: e for e in told}
    assert set(to) == {"katy.perry@example.com", "taylor.swift@example.com", "mediation@car.org", "mediator1@example.com"}
    for address in ("katy.perry@example.com", "taylor.swift@example.com"):
        body = to[address].text_body
        assert "Mediator 1, the mediator selected for case" in body and "has accepted the case with the following disclosure" in body
        assert "- Relationship with someone on the case (Katy Perry): I sold a house to Katy Perry in 2019." in body
        assert "If you object to Mediator 1 mediating this case, tell us by" in body and f"/cases/{case.case_id}/disclosures/1" in body
    assert "Your disclosure for case" in to["mediator1@example.com"].text_body and "I sold a house" not in to["mediator1@example.com"].text_body
    ivy = await case.emails("Mediator disclosure made RE:", to="ivy.interested@example.com")
    assert "has made a disclosure to the parties" in ivy[0].text_body and "I sold a house" not in ivy[0].text_body + ivy[0].html_body

    await case.env.sleep(timedelta(days=1))
    assert (await status(case.env.client, case.settings, case.case_id)).stage == "disclosure_review"
    await case.env.sleep(timedelta(days=1, hours=1))
    accepted = await case.stage("accepted")
    assert accepted.mediator_id == case.m1 and accepted.disclosures[0].status == "accepted"
    assert accepted.conflict_attempts[0].outcome == "accepted"
    events = [t.event for t in accepted.timeline]
    assert events.index("disclosure_made") < events.index("disclosure_accepted") < events.index("mediator_accepted")
    assert "no objection by the deadline" in next(t.detail for t in accepted.timeline if t.event == "disclosure_accepted")
    await case.emails("Your mediator RE:", at_least=2)


async def test_answering_no_to_every_question_accepts_at_once(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    accepted = await case.answer(case.m1, NOTHING)
    assert accepted.stage == "accepted" and accepted.mediator_id == case.m1
    assert [(r.kind, r.status, r.disclosed) for r in accepted.disclosures] == [("conflict_check", "confirmed", False)]
    assert "nothing_to_disclose" in [t.event for t in accepted.timeline]


async def test_an_objection_waits_for_the_center_who_overrules_it_with_reasons(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    await case.answer(case.m1, KNOWS_KATY)
    await case.stage("disclosure_review")
    assert "no objection" in await rejection(case.rule(uphold=False, reason="Too early."))

    # Who may answer: a party, or its representative; not the interested person, nor a mediator.
    for stranger in (case.ivy, case.m3):
        said = await rejection(case.reply(stranger, objects=True, reason="I object."))
        assert "Only a party of this case" in said
    assert "only for yourself or for a party you represent" in await rejection(case.reply(case.taylor, objects=True, reason="No.", actor=case.katy))
    assert "Say briefly why you object" in await rejection(case.reply(case.taylor, objects=True, reason="  "))
    assert "no such disclosure" in await rejection(case.reply(case.taylor, objects=True, reason="No.", number=7))

    after_katy = await case.reply(case.katy, objects=False)
    assert after_katy.disclosures[0].status == "open" and after_katy.stage == "disclosure_review"
    objected = await case.reply(case.taylor, objects=True, reason="The mediator is a friend of the other side.")
    assert objected.disclosures[0].status == "objected" and objected.stage == "disclosure_review"
    assert "already answered" in await rejection(case.reply(case.katy, objects=True, reason="Changed my mind."))
    to_center = await case.emails("Objection to a mediator's disclosure RE:", to="mediation@car.org")
    assert "Taylor Swift objects to the disclosure of Mediator 1 on case" in to_center[0].text_body
    assert "Their reason: The mediator is a friend of the other side." in to_center[0].text_body
    assert await emails(case.sessions, "Objection to a mediator's disclosure", to="katy.perry@example.com") == []

    # The window closes with the objection standing: the case waits on the center, with no deadline; nobody may answer now.
    await case.env.sleep(timedelta(days=2, hours=1))

    async def waiting_on_the_center():
        current = await status(case.env.client, case.settings, case.case_id)
        return current if current.stage_deadline is None else None

    waiting = await eventually(waiting_on_the_center)
    assert waiting.stage == "disclosure_review" and "the center decides" in waiting.note
    assert "has passed" in await rejection(case.reply(case.katy, objects=True, reason="Late."))
    assert "Give the reason for the decision" in await rejection(case.rule(uphold=False, reason=""))

    overruled = await case.rule(uphold=False, reason="A sale five years ago is no conflict; the mediator disclosed it.")
    assert overruled.stage == "accepted" and overruled.mediator_id == case.m1
    record = overruled.disclosures[0]
    assert record.status == "overruled" and record.decided_by_id == case.center.staff.id and "five years ago" in record.decision_reason
    assert [(r.party_id, r.objects) for r in record.responses] == [(case.katy, False), (case.taylor, True)]
    told = await case.emails("Objection overruled RE:", at_least=4)
    assert {e.to_email for e in told} == {"katy.perry@example.com", "taylor.swift@example.com", "ivy.interested@example.com", "mediator1@example.com"}
    by_address = {e.to_email: e.text_body for e in told}
    assert "The center's reason: A sale five years ago is no conflict" in by_address["katy.perry@example.com"]
    assert "so Mediator 1 will mediate this case" in by_address["taylor.swift@example.com"]
    # The reason may speak of what was disclosed: interested persons read only the outcome.
    assert "five years ago" not in by_address["ivy.interested@example.com"] and "so Mediator 1 will mediate" in by_address["ivy.interested@example.com"]
    assert "objection_overruled" in [t.event for t in overruled.timeline]
    assert "no objection" in await rejection(case.rule(uphold=True, reason="Again."))


async def test_an_objection_upheld_passes_the_case_to_the_next_mediator(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    await case.answer(case.m1, DisclosureAnswers(past_services="I was Taylor Swift's agent until last year."))
    await case.stage("disclosure_review")
    await case.reply(case.katy, objects=True, reason="The mediator worked for the other side.")
    upheld = await case.rule(uphold=True, reason="Services to a party within a year are a conflict.")
    assert upheld.stage == "conflict_check" and upheld.candidate_mediator_id == case.m2
    assert [(a.mediator_id, a.outcome) for a in upheld.conflict_attempts] == [(case.m1, "objection_upheld"), (case.m2, "pending")]
    assert upheld.conflict_attempts[1].asked_because == "next_choice" and upheld.disclosures[0].status == "upheld"

    to_m1 = await case.emails("Objection upheld RE:", to="mediator1@example.com")
    assert "so you will not mediate this case" in to_m1[0].text_body and "within a year are a conflict" in to_m1[0].text_body
    notice = await case.emails("Mediator reassignment RE:", to="katy.perry@example.com")
    assert "Mediator 1 will not mediate case" in notice[0].text_body and "upheld a party's objection to their disclosure" in notice[0].text_body
    assert "The case is reassigned to Mediator 2" in notice[0].text_body
    await case.emails("Conflict check requested RE:", to="mediator2@example.com")

    accepted = await case.answer(case.m2, NOTHING)
    assert accepted.stage == "accepted" and accepted.mediator_id == case.m2


async def test_every_party_saying_it_does_not_object_settles_the_disclosure_at_once(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    await case.answer(case.m1, DisclosureAnswers(financial_interest="I own a share of the title company in escrow."))
    await case.reply(case.katy, objects=False)
    accepted = await case.reply(case.taylor, objects=False)
    assert accepted.stage == "accepted" and accepted.disclosures[0].status == "accepted"
    assert "every party said it does not object" in next(t.detail for t in accepted.timeline if t.event == "disclosure_accepted")


async def test_withdrawn_while_the_parties_review_a_disclosure(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    await case.answer(case.m1, KNOWS_KATY)
    await case.stage("disclosure_review")
    await case.wf.execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=case.center.staff.id, reason="The parties settled."))
    final = await case.stage("withdrawn")
    assert final.disclosures[0].status == "ended" and final.conflict_attempts[0].outcome == "withdrawn"
    told = await case.emails("Case withdrawn RE:", to="mediator1@example.com")
    assert "has been withdrawn by the center" in told[0].text_body


async def test_whoever_joins_after_acceptance_is_asked_about_and_the_window_runs_again(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    await case.answer(case.m1, NOTHING)
    await case.stage("accepted")

    # An interested person joins: the mediator is asked to confirm again, and has nothing to disclose.
    olga = await case.add("Olga Observer", "interested")
    current = await status(case.env.client, case.settings, case.case_id)
    asked = current.disclosures[-1]
    assert (asked.kind, asked.status, asked.about_person_id, asked.about_role) == ("reconfirmation", "awaiting_mediator", olga, "interested")
    request = await case.emails("Please confirm again: a person joined RE:", to="mediator1@example.com")
    assert "Olga Observer has joined case" in request[0].text_body and f"/cases/{case.case_id}/reconfirm/{olga}" in request[0].text_body
    assert "Only the case's mediator" in await rejection(case.wf.execute_update(CaseWorkflow.reconfirm, Reconfirmation(actor_id=case.m2, person_id=olga)))
    assert "No re-confirmation is waiting" in await rejection(
        case.wf.execute_update(CaseWorkflow.reconfirm, Reconfirmation(actor_id=case.m1, person_id=case.katy))
    )
    confirmed = await case.wf.execute_update(CaseWorkflow.reconfirm, Reconfirmation(actor_id=case.m1, person_id=olga, disclosure=NOTHING))
    assert confirmed.stage == "accepted" and confirmed.disclosures[-1].status == "confirmed"

    # A new party joins; the mediator discloses; the parties, the new one included, may object; nobody does.
    harry = await case.add("Harry Styles", "party", side="responding")
    disclosed = await case.wf.execute_update(
        CaseWorkflow.reconfirm,
        Reconfirmation(
            actor_id=case.m1, person_id=harry, disclosure=DisclosureAnswers(relationship="Harry Styles is my cousin.", relationship_person_ids=[harry])
        ),
    )
    record = disclosed.disclosures[-1]
    assert disclosed.stage == "accepted" and record.status == "open" and record.may_object_party_ids == [case.katy, case.taylor, harry]
    to_harry = await case.emails("Mediator disclosure RE:", to="harry.styles@example.com")
    assert "was asked to confirm again that they have no conflict of interest when Harry Styles joined the case" in to_harry[0].text_body
    assert "Harry Styles is my cousin." in to_harry[0].text_body and "remains your mediator" in to_harry[0].text_body
    await case.env.sleep(timedelta(days=2, hours=1))

    async def settled():
        current = await status(case.env.client, case.settings, case.case_id)
        return current if current.disclosures[-1].status == "accepted" else None

    after = await eventually(settled)
    assert after.stage == "accepted" and after.mediator_id == case.m1
    no_objection = await case.emails("No objection to the mediator's disclosure RE:", to="katy.perry@example.com")
    assert "so Mediator 1 remains the mediator of this case" in no_objection[0].text_body


@pytest.mark.both_databases
async def test_an_objection_upheld_after_acceptance_replaces_the_mediator(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    await case.answer(case.m1, NOTHING)
    await case.stage("accepted")
    await case.wf.execute_update(CaseWorkflow.record_fee_deposit, MediatorMilestone(actor_id=case.m1))

    async def on_case(person_id):
        async with case.sessions() as session:
            return (
                (await session.execute(select(Participant.role).where(Participant.case_id == case.case_id, Participant.person_id == person_id))).scalars().all()
            )

    await eventually(lambda: on_case(case.m1))
    attorney = await case.add("Rex Attorney", "representative", represents=case.taylor)
    await case.wf.execute_update(
        CaseWorkflow.reconfirm,
        Reconfirmation(actor_id=case.m1, person_id=attorney, disclosure=DisclosureAnswers(other_matters="Rex Attorney and I share an office.")),
    )
    # Taylor's new attorney objects for Taylor.
    await case.reply(case.taylor, objects=True, reason="The mediator shares an office with me.", number=2, actor=attorney)
    upheld = await case.rule(uphold=True, reason="Sharing an office with a representative is a conflict.", number=2)
    assert upheld.stage == "conflict_check" and upheld.candidate_mediator_id == case.m2 and upheld.mediator_id is None
    assert not upheld.fee_deposit_collected
    assert [a.outcome for a in upheld.conflict_attempts] == ["objection_upheld", "pending"]
    # The replaced mediator is no longer on the case.
    assert await eventually(lambda: _gone(on_case(case.m1)))
    notice = await case.emails("Mediator reassignment RE:", to="taylor.swift@example.com")
    assert "Mediator 1 will not mediate case" in notice[0].text_body and "reassigned to Mediator 2" in notice[0].text_body
    assert await emails(case.sessions, "Mediator reassignment RE:", to="mediator1@example.com") == []
    await case.emails("Objection upheld RE:", to="mediator1@example.com")

    accepted = await case.answer(case.m2, NOTHING)
    assert accepted.stage == "accepted" and accepted.mediator_id == case.m2
    await case.wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=case.m2, outcome="settled"))
    assert await case.wf.result() == "closed"


async def test_a_mediator_who_steps_down_at_a_reconfirmation_leaves_for_a_new_panel_when_none_is_left(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    await case.answer(case.m1, accept=False, reason="I know the seller.")
    await case.asked(case.m2)
    await case.answer(case.m2, accept=False, reason="I know the buyer.")
    await case.asked(case.m3)
    await case.answer(case.m3, NOTHING)
    await case.stage("accepted")
    nora = await case.add("Nora Neighbor", "interested")
    said = await rejection(case.wf.execute_update(CaseWorkflow.reconfirm, Reconfirmation(actor_id=case.m3, person_id=nora, accept=False)))
    assert "Say briefly why you must step down" in said
    left = await case.wf.execute_update(CaseWorkflow.reconfirm, Reconfirmation(actor_id=case.m3, person_id=nora, accept=False, reason="Nora is my sister."))
    assert left.stage == "awaiting_new_panel" and left.mediator_id is None
    assert left.disclosures[-1].status == "stepped_down" and left.conflict_attempts[-1].outcome == "stepped_down"
    to_center = await case.emails("Mediator stepped down RE:", to="mediation@car.org")
    assert "Their reason: Nora is my sister." in to_center[0].text_body
    notice = await case.emails("Mediator reassignment RE:", to="katy.perry@example.com", at_least=3)
    assert "Mediator 3, the mediator of case" in notice[-1].text_body and "has stepped down because of a conflict of interest" in notice[-1].text_body
    assert "the center will propose a new panel" in notice[-1].text_body


async def test_someone_who_joins_while_the_parties_review_a_disclosure_is_asked_about_after_acceptance(time_skipping_env, sessions, settings):
    case = await Case.at_conflict_check(time_skipping_env, sessions, settings)
    await case.answer(case.m1, KNOWS_KATY)
    await case.stage("disclosure_review")
    paul = await case.add("Paul Partner", "interested")
    current = await status(case.env.client, case.settings, case.case_id)
    assert len(current.disclosures) == 1
    await case.reply(case.katy, objects=False)
    accepted = await case.reply(case.taylor, objects=False)
    assert accepted.stage == "accepted"
    asked = accepted.disclosures[-1]
    assert (asked.kind, asked.status, asked.about_person_id) == ("reconfirmation", "awaiting_mediator", paul)


async def _gone(awaitable) -> bool:
    return not await awaitable
