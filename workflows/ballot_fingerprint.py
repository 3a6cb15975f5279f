"""A ballot's fingerprint: a short digest a party and the center can both compute, to check that a ballot was counted
exactly as it was submitted.

Pure Python with no Temporal import, like the tally, so the center can recompute a fingerprint outside the platform.
The canonical form of a ballot is one line of ASCII text:

    case=<case id>;round=<ranking round>;party=<party's person id>;ranked=<ids, best first, comma-separated>;eliminated=<ids, in the order given, comma-separated>

for example ``case=12;round=1;party=7;ranked=5,3;eliminated=9`` (an empty list leaves nothing after the ``=``).
The fingerprint is the first 10 hexadecimal digits of the SHA-256 of that line (UTF-8), in capitals, grouped
4-4-2 with dashes: ``3F9A-C21B-07``. Every id is a whole number written in decimal without leading zeros.

It proves nothing to someone who does not know the ballot: it only lets the party who does know its ballot check
that the ballot the center counted is the one it sent. With a small panel, anyone who knows the canonical form can
try every possible ballot against a fingerprint, so a party's fingerprint is shown to that party and to staff only.
"""

import hashlib
from collections.abc import Sequence


def canonical_ballot(case_id: int, ranking_round: int, party_id: int, ranked: Sequence[int], eliminated: Sequence[int]) -> str:
    """The one line a ballot's fingerprint is computed from (see the module's description)."""

    def ids(values: Sequence[int]) -> str:
        return ",".join(str(int(v)) for v in values)

    return f"case={int(case_id)};round={int(ranking_round)};party={int(party_id)};ranked={ids(ranked)};eliminated={ids(eliminated)}"


def ballot_fingerprint(case_id: int, ranking_round: int, party_id: int, ranked: Sequence[int], eliminated: Sequence[int]) -> str:
    """``3F9A-C21B-07``: the first 10 hex digits of SHA-256 over the canonical form, in capitals, grouped 4-4-2."""
    digest = hashlib.sha256(canonical_ballot(case_id, ranking_round, party_id, ranked, eliminated).encode()).hexdigest()[:10].upper()
    return f"{digest[:4]}-{digest[4:8]}-{digest[8:]}"
