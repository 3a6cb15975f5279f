"""The ranked-choice tally that picks the mediator the parties prefer together.

Pure Python with no Temporal import, so the rule can be audited and tested on its own.
The rule, in order:
1. Every ballot lists each panel member exactly once across ``ranked`` and ``eliminated``,
   ranks at least one, eliminates at most ``max_eliminations``, names a known side,
   and each party has at most one ballot.
2. A mediator eliminated on any ballot is out.
3. Each ballot's ranking is restricted to the survivors and renumbered 1..n.
4. A survivor's score is the sum, over the sides that submitted at least one ballot, of the
   mean of its renumbered ranks on that side's ballots, so each side weighs the same
   however many parties it has. Scores are exact fractions.
5. Survivors are ordered by score (lower is better), then by their worst renumbered rank
   on any single ballot, then by their position in the panel.
6. With no ballots the order is the panel order.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

SIDES = ("initiating", "responding")


class InvalidBallot(ValueError):
    """A ballot that breaks the rule; the message says what is wrong in words a party understands."""


@dataclass(frozen=True)
class Ballot:
    party: str
    side: str
    ranked: list[str]
    eliminated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Tally:
    order: list[str]
    selected: str | None
    scores: dict[str, Fraction]


def validate_ballot(panel: Sequence[str], ballot: Ballot, max_eliminations: int = 1) -> None:
    if ballot.side not in SIDES:
        raise InvalidBallot(f"Unknown side {ballot.side!r}: a party is on the initiating or the responding side.")
    listed = list(ballot.ranked) + list(ballot.eliminated)
    repeated = sorted({m for m in listed if listed.count(m) > 1})
    if repeated:
        raise InvalidBallot(f"Each mediator may appear only once on a ballot; listed more than once: {', '.join(repeated)}.")
    unknown = [m for m in listed if m not in panel]
    if unknown:
        raise InvalidBallot(f"Not on the proposed panel: {', '.join(unknown)}.")
    missing = [m for m in panel if m not in listed]
    if missing:
        raise InvalidBallot(f"Every proposed mediator must be ranked or eliminated; missing: {', '.join(missing)}.")
    if not ballot.ranked:
        raise InvalidBallot("Rank at least one mediator.")
    if len(ballot.eliminated) > max_eliminations:
        raise InvalidBallot(
            f"You may eliminate at most {max_eliminations} mediator{'s' if max_eliminations != 1 else ''}; {len(ballot.eliminated)} were eliminated."
        )


def tally(panel: Sequence[str], ballots: Sequence[Ballot], max_eliminations: int = 1) -> Tally:
    panel = list(panel)
    if len(set(panel)) != len(panel):
        raise InvalidBallot("The panel lists a mediator more than once.")
    parties = [b.party for b in ballots]
    twice = sorted({p for p in parties if parties.count(p) > 1})
    if twice:
        raise InvalidBallot(f"Each party may submit only one ballot; more than one from: {', '.join(twice)}.")
    for ballot in ballots:
        validate_ballot(panel, ballot, max_eliminations)

    if not ballots:
        return Tally(order=panel, selected=panel[0] if panel else None, scores={m: Fraction(0) for m in panel})

    eliminated = {m for b in ballots for m in b.eliminated}
    survivors = [m for m in panel if m not in eliminated]

    renumbered: list[tuple[str, dict[str, int]]] = []
    for ballot in ballots:
        kept = [m for m in ballot.ranked if m in survivors]
        renumbered.append((ballot.side, {m: rank for rank, m in enumerate(kept, start=1)}))

    scores: dict[str, Fraction] = {}
    for mediator in survivors:
        score = Fraction(0)
        for side in SIDES:
            ranks = [ranks_by[mediator] for s, ranks_by in renumbered if s == side]
            if ranks:
                score += Fraction(sum(ranks), len(ranks))
        scores[mediator] = score

    def worst_rank(mediator: str) -> int:
        return max(ranks_by[mediator] for _, ranks_by in renumbered)

    order = sorted(survivors, key=lambda m: (scores[m], worst_rank(m), panel.index(m)))
    return Tally(order=order, selected=order[0] if order else None, scores=scores)
