"""The center staff console over HTTP: the case list, a case's full picture, staff actions, the directory, the outbox."""

import re
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.db.models import Participant, Person
from core.db.session import transaction
from features.accounts.security import hash_password
from tests.support import eventually, handle, make_case, status, wait_for_stage
from tests.web_support import PASSWORD, link_in
from workflows.case import CaseWorkflow
from workflows.types import RankingSubmission


async def center(web, mediators: int = 4):
    staff = await web.person("staff@car.org", "Center Staff", staff=True)
    people = [await web.person(f"mediator{n}@example.com", f"Mediator {n}", mediator=True) for n in range(1, mediators + 1)]
    return staff, [m.id for m in people]


async def filed_case(web, **kwargs) -> tuple[int, dict[str, int]]:
    return await make_case(web.sessions, web.client, web.settings, **kwargs)


async def give_password(web, email: str) -> None:
    async with transaction(web.sessions) as session:
        await session.execute(update(Person).where(Person.email == email).values(password_hash=hash_password(PASSWORD)))


async def rank(web, case_id: int, party_id: int, ranked: list[int], eliminated: list[int] = (), actor_id: int | None = None):
    return await handle(web.client, web.settings, case_id).execute_update(
        CaseWorkflow.submit_ranking,
        RankingSubmission(actor_id=actor_id or party_id, party_id=party_id, ranked=list(ranked), eliminated=list(eliminated)),
    )


def section(html: str, start: str, end: str = "</section>") -> str:
    at = html.index(start)
    return html[at : html.index(end, at)]


def in_order(text: str, *names: str) -> bool:
    positions = [text.find(n) for n in names]
    return all(p >= 0 for p in positions) and positions == sorted(positions)


async def test_staff_accepts_intake_with_a_panel_and_parties_are_asked_to_rank(web):
    _, (m1, m2, m3, _m4) = await center(web)
    case_id, _ = await filed_case(web)
    async with web.browser() as b:
        await b.login("staff@car.org")
        page = await b.get(f"/staff/cases/{case_id}")
        assert page.status_code == 200 and "Katy Perry vs Taylor Swift" in page.text and "Intake review" in page.text
        assert f'name="panel" value="{m1}"' in page.text
        assert f"/namespaces/{web.settings.temporal_namespace}/workflows/{web.settings.workflow_id(case_id)}" in page.text
        assert "The buyer&#39;s deposit was not returned." in page.text and "$75,001 and over" in page.text

        done = await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true", "panel": [str(m1), str(m2), str(m3)]})
        assert "panel of 3 mediators" in await b.notice(done)

    requests = await eventually(lambda: _at_least(2, web.outbox(subject_starts="Please submit your mediator rankings RE: 742 Evergreen Terrace")))
    assert {e.to_email for e in requests} == {"katy.perry@example.com", "taylor.swift@example.com"}
    current = await status(web.client, web.settings, case_id)
    assert current.stage == "ranking" and current.panel == [m1, m2, m3]

    async with web.browser() as b:
        await b.login("staff@car.org")
        page = await b.get(f"/staff/cases/{case_id}")
        ranking = section(page.text, 'id="ranking"')
        assert ranking.count("Has not ranked") == 2 and "Mediator 1, Mediator 2, Mediator 3" in ranking


async def test_parties_mediators_and_strangers_cannot_use_the_console(web):
    staff, (m1, m2, m3, _m4) = await center(web)
    case_id, _ = await filed_case(web)
    await give_password(web, "katy.perry@example.com")
    pages = ["/staff/cases", f"/staff/cases/{case_id}", "/staff/mediators", "/staff/mediators/new", f"/staff/mediators/{m1}", "/staff/outbox"]
    apis = ["/api/v1/staff/cases", f"/api/v1/staff/cases/{case_id}", "/api/v1/staff/mediators", "/api/v1/staff/outbox"]
    for email in ("katy.perry@example.com", "mediator1@example.com"):
        async with web.browser() as b:
            assert (await b.login(email)).status_code == 303
            for url in pages:
                refused = await b.get(url)
                assert refused.status_code == 403 and "Only center staff can do this." in refused.text, url
            for url in apis:
                refused = await b.api("GET", url)
                assert refused.status_code == 403 and refused.json()["detail"] == "Only center staff can do this.", url
            await b.get("/cases")
            forged = await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true"})
            assert forged.status_code == 403
            forged = await b.api("POST", f"/api/v1/staff/cases/{case_id}/intake", {"accept": True, "panel": [m1, m2, m3]})
            assert forged.status_code == 403
            forged = await b.api("POST", "/api/v1/staff/mediators", {"name": "Sneaky", "email": "sneaky@example.com"})
            assert forged.status_code == 403
    assert (await status(web.client, web.settings, case_id)).stage == "intake_review"
    async with web.browser() as b:
        page = await b.get("/staff/cases")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await b.api("GET", "/api/v1/staff/cases")).status_code == 401


async def test_case_list_filters_by_stage_and_searches(web):
    staff, (m1, m2, m3, _m4) = await center(web)
    first, _ = await filed_case(web)
    second, _ = await filed_case(web, parties=[("Ann Buyer", "initiating"), ("Bob Seller", "responding")], address="1 Oak Street, Fresno, CA 93650")
    async with web.browser() as b:
        await b.login("staff@car.org")
        listing = await b.get("/staff/cases")
        assert listing.status_code == 200
        assert in_order(listing.text, "Ann Buyer vs Bob Seller", "Katy Perry vs Taylor Swift")  # newest first
        accepted = await b.api("POST", f"/api/v1/staff/cases/{second}/intake", {"accept": True, "panel": [m1, m2, m3]})
        assert accepted.status_code == 200, accepted.text

        async def ranking_listed():
            found = await b.api("GET", "/api/v1/staff/cases?stage=ranking")
            return found.json() if found.json()["total"] == 1 else None

        body = await eventually(ranking_listed)
        row = body["items"][0]
        assert row["id"] == second and row["stage_label"] == "Mediator ranking" and row["stage_deadline"]
        assert row["title"] == "Ann Buyer vs Bob Seller" and body["page"] == 1 and body["pages"] == 1

        by_stage = await b.get("/staff/cases?stage=ranking")
        assert "Ann Buyer vs Bob Seller" in by_stage.text and "Katy Perry" not in by_stage.text
        by_stage = await b.get("/staff/cases?stage=intake_review")
        assert "Katy Perry vs Taylor Swift" in by_stage.text and "Ann Buyer" not in by_stage.text
        by_address = await b.get("/staff/cases?q=evergreen")
        assert "Katy Perry vs Taylor Swift" in by_address.text and "Ann Buyer" not in by_address.text
        by_party = await b.get("/staff/cases?q=Bob+Sell")
        assert "Ann Buyer vs Bob Seller" in by_party.text and "Katy Perry" not in by_party.text
        by_id = await b.api("GET", f"/api/v1/staff/cases?q=%23{first}")
        assert [r["id"] for r in by_id.json()["items"]] == [first]
        by_number = await b.api("GET", "/api/v1/staff/cases?q=742")  # a street number matches addresses as well as ids
        assert [r["id"] for r in by_number.json()["items"]] == [first]
        nothing = await b.get("/staff/cases?q=nowhere&stage=ranking")
        assert "No cases match." in nothing.text

        bad = await b.get("/staff/cases?stage=sleeping")
        assert bad.status_code == 422 and "Unknown stage" in bad.text
        assert (await b.api("GET", "/api/v1/staff/cases?stage=sleeping")).status_code == 422


async def test_case_detail_shows_progress_then_tally_and_every_ballot(web):
    staff, (m1, m2, m3, _m4) = await center(web)
    case_id, people = await filed_case(web)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    async with web.browser() as b:
        await b.login("staff@car.org")
        await b.get(f"/staff/cases/{case_id}")
        assert (await b.api("POST", f"/api/v1/staff/cases/{case_id}/intake", {"accept": True, "panel": [m1, m2, m3]})).status_code == 200
        await wait_for_stage(web.client, web.settings, case_id, "ranking")
        await rank(web, case_id, katy, [m3, m2, m1])
        await rank(web, case_id, katy, [m2, m1], eliminated=[m3])  # a revision: the audit trail keeps both

        page = await b.get(f"/staff/cases/{case_id}")
        progress = section(page.text, 'id="ranking"')
        assert re.search(r"Katy Perry</td>.*?Has ranked</td>", progress, re.S)
        assert re.search(r"Taylor Swift</td>.*?Has not ranked</td>", progress, re.S)

        await rank(web, case_id, taylor, [m1, m2, m3])
        await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
        page = await b.get(f"/staff/cases/{case_id}")
        assert page.status_code == 200 and "Conflict check" in page.text
        tally = section(page.text, 'class="tally stack"', "</table>")
        assert in_order(tally, "Mediator 1", "Mediator 2") and "Mediator 3" not in tally
        assert "Eliminated: Mediator 3" in page.text
        ballots = re.findall(r'<tr class="ballot">(.*?)</tr>', page.text, re.S)
        katy_ballot = next(b for b in ballots if "Katy Perry" in b)
        taylor_ballot = next(b for b in ballots if "Taylor Swift" in b)
        assert in_order(katy_ballot, "Mediator 2", "Mediator 1", "Mediator 3")
        assert in_order(taylor_ballot, "Mediator 1", "Mediator 2", "Mediator 3")
        audit = section(page.text, 'id="audit"')
        assert audit.count("<tr>") == 4  # header + three ballots, the revision included
        conflicts = section(page.text, 'id="conflicts"')
        assert "Mediator 1" in conflicts and "Pending" in conflicts

        detail = (await b.api("GET", f"/api/v1/staff/cases/{case_id}")).json()
        assert detail["status"]["tally"]["order"] == [m1, m2] and detail["status"]["tally"]["eliminated"] == [m3]
        assert {b["party_id"]: b["ranked"] for b in detail["ballots"]} == {katy: [m2, m1], taylor: [m1, m2, m3]}
        assert [a["ranked"] for a in detail["ballot_audit"]] == [[m3, m2, m1], [m2, m1], [m1, m2, m3]]
        assert detail["names"][str(m1)] == "Mediator 1" and detail["request"]["property_address"].startswith("742 Evergreen")
        assert {p["name"] for p in detail["participants"]} == {"Katy Perry", "Taylor Swift"}


async def test_staff_extends_and_closes_a_round_early(web):
    staff, (m1, m2, m3, _m4) = await center(web)
    case_id, people = await filed_case(web)
    async with web.browser() as b:
        await b.login("staff@car.org")
        await b.get(f"/staff/cases/{case_id}")
        await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true", "panel": [str(m1), str(m2), str(m3)]})
        before = (await wait_for_stage(web.client, web.settings, case_id, "ranking")).stage_deadline
        await b.get(f"/staff/cases/{case_id}")
        extended = await b.post(f"/staff/cases/{case_id}/extend", {"amount": "2"})
        assert "extended by 2 days" in await b.notice(extended)
        after = (await status(web.client, web.settings, case_id)).stage_deadline
        assert after > before
        # Hours as well as days, through the one input model of both doors.
        await b.get(f"/staff/cases/{case_id}")
        by_hours = await b.post(f"/staff/cases/{case_id}/extend", {"amount": "6", "unit": "hours"})
        assert "extended by 6 hours" in await b.notice(by_hours)
        hours_later = (await status(web.client, web.settings, case_id)).stage_deadline
        assert datetime.fromisoformat(hours_later) - datetime.fromisoformat(after) == timedelta(hours=6)
        api_hour = await b.api("POST", f"/api/v1/staff/cases/{case_id}/extend", {"amount": 1, "unit": "hours"})
        assert api_hour.status_code == 200 and "extended by 1 hour;" in api_hour.json()["message"]
        an_hour_later = (await status(web.client, web.settings, case_id)).stage_deadline
        assert datetime.fromisoformat(an_hour_later) - datetime.fromisoformat(hours_later) == timedelta(hours=1)
        too_many = await b.api("POST", f"/api/v1/staff/cases/{case_id}/extend", {"amount": 1441, "unit": "hours"})
        assert too_many.status_code == 422 and "at most 1440 hours" in too_many.json()["detail"]

        await rank(web, case_id, people["Katy Perry"], [m2, m3, m1])
        await b.get(f"/staff/cases/{case_id}")
        closed = await b.post(f"/staff/cases/{case_id}/close-ranking", {"reason": "The other side said they will not rank."})
        assert closed.status_code == 303
        current = await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
        assert current.tally.ballots_counted == 1 and current.tally.order == [m2, m3, m1]


async def test_invalid_staff_input_comes_back_with_a_message(web):
    staff, (m1, m2, m3, _m4) = await center(web)
    case_id, _ = await filed_case(web)
    async with web.browser() as b:
        await b.login("staff@car.org")
        await b.get(f"/staff/cases/{case_id}")
        no_reason = await b.post(f"/staff/cases/{case_id}/intake", {"accept": "false", "reason": "  "})
        assert no_reason.status_code == 422 and "Give the filer a reason for rejecting the request." in no_reason.text
        one = await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true", "panel": [str(m1)]})
        assert one.status_code == 422 and "Propose at least two mediators" in one.text
        twice = await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true", "panel": [str(m1), str(m1), str(m2)]})
        assert twice.status_code == 422 and "A mediator can appear only once on a panel." in twice.text
        api_twice = await b.api("POST", f"/api/v1/staff/cases/{case_id}/intake", {"accept": True, "panel": [m1, m1, m2]})
        assert api_twice.status_code == 422 and api_twice.json()["detail"] == "A mediator can appear only once on a panel."
        assert api_twice.json()["errors"] == {"panel": "A mediator can appear only once on a panel."}
        unknown = await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true", "panel": ["99999"]})
        assert unknown.status_code == 422 and "from the mediators listed in the directory" in unknown.text
        assert (await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true", "panel": ["x"]})).status_code == 422
        early = await b.post(f"/staff/cases/{case_id}/extend", {"amount": "3"})
        assert early.status_code == 409 and "Only an open ranking round can be extended." in early.text
        assert (await status(web.client, web.settings, case_id)).stage == "intake_review"

        await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true", "panel": [str(m1), str(m2), str(m3)]})
        await wait_for_stage(web.client, web.settings, case_id, "ranking")
        await b.get(f"/staff/cases/{case_id}")
        zero = await b.post(f"/staff/cases/{case_id}/extend", {"amount": "0"})
        assert zero.status_code == 422 and "at least one day" in zero.text
        words = await b.post(f"/staff/cases/{case_id}/extend", {"amount": "soon"})
        assert words.status_code == 422 and "number of days" in words.text
        api_zero = await b.api("POST", f"/api/v1/staff/cases/{case_id}/extend", {"amount": 0})
        assert api_zero.status_code == 422 and "at least one day" in api_zero.json()["detail"]

        bad_email = await b.post(f"/staff/cases/{case_id}/participants", {"name": "Nora Neighbor", "email": "nora at example", "role": "interested"})
        assert bad_email.status_code == 422 and "valid email" in bad_email.text and 'value="Nora Neighbor"' in bad_email.text
        no_side = await b.post(f"/staff/cases/{case_id}/participants", {"name": "Pat Party", "email": "pat@example.com", "role": "party"})
        assert no_side.status_code == 422 and "Choose the party&#39;s side" in no_side.text
        api_bad = await b.api("POST", f"/api/v1/staff/cases/{case_id}/participants", {"name": "Nora", "email": "nope", "role": "interested"})
        assert api_bad.status_code == 422 and "valid email" in api_bad.json()["detail"]
        no_withdraw_reason = await b.post(f"/staff/cases/{case_id}/withdraw", {"reason": ""})
        assert no_withdraw_reason.status_code == 422 and "Give a reason for withdrawing" in no_withdraw_reason.text
        assert (await b.get("/staff/cases/99999")).status_code == 404
    async with web.sessions() as session:
        assert (await session.execute(select(Person).where(Person.email == "pat@example.com"))).first() is None


async def test_added_representative_is_invited_and_can_rank_for_their_party(web):
    staff, (m1, m2, m3, _m4) = await center(web)
    case_id, people = await filed_case(web)
    taylor = people["Taylor Swift"]
    async with web.browser() as b:
        await b.login("staff@car.org")
        await b.get(f"/staff/cases/{case_id}")
        await b.post(f"/staff/cases/{case_id}/intake", {"accept": "true", "panel": [str(m1), str(m2), str(m3)]})
        await wait_for_stage(web.client, web.settings, case_id, "ranking")
        page = await b.get(f"/staff/cases/{case_id}")
        assert f'<option value="{taylor}">Taylor Swift</option>' in page.text
        added = await b.post(
            f"/staff/cases/{case_id}/participants",
            {"name": "Larry Lawyer", "email": "Larry@Example.com", "role": "representative", "represents_id": str(taylor), "kind": "Attorney"},
        )
        assert "activate" in await b.notice(added)
        page = await b.get(f"/staff/cases/{case_id}")
        people_table = section(page.text, 'id="people"')
        assert "Larry Lawyer" in people_table and "Taylor Swift (Attorney)" in people_table

        again = await b.post(f"/staff/cases/{case_id}/participants", {"name": "Larry", "email": "larry@example.com", "role": "interested"})
        assert again.status_code == 422 and "already takes part in this case" in again.text

    async with web.sessions() as session:
        larry = (await session.execute(select(Person).where(Person.email == "larry@example.com"))).scalar_one()
    current = await status(web.client, web.settings, case_id)
    assert next(p for p in current.parties if p.person_id == taylor).representative_ids == [larry.id]

    invite = await eventually(lambda: web.outbox(to="larry@example.com", subject_starts="Your account at the"))
    link = link_in(invite[0], "/set-password/")
    async with web.browser() as lawyer:
        await lawyer.get(link)
        assert (await lawyer.post(link, {"password": "a long lawyer password", "confirm": "a long lawyer password"})).status_code == 303
        assert (await lawyer.login("larry@example.com", "a long lawyer password")).status_code == 303
        assert (await lawyer.get(f"/cases/{case_id}")).status_code == 200
    receipt = await rank(web, case_id, taylor, [m1, m2, m3], actor_id=larry.id)
    assert receipt.waiting_for == [people["Katy Perry"]]

    async with web.browser() as b:
        await b.login("staff@car.org")
        page = await b.get(f"/staff/cases/{case_id}")
        taylor_row = next(p for p in (await b.api("GET", f"/api/v1/staff/cases/{case_id}")).json()["participants"] if p["name"] == "Taylor Swift")
        blocked = await b.post(f"/staff/cases/{case_id}/participants/{taylor_row['id']}/remove")
        assert blocked.status_code == 422 and "Remove Taylor Swift&#39;s representatives first." in blocked.text
        larry_row = next(p for p in (await b.api("GET", f"/api/v1/staff/cases/{case_id}")).json()["participants"] if p["name"] == "Larry Lawyer")
        removed = await b.api("DELETE", f"/api/v1/staff/cases/{case_id}/participants/{larry_row['id']}")
        assert removed.status_code == 200 and "Larry Lawyer was removed" in removed.json()["message"]
    current = await status(web.client, web.settings, case_id)
    assert next(p for p in current.parties if p.person_id == taylor).representative_ids == []


async def test_a_refused_roster_change_leaves_the_database_untouched(web):
    staff, _ = await center(web)
    case_id, _ = await filed_case(web)
    async with web.browser() as b:
        await b.login("staff@car.org")
        await b.get(f"/staff/cases/{case_id}")
        withdrawn = await b.api("POST", f"/api/v1/staff/cases/{case_id}/withdraw", {"reason": "The parties settled on their own."})
        assert withdrawn.status_code == 200
        await wait_for_stage(web.client, web.settings, case_id, "withdrawn")
        refused = await b.post(f"/staff/cases/{case_id}/participants", {"name": "Late Comer", "email": "late@example.com", "role": "interested"})
        assert refused.status_code == 409 and ("can no longer change" in refused.text or "already over" in refused.text)
        refused = await b.api("POST", f"/api/v1/staff/cases/{case_id}/participants", {"name": "Late Comer", "email": "late@example.com", "role": "interested"})
        assert refused.status_code == 409
        page = await b.get(f"/staff/cases/{case_id}")
        assert "Withdrawn" in page.text and "Add a participant" not in page.text and "Staff actions" not in page.text
    async with web.sessions() as session:
        rows = (await session.execute(select(Participant).where(Participant.case_id == case_id))).scalars().all()
        assert len(rows) == 2
    assert await web.outbox(to="late@example.com") == []


async def test_mediator_directory_add_and_edit(web):
    await center(web, mediators=1)
    async with web.browser() as b:
        await b.login("staff@car.org")
        listing = await b.get("/staff/mediators")
        assert listing.status_code == 200 and "Mediator 1" in listing.text
        await b.get("/staff/mediators/new")
        bad = await b.post("/staff/mediators/new", {"name": "", "email": "not-an-email", "languages": "English", "in_directory": "yes"})
        assert bad.status_code == 422 and "Enter the mediator&#39;s full name." in bad.text and "valid email" in bad.text
        taken = await b.post("/staff/mediators/new", {"name": "Copy", "email": "mediator1@example.com", "languages": "English", "in_directory": "yes"})
        assert taken.status_code == 422 and "already in the directory" in taken.text
        added = await b.post(
            "/staff/mediators/new",
            {
                "name": "Maria Lopez",
                "email": "maria@example.com",
                "bio": "Former escrow officer.",
                "expertise": "Escrow, deposits",
                "region": "Orange County",
                "languages": "English, Spanish",
                "fee": "$250/hour",
                "in_directory": "yes",
            },
        )
        assert added.status_code == 303
        listing = await b.get("/staff/mediators")
        assert "Maria Lopez" in listing.text and "Orange County" in listing.text
        await eventually(lambda: web.outbox(to="maria@example.com", subject_starts="Your account at the"))

        maria = next(m for m in (await b.api("GET", "/api/v1/staff/mediators")).json() if m["name"] == "Maria Lopez")
        form = await b.get(f"/staff/mediators/{maria['person_id']}")
        assert 'value="Former escrow officer."' not in form.text and "Former escrow officer." in form.text
        saved = await b.post(
            f"/staff/mediators/{maria['person_id']}",
            {
                "name": "Maria Lopez-Diaz",
                "email": "maria@example.com",
                "expertise": "Escrow",
                "region": "San Diego",
                "languages": "Spanish",
                "in_directory": "no",
            },
        )
        assert saved.status_code == 303
        clash = await b.post(
            f"/staff/mediators/{maria['person_id']}", {"name": "Maria", "email": "mediator1@example.com", "languages": "Spanish", "in_directory": "no"}
        )
        assert clash.status_code == 422 and "Another account already uses mediator1@example.com." in clash.text
        entry = (await b.api("GET", f"/api/v1/staff/mediators/{maria['person_id']}")).json()
        assert entry["name"] == "Maria Lopez-Diaz" and entry["region"] == "San Diego" and entry["in_directory"] is False

        via_api = await b.api("POST", "/api/v1/staff/mediators", {"name": "Sam Chen", "email": "sam@example.com", "region": "Bay Area"})
        assert via_api.status_code == 201 and via_api.json()["in_directory"] is True
        edited = await b.api("PUT", f"/api/v1/staff/mediators/{via_api.json()['person_id']}", {**via_api.json(), "fee": "$400/hour"})
        assert edited.status_code == 200 and edited.json()["fee"] == "$400/hour"
        bad_api = await b.api("PUT", f"/api/v1/staff/mediators/{via_api.json()['person_id']}", {"name": "Sam", "email": "bad"})
        assert bad_api.status_code == 422 and "valid email" in bad_api.json()["detail"]
        assert (await b.api("GET", "/api/v1/staff/mediators/99999")).status_code == 404

        # Out of the directory means no longer offered for panels.
        case_id, _ = await filed_case(web)
        page = await b.get(f"/staff/cases/{case_id}")
        assert "Sam Chen" in page.text and "Maria Lopez-Diaz" not in page.text


async def test_outbox_lists_emails_newest_first_and_shows_the_text(web):
    await center(web)
    case_id, _ = await filed_case(web)
    await eventually(lambda: _at_least(2, web.outbox(subject_starts="Request to Mediate received")))
    async with web.browser() as b:
        await b.login("staff@car.org")
        page = await b.get("/staff/outbox")
        assert page.status_code == 200
        assert "Request to Mediate received RE: 742 Evergreen Terrace" in page.text and "katy.perry@example.com" in page.text
        assert '<td data-label="Transport">outbox</td>' in page.text
        listing = (await b.api("GET", "/api/v1/staff/outbox")).json()
        ids = [e["id"] for e in listing["items"]]
        assert listing["total"] == len(ids) >= 2 and ids == sorted(ids, reverse=True)
        first = next(e for e in listing["items"] if e["to_email"] == "katy.perry@example.com")
        assert f'href="/staff/outbox/{first["id"]}"' in page.text
        one = await b.get(f"/staff/outbox/{first['id']}")
        assert one.status_code == 200 and "Hello Katy Perry" in one.text
        api_one = (await b.api("GET", f"/api/v1/staff/outbox/{first['id']}")).json()
        assert api_one["text_body"].startswith("Hello Katy Perry") and api_one["case_id"] == case_id
        assert (await b.get("/staff/outbox/99999")).status_code == 404


async def _at_least(n, coro):
    found = await coro
    return found if len(found) >= n else None


async def _participant_row(b, case_id: int, name: str) -> dict:
    participants = (await b.api("GET", f"/api/v1/staff/cases/{case_id}")).json()["participants"]
    return next(p for p in participants if p["name"] == name)


async def test_a_party_removed_mid_round_leaves_the_tally_and_is_no_longer_waited_for(web):
    _, (m1, m2, m3, _m4) = await center(web)
    case_id, people = await filed_case(web, parties=[("Katy Perry", "initiating"), ("Taylor Swift", "responding"), ("Ed Sheeran", "responding")])
    katy, taylor, ed = people["Katy Perry"], people["Taylor Swift"], people["Ed Sheeran"]
    async with web.browser() as b:
        await b.login("staff@car.org")
        await b.get(f"/staff/cases/{case_id}")
        await b.api("POST", f"/api/v1/staff/cases/{case_id}/intake", {"accept": True, "panel": [m1, m2, m3]})
        await wait_for_stage(web.client, web.settings, case_id, "ranking")
        await rank(web, case_id, katy, [m1, m2, m3])
        # Ed's ballot would strike Mediator 1, whom Katy ranked first.
        await rank(web, case_id, ed, [m3, m2], eliminated=[m1])
        removed = await b.api("DELETE", f"/api/v1/staff/cases/{case_id}/participants/{(await _participant_row(b, case_id, 'Ed Sheeran'))['id']}")
        assert removed.status_code == 200, removed.text
        waiting = await b.api("GET", f"/api/v1/staff/cases/{case_id}")
        assert waiting.json()["status"]["stage"] == "ranking"
        assert [p["person_id"] for p in waiting.json()["status"]["parties"] if not p["submitted"]] == [taylor]

        receipt = await rank(web, case_id, taylor, [m1, m3, m2])
        assert receipt.waiting_for == []
        await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
        detail = (await b.api("GET", f"/api/v1/staff/cases/{case_id}")).json()["status"]
    # Counted: Katy's and Taylor's ballots only; Ed's elimination of Mediator 1 went with him.
    assert detail["tally"]["ballots_counted"] == 2 and detail["tally"]["eliminated"] == []
    assert detail["tally"]["selected"] == m1 and detail["candidate_mediator_id"] == m1
    assert {p["person_id"] for p in detail["parties"]} == {katy, taylor}


async def test_the_last_silent_party_removed_closes_the_round(web):
    _, (m1, m2, m3, _m4) = await center(web)
    case_id, people = await filed_case(web, parties=[("Katy Perry", "initiating"), ("Taylor Swift", "responding"), ("Ed Sheeran", "responding")])
    async with web.browser() as b:
        await b.login("staff@car.org")
        await b.get(f"/staff/cases/{case_id}")
        await b.api("POST", f"/api/v1/staff/cases/{case_id}/intake", {"accept": True, "panel": [m1, m2, m3]})
        await wait_for_stage(web.client, web.settings, case_id, "ranking")
        await rank(web, case_id, people["Katy Perry"], [m2, m1, m3])
        await rank(web, case_id, people["Taylor Swift"], [m2, m3, m1])
        row = await _participant_row(b, case_id, "Ed Sheeran")
        assert (await b.post(f"/staff/cases/{case_id}/participants/{row['id']}/remove")).status_code == 303
        # Nobody is left to wait for: the round is tallied at once, without waiting for its deadline.
        current = await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
    assert current.tally is not None and current.tally.selected == m2 and current.tally.ballots_counted == 2


async def test_a_party_added_mid_round_is_invited_and_waited_for(web):
    _, (m1, m2, m3, _m4) = await center(web)
    case_id, people = await filed_case(web)
    katy, taylor = people["Katy Perry"], people["Taylor Swift"]
    async with web.browser() as b:
        await b.login("staff@car.org")
        await b.get(f"/staff/cases/{case_id}")
        await b.api("POST", f"/api/v1/staff/cases/{case_id}/intake", {"accept": True, "panel": [m1, m2, m3]})
        await wait_for_stage(web.client, web.settings, case_id, "ranking")
        await rank(web, case_id, katy, [m1, m2, m3])
        added = await b.api(
            "POST", f"/api/v1/staff/cases/{case_id}/participants", {"name": "Ed Sheeran", "email": "ed@example.com", "role": "party", "side": "responding"}
        )
        assert added.status_code in (200, 201), added.text
    async with web.sessions() as session:
        ed = (await session.execute(select(Person).where(Person.email == "ed@example.com"))).scalar_one()
    invitation = await eventually(lambda: web.outbox(to="ed@example.com", subject_starts="Please submit your mediator rankings"))
    assert len(invitation) == 1

    # Taylor's ballot no longer closes the round: Ed is a party now and is waited for.
    receipt = await rank(web, case_id, taylor, [m1, m2, m3])
    assert receipt.waiting_for == [ed.id]
    assert (await status(web.client, web.settings, case_id)).stage == "ranking"
    receipt = await rank(web, case_id, ed.id, [m2, m1, m3])
    assert receipt.waiting_for == []
    current = await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
    assert current.tally is not None and current.tally.ballots_counted == 3
