"""The staff board over HTTP: who each open case is waiting on, since when, overdue or not; filters, sorts, pages and
the CSV export; counts and median times per stage; each mediator's conflict-check figures; staff only.

The board reads what each case's publication stored beside its state; these tests drive real workflows on the
time-skipping server where the lifecycle matters, and write rows directly only to set a deadline in the past (the
workflow would act on its own deadline before the board could show it overdue) or to lay out known stage periods.
"""

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from temporalio import workflow

from core.db.models import Case, CaseStagePeriod, CaseWaitingOn, ConflictCheckRecord
from core.db.session import transaction
from core.time import as_utc
from features.staff import board
from tests.support import eventually, handle, make_case, make_center, status, wait_for_stage
from tests.test_web_staff import center, filed_case, give_password, rank
from workflows.case import CaseWorkflow
from workflows.types import ConflictDecision, IntakeDecision, RankingSubmission, StaffAction
from workflows.worker import build_worker

# The board's queries (window functions for medians, NULLS LAST, LIKE with escapes, moments compared) run on both.
pytestmark = pytest.mark.both_databases


async def accept(web, case_id: int, staff_id: int, panel: list[int]) -> None:
    await handle(web.client, web.settings, case_id).execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=staff_id, panel=panel))


def board_rows(page: str) -> dict[int, str]:
    """Each row of the page's board: case id -> the row's text, tags stripped."""
    rows = re.findall(r'<tr data-case="(\d+)"[^>]*>(.*?)</tr>', page, re.S)
    return {int(case_id): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split()) for case_id, body in rows}


def order_on_page(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-case="(\d+)"', page)]


async def set_deadline(web, case_id: int, deadline: datetime) -> None:
    async with transaction(web.sessions) as session:
        await session.execute(update(Case).where(Case.id == case_id).values(stage_deadline=deadline))


async def three_cases(web):
    """Case 1 waits for intake review; case 2 for Taylor's ranking (Katy ranked); case 3 for Mediator 1's conflict check;
    a fourth, withdrawn, is over and not on the board."""
    staff, (m1, m2, m3, _m4) = await center(web)
    intake, _ = await filed_case(web, parties=[("Ann Buyer", "initiating"), ("Bob Seller", "responding")], address="1 Oak Street, Fresno, CA 93650")
    ranking, people = await filed_case(web)
    await accept(web, ranking, staff.id, [m1, m2, m3])
    await rank(web, ranking, people["Katy Perry"], [m1, m2, m3])
    checking, others = await filed_case(web, parties=[("Cara Client", "initiating"), ("Dan Owner", "responding")], address="9 Pine Road, Davis, CA 95616")
    await accept(web, checking, staff.id, [m1, m2, m3])
    await rank(web, checking, others["Cara Client"], [m1, m2, m3])
    await rank(web, checking, others["Dan Owner"], [m1, m3, m2])
    await wait_for_stage(web.client, web.settings, checking, "conflict_check")
    gone, _ = await filed_case(web, parties=[("Eve Early", "initiating"), ("Fay Final", "responding")], address="5 Elm Court, Napa, CA 94558")
    await handle(web.client, web.settings, gone).execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=staff.id, reason="Settled on their own."))
    return staff, (m1, m2, m3), intake, ranking, checking, gone, people


async def test_the_board_says_who_each_open_case_waits_on_since_when_and_when_it_is_overdue(web):
    staff, (m1, _m2, _m3), intake, ranking, checking, gone, people = await three_cases(web)
    async with web.browser() as b:
        await b.login("staff@car.org")
        page = await b.get("/staff/board")
        assert page.status_code == 200
        rows = board_rows(page.text)
        assert set(rows) == {intake, ranking, checking}  # the withdrawn case is over: not waiting on anyone
        assert "Center staff's intake review" in rows[intake] and "Ann Buyer vs Bob Seller" in rows[intake]
        assert "Taylor Swift's ranking" in rows[ranking] and "Katy Perry's" not in rows[ranking]
        assert "Mediator 1's conflict check" in rows[checking] and "Mediator 1" in rows[checking].split("Conflict check")[-1]
        assert not any("Overdue" in row for row in rows.values())
        assert "<strong>3</strong> open cases" in page.text

        body = (await b.api("GET", "/api/v1/staff/board")).json()
        by_case = {item["case_id"]: item for item in body["items"]}
        assert set(by_case) == {intake, ranking, checking} and body["total"] == 3 and body["open_cases"] == 3 and body["overdue"] == 0
        assert by_case[ranking]["kind"] == "ranking" and by_case[ranking]["waiting_on"] == "Taylor Swift's ranking"
        assert by_case[ranking]["people"] == [{"person_id": people["Taylor Swift"], "name": "Taylor Swift"}]
        assert by_case[checking]["kind"] == "conflict_check" and by_case[checking]["waiting_on"] == "Mediator 1's conflict check"
        assert by_case[checking]["people"] == [{"person_id": m1, "name": "Mediator 1"}] and by_case[checking]["mediator_name"] == "Mediator 1"
        assert by_case[intake]["kind"] == "intake_review" and by_case[intake]["people"] == [] and by_case[intake]["deadline"] is None
        # Since when: the moment the case entered its stage, as its workflow says.
        for case_id in (intake, ranking, checking):
            since = (await status(web.client, web.settings, case_id)).stage_since
            assert datetime.fromisoformat(by_case[case_id]["waiting_since"]) == datetime.fromisoformat(since)
        # The page and the JSON list the same cases in the same order, longest waiting first.
        assert order_on_page(page.text) == [item["case_id"] for item in body["items"]] == [intake, ranking, checking]

        # Taylor's ranking is a day late (as if no worker had run to close the round): overdue on the page and in JSON.
        await set_deadline(web, ranking, datetime.now(UTC) - timedelta(days=1))
        page = await b.get("/staff/board")
        assert "Overdue" in board_rows(page.text)[ranking] and "Overdue" not in board_rows(page.text)[checking]
        body = (await b.api("GET", "/api/v1/staff/board")).json()
        assert [i["case_id"] for i in body["items"] if i["overdue"]] == [ranking] and body["overdue"] == 1
        ranking_stage = next(s for s in body["stages"] if s["stage"] == "ranking")
        assert ranking_stage["open_cases"] == 1 and ranking_stage["overdue"] == 1
        overdue = await b.get("/staff/board?overdue=yes")
        assert set(board_rows(overdue.text)) == {ranking}
        on_time = (await b.api("GET", "/api/v1/staff/board?overdue=no")).json()
        assert {i["case_id"] for i in on_time["items"]} == {intake, checking}

    # Taylor ranks: the case moves on to Mediator 1's conflict check, and the board follows at once.
    await rank(web, ranking, people["Taylor Swift"], [m1, _m2, _m3])
    await wait_for_stage(web.client, web.settings, ranking, "conflict_check")
    async with web.browser() as b:
        await b.login("staff@car.org")

        async def moved_on():
            body = (await b.api("GET", "/api/v1/staff/board?kind=conflict_check")).json()
            return body if {i["case_id"] for i in body["items"]} == {ranking, checking} else None

        body = await eventually(moved_on)
        assert all(i["waiting_on"] == "Mediator 1's conflict check" for i in body["items"])


async def test_waiting_on_several_parties_names_each(web):
    staff, (m1, m2, m3, _m4) = await center(web)
    case_id, _ = await filed_case(web, parties=[("Katy Perry", "initiating"), ("Taylor Swift", "responding"), ("Ed Sheeran", "responding")])
    await accept(web, case_id, staff.id, [m1, m2, m3])
    async with web.browser() as b:
        await b.login("staff@car.org")
        body = (await b.api("GET", "/api/v1/staff/board")).json()
        assert body["items"][0]["waiting_on"] == "Ed Sheeran's, Katy Perry's and Taylor Swift's rankings"
    async with web.sessions() as session:
        waited = set((await session.execute(select(CaseWaitingOn.person_id).where(CaseWaitingOn.case_id == case_id))).scalars())
    assert len(waited) == 3


async def test_filters_sorts_pages_and_refusals(web):
    staff, (m1, m2, m3), intake, ranking, checking, gone, people = await three_cases(web)
    await set_deadline(web, checking, datetime.now(UTC) + timedelta(hours=1))
    await set_deadline(web, ranking, datetime.now(UTC) + timedelta(days=3))
    async with web.browser() as b:
        await b.login("staff@car.org")

        async def ids(query: str) -> list[int]:
            page = await b.get(f"/staff/board?{query}")
            body = (await b.api("GET", f"/api/v1/staff/board?{query}")).json()
            assert page.status_code == 200, page.text
            assert order_on_page(page.text) == [i["case_id"] for i in body["items"]], query  # the page and the JSON agree
            return order_on_page(page.text)

        assert await ids("kind=ranking") == [ranking]
        assert await ids("kind=intake_review") == [intake]
        assert await ids("stage=conflict_check") == [checking]
        assert await ids("person=taylor") == [ranking]
        assert await ids("person=KATY") == []  # Katy has ranked: the case no longer waits on her
        assert await ids("person=mediator+1") == [checking]
        assert await ids(f"mediator={m1}") == [checking]
        assert await ids(f"mediator={m2}") == []
        assert await ids("sort=deadline") == [checking, ranking, intake]  # soonest first, none last
        assert await ids("sort=deadline&order=desc") == [ranking, checking, intake]
        assert await ids("sort=case&order=desc") == sorted([intake, ranking, checking], reverse=True)
        assert await ids("sort=stage") == [intake, ranking, checking]
        assert await ids("sort=waiting_since&order=desc") == [checking, ranking, intake]
        assert await ids("kind=ranking&person=nobody") == []
        assert "No open cases match." in (await b.get("/staff/board?person=nobody")).text
        # The form keeps what was chosen, and the CSV link carries the same filters.
        page = await b.get("/staff/board?kind=ranking&sort=deadline")
        assert '<option value="ranking" selected>' in page.text and '<option value="deadline" selected>' in page.text
        assert 'href="/staff/board.csv?kind=ranking&amp;sort=deadline"' in page.text

        for query, field in [
            ("kind=sleeping", "kind"),
            ("stage=closed", "stage"),
            ("overdue=maybe", "overdue"),
            ("sort=name", "sort"),
            ("mediator=x", "mediator"),
            ("page=0", "page"),
        ]:
            refused = await b.get(f"/staff/board?{query}")
            assert refused.status_code == 422 and 'role="alert"' in refused.text, query
            api = await b.api("GET", f"/api/v1/staff/board?{query}")
            assert api.status_code == 422 and field in api.json()["errors"], (query, api.text)
        assert "Unknown kind of wait" in (await b.get("/staff/board?kind=sleeping")).text
        assert (await b.get("/staff/board.csv?kind=sleeping")).status_code == 422
        assert (await b.api("GET", "/api/v1/staff/board?colour=blue")).status_code == 422

    # Pages of 50: rows laid out as publication would leave them, beyond what a test can run as workflows.
    async with transaction(web.sessions) as session:
        filer_id = (await session.execute(select(Case.filed_by_id).where(Case.id == intake))).scalar_one()
        start = datetime.now(UTC) - timedelta(days=30)
        for n in range(52):
            session.add(
                Case(
                    property_address=f"{n} Bulk Lane, Fresno, CA 93650",
                    dispute_value="$12,501 to $25,000",
                    filed_by_id=filer_id,
                    stage="intake_review",
                    waiting_on_kind="intake_review",
                    waiting_since=start + timedelta(minutes=n),
                )
            )
    async with web.browser() as b:
        await b.login("staff@car.org")
        first = (await b.api("GET", "/api/v1/staff/board")).json()
        assert first["total"] == 55 and first["pages"] == 2 and len(first["items"]) == 50
        second = (await b.api("GET", "/api/v1/staff/board?page=2")).json()
        assert len(second["items"]) == 5 and second["page"] == 2
        assert not {i["case_id"] for i in first["items"]} & {i["case_id"] for i in second["items"]}
        page = await b.get("/staff/board?kind=intake_review")
        assert "page 1 of 2" in page.text and 'href="/staff/board?kind=intake_review&amp;page=2"' in page.text
        beyond = (await b.api("GET", "/api/v1/staff/board?page=9")).json()
        assert beyond["page"] == 2


async def test_the_csv_has_every_matching_case_with_the_same_filters(web):
    staff, (m1, m2, m3), intake, ranking, checking, gone, people = await three_cases(web)
    await set_deadline(web, ranking, datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC))
    async with web.browser() as b:
        await b.login("staff@car.org")
        export = await b.get("/staff/board.csv")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        assert re.fullmatch(r'attachment; filename="waiting-board-\d{4}-\d{2}-\d{2}\.csv"', export.headers["content-disposition"])
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [int(r["case_id"]) for r in rows] == order_on_page((await b.get("/staff/board")).text)
        by_case = {int(r["case_id"]): r for r in rows}
        assert by_case[ranking]["waiting_on"] == "Taylor Swift's ranking" and by_case[ranking]["people_waited_on"] == "Taylor Swift"
        assert by_case[ranking]["deadline_utc"] == "2020-01-02T03:04:05+00:00" and by_case[ranking]["overdue"] == "yes"
        assert by_case[ranking]["title"] == "Katy Perry vs Taylor Swift" and by_case[ranking]["stage"] == "ranking"
        assert by_case[checking]["waiting_on_kind"] == "conflict_check" and by_case[checking]["mediator"] == "Mediator 1"
        assert by_case[intake]["deadline_utc"] == "" and by_case[intake]["overdue"] == "no"
        assert datetime.fromisoformat(by_case[intake]["waiting_since_utc"]).tzinfo is not None

        only_overdue = list(csv.DictReader(io.StringIO((await b.get("/staff/board.csv?overdue=yes")).text)))
        assert [int(r["case_id"]) for r in only_overdue] == [ranking]
        nothing = (await b.get("/staff/board.csv?person=nobody")).text.splitlines()
        assert nothing == [
            ",".join(
                [
                    "case_id",
                    "title",
                    "property_address",
                    "stage",
                    "waiting_on_kind",
                    "waiting_on",
                    "people_waited_on",
                    "waiting_since_utc",
                    "deadline_utc",
                    "overdue",
                    "mediator",
                ]
            )
        ]

    # A name a spreadsheet would run as a formula arrives as text.
    async with transaction(web.sessions) as session:
        await session.execute(update(Case).where(Case.id == intake).values(property_address='=HYPERLINK("http://evil.example")'))
    async with web.browser() as b:
        await b.login("staff@car.org")
        rows = {int(r["case_id"]): r for r in csv.DictReader(io.StringIO((await b.get("/staff/board.csv")).text))}
        assert rows[intake]["property_address"] == '\'=HYPERLINK("http://evil.example")'


async def test_stage_periods_come_from_the_published_timeline_and_give_medians(web):
    staff, (m1, m2, m3), intake, ranking, checking, gone, people = await three_cases(web)
    async with web.sessions() as session:
        periods = (await session.execute(select(CaseStagePeriod).where(CaseStagePeriod.case_id == checking).order_by(CaseStagePeriod.seq))).scalars().all()
        withdrawn = (await session.execute(select(CaseStagePeriod).where(CaseStagePeriod.case_id == gone).order_by(CaseStagePeriod.seq))).scalars().all()
    assert [(p.stage, p.left_at is None) for p in periods] == [("intake_review", False), ("ranking", False), ("conflict_check", True)]
    assert periods[0].left_at == periods[1].entered_at and periods[1].left_at == periods[2].entered_at
    assert [(p.stage, p.left_at is None) for p in withdrawn] == [("intake_review", False), ("withdrawn", True)]

    # Known stays, beside the real ones (each of which lasted well under a minute of workflow time).
    now = datetime.now(UTC)
    hour = 3600.0
    known = [("ranking", 1 * hour, 5), ("ranking", 2 * hour, 6), ("ranking", 3 * hour, 7), ("ranking", 10 * hour, 60), ("ranking", 100 * hour, 100)]
    known += [("awaiting_new_panel", 26 * hour, 2), ("accepted", 5 * hour, 40)]
    async with transaction(web.sessions) as session:
        for n, (stage, seconds, days_ago) in enumerate(known):
            left = now - timedelta(days=days_ago)
            session.add(CaseStagePeriod(case_id=intake, seq=100 + n, stage=stage, entered_at=left - timedelta(seconds=seconds), left_at=left, seconds=seconds))
        # Only the known stays count: the real ones from the workflows are moved out of both windows.
        await session.execute(
            update(CaseStagePeriod).where(CaseStagePeriod.seq < 100, CaseStagePeriod.left_at.is_not(None)).values(left_at=now - timedelta(days=200))
        )
    async with web.browser() as b:
        await b.login("staff@car.org")
        stages = {s["stage"]: s for s in (await b.api("GET", "/api/v1/staff/board")).json()["stages"]}
        # 30 days: 1 h, 2 h, 3 h -> 2 h. 90 days: 1, 2, 3 and 10 h -> 2.5 h. The 100-day-old stay counts in neither.
        assert (stages["ranking"]["median_seconds_30d"], stages["ranking"]["stays_30d"]) == (2 * hour, 3)
        assert (stages["ranking"]["median_seconds_90d"], stages["ranking"]["stays_90d"]) == (2.5 * hour, 4)
        assert stages["awaiting_new_panel"]["median_seconds_30d"] == 26 * hour
        assert stages["accepted"]["median_seconds_30d"] is None and stages["accepted"]["median_seconds_90d"] == 5 * hour
        assert stages["intake_review"]["open_cases"] == 1 and stages["conflict_check"]["open_cases"] == 1
        page = await b.get("/staff/board")
        ranking_row = re.search(r'<tr data-stage="ranking">(.*?)</tr>', page.text, re.S).group(1)
        assert "2 hours" in ranking_row and "(3 stays)" in ranking_row and "2 hours 30 minutes" in ranking_row and "(4 stays)" in ranking_row
        panel_row = re.search(r'<tr data-stage="awaiting_new_panel">(.*?)</tr>', page.text, re.S).group(1)
        assert "1 day 2 hours" in panel_row
        assert "ended within the last 30 or 90 days" in page.text

        # Another stay ends: the next view counts it (the medians are reused between views only until a stay ends).
        async with transaction(web.sessions) as session:
            left = now - timedelta(days=1)
            session.add(CaseStagePeriod(case_id=intake, seq=200, stage="ranking", entered_at=left - timedelta(hours=4), left_at=left, seconds=4 * hour))
        stages = {s["stage"]: s for s in (await b.api("GET", "/api/v1/staff/board")).json()["stages"]}
        assert (stages["ranking"]["median_seconds_30d"], stages["ranking"]["stays_30d"]) == (2.5 * hour, 4)


async def test_mediator_figures_after_a_decline_a_time_out_and_an_accept(web, time_skipping_env):
    staff, (m1, m2, m3, m4) = await center(web)
    case_id, people = await filed_case(web)
    await accept(web, case_id, staff.id, [m1, m2, m3])
    await rank(web, case_id, people["Katy Perry"], [m1, m2, m3])
    await rank(web, case_id, people["Taylor Swift"], [m1, m2, m3])
    await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
    wf = handle(web.client, web.settings, case_id)

    await time_skipping_env.sleep(timedelta(hours=3))
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=False, reason="I sold Katy her house."))
    await eventually(lambda: _asked(web, case_id, m2))
    await time_skipping_env.sleep(timedelta(days=2, minutes=1))  # Mediator 2 never answers
    await eventually(lambda: _asked(web, case_id, m3))
    await time_skipping_env.sleep(timedelta(hours=5))
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m3, accept=True))
    await wait_for_stage(web.client, web.settings, case_id, "accepted")

    async with web.sessions() as session:
        checks = (
            (await session.execute(select(ConflictCheckRecord).where(ConflictCheckRecord.case_id == case_id).order_by(ConflictCheckRecord.seq))).scalars().all()
        )
    assert [(c.mediator_id, c.outcome) for c in checks] == [(m1, "declined"), (m2, "timed_out"), (m3, "accepted")]

    async with web.browser() as b:
        await b.login("staff@car.org")
        entries = {e["person_id"]: e["conflict_checks"] for e in (await b.api("GET", "/api/v1/staff/mediators")).json()}
        assert {k: entries[m1][k] for k in ("requests", "accepted", "declined", "timed_out", "pending")} == {
            "requests": 1, "accepted": 0, "declined": 1, "timed_out": 0, "pending": 0
        }  # fmt: skip
        assert abs(entries[m1]["median_answer_seconds"] - 3 * 3600) < 120
        assert entries[m2]["timed_out"] == 1 and entries[m2]["median_answer_seconds"] is None  # silence is not an answer
        assert entries[m3]["accepted"] == 1 and abs(entries[m3]["median_answer_seconds"] - 5 * 3600) < 120
        assert entries[m4] == {"requests": 0, "accepted": 0, "declined": 0, "timed_out": 0, "pending": 0, "median_answer_seconds": None}
        one = (await b.api("GET", f"/api/v1/staff/mediators/{m3}")).json()
        assert one["conflict_checks"] == entries[m3]

        page = await b.get("/staff/mediators")
        cells = dict(re.findall(r"<td data-label=\"Name\">(Mediator \d)</td>.*?<td class=\"conflict-checks\"[^>]*>(.*?)</td>", page.text, re.S))
        cells = {name: html.unescape(text) for name, text in cells.items()}
        assert "1 asked: 0 accepted, 1 declined, 0 timed out" in cells["Mediator 1"] and "median answer in 3 hours" in cells["Mediator 1"]
        assert "1 asked: 0 accepted, 0 declined, 1 timed out" in cells["Mediator 2"] and "median answer" not in cells["Mediator 2"]
        assert "1 asked: 1 accepted" in cells["Mediator 3"] and "median answer in 5 hours" in cells["Mediator 3"]
        assert "None asked yet" in cells["Mediator 4"]

        # On the board the case now waits on Mediator 3's next steps (fee deposit, scheduling).
        row = next(i for i in (await b.api("GET", "/api/v1/staff/board")).json()["items"] if i["case_id"] == case_id)
        assert row["kind"] == "mediator_steps" and row["waiting_on"] == "Mediator 3's next steps" and row["mediator_name"] == "Mediator 3"


async def _asked(web, case_id: int, mediator_id: int):
    async with web.sessions() as session:
        case = (await session.execute(select(Case).where(Case.id == case_id))).scalar_one()
        return case if case.candidate_mediator_id == mediator_id and case.waiting_on_kind == "conflict_check" else None


async def test_only_staff_see_the_board_and_the_mediator_figures(web):
    staff, (m1, m2, m3, _m4) = await center(web)
    case_id, _ = await filed_case(web)
    await give_password(web, "katy.perry@example.com")
    for email in ("katy.perry@example.com", "mediator1@example.com"):
        async with web.browser() as b:
            assert (await b.login(email)).status_code == 303
            for url in ("/staff/board", "/staff/board.csv", "/staff/board?kind=ranking", "/staff/mediators"):
                refused = await b.get(url)
                assert refused.status_code == 403 and "Only center staff can do this." in refused.text, url
                assert "Katy Perry vs Taylor Swift" not in refused.text
            for url in ("/api/v1/staff/board", "/api/v1/staff/mediators", f"/api/v1/staff/mediators/{m1}"):
                refused = await b.api("GET", url)
                assert refused.status_code == 403 and refused.json()["detail"] == "Only center staff can do this.", url
    async with web.browser() as b:
        for url in ("/staff/board", "/staff/board.csv"):
            page = await b.get(url)
            assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await b.api("GET", "/api/v1/staff/board")).status_code == 401
    # Staff reach the board from the console's landing page and its tabs.
    async with web.browser() as b:
        await b.login("staff@car.org")
        landing = await b.get((await b.get("/staff")).headers["location"])
        assert 'href="/staff/board"' in landing.text and "Waiting board" in landing.text


async def test_a_case_on_the_older_mirror_is_on_the_board_too(time_skipping_env, sessions, settings, monkeypatch):
    """A case whose workflow started before the published state writes stage columns and ballots instead: the board
    follows those (without a timeline it has no stage periods or conflict-check figures)."""
    env = time_skipping_env
    made = await make_center(sessions)
    m1, m2, m3 = (m.id for m in made.mediators[:3])
    monkeypatch.setattr(workflow, "patched", lambda _patch_id: False)  # the older code: no patch exists yet
    async with build_worker(env.client, sessions, settings.model_copy(update={"worker_max_cached_workflows": 0})):
        case_id, people = await make_case(sessions, env.client, settings)
        katy, taylor = people["Katy Perry"], people["Taylor Swift"]
        wf = handle(env.client, settings, case_id)

        async def on_board(kind: str, names: list[str]):
            async with sessions() as db:
                found = await board.board(db, board.BoardQuery())
            row = next((r for r in found.items if r.case_id == case_id), None)
            return row if row is not None and row.kind == kind and [p.name for p in row.people] == names else None

        intake = await eventually(lambda: on_board("intake_review", []))
        async with sessions() as db:
            assert intake.waiting_since == as_utc((await db.get(Case, case_id)).filed_at)
        await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=made.staff.id, panel=[m1, m2, m3]))
        ranking = await eventually(lambda: on_board("ranking", ["Katy Perry", "Taylor Swift"]))
        assert ranking.waiting_since is not None and ranking.deadline is not None
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=katy, party_id=katy, ranked=[m1, m2, m3]))
        row = await eventually(lambda: on_board("ranking", ["Taylor Swift"]))
        assert row.waiting_on == "Taylor Swift's ranking" and row.waiting_since == ranking.waiting_since
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=taylor, party_id=taylor, ranked=[m1, m3, m2]))
        row = await eventually(lambda: on_board("conflict_check", ["Mediator 1"]))
        assert row.waiting_on == "Mediator 1's conflict check" and row.waiting_since > ranking.waiting_since
        await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
        await eventually(lambda: on_board("mediator_steps", ["Mediator 1"]))
        await wf.terminate("test finished")
    async with sessions() as db:
        assert (await db.execute(select(CaseStagePeriod).where(CaseStagePeriod.case_id == case_id))).first() is None
