"""What curious participants must not learn: the other side's ballot, contact details before a mediator is
chosen, and a case a mediator has declined. The route-by-route rules are in test_access_matrix.py; these are
the rules that depend on who acts for whom within a case."""

from contextlib import AsyncExitStack

from sqlalchemy import select

from core.db.models import Person
from tests.security.world import MEDIATOR, OTHER_CASE_PARTY, OTHER_SIDE_REP, PARTY, STAFF, UNSELECTED_MEDIATOR, build_world
from tests.support import eventually, status


async def test_a_party_sees_and_casts_only_their_own_ballot(web):
    world = await build_world(web)
    async with web.sessions() as session:
        olga = await session.scalar(select(Person).where(Person.email == "olga.other@example.com"))
    b, a = world.other_case_id, world.case_id
    async with AsyncExitStack() as stack:
        people = await world.browsers(stack, roles=(OTHER_CASE_PARTY, OTHER_SIDE_REP, MEDIATOR, STAFF))
        otto = people[OTHER_CASE_PARTY]
        own = await otto.http.get(f"/api/v1/cases/{b}/ranking")
        assert own.status_code == 200 and own.json()["party_id"] == world.person(OTHER_CASE_PARTY).id
        assert (await otto.http.get(f"/api/v1/cases/{b}/ranking", params={"party": olga.id})).status_code == 403
        assert (await otto.get(f"/cases/{b}/ranking", params={"party": olga.id})).status_code == 403
        forged = await otto.api("PUT", f"/api/v1/cases/{b}/ranking", {"party_id": olga.id, "ranked": [m["id"] for m in own.json()["panel"]]})
        assert forged.status_code == 403

        # A representative acts for the party they represent, and for no one else.
        rex = people[OTHER_SIDE_REP]
        assert (await rex.http.get(f"/api/v1/cases/{a}/ranking", params={"party": world.taylor.id})).status_code == 200
        assert (await rex.http.get(f"/api/v1/cases/{a}/ranking", params={"party": world.person(PARTY).id})).status_code == 403

        # Individual ballots are for staff only: nothing a party reads about the case carries them.
        staff_view = (await people[STAFF].http.get(f"/api/v1/staff/cases/{b}")).json()
        assert {x["party_id"] for x in staff_view["ballots"]} == {olga.id, world.person(OTHER_CASE_PARTY).id}
        for url in (f"/api/v1/cases/{b}", f"/cases/{b}"):
            text = (await otto.http.get(url)).text
            assert "ballot_audit" not in text and "scores" not in text

        # The mediator asked to check for conflicts reads the case, not the parties' contact details or ballots.
        brief = await people[MEDIATOR].http.get(f"/api/v1/cases/{b}/conflict-check")
        assert brief.status_code == 200
        assert "@example.com" not in brief.text and "ranked" not in brief.text
        page = await people[MEDIATOR].get(f"/cases/{b}/conflict-check")
        assert page.status_code == 200 and "olga.other@example.com" not in page.text and "otto.other@example.com" not in page.text


async def test_a_mediator_who_declines_loses_the_case_and_the_next_one_gains_it(web):
    world = await build_world(web)
    b = world.other_case_id
    async with AsyncExitStack() as stack:
        people = await world.browsers(stack, roles=(MEDIATOR, UNSELECTED_MEDIATOR))
        first, second = people[MEDIATOR], people[UNSELECTED_MEDIATOR]
        assert (await second.http.get(f"/api/v1/cases/{b}/conflict-check")).status_code == 404
        declined = await first.api("POST", f"/api/v1/cases/{b}/conflict-check", {"accept": False, "reason": "I sold a house to Otto last year."})
        assert declined.status_code == 200

        async def asked_second():
            return (await status(web.client, web.settings, b)).candidate_mediator_id == world.person(UNSELECTED_MEDIATOR).id

        await eventually(asked_second)
        for url in (f"/api/v1/cases/{b}/conflict-check", f"/api/v1/cases/{b}", f"/api/v1/cases/{b}/messages"):
            assert (await first.http.get(url)).status_code == 404, url
        again = await first.api("POST", f"/api/v1/cases/{b}/conflict-check", {"accept": True})
        assert again.status_code == 404
        assert (await second.http.get(f"/api/v1/cases/{b}/conflict-check")).status_code == 200
        # Being asked is not being on the case: the rest of the case room stays closed until they accept.
        assert (await second.http.get(f"/api/v1/cases/{b}")).status_code == 404
