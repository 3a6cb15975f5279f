"""What goes into and comes out of Submit Mediator Ranking, for the page and the JSON API alike."""

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from core.errors import Invalid
from core.inputs import Id, is_id

ELIMINATE = "eliminate"


class Ballot(BaseModel):
    """A party's ranking: every panel mediator either in `ranked` (best first) or in `eliminated`.

    The page without JavaScript says the same with one select per mediator (`choice_<id>`: a rank or "eliminate");
    `from_choices` reads those. Whether the ballot is complete and how many may be eliminated is the workflow's
    rule (it holds the rule the case was filed under), so both doors get its words."""

    model_config = ConfigDict(extra="forbid")

    party_id: Id | None = Field(None, description="The party to rank for; defaults to the first party the signed-in person acts for.")
    ranked: list[Id] = Field(default_factory=list, max_length=50, description="Mediator ids in order of preference.")
    eliminated: list[Id] = Field(default_factory=list, max_length=50)

    @classmethod
    def from_choices(cls, form: FormData, panel: dict[int, str]) -> "Ballot":
        """The no-JavaScript form: each mediator's select, with ranks that must run 1..n without gaps or repeats."""
        party = str(form.get("party_id", "")).strip()
        party_id = int(party) if party.isdigit() and is_id(int(party)) else None
        stray = [k for k in form if k.startswith("choice_") and not (k[7:].isdigit() and int(k[7:]) in panel)]
        if stray:
            raise Invalid(PANEL_CHANGED, {"ranked": PANEL_CHANGED})
        by_rank: dict[int, list[int]] = {}
        eliminated: list[int] = []
        unchosen: list[str] = []
        for mediator, name in panel.items():
            choice = str(form.get(f"choice_{mediator}", "")).strip().lower()
            if choice == ELIMINATE:
                eliminated.append(mediator)
            elif choice.isdigit() and 1 <= int(choice) <= len(panel):
                by_rank.setdefault(int(choice), []).append(mediator)
            else:
                unchosen.append(name)
        problem = ""
        if unchosen:
            problem = f"Choose a rank, or Eliminate, for every mediator; not chosen: {', '.join(unchosen)}."
        shared = {rank: ids for rank, ids in by_rank.items() if len(ids) > 1}
        if not problem and shared:
            rank, ids = min(shared.items())
            problem = f"Each rank can be given to only one mediator; rank {rank} was given to {' and '.join(panel[i] for i in ids)}."
        expected = list(range(1, len(by_rank) + 1))
        if not problem and sorted(by_rank) != expected:
            missing = [n for n in expected if n not in by_rank]
            problem = f"Ranks must run 1 to {len(by_rank)} without gaps; nobody was given rank {', '.join(str(n) for n in missing)}."
        if problem:
            raise Invalid(problem, {"ranked": problem})
        return cls(party_id=party_id, ranked=[by_rank[n][0] for n in expected], eliminated=eliminated)


PANEL_CHANGED = "The panel has changed since this page was opened; please review the mediators below and submit again."


class MediatorOut(BaseModel):
    """A mediator as the parties see them on the panel and on their profile page."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str
    bio: str = ""
    expertise: str = ""
    region: str = ""
    languages: str = ""
    fee: str = ""


class PartyOut(BaseModel):
    id: int
    full_name: str
    is_self: bool = Field(description="True when this party is the signed-in person; false when they act as a representative.")
    submitted: bool


class BallotOut(BaseModel):
    ranked: list[int] = Field(description="Mediator ids in order of preference.")
    eliminated: list[int]
    submitted_by_id: int
    submitted_at: str = Field(description="RFC 3339, UTC")
    fingerprint: str = Field("", description="The fingerprint of this ballot as counted, as in the receipt email (README: how it is computed).")


class RankingOut(BaseModel):
    case_id: int
    party_id: int = Field(description="The party this ranking is for.")
    acts_for: list[PartyOut] = Field(description="Every party the signed-in person may rank for.")
    open: bool
    message: str = Field(description="Why ranking is not open, when it is not.")
    stage: str
    ranking_round: int
    deadline: str | None = Field(description="RFC 3339, UTC")
    max_eliminations: int
    panel: list[MediatorOut]
    my_ballot: BallotOut | None = Field(description="This party's current ballot, if submitted this round.")


class ReceiptOut(BaseModel):
    ranking_round: int
    revision: bool = Field(description="True when this replaced an earlier ballot of this round.")
    unchanged: bool = Field(description="True when the ballot was identical to the one already submitted.")
    waiting_for_count: int = Field(description="How many parties have not ranked yet.")
    fingerprint: str = Field("", description="The fingerprint of the party's ballot as it now counts; the receipt email gives it too.")
