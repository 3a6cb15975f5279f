"""A tally a party can trust: each ballot's receipt by email (its order, its elimination, the time in the party's zone,
its fingerprint), the rule in plain words at the tally, and the fingerprints of the counted ballots for staff only."""

import hashlib
import re

from sqlalchemy import select, update

from core.db.models import BallotRecord, Person
from core.time import long_time, zone_for
from tests.support import eventually, wait_for_stage
from tests.test_web_ranking import open_ranking
from workflows.ballot_fingerprint import ballot_fingerprint, canonical_ballot

FINGERPRINT = re.compile(r"\b[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{2}\b")


def test_the_fingerprint_is_the_documented_digest_of_the_canonical_form():
    line = canonical_ballot(12, 1, 7, [5, 3], [9])
    assert line == "case=12;round=1;party=7;ranked=5,3;eliminated=9"
    assert canonical_ballot(12, 2, 7, [5, 3, 9], []) == "case=12;round=2;party=7;ranked=5,3,9;eliminated="
    digest = hashlib.sha256(b"case=12;round=1;party=7;ranked=5,3;eliminated=9").hexdigest().upper()
    assert ballot_fingerprint(12, 1, 7, [5, 3], [9]) == f"{digest[:4]}-{digest[4:8]}-{digest[8:10]}"
    assert FINGERPRINT.fullmatch(ballot_fingerprint(12, 1, 7, [5, 3], [9]))
    # The README's worked example.
    assert ballot_fingerprint(12, 1, 7, [5, 3], [9]) == "1EAF-C8F4-E8"
    # Anything that makes it another ballot makes another fingerprint: the order, the elimination, the party, the round.
    variants = {
        ballot_fingerprint(12, 1, 7, [5, 3], [9]),
        ballot_fingerprint(12, 1, 7, [3, 5], [9]),
        ballot_fingerprint(12, 1, 7, [5, 3, 9], []),
        ballot_fingerprint(12, 1, 8, [5, 3], [9]),
        ballot_fingerprint(12, 2, 7, [5, 3], [9]),
        ballot_fingerprint(13, 1, 7, [5, 3], [9]),
    }
    assert len(variants) == 6


async def receipts(web, to: str) -> list:
    return await web.outbox(to=to, subject_starts="Receipt of")


async def test_each_ballot_gets_a_receipt_and_staff_see_which_fingerprint_was_counted(web):
    s = await open_ranking(web, agent=True)
    m1, m2, m3 = s.mediators
    async with web.sessions() as session:
        await session.execute(update(Person).where(Person.id == s.katy).values(time_zone="America/New_York"))
        await session.commit()
    url = f"/api/v1/cases/{s.case_id}/ranking"

    # Katy's agent ranks for her: the receipt goes to Katy and to the agent, each in their own words.
    async with web.browser() as agent:
        await agent.login("agent@example.com")
        sent = await agent.api("PUT", url, {"party_id": s.katy, "ranked": [m2, m1, m3]})
        assert sent.status_code == 200
        first = ballot_fingerprint(s.case_id, 1, s.katy, [m2, m1, m3], [])
        assert sent.json()["fingerprint"] == first
    to_katy = (await eventually(lambda: receipts(web, "katy@example.com")))[0]
    to_agent = (await eventually(lambda: receipts(web, "agent@example.com")))[0]
    assert to_katy.subject.startswith("Receipt of your mediator ranking RE: 742 Evergreen Terrace")
    assert to_agent.subject.startswith("Receipt of Katy Perry's mediator ranking RE:")
    assert "Adam Agent submitted your mediator ranking for you for case" in to_katy.text_body
    assert "You submitted the mediator ranking of Katy Perry for case" in to_agent.text_body
    for mail in (to_katy, to_agent):
        assert "Order of preference:\n1. Mediator 2\n2. Mediator 1\n3. Mediator 3\nEliminated: none" in mail.text_body
        assert f"Fingerprint: {first}" in mail.text_body and first in mail.html_body
        assert "No other party sees this ranking." in mail.text_body
    async with web.sessions() as session:
        record = (await session.execute(select(BallotRecord).where(BallotRecord.party_id == s.katy))).scalar_one()
    assert record.fingerprint == first
    # The time in each recipient's zone: Katy chose New York, the agent follows the center's (Pacific) time.
    assert long_time(record.submitted_at, zone_for("America/New_York", web.settings.center_time_zone)) in to_katy.text_body
    assert long_time(record.submitted_at, zone_for(None, web.settings.center_time_zone)) in to_agent.text_body

    # Katy revises it herself: a new receipt, to her only, saying it replaces the earlier one; the same ballot again is no new ballot.
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        revised = await katy.api("PUT", url, {"ranked": [m3, m2], "eliminated": [m1]})
        second = ballot_fingerprint(s.case_id, 1, s.katy, [m3, m2], [m1])
        assert revised.json()["fingerprint"] == second and revised.json()["revision"] is True
        again = await katy.api("PUT", url, {"ranked": [m3, m2], "eliminated": [m1]})
        assert again.json()["unchanged"] is True and again.json()["fingerprint"] == second
        mine = (await katy.api("GET", url)).json()["my_ballot"]
        assert mine["fingerprint"] == second
        page = await katy.get(f"/cases/{s.case_id}/ranking")
        assert f'<code class="fingerprint" id="my-fingerprint">{second}</code>' in page.text
    revision = (await eventually(lambda: _at_least(2, receipts(web, "katy@example.com"))))[1]
    assert "You revised your mediator ranking for case" in revision.text_body
    assert "1. Mediator 3\n2. Mediator 2\nEliminated: Mediator 1" in revision.text_body
    assert f"Fingerprint: {second}" in revision.text_body and "This ranking replaces the earlier one." in revision.text_body
    assert len(await receipts(web, "agent@example.com")) == 1

    # Taylor ranks: the round closes; nobody but Taylor is sent Taylor's ranking, and everyone is told the rule.
    async with web.browser() as taylor:
        await taylor.login("taylor@example.com")
        before_taylor = (await taylor.api("GET", url)).json()
        assert first not in str(before_taylor) and second not in str(before_taylor)
        assert (await taylor.api("PUT", url, {"ranked": [m2, m3, m1]})).status_code == 200
    third = ballot_fingerprint(s.case_id, 1, s.taylor, [m2, m3, m1], [])
    await wait_for_stage(web.client, web.settings, s.case_id, "conflict_check")
    taylor_receipt = (await eventually(lambda: receipts(web, "taylor@example.com")))[0]
    assert f"Fingerprint: {third}" in taylor_receipt.text_body and "1. Mediator 2\n2. Mediator 3\n3. Mediator 1" in taylor_receipt.text_body
    selected = await eventually(lambda: _at_least(3, web.outbox(subject_starts="Mediator selected")))
    for mail in selected:
        assert "How the mediator is chosen: a mediator eliminated by any party is out." in mail.text_body
        assert "the two sides' averages are added up" in mail.text_body and "no party sees another party's ranking" in mail.text_body

    # No email to anyone on Katy's side carries Taylor's ballot, nor any to Taylor's side Katy's.
    for address, own, others in (
        ("katy@example.com", {first, second}, {third}),
        ("agent@example.com", {first, second}, {third}),
        ("taylor@example.com", {third}, {first, second}),
    ):
        for mail in await web.outbox(to=address):
            shown = set(FINGERPRINT.findall(mail.text_body + mail.html_body))
            assert shown <= own and not shown & others, (address, mail.subject, shown)
            if address != "taylor@example.com":
                assert "1. Mediator 2\n2. Mediator 3\n3. Mediator 1" not in mail.text_body

    # Staff see every fingerprint, and which one the tally counted: Katy's revision, not her first ballot.
    async with web.browser() as staff:
        await staff.login("staff@car.org")
        page = await staff.get(f"/staff/cases/{s.case_id}")
        audit = page.text[page.text.index('id="audit"') :]
        rows = re.findall(r"<tr>(.*?)</tr>", audit, re.S)[1:4]
        assert [FINGERPRINT.search(r).group(0) for r in rows] == [first, second, third]
        assert ['class="counted"' in r for r in rows] == [False, True, True] and "Not counted" in rows[0]
        current = page.text[page.text.index("Each party's ballot (staff only)") : page.text.index('id="audit"')]
        assert second in current and third in current and first not in current
        detail = (await staff.api("GET", f"/api/v1/staff/cases/{s.case_id}")).json()
        assert [(a["fingerprint"], a["counted"]) for a in detail["ballot_audit"]] == [(first, False), (second, True), (third, True)]
        assert {b["party_id"]: b["fingerprint"] for b in detail["ballots"]} == {s.katy: second, s.taylor: third}
        assert detail["status"]["tally"]["counted_party_ids"] == [s.katy, s.taylor]

    # Parties never see the fingerprints of all ballots: not on Case Home, nor in its JSON.
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        for response in (await katy.get(f"/cases/{s.case_id}"), await katy.api("GET", f"/api/v1/cases/{s.case_id}")):
            assert response.status_code == 200 and not FINGERPRINT.search(response.text)
        assert (await katy.get(f"/staff/cases/{s.case_id}")).status_code in (403, 404)
        assert (await katy.api("GET", f"/api/v1/staff/cases/{s.case_id}")).status_code in (403, 404)


async def _at_least(count, awaitable):
    rows = await awaitable
    return rows if len(rows) >= count else None
