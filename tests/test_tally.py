"""Tests for the ranked-choice mediator tally (rule in workflows/tally.py's docstring)."""

import random
from fractions import Fraction

import pytest

from workflows.tally import SIDES, Ballot, InvalidBallot, Tally, tally, validate_ballot

PANEL = ["A", "B", "C"]


def init(party, ranked, eliminated=()):
    return Ballot(party=party, side="initiating", ranked=list(ranked), eliminated=list(eliminated))


def resp(party, ranked, eliminated=()):
    return Ballot(party=party, side="responding", ranked=list(ranked), eliminated=list(eliminated))


def assert_exact(scores, expected):
    assert scores == expected
    for mediator, score in scores.items():
        assert type(score) is Fraction, f"score of {mediator} is {type(score).__name__}, not Fraction"


# --- validation ---------------------------------------------------------------------------


def raises_invalid(match):
    """InvalidBallot is a ValueError; check both and that the message says what is wrong."""
    return pytest.raises(ValueError, match=match)


def test_invalid_ballot_is_value_error():
    assert issubclass(InvalidBallot, ValueError)


def test_unknown_side():
    ballot = Ballot(party="p", side="neutral", ranked=["A", "B", "C"])
    with raises_invalid(r"Unknown side 'neutral'.*initiating or the responding") as exc:
        tally(PANEL, [ballot])
    assert isinstance(exc.value, InvalidBallot)


def test_mediator_ranked_twice():
    with raises_invalid(r"only once.*: A\.") as exc:
        tally(PANEL, [init("p", ["A", "B", "C", "A"])])
    assert isinstance(exc.value, InvalidBallot)


def test_mediator_both_ranked_and_eliminated():
    with raises_invalid(r"only once.*: C\.") as exc:
        tally(PANEL, [init("p", ["A", "B", "C"], ["C"])])
    assert isinstance(exc.value, InvalidBallot)


def test_mediator_not_on_panel():
    with raises_invalid(r"Not on the proposed panel: Z\.") as exc:
        tally(PANEL, [init("p", ["A", "B", "C", "Z"])])
    assert isinstance(exc.value, InvalidBallot)


def test_eliminated_mediator_not_on_panel():
    with raises_invalid(r"Not on the proposed panel: Z\.") as exc:
        tally(PANEL, [init("p", ["A", "B", "C"], ["Z"])])
    assert isinstance(exc.value, InvalidBallot)


def test_panel_member_missing():
    with raises_invalid(r"ranked or eliminated; missing: B\.") as exc:
        tally(PANEL, [init("p", ["A", "C"])])
    assert isinstance(exc.value, InvalidBallot)


def test_nothing_ranked():
    # Single-member panel, that member eliminated: listing is complete, 1 elimination is allowed,
    # so the only fault is that nothing is ranked.
    with raises_invalid(r"Rank at least one mediator") as exc:
        tally(["A"], [init("p", [], ["A"])])
    assert isinstance(exc.value, InvalidBallot)


def test_nothing_ranked_even_when_eliminations_allowed():
    with raises_invalid(r"Rank at least one mediator"):
        tally(["A", "B"], [init("p", [], ["A", "B"])], max_eliminations=2)


def test_too_many_eliminations_default_is_one():
    with raises_invalid(r"at most 1 mediator; 2 were eliminated") as exc:
        tally(PANEL, [init("p", ["A"], ["B", "C"])])
    assert isinstance(exc.value, InvalidBallot)
    assert "mediators;" not in str(exc.value)  # singular for 1


def test_two_eliminations_allowed_with_max_two():
    result = tally(PANEL, [init("p", ["A"], ["B", "C"])], max_eliminations=2)
    assert result.order == ["A"]
    assert result.selected == "A"


def test_too_many_eliminations_with_max_two():
    panel = ["A", "B", "C", "D"]
    with raises_invalid(r"at most 2 mediators; 3 were eliminated") as exc:
        tally(panel, [init("p", ["A"], ["B", "C", "D"])], max_eliminations=2)
    assert isinstance(exc.value, InvalidBallot)


def test_zero_eliminations_allowed():
    with raises_invalid(r"at most 0 mediators; 1 were eliminated"):
        tally(PANEL, [init("p", ["A", "B"], ["C"])], max_eliminations=0)


def test_same_party_two_ballots():
    ballots = [init("alice", ["A", "B", "C"]), init("bob", ["A", "B", "C"]), init("alice", ["C", "B", "A"])]
    with raises_invalid(r"only one ballot; more than one from: alice\.") as exc:
        tally(PANEL, ballots)
    assert isinstance(exc.value, InvalidBallot)


def test_same_party_two_ballots_even_on_different_sides():
    with raises_invalid(r"more than one from: alice"):
        tally(PANEL, [init("alice", ["A", "B", "C"]), resp("alice", ["C", "B", "A"])])


def test_one_bad_ballot_among_good_ones_rejects_tally():
    with pytest.raises(InvalidBallot):
        tally(PANEL, [init("i", ["A", "B", "C"]), resp("r", ["A", "B"])])


def test_panel_with_duplicate_rejected():
    with pytest.raises(InvalidBallot, match="more than once"):
        tally(["A", "A", "B"], [])


def test_validate_ballot_directly():
    validate_ballot(PANEL, init("p", ["C", "A"], ["B"]))  # valid: no exception
    with pytest.raises(InvalidBallot):
        validate_ballot(PANEL, init("p", ["C", "A"], ["B"]), max_eliminations=0)


# --- elimination and renumbering ----------------------------------------------------------


def test_elimination_on_any_ballot_removes_mediator():
    # A is ranked first by two of three parties, but i2 eliminates it: A is out.
    # Survivors B, C; every ballot renumbers to B=1, C=2.
    # initiating mean: B=1, C=2; responding: B=1, C=2 -> B=2, C=4.
    ballots = [init("i1", ["A", "B", "C"]), init("i2", ["B", "C"], ["A"]), resp("r1", ["A", "B", "C"])]
    result = tally(PANEL, ballots)
    assert result.order == ["B", "C"]
    assert result.selected == "B"
    assert "A" not in result.order
    assert_exact(result.scores, {"B": Fraction(2), "C": Fraction(4)})


def test_renumbering_changes_result():
    # Panel A..E, max 2 eliminations. r1 ranks B, C, D, A, E; i1 ranks A, E, B and eliminates C, D.
    # Survivors A, B, E.
    # Renumbered: r1 -> B=1, A=2, E=3;  i1 -> A=1, E=2, B=3.
    #   A = 1+2 = 3, B = 3+1 = 4, E = 2+3 = 5  -> order A, B, E.
    # Without renumbering (original positions): r1 -> B=1, A=4, E=5;  i1 -> A=1, E=2, B=3.
    #   A = 5, B = 4, E = 7 -> B would win instead.
    panel = ["A", "B", "C", "D", "E"]
    ballots = [resp("r1", ["B", "C", "D", "A", "E"]), init("i1", ["A", "E", "B"], ["C", "D"])]
    result = tally(panel, ballots, max_eliminations=2)
    assert result.order == ["A", "B", "E"]
    assert result.selected == "A"
    assert_exact(result.scores, {"A": Fraction(3), "B": Fraction(4), "E": Fraction(5)})


def test_renumbering_across_sides_with_single_eliminations():
    # Panel A, B, C, D. i1 ranks C, A, B and eliminates D; r1 ranks D, B, A and eliminates C.
    # Survivors A, B. Renumbered: i1 -> A=1, B=2; r1 -> B=1, A=2.
    # A = 3, B = 3; worst rank A=2, B=2; panel position -> A.
    # Without renumbering (i1 A=2, B=3; r1 B=2, A=3) the scores would be 5, not 3.
    panel = ["A", "B", "C", "D"]
    result = tally(panel, [init("i1", ["C", "A", "B"], ["D"]), resp("r1", ["D", "B", "A"], ["C"])])
    assert result.order == ["A", "B"]
    assert_exact(result.scores, {"A": Fraction(3), "B": Fraction(3)})


def test_every_mediator_eliminated():
    # i1 eliminates B, r1 eliminates A: nobody survives.
    result = tally(["A", "B"], [init("i1", ["A"], ["B"]), resp("r1", ["B"], ["A"])])
    assert result.order == []
    assert result.selected is None
    assert result.scores == {}


# --- side weighting -----------------------------------------------------------------------


def test_side_weighting_two_initiating_vs_one_responding():
    # i1: A=1, B=2, C=3;  i2: A=1, C=2, B=3;  r1: C=1, B=2, A=3.
    # initiating means: A=1, B=(2+3)/2=5/2, C=(3+2)/2=5/2
    # responding:       A=3, B=2,           C=1
    # scores: A=4, B=9/2, C=7/2 -> order C, A, B.
    # Summing per party instead would give A=5, B=7, C=6 and pick A.
    ballots = [init("i1", ["A", "B", "C"]), init("i2", ["A", "C", "B"]), resp("r1", ["C", "B", "A"])]
    result = tally(PANEL, ballots)
    assert result.order == ["C", "A", "B"]
    assert result.selected == "C"
    assert_exact(result.scores, {"A": Fraction(4), "B": Fraction(9, 2), "C": Fraction(7, 2)})


def test_one_responding_party_weighs_as_much_as_whole_initiating_side():
    # Both initiating parties rank A, B; the lone responding party ranks B, A.
    # initiating mean: A=1, B=2; responding: A=2, B=1 -> A=3, B=3: a dead heat,
    # whereas counting parties would give A=4, B=5.
    ballots = [init("i1", ["A", "B"]), init("i2", ["A", "B"]), resp("r1", ["B", "A"])]
    result = tally(["A", "B"], ballots)
    assert_exact(result.scores, {"A": Fraction(3), "B": Fraction(3)})
    # Worst ranks are both 2, so the panel position decides.
    assert result.order == ["A", "B"]


def test_ballot_order_within_side_irrelevant():
    ballots = [init("i1", ["A", "B", "C"]), init("i2", ["A", "C", "B"]), resp("r1", ["C", "B", "A"])]
    assert tally(PANEL, ballots) == tally(PANEL, list(reversed(ballots)))


def test_only_initiating_side_submitted():
    # i1: A=1, B=2, C=3;  i2: B=1, C=2, A=3.
    # A=(1+3)/2=2, B=(2+1)/2=3/2, C=(3+2)/2=5/2; the missing side adds nothing.
    ballots = [init("i1", ["A", "B", "C"]), init("i2", ["B", "C", "A"])]
    result = tally(PANEL, ballots)
    assert result.order == ["B", "A", "C"]
    assert result.selected == "B"
    assert_exact(result.scores, {"A": Fraction(2), "B": Fraction(3, 2), "C": Fraction(5, 2)})


def test_only_responding_side_submitted():
    # r1: C=1, A=2, B=3 -> scores equal the ranks.
    result = tally(PANEL, [resp("r1", ["C", "A", "B"])])
    assert result.order == ["C", "A", "B"]
    assert result.selected == "C"
    assert_exact(result.scores, {"A": Fraction(2), "B": Fraction(3), "C": Fraction(1)})


def test_scores_exact_fractions_survivors_only():
    # Panel A, B, C, D. i1: A, B, C (elim D); i2: B, A, D, C; r1: C, A, B, D.
    # D eliminated. Renumbered: i1 A=1,B=2,C=3; i2 B=1,A=2,C=3; r1 C=1,A=2,B=3.
    # initiating means: A=3/2, B=3/2, C=3; responding: A=2, B=3, C=1.
    # A=7/2, B=9/2, C=4.
    panel = ["A", "B", "C", "D"]
    ballots = [init("i1", ["A", "B", "C"], ["D"]), init("i2", ["B", "A", "D", "C"]), resp("r1", ["C", "A", "B", "D"])]
    result = tally(panel, ballots)
    assert_exact(result.scores, {"A": Fraction(7, 2), "B": Fraction(9, 2), "C": Fraction(4)})
    assert set(result.scores) == {"A", "B", "C"}
    assert result.order == ["A", "C", "B"]


def test_thirds_are_exact():
    # Three initiating parties: A ranks 1, 1, 2 -> mean 4/3 (not 1.333...); B 2, 2, 1 -> 5/3.
    ballots = [init("i1", ["A", "B"]), init("i2", ["A", "B"]), init("i3", ["B", "A"])]
    result = tally(["A", "B"], ballots)
    assert_exact(result.scores, {"A": Fraction(4, 3), "B": Fraction(5, 3)})
    assert result.scores["A"] + result.scores["B"] == 3


# --- tie-breaks ---------------------------------------------------------------------------


def test_tie_on_score_broken_by_worst_rank():
    # i1: A=1, B=2, C=3;  r1: C=1, B=2, A=3.  All score 4.
    # Worst rank: A=3, B=2, C=3 -> B first, though A comes first on the panel.
    # A and C then tie on worst rank too -> panel position: A before C.
    result = tally(PANEL, [init("i1", ["A", "B", "C"]), resp("r1", ["C", "B", "A"])])
    assert_exact(result.scores, {"A": Fraction(4), "B": Fraction(4), "C": Fraction(4)})
    assert result.order == ["B", "A", "C"]
    assert result.selected == "B"


def test_worst_rank_is_per_single_ballot_not_side_mean():
    # i1: A=1, B=2, C=3;  i2: C=1, B=2, A=3  -> initiating means A=2, B=2, C=2
    # r1: B=1, A=2, C=3;  r2: A=1, B=2, C=3  -> responding means A=3/2, B=3/2, C=3
    # A=7/2, B=7/2, C=5. Worst rank on a single ballot: A=3 (i2), B=2 -> B first.
    # (Taking the worst side mean instead would give A=2, B=2 and the panel would pick A.)
    ballots = [
        init("i1", ["A", "B", "C"]),
        init("i2", ["C", "B", "A"]),
        resp("r1", ["B", "A", "C"]),
        resp("r2", ["A", "B", "C"]),
    ]
    result = tally(PANEL, ballots)
    assert_exact(result.scores, {"A": Fraction(7, 2), "B": Fraction(7, 2), "C": Fraction(5)})
    assert result.order == ["B", "A", "C"]


def test_tie_on_score_and_worst_rank_broken_by_panel_position():
    # i1: Amy=1, Zed=2;  r1: Zed=1, Amy=2 -> both 3, both worst 2 -> panel order (Zed first),
    # not alphabetical order and not the order of the first ballot.
    panel = ["Zed", "Amy"]
    result = tally(panel, [init("i1", ["Amy", "Zed"]), resp("r1", ["Zed", "Amy"])])
    assert_exact(result.scores, {"Zed": Fraction(3), "Amy": Fraction(3)})
    assert result.order == ["Zed", "Amy"]
    assert result.selected == "Zed"

    result = tally(["Amy", "Zed"], [init("i1", ["Amy", "Zed"]), resp("r1", ["Zed", "Amy"])])
    assert result.order == ["Amy", "Zed"]


def test_worst_rank_uses_renumbered_ranks():
    # Panel A, B, C, D; r1 eliminates D.
    # i1: B, D, A, C -> renumbered B=1, A=2, C=3 (original A would be 3).
    # r1: C, A, B (elim D) -> C=1, A=2, B=3.
    # A=4, B=4, C=4. Renumbered worst: A=2, B=3, C=3 -> A, then B before C by panel.
    panel = ["A", "B", "C", "D"]
    result = tally(panel, [init("i1", ["B", "D", "A", "C"]), resp("r1", ["C", "A", "B"], ["D"])])
    assert_exact(result.scores, {"A": Fraction(4), "B": Fraction(4), "C": Fraction(4)})
    assert result.order == ["A", "B", "C"]


# --- no ballots ---------------------------------------------------------------------------


def test_no_ballots_keeps_panel_order():
    panel = ["Zed", "Amy", "Kim"]
    result = tally(panel, [])
    assert isinstance(result, Tally)
    assert result.order == ["Zed", "Amy", "Kim"]
    assert result.selected == "Zed"
    assert_exact(result.scores, {"Zed": Fraction(0), "Amy": Fraction(0), "Kim": Fraction(0)})


def test_no_ballots_and_empty_panel():
    result = tally([], [])
    assert result.order == []
    assert result.selected is None


def test_panel_may_be_a_tuple():
    result = tally(("B", "A"), [])
    assert result.order == ["B", "A"]


# --- property-style -----------------------------------------------------------------------


def _reference(panel, ballots):
    """Independent restatement of steps 2-5 of the rule."""
    out = {m for b in ballots for m in b.eliminated}
    survivors = [m for m in panel if m not in out]
    ranks = [(b.side, {m: i + 1 for i, m in enumerate(x for x in b.ranked if x not in out)}) for b in ballots]
    scores = {}
    for m in survivors:
        total = Fraction(0)
        for side in SIDES:
            on_side = [r[m] for s, r in ranks if s == side]
            if on_side:
                total += Fraction(sum(on_side)) / len(on_side)
        scores[m] = total
    worst = {m: max(r[m] for _, r in ranks) for m in survivors}
    order = sorted(survivors, key=lambda m: (scores[m], worst[m], panel.index(m)))
    return survivors, order, scores


def test_random_valid_ballot_sets():
    rng = random.Random(20240611)
    for _ in range(500):
        panel = [f"M{i}" for i in range(rng.randint(1, 6))]
        rng.shuffle(panel)
        max_elim = rng.randint(0, 3)
        ballots = []
        for side in SIDES:
            for j in range(rng.randint(0, 3)):
                shuffled = panel[:]
                rng.shuffle(shuffled)
                k = rng.randint(0, min(max_elim, len(panel) - 1))
                ballots.append(Ballot(f"{side}-{j}", side, shuffled[k:], shuffled[:k]))
        rng.shuffle(ballots)

        result = tally(panel, ballots, max_eliminations=max_elim)
        if not ballots:
            assert result.order == panel
            assert result.selected == panel[0]
            continue

        survivors, ref_order, ref_scores = _reference(panel, ballots)
        assert sorted(result.order) == sorted(survivors)
        assert len(result.order) == len(set(result.order))
        assert result.selected == (result.order[0] if result.order else None)
        assert set(result.scores) == set(survivors)
        assert all(type(s) is Fraction for s in result.scores.values())
        scores_along = [result.scores[m] for m in result.order]
        assert scores_along == sorted(scores_along)
        assert result.scores == ref_scores
        assert result.order == ref_order
