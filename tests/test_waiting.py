"""What a case waits on, its stays in each stage and when its conflict checks ended, read from a published state
(core/waiting.py): the rules the staff board stands on, stage by stage."""

from core.case_state import CaseState, ConflictAttempt, DisclosureResponse, MediatorDisclosure, PartyProgress, TimelineEntry
from core.waiting import KINDS, WAITS, attempt_end_times, describe, human_duration, stage_periods, waiting_on

KATY, TAYLOR, ED, M1, M2 = 11, 12, 13, 21, 22


def at(hour: int, minute: int = 0) -> str:
    return f"2026-03-01T{hour:02d}:{minute:02d}:00+00:00"


def state(stage: str, since: str | None = None, timeline: list[tuple[str, str]] = (), attempts: list[ConflictAttempt] = (), **kw) -> CaseState:
    return CaseState(
        case_id=1,
        stage=stage,
        stage_label=stage,
        stage_deadline=None,
        ranking_round=1,
        panel=[M1, M2],
        parties=kw.pop("parties", [PartyProgress(KATY, "initiating", [], True), PartyProgress(TAYLOR, "responding", [], False)]),
        tally=None,
        tally_history=[],
        candidate_mediator_id=kw.pop("candidate", None),
        mediator_id=kw.pop("mediator", None),
        tried_mediator_ids=[],
        conflict_attempts=list(attempts),
        fee_deposit_collected=False,
        mediation_scheduled=False,
        outcome=None,
        note="",
        timeline=[TimelineEntry(at=when, event=event) for when, event in timeline],
        stage_since=since,
        disclosures=kw.pop("disclosures", []),
    )


def test_each_open_stage_waits_on_someone_and_a_case_that_is_over_on_nobody():
    assert waiting_on(state("intake_review", at(9))) == waiting_on(state("intake_review", at(9)))
    assert waiting_on(state("intake_review", at(9))).kind == "intake_review" and waiting_on(state("intake_review")).people == ()
    ranking = waiting_on(state("ranking", at(10)))
    assert (ranking.kind, ranking.people, ranking.since) == ("ranking", (TAYLOR,), at(10))
    assert waiting_on(state("conflict_check", at(11), candidate=M1)).people == (M1,)
    assert waiting_on(state("awaiting_new_panel", at(12))).kind == "new_panel"
    assert waiting_on(state("accepted", at(13), mediator=M2)).people == (M2,)
    assert waiting_on(state("scheduled", at(14), mediator=M2)).kind == "mediator_steps"
    for over in ("rejected", "closed", "withdrawn"):
        assert waiting_on(state(over, at(15))) is None
    # Every kind a stage can wait on is named on the board.
    assert {WAITS[stage](state(stage))[0] for stage in WAITS} <= set(KINDS)


def test_a_disclosure_waits_on_the_parties_who_have_not_answered_then_on_the_center_and_a_reconfirmation_on_the_mediator():
    disclosure = MediatorDisclosure(
        number=1, mediator_id=M1, kind="conflict_check", ranking_round=1, asked_at=at(9), status="open", answered_at=at(10),
        objections_until=at(22), may_object_party_ids=[KATY, TAYLOR], responses=[DisclosureResponse(KATY, KATY, False, at(11))],
    )  # fmt: skip
    review = waiting_on(state("disclosure_review", at(10), candidate=M1, disclosures=[disclosure]))
    assert (review.kind, review.people, review.since) == ("objections", (TAYLOR,), at(10))
    assert describe("objections", ["Taylor Swift"]) == "Taylor Swift's answer to the mediator's disclosure"
    disclosure.status = "objected"
    objected = waiting_on(state("disclosure_review", at(10), candidate=M1, disclosures=[disclosure]))
    assert (objected.kind, objected.people) == ("objections", ())
    assert describe("objections", []) == "Center staff's decision on an objection"
    disclosure.status = "accepted"
    assert waiting_on(state("accepted", at(12), mediator=M1, disclosures=[disclosure])).kind == "mediator_steps"

    # Someone joined after acceptance: the mediator is asked to confirm again, since the moment they were asked.
    again = MediatorDisclosure(
        number=2, mediator_id=M1, kind="reconfirmation", ranking_round=1, asked_at=at(15), about_person_id=ED, status="awaiting_mediator"
    )
    reconfirming = waiting_on(state("scheduled", at(12), mediator=M1, disclosures=[disclosure, again]))
    assert (reconfirming.kind, reconfirming.people, reconfirming.since) == ("reconfirmation", (M1,), at(15))


def test_the_wait_is_said_the_way_staff_say_it():
    assert describe("ranking", ["Taylor Swift"]) == "Taylor Swift's ranking"
    assert describe("ranking", ["Katy Perry", "Taylor Swift"]) == "Katy Perry's and Taylor Swift's rankings"
    assert describe("ranking", ["Ed Sheeran", "Katy Perry", "Taylor Swift"]) == "Ed Sheeran's, Katy Perry's and Taylor Swift's rankings"
    assert describe("conflict_check", ["Mediator 1"]) == "Mediator 1's conflict check"
    assert describe("intake_review", []) == "Center staff's intake review"
    assert describe("new_panel", []) == "Center staff's new panel"
    assert describe("ranking", []) == "The tally of the rankings"
    assert describe("some_new_kind", []) == "Some new kind"


def test_stays_come_from_the_timeline_and_each_conflict_check_is_one():
    timeline = [
        (at(9), "filed"),
        (at(10), "intake_accepted"),
        (at(10), "ranking_opened"),
        (at(11), "ranking_submitted"),
        (at(12), "tallied"),
        (at(12), "conflict_check_started"),
        (at(13), "conflict_declined"),
        (at(13), "conflict_check_started"),
    ]
    periods = stage_periods(state("conflict_check", at(13), timeline))
    assert [(p.stage, p.entered_at, p.left_at) for p in periods] == [
        ("intake_review", at(9), at(10)),
        ("ranking", at(10), at(12)),
        ("conflict_check", at(12), at(13)),
        ("conflict_check", at(13), None),
    ]
    # A stage the timeline does not announce still gets its stay, from the published stage and its start.
    unannounced = stage_periods(state("objections", at(14), timeline))
    assert [(p.stage, p.entered_at, p.left_at) for p in unannounced[-2:]] == [("conflict_check", at(13), at(14)), ("objections", at(14), None)]
    # The stage the case is already in goes on, whatever moved its start (a milestone re-entering it).
    again = stage_periods(state("conflict_check", at(15), timeline))
    assert again == periods
    # An over case's last stay stays open: it never ends.
    closed = stage_periods(state("withdrawn", at(16), [*timeline, (at(16), "withdrawn")]))
    assert [(p.stage, p.left_at) for p in closed[-2:]] == [("conflict_check", at(16)), ("withdrawn", None)]


def test_each_attempt_ends_at_its_decision_expiry_or_withdrawal():
    attempts = [
        ConflictAttempt(M1, 1, at(12), at(14), outcome="declined"),
        ConflictAttempt(M2, 1, at(13), at(15), outcome="timed_out"),
        ConflictAttempt(M1, 2, at(16), at(18), outcome="accepted"),
        ConflictAttempt(M2, 3, at(19), at(21), outcome="pending"),
    ]
    timeline = [
        (at(12), "conflict_check_started"),
        (at(12, 30), "conflict_declined"),
        (at(13), "conflict_check_started"),
        (at(15), "conflict_check_expired"),
        (at(15), "new_panel_needed"),
        (at(16), "conflict_check_started"),
        (at(17), "mediator_accepted"),
        (at(19), "conflict_check_started"),
    ]
    assert attempt_end_times(state("conflict_check", at(19), timeline, attempts)) == [at(12, 30), at(15), at(17), None]
    withdrawn = [*attempts[:3], ConflictAttempt(M2, 3, at(19), at(21), outcome="withdrawn")]
    assert attempt_end_times(state("withdrawn", at(20), [*timeline, (at(20), "withdrawn")], withdrawn))[-1] == at(20)
    # A timeline that does not match the attempts says nothing rather than something wrong.
    assert attempt_end_times(state("conflict_check", at(19), timeline[:2], attempts)) == [None, None, None, None]


def test_durations_read_as_staff_say_them():
    assert human_duration(None) == ""
    assert human_duration(20) == "under a minute"
    assert human_duration(60) == "1 minute"
    assert human_duration(2 * 3600 + 30 * 60) == "2 hours 30 minutes"
    assert human_duration(3600) == "1 hour"
    assert human_duration(26 * 3600 + 59) == "1 day 2 hours"
    assert human_duration(3 * 86400) == "3 days"
