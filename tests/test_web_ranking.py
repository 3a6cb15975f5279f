"""Submit Mediator Ranking over HTTP: the no-JavaScript form, the JSON API, who may rank for whom, ballot secrecy,
and who may read a mediator's profile."""

import html
import re
from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import BallotRecord, Case, Participant
from core.db.session import transaction
from features.cases.roster import NewCase, PartyContact, file_case, roster_for
from tests.support import eventually, handle, wait_for_stage
from workflows.ballot_fingerprint import ballot_fingerprint
from workflows.case import CaseWorkflow
from workflows.types import ConflictDecision, IntakeDecision, NewPanel

NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@dataclass
class Setup:
    case_id: int
    staff: int
    mediators: list[int]
    katy: int
    taylor: int
    agent: int | None = None


async def open_ranking(web, *, agent: bool = False, suffix: str = "") -> Setup:
    """A center with three mediators and a filed case (optionally filed by Katy's agent), accepted into ranking."""
    staff = await web.person(f"staff{suffix}@car.org", "Center Staff", staff=True)
    mediators = [await web.person(f"mediator{n}{suffix}@example.com", f"Mediator {n}{suffix}", mediator=True) for n in (1, 2, 3)]
    katy = await web.person(f"katy{suffix}@example.com", "Katy Perry")
    taylor = await web.person(f"taylor{suffix}@example.com", "Taylor Swift")
    filer = await web.person(f"agent{suffix}@example.com", "Adam Agent") if agent else katy
    others = [PartyContact("Taylor Swift", taylor.email, "responding")]
    if agent:
        others.insert(0, PartyContact("Katy Perry", katy.email, "initiating"))
    async with transaction(web.sessions) as session:
        case = await file_case(
            session,
            web.client,
            web.settings,
            NewCase(
                property_address=f"742 Evergreen Terrace{suffix}, Springfield, CA 90210",
                dispute_bases=["Deposit dispute"],
                dispute_value="$75,001 and over",
                description="The buyer's deposit was not returned.",
                filer_id=filer.id,
                filer_represents_first_party=agent,
                filer_representative_kind="Agent" if agent else "",
                parties=others,
            ),
        )
        case_id = case.id
    panel = [m.id for m in mediators]
    await handle(web.client, web.settings, case_id).execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=staff.id, panel=panel))
    await wait_for_stage(web.client, web.settings, case_id, "ranking")

    async def mirrored():
        async with web.sessions() as session:
            return (await session.get(Case, case_id)).panel == panel

    await eventually(mirrored)
    return Setup(case_id, staff.id, panel, katy.id, taylor.id, filer.id if agent else None)


def selected(page: str, mediator: int) -> str:
    found = re.search(rf'<select id="choice_{mediator}" name="choice_{mediator}">(.*?)</select>', page, re.S)
    assert found, f"no select for mediator {mediator}"
    value = re.search(r'<option value="([^"]*)" selected>', found.group(1))
    return value.group(1) if value else ""


async def test_party_ranks_with_the_plain_form_and_revises_it(web):
    s = await open_ranking(web)
    m1, m2, m3 = s.mediators
    async with web.browser() as b:
        await b.login("katy@example.com")
        home = await b.get(f"/cases/{s.case_id}")
        assert f'href="/cases/{s.case_id}/ranking"' in home.text and "Submit Mediator Ranking" in home.text

        page = await b.get(f"/cases/{s.case_id}/ranking")
        assert page.status_code == 200
        assert "Ranked" in page.text and "Eliminated" in page.text and "Submit my Ranking" in page.text
        assert "Mediator 1" in page.text and "has mediated real estate disputes" in page.text
        # "View profile" is a button of the form: without JavaScript the arrangement so far goes along to the profile.
        assert f'name="view_profile" value="{m1}"' in page.text
        assert "You have not submitted a ranking yet." in page.text and "Please submit your ranking by" in page.text
        assert '<script src="/static/vendor/sortable/Sortable.min.js"></script>' in page.text
        assert '<script src="/static/js/ranking.js"></script>' in page.text
        assert "<script>" not in page.text and "style=" not in page.text

        nonce = NONCE.search(page.text).group(1)
        form = {"nonce": nonce, "party_id": str(s.katy), f"choice_{m1}": "2", f"choice_{m2}": "1", f"choice_{m3}": "eliminate"}
        done = await b.post(f"/cases/{s.case_id}/ranking", form)
        assert done.status_code == 303 and done.headers["location"] == f"/cases/{s.case_id}"
        assert "Your ranking was submitted" in await b.notice(done)
        # A double submit of the same page (same nonce) is the same update: it counts once.
        again = await b.post(f"/cases/{s.case_id}/ranking", form)
        assert again.status_code == 303 and again.headers["location"] == done.headers["location"]

        ballot = await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.katy)
        assert ballot.ranked == [m2, m1] and ballot.eliminated == [m3] and ballot.submitted_by_id == s.katy
        async with web.sessions() as session:
            assert len((await session.execute(select(BallotRecord).where(BallotRecord.case_id == s.case_id))).scalars().all()) == 1

        revising = await b.get(f"/cases/{s.case_id}/ranking")
        assert "You submitted a ranking on" in revising.text
        assert (selected(revising.text, m1), selected(revising.text, m2), selected(revising.text, m3)) == ("2", "1", "eliminate")
        # The Ranked list shows the current order: Mediator 2 before Mediator 1.
        assert revising.text.index('data-name="Mediator 2"') < revising.text.index('data-name="Mediator 1"')
        revised = await b.post(
            f"/cases/{s.case_id}/ranking",
            {"nonce": NONCE.search(revising.text).group(1), "party_id": str(s.katy), f"choice_{m1}": "1", f"choice_{m2}": "2", f"choice_{m3}": "eliminate"},
        )
        assert "revised" in await b.notice(revised)
        assert (await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.katy)).ranked == [m1, m2]


async def test_form_errors_are_shown_on_the_page(web):
    s = await open_ranking(web)
    m1, m2, m3 = s.mediators
    url = f"/cases/{s.case_id}/ranking"
    async with web.browser() as b:
        await b.login("katy@example.com")
        await b.get(url)
        twice = await b.post(url, {f"choice_{m1}": "1", f"choice_{m2}": "1", f"choice_{m3}": "2"})
        assert twice.status_code == 422
        assert "rank 1 was given to Mediator 1 and Mediator 2" in twice.text
        assert selected(twice.text, m3) == "2"

        gap = await b.post(url, {f"choice_{m1}": "1", f"choice_{m2}": "3", f"choice_{m3}": "eliminate"})
        assert gap.status_code == 422 and "nobody was given rank 2" in gap.text

        missing = await b.post(url, {f"choice_{m1}": "1", f"choice_{m2}": "2"})
        assert missing.status_code == 422 and "not chosen: Mediator 3" in missing.text

        two_out = await b.post(url, {f"choice_{m1}": "1", f"choice_{m2}": "eliminate", f"choice_{m3}": "eliminate"})
        assert two_out.status_code == 422
        assert "You may eliminate at most 1 mediator; 2 were eliminated." in two_out.text
        assert selected(two_out.text, m2) == "eliminate"

        no_csrf = await b.post(url, {f"choice_{m1}": "1", f"choice_{m2}": "2", f"choice_{m3}": "3"}, csrf=False)
        assert no_csrf.status_code == 403
    assert await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.katy) is None


async def test_reading_a_profile_without_javascript_keeps_the_arrangement(web):
    s = await open_ranking(web)
    m1, m2, m3 = s.mediators
    url = f"/cases/{s.case_id}/ranking"
    async with web.browser() as b:
        await b.login("katy@example.com")
        await b.get(url)
        arranged = {"party_id": str(s.katy), f"choice_{m1}": "2", f"choice_{m2}": "eliminate", f"choice_{m3}": "1"}
        to_profile = await b.post(url, {**arranged, "view_profile": str(m2)})
        assert to_profile.status_code == 303
        profile_url = to_profile.headers["location"]
        assert profile_url.startswith(f"/mediators/{m2}?case={s.case_id}&party={s.katy}&")
        profile = await b.get(profile_url)
        assert profile.status_code == 200 and "Mediator 2" in profile.text and "$300/hour" in profile.text
        assert "Your arrangement of the mediators is kept; it is not submitted yet." in profile.text
        back = re.search(r'<a class="button secondary" href="([^"]+)">Back to Mediator Rankings</a>', profile.text).group(1)
        board = await b.get(html.unescape(back))
        assert board.status_code == 200 and "Your arrangement is as you left it. It is not submitted yet." in board.text
        assert (selected(board.text, m1), selected(board.text, m2), selected(board.text, m3)) == ("2", "eliminate", "1")
        # The cards are laid out as arranged: Mediator 3 first under Ranked, Mediator 2 under Eliminated.
        assert board.text.index('data-name="Mediator 3"') < board.text.index('data-name="Mediator 1"') < board.text.index('id="eliminated-list"')
        assert board.text.index('id="eliminated-list"') < board.text.index('data-name="Mediator 2"')
        # Only a look at a profile: nothing was submitted.
        assert await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.katy) is None
        # A stray or oversized draft in the address is ignored or cut short, never an error.
        odd = await b.get(f"{url}?choice_{m1}=%3Cscript%3E&choice_999=1")
        assert odd.status_code == 200 and "<script>" not in odd.text


async def test_an_unarranged_board_counts_only_once_the_party_says_so(web):
    s = await open_ranking(web)
    m1, m2, m3 = s.mediators
    url = f"/cases/{s.case_id}/ranking"
    async with web.browser() as b:
        await b.login("katy@example.com")
        page = await b.get(url)
        assert 'data-untouched-question="You have not changed the order. Submit the panel order as your ranking?"' in page.text
        as_proposed = {"nonce": NONCE.search(page.text).group(1), "party_id": str(s.katy), f"choice_{m1}": "1", f"choice_{m2}": "2", f"choice_{m3}": "3"}
        asked = await b.post(url, as_proposed)
        assert asked.status_code == 200 and 'id="panel-order-question"' in asked.text
        assert "You have not changed the order. Submit the panel order as your ranking?" in asked.text
        assert await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.katy) is None
        assert (selected(asked.text, m1), selected(asked.text, m2), selected(asked.text, m3)) == ("1", "2", "3")
        # "Yes, submit the panel order" sends the same board with the answer.
        said_yes = await b.post(url, {**as_proposed, "nonce": NONCE.search(asked.text).group(1), "panel_order_confirmed": ["", "yes"]})
        assert said_yes.status_code == 303 and "Your ranking was submitted" in await b.notice(said_yes)
        assert (await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.katy)).ranked == [m1, m2, m3]
        # A revision is not asked about, whatever its order: the party arranged a ballot before.
        revising = await b.get(url)
        assert 'data-first-ballot="false"' in revising.text
        again = await b.post(url, {**as_proposed, "nonce": NONCE.search(revising.text).group(1)})
        assert again.status_code == 303

    async with web.browser() as b:
        await b.login("taylor@example.com")
        page = await b.get(url)
        # A board the party did arrange is never asked about.
        arranged = {"nonce": NONCE.search(page.text).group(1), "party_id": str(s.taylor), f"choice_{m1}": "2", f"choice_{m2}": "1", f"choice_{m3}": "3"}
        assert (await b.post(url, arranged)).status_code == 303


async def test_party_ranks_through_the_json_api(web):
    s = await open_ranking(web)
    m1, m2, m3 = s.mediators
    url = f"/api/v1/cases/{s.case_id}/ranking"
    async with web.browser() as b:
        await b.login("taylor@example.com")
        shown = await b.api("GET", url)
        assert shown.status_code == 200
        body = shown.json()
        assert body["open"] is True and body["party_id"] == s.taylor and body["my_ballot"] is None
        assert [m["id"] for m in body["panel"]] == [m1, m2, m3] and body["panel"][0]["fee"] == "$300/hour"
        assert body["max_eliminations"] == 1 and body["deadline"]

        refused = await b.api("PUT", url, {"ranked": [m1], "eliminated": [m2, m3]})
        assert refused.status_code == 422 and "at most 1 mediator" in refused.json()["detail"]

        receipt = await b.http.put(url, json={"ranked": [m3, m1, m2]}, headers={"X-CSRF-Token": b.csrf, "Idempotency-Key": "click-1"})
        assert receipt.status_code == 200
        fingerprint = ballot_fingerprint(s.case_id, 1, s.taylor, [m3, m1, m2], [])
        assert receipt.json() == {"ranking_round": 1, "revision": False, "unchanged": False, "waiting_for_count": 1, "fingerprint": fingerprint}
        repeat = await b.http.put(url, json={"ranked": [m3, m1, m2]}, headers={"X-CSRF-Token": b.csrf, "Idempotency-Key": "click-1"})
        assert repeat.json() == receipt.json()
        same = await b.api("PUT", url, {"party_id": s.taylor, "ranked": [m3, m1, m2], "eliminated": []})
        assert same.json()["unchanged"] is True and same.json()["revision"] is True

        mine = (await b.api("GET", url)).json()["my_ballot"]
        assert mine["ranked"] == [m3, m1, m2] and mine["eliminated"] == [] and mine["fingerprint"] == fingerprint

        forged = await b.http.put(url, json={"ranked": [m1, m2, m3]})
        assert forged.status_code == 403
        assert (await b.api("PUT", url, {"ranked": "everyone"})).status_code == 422
        bad_key = await b.http.put(url, json={"ranked": [m1, m2, m3]}, headers={"X-CSRF-Token": b.csrf, "Idempotency-Key": "no spaces"})
        assert bad_key.status_code == 422

        assert "/api/v1/cases/{case_id}/ranking" in (await b.http.get("/openapi.json")).json()["paths"]


async def test_an_idempotency_key_reused_in_a_later_round_counts_the_new_ballot(web):
    """A key protects one ballot of one round: reused when round 2 opens, it must not replay round 1's receipt."""
    s = await open_ranking(web)
    m1, m2, m3 = s.mediators
    url = f"/api/v1/cases/{s.case_id}/ranking"
    wf = handle(web.client, web.settings, s.case_id)
    async with web.browser() as katy, web.browser() as taylor:
        await katy.login("katy@example.com")
        await taylor.login("taylor@example.com")
        for browser in (katy, taylor):
            first = await browser.http.put(url, json={"ranked": [m1, m2, m3]}, headers={"X-CSRF-Token": browser.csrf, "Idempotency-Key": "my-ballot"})
            assert first.status_code == 200 and first.json()["ranking_round"] == 1
        for mediator in (m1, m2, m3):

            async def asked(mediator=mediator):
                current = await wf.query(CaseWorkflow.status)
                return current.stage == "conflict_check" and current.candidate_mediator_id == mediator

            await eventually(asked)
            await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=mediator, accept=False, reason="I know the seller."))
        await wait_for_stage(web.client, web.settings, s.case_id, "awaiting_new_panel")
        await wf.execute_update(CaseWorkflow.propose_new_panel, NewPanel(actor_id=s.staff, panel=[m1, m2, m3]))

        async def second_round():
            async with web.sessions() as session:
                case = await session.get(Case, s.case_id)
                return case.stage == "ranking" and case.ranking_round == 2

        await eventually(second_round)
        again = await taylor.http.put(url, json={"ranked": [m1, m2, m3]}, headers={"X-CSRF-Token": taylor.csrf, "Idempotency-Key": "my-ballot"})
        assert again.status_code == 200 and again.json()["ranking_round"] == 2 and again.json()["revision"] is False
        progress = {p.person_id: p.submitted for p in (await wf.query(CaseWorkflow.status)).parties}
        assert progress == {s.katy: False, s.taylor: True}
        other_order = await taylor.http.put(url, json={"ranked": [m3, m2, m1]}, headers={"X-CSRF-Token": taylor.csrf, "Idempotency-Key": "my-ballot"})
        assert other_order.status_code == 200 and other_order.json()["revision"] is True and other_order.json()["unchanged"] is False
        mine = (await taylor.api("GET", url)).json()["my_ballot"]
        assert mine["ranked"] == [m3, m2, m1]


async def test_a_party_cannot_rank_for_the_other_party_nor_see_their_ballot(web):
    s = await open_ranking(web)
    m1, m2, m3 = s.mediators
    async with web.browser() as taylor:
        await taylor.login("taylor@example.com")
        ok = await taylor.api("PUT", f"/api/v1/cases/{s.case_id}/ranking", {"ranked": [m3, m2], "eliminated": [m1]})
        assert ok.status_code == 200
    async with web.browser() as b:
        await b.login("katy@example.com")
        page = await b.get(f"/cases/{s.case_id}/ranking")
        assert "You have not submitted a ranking yet." in page.text
        assert [selected(page.text, m) for m in (m1, m2, m3)] == ["1", "2", "3"]
        assert (await b.get(f"/cases/{s.case_id}/ranking?party={s.taylor}")).status_code == 403
        api = (await b.api("GET", f"/api/v1/cases/{s.case_id}/ranking")).json()
        assert api["my_ballot"] is None and [p["id"] for p in api["acts_for"]] == [s.katy]
        assert (await b.api("GET", f"/api/v1/cases/{s.case_id}/ranking?party={s.taylor}")).status_code == 403

        await b.get(f"/cases/{s.case_id}/ranking")
        as_taylor = await b.post(f"/cases/{s.case_id}/ranking", {"party_id": str(s.taylor), f"choice_{m1}": "1", f"choice_{m2}": "2", f"choice_{m3}": "3"})
        assert as_taylor.status_code == 403 and "only for yourself or for a party you represent" in as_taylor.text
        put = await b.api("PUT", f"/api/v1/cases/{s.case_id}/ranking", {"party_id": s.taylor, "ranked": [m1, m2, m3]})
        assert put.status_code == 403 and "only for yourself" in put.json()["detail"]
    ballot = await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.taylor)
    assert ballot.ranked == [m3, m2] and ballot.submitted_by_id == s.taylor


async def test_a_representative_ranks_for_the_party_they_represent(web):
    s = await open_ranking(web, agent=True)
    m1, m2, m3 = s.mediators
    async with web.browser() as b:
        await b.login("agent@example.com")
        page = await b.get(f"/cases/{s.case_id}/ranking")
        assert page.status_code == 200 and "You are ranking on behalf of <strong>Katy Perry</strong>" in page.text
        done = await b.post(
            f"/cases/{s.case_id}/ranking",
            {"nonce": NONCE.search(page.text).group(1), "party_id": str(s.katy), "ranked": [str(m2), str(m3)], "eliminated": [str(m1)]},
        )
        assert "Your ranking was submitted" in await b.notice(done)
    ballot = await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.katy)
    assert ballot.ranked == [m2, m3] and ballot.eliminated == [m1] and ballot.submitted_by_id == s.agent
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        revising = await katy.get(f"/cases/{s.case_id}/ranking")
        assert [selected(revising.text, m) for m in (m1, m2, m3)] == ["eliminate", "1", "2"]


async def test_someone_acting_for_two_parties_picks_which(web):
    s = await open_ranking(web)
    harry = await web.person("harry@example.com", "Harry Styles")
    # Katy's co-owner Harry joins the case and gives Katy power of attorney: she now ranks for two parties.
    async with transaction(web.sessions) as session:
        session.add(Participant(case_id=s.case_id, person_id=harry.id, role="party", side="initiating"))
        session.add(Participant(case_id=s.case_id, person_id=s.katy, role="representative", represents_id=harry.id, representative_kind="Power of attorney"))
        await session.flush()
        roster = await roster_for(session, s.case_id)
    await handle(web.client, web.settings, s.case_id).execute_update(CaseWorkflow.set_roster, roster)
    m1, m2, m3 = s.mediators
    async with web.browser() as b:
        await b.login("katy@example.com")
        first = await b.get(f"/cases/{s.case_id}/ranking")
        assert f'href="/cases/{s.case_id}/ranking?party={harry.id}"' in first.text and "(you)" in first.text
        page = await b.get(f"/cases/{s.case_id}/ranking?party={harry.id}")
        assert "You are ranking on behalf of <strong>Harry Styles</strong>" in page.text
        done = await b.post(
            f"/cases/{s.case_id}/ranking",
            {"nonce": NONCE.search(page.text).group(1), "party_id": str(harry.id), f"choice_{m1}": "3", f"choice_{m2}": "2", f"choice_{m3}": "1"},
        )
        assert done.status_code == 303
        listed = await b.get(f"/cases/{s.case_id}/ranking")
        assert re.search(r"Harry Styles</a>\s*\(you represent them\)\s*· ranking submitted", listed.text)
    ballot = await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, harry.id)
    assert ballot.ranked == [m3, m2, m1] and ballot.submitted_by_id == s.katy
    assert await handle(web.client, web.settings, s.case_id).query(CaseWorkflow.ballot_of, s.katy) is None


async def test_people_who_are_not_parties_get_404(web):
    s = await open_ranking(web)
    other = await open_ranking(web, suffix="-2")
    async with web.browser() as b:
        await b.login("katy-2@example.com")
        assert (await b.get(f"/cases/{s.case_id}/ranking")).status_code == 404
        assert (await b.api("GET", f"/api/v1/cases/{s.case_id}/ranking")).status_code == 404
        assert (await b.api("PUT", f"/api/v1/cases/{s.case_id}/ranking", {"ranked": s.mediators})).status_code == 404
        assert (await b.get(f"/cases/{other.case_id}/ranking")).status_code == 200
    async with web.browser() as staff:
        await staff.login("staff@car.org")
        assert (await staff.get(f"/cases/{s.case_id}")).status_code == 200
        assert (await staff.get(f"/cases/{s.case_id}/ranking")).status_code == 404
        assert (await staff.api("GET", f"/api/v1/cases/{s.case_id}/ranking")).status_code == 404
    async with web.browser() as b:
        assert (await b.get(f"/cases/{s.case_id}/ranking")).status_code == 303
        assert (await b.api("GET", f"/api/v1/cases/{s.case_id}/ranking")).status_code == 401


async def test_ranking_page_says_when_ranking_is_closed(web):
    s = await open_ranking(web)
    m1, m2, m3 = s.mediators
    async with web.browser() as b:
        await b.login("katy@example.com")
        assert (await b.api("PUT", f"/api/v1/cases/{s.case_id}/ranking", {"ranked": [m1, m2, m3]})).status_code == 200
        page = await b.get(f"/cases/{s.case_id}/ranking")
    async with web.browser() as t:
        await t.login("taylor@example.com")
        assert (await t.api("PUT", f"/api/v1/cases/{s.case_id}/ranking", {"ranked": [m1, m2, m3]})).status_code == 200
    await wait_for_stage(web.client, web.settings, s.case_id, "conflict_check")
    async with web.browser() as b:
        await b.login("katy@example.com")
        closed = await b.get(f"/cases/{s.case_id}/ranking")
        assert closed.status_code == 200 and "Mediator rankings are not open for this case right now" in closed.text
        assert "Submit my Ranking" not in closed.text and "Sortable.min.js" not in closed.text
        late = await b.post(
            f"/cases/{s.case_id}/ranking",
            {"nonce": NONCE.search(page.text).group(1), f"choice_{m1}": "1", f"choice_{m2}": "2", f"choice_{m3}": "3"},
        )
        assert late.status_code == 409 and "not open" in late.text
        api = (await b.api("GET", f"/api/v1/cases/{s.case_id}/ranking")).json()
        assert api["open"] is False and api["panel"] == [] and api["my_ballot"] is None
        put = await b.api("PUT", f"/api/v1/cases/{s.case_id}/ranking", {"ranked": [m1, m2, m3]})
        assert put.status_code == 409 and "not open" in put.json()["detail"]


async def test_mediator_profiles_are_for_people_on_a_case_with_that_mediator(web):
    s = await open_ranking(web)
    m1 = s.mediators[0]
    outsider = await web.person("mediator9@example.com", "Mediator 9", mediator=True)
    await web.person("stranger@example.com", "Sam Stranger")
    async with web.browser() as b:
        await b.login("katy@example.com")
        page = await b.get(f"/mediators/{m1}?case={s.case_id}")
        assert page.status_code == 200
        for shown in ("Mediator 1", "has mediated real estate disputes for 20 years", "Residential sales", "Los Angeles", "English, Spanish", "$300/hour"):
            assert shown in page.text
        assert f'href="/cases/{s.case_id}/ranking"' in page.text
        api = await b.api("GET", f"/api/v1/mediators/{m1}")
        assert api.status_code == 200 and api.json()["region"] == "Los Angeles"
        assert (await b.get(f"/mediators/{outsider.id}")).status_code == 404
        assert (await b.api("GET", f"/api/v1/mediators/{outsider.id}")).status_code == 404
        assert (await b.get(f"/mediators/{s.taylor}")).status_code == 404
    async with web.browser() as b:
        await b.login("stranger@example.com")
        assert (await b.get(f"/mediators/{m1}")).status_code == 404
    async with web.browser() as b:
        await b.login("staff@car.org")
        assert (await b.get(f"/mediators/{outsider.id}")).status_code == 200
    async with web.browser() as b:
        await b.login("mediator9@example.com")
        assert (await b.get(f"/mediators/{outsider.id}")).status_code == 200
        assert (await b.get(f"/mediators/{m1}")).status_code == 404
    async with web.browser() as b:
        assert (await b.get(f"/mediators/{m1}")).status_code == 303


async def test_vendored_scripts_are_served(web):
    async with web.browser() as b:
        sortable = await b.get("/static/vendor/sortable/Sortable.min.js")
        assert sortable.status_code == 200 and "Sortable" in sortable.text[:200]
        assert (await b.get("/static/vendor/sortable/LICENSE")).status_code == 200
        script = await b.get("/static/js/ranking.js")
        assert script.status_code == 200 and "Sortable.create" in script.text
