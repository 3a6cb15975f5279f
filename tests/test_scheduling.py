"""Scheduling by availability over HTTP: the mediator proposes times on the page or by JSON, each person marks them in
their own time zone, the mediator sees the grid best first and picks one, which schedules the case; who may do what."""

import base64
import re
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core.db.models import CalendarEvent, Case, Participant, Person, SchedulingPoll
from core.db.session import transaction
from core.time import as_utc
from tests.support import eventually, handle, wait_for_stage
from tests.test_calendar import Setup, accept, accepted_case, case_in_ranking
from workflows.case import CaseWorkflow
from workflows.types import StaffAction

EASTERN = "America/New_York"
# Mona (no zone of her own: the center's, Los Angeles) types these; 9:00 PST is 17:00 UTC, noon in New York.
TIMES = [("2031-03-04T09:00", "2031-03-04T12:00"), ("2031-03-05T13:00", "2031-03-05T16:00"), ("2031-03-06T09:00", "2031-03-06T12:00")]


def proposal_form(times=TIMES, poll: int | None = None) -> dict:
    form = {f"slots-{i}-{end}": value for i, pair in enumerate(times) for end, value in zip(("starts_at", "ends_at"), pair, strict=True)}
    if poll is not None:
        form["poll"] = str(poll)
    return form


def answers_form(poll: int, marks: dict[int, str]) -> dict:
    form = {"poll": str(poll)}
    for index, (slot, answer) in enumerate(sorted(marks.items())):
        form[f"answers-{index}-slot"] = str(slot)
        if answer:
            form[f"answers-{index}-answer"] = answer
    return form


async def with_ivy(web, s: Setup) -> Person:
    """Ivy, an interested person on the case; Katy reads times in New York."""
    ivy = await web.person("ivy@example.com", "Ivy Interested")
    async with transaction(web.sessions) as session:
        session.add(Participant(case_id=s.case_id, person_id=ivy.id, role="interested"))
        katy = await session.get(Person, s.katy.id)
        katy.time_zone = EASTERN
    return ivy


def grid_rows(page: str) -> list[str]:
    return re.findall(r'<tr id="tally-(\d+)"', page)


async def test_times_proposed_answered_in_each_zone_and_the_best_picked_schedules_the_case(web):
    s = await accepted_case(web)
    ivy = await with_ivy(web, s)
    scheduling = f"/cases/{s.case_id}/scheduling"
    api = f"/api/v1/cases/{s.case_id}/scheduling"

    async with web.browser() as mona:
        await mona.login(s.mona.email)
        page = await mona.get(scheduling)
        assert page.status_code == 200 and "No times have been proposed yet." in page.text and "Propose times for the mediation" in page.text
        assert "Start (America/Los_Angeles)" in page.text
        # Case Home names the step and leads here.
        home = await mona.get(f"/cases/{s.case_id}")
        assert f'href="{scheduling}"' in home.text
        proposed = await mona.post(f"{scheduling}/proposals", proposal_form())
        assert "The times were proposed; everyone asked was emailed" in await mona.notice(proposed)

    async with web.sessions() as session:
        poll = await session.scalar(select(SchedulingPoll).where(SchedulingPoll.case_id == s.case_id))
    assert poll.number == 1 and poll.status == "open" and poll.workflow_id == web.settings.poll_workflow_id(s.case_id, 1)

    async with web.browser() as katy:
        await katy.login(s.katy.email)
        page = await katy.get(scheduling)
        # Katy reads New York time.
        assert "Tuesday, March 4, 2031, 12:00 PM – 3:00 PM EST" in page.text and "your time zone, America/New_York" in page.text
        assert "Answers, best time first" not in page.text and "Pick the time" not in page.text
        home = await katy.get(f"/cases/{s.case_id}")
        assert "Mark the times you can attend" in home.text
        # A time left unmarked is named beside it; nothing is saved.
        refused = await katy.post(f"{scheduling}/answers", answers_form(1, {1: "available", 2: "", 3: "available"}))
        assert (
            refused.status_code == 422
            and 'id="answers-1-answer-error"' in refused.text
            and "Mark this time available, if need be or unavailable." in refused.text
        )
        assert 'value="available" checked' in refused.text
        saved = await katy.post(f"{scheduling}/answers", answers_form(1, {1: "unavailable", 2: "available", 3: "available"}))
        assert (await katy.notice(saved)).startswith("Your answers were saved. You can change them until")
        page = await katy.get(scheduling)
        assert page.text.count("checked") == 3
        mine = (await katy.api("GET", api)).json()["poll"]
        assert mine["best_first"] is None and mine["respondents"] is None
        assert {a["slot"]: a["answer"] for a in mine["my_answers"]} == {1: "unavailable", 2: "available", 3: "available"}
        home = await katy.get(f"/cases/{s.case_id}")
        assert "Mark the times you can attend" not in home.text

    async with web.browser() as taylor:
        await taylor.login(s.taylor.email)
        await taylor.get(scheduling)
        answered = await taylor.api(
            "PUT",
            f"{api}/answers",
            {"poll": 1, "answers": [{"slot": 1, "answer": "available"}, {"slot": 2, "answer": "if_need_be"}, {"slot": 3, "answer": "available"}]},
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["poll"]["can_answer"] is True

    async with web.browser() as interested:
        await interested.login(ivy.email)
        page = await interested.get(scheduling)
        assert "Mark the times you can attend" in page.text
        saved = await interested.post(f"{scheduling}/answers", answers_form(1, {1: "available", 2: "available", 3: "unavailable"}))
        assert saved.status_code == 303

    async with web.browser() as mona:
        await mona.login(s.mona.email)
        grid = (await mona.api("GET", api)).json()["poll"]
        # Time 3: both parties available. Time 2: one available, one if need be. Time 1: Katy cannot come, never first.
        assert [t["number"] for t in grid["best_first"]] == [3, 2, 1]
        assert grid["best_first"][0]["works_for_every_party"] and not grid["best_first"][2]["works_for_every_party"]
        assert {r["name"]: r["answered"] for r in grid["respondents"]} == {"Katy Perry": True, "Taylor Swift": True, "Ivy Interested": True}
        page = await mona.get(scheduling)
        # The page shows the same order as the API.
        assert grid_rows(page.text) == ["3", "2", "1"]
        assert "Everyone asked has answered." in page.text and "Unavailable" in page.text
        # Mona reads the times in Los Angeles.
        assert "Thursday, March 6, 2031, 9:00 AM – 12:00 PM PST" in page.text
        picked = await mona.post(f"{scheduling}/pick", {"poll": "1", "slot": "3", "meeting_type": "Online", "location": "https://zoom.example.com/j/7"})
        assert (
            await mona.notice(picked)
        ) == "The Mediation is scheduled for Thursday, March 6, 2031, 9:00 AM – 12:00 PM PST; everyone on the case was emailed the calendar file."

    async with web.sessions() as session:
        case = await session.get(Case, s.case_id)
        event = await session.scalar(select(CalendarEvent).where(CalendarEvent.case_id == s.case_id))
    assert case.stage == "scheduled" and case.mediation_scheduled
    assert event.is_mediation and as_utc(event.starts_at) == datetime(2031, 3, 6, 17, tzinfo=UTC) and event.location == "https://zoom.example.com/j/7"

    async with web.browser() as katy:
        await katy.login(s.katy.email)
        home = await katy.get(f"/cases/{s.case_id}")
        assert "Mediation scheduled" in home.text
        page = await katy.get(scheduling)
        assert "The mediation is scheduled for <strong>Thursday, March 6, 2031, 12:00 PM – 3:00 PM EST</strong>" in page.text
        assert f'href="/cases/{s.case_id}/calendar/{event.id}.ics"' in page.text

    mails = await eventually(lambda: web.outbox(to=s.katy.email, subject_starts="Mediation scheduled:"))
    (mail,) = mails
    assert "Thursday, March 6, 2031, 12:00 PM – 3:00 PM EST" in mail.text_body and "https://zoom.example.com/j/7" in mail.text_body
    (attached,) = mail.attachments
    assert attached["filename"] == f"case-{s.case_id}-event-{event.id}.ics"
    (vevent,) = Calendar.from_ical(base64.b64decode(attached["content"])).walk("VEVENT")
    assert vevent.decoded("DTSTART") == datetime(2031, 3, 6, 17, tzinfo=UTC)
    asked = await web.outbox(to=ivy.email, subject_starts="Please mark the times you can attend")
    assert "Thursday, March 6, 2031, 9:00 AM – 12:00 PM PST" in asked[0].text_body  # Ivy has no zone: the center's


async def test_who_may_see_answer_propose_and_pick(web):
    s = await accepted_case(web)
    ivy = await with_ivy(web, s)
    scheduling = f"/cases/{s.case_id}/scheduling"
    api = f"/api/v1/cases/{s.case_id}/scheduling"
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        await katy.get(scheduling)
        # A party cannot propose, pick or cancel, on the page or by JSON.
        assert (await katy.post(f"{scheduling}/proposals", proposal_form())).status_code == 403
        refused = await katy.api("POST", f"{api}/proposals", {"slots": []})
        assert refused.status_code == 403 and "mediator or center staff" in refused.json()["detail"]
        assert (await katy.api("POST", f"{api}/pick", {"poll": 1, "slot": 1})).status_code == 403
        assert (await katy.post(f"{scheduling}/pick", {"poll": "1", "slot": "1"})).status_code == 403
        assert (await katy.api("POST", f"{api}/cancel", {"poll": 1})).status_code == 403

    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(scheduling)
        created = await mona.api(
            "POST",
            f"{api}/proposals",
            {
                "slots": [
                    {"starts_at": "2031-05-01T16:00:00Z", "ends_at": "2031-05-01T19:00:00Z"},
                    {"starts_at": "2031-05-02T16:00", "ends_at": "2031-05-02T19:00"},
                ]
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        # A time with an offset is that moment; one without is read in Mona's zone (Los Angeles, PDT in May).
        assert [slot["starts_at"][:19] for slot in body["poll"]["slots"]] == ["2031-05-01T16:00:00", "2031-05-02T23:00:00"]
        assert body["poll"]["can_manage"] and body["can_propose"]
        # The mediator does not mark times.
        refused = await mona.api("PUT", f"{api}/answers", {"poll": 1, "answers": []})
        assert refused.status_code == 403 and "Only the parties" in refused.json()["detail"]

    async with web.browser() as ozzy:
        # Someone not on the case learns nothing of it.
        await ozzy.login(s.outsider.email)
        await ozzy.get("/cases")
        assert (await ozzy.get(scheduling)).status_code == 404
        assert (await ozzy.api("GET", api)).status_code == 404
        assert (await ozzy.api("PUT", f"{api}/answers", {"poll": 1, "answers": []})).status_code == 404
        assert (await ozzy.api("POST", f"{api}/pick", {"poll": 1, "slot": 1})).status_code == 404

    async with web.browser() as interested:
        await interested.login(ivy.email)
        await interested.get(scheduling)
        answered = await interested.api(
            "PUT", f"{api}/answers", {"poll": 1, "answers": [{"slot": 1, "answer": "available"}, {"slot": 2, "answer": "unavailable"}]}
        )
        assert answered.status_code == 200, answered.text

    async with web.browser() as staff:
        await staff.login(s.staff.email)
        await staff.get(scheduling)
        seen = (await staff.api("GET", api)).json()["poll"]
        assert seen["can_manage"] and [r["name"] for r in seen["respondents"] if not r["answered"]] == ["Katy Perry", "Taylor Swift"]
        # Staff see the poll on the staff case page, with who has not answered.
        page = await staff.get(f"/staff/cases/{s.case_id}")
        section = page.text.split('id="scheduling-poll"', 1)[1].split("</section>", 1)[0]
        assert "Open for answers" in section and "Katy Perry" in section and "Not yet answered" in section
        picked = await staff.api("POST", f"{api}/pick", {"poll": 1, "slot": 2, "meeting_type": "In person", "location": "Room 4"})
        assert picked.status_code == 200, picked.text
        assert picked.json()["poll"]["status"] == "picked" and picked.json()["ics_url"]
    await wait_for_stage(web.client, web.settings, s.case_id, "scheduled")


async def test_bad_proposals_answers_and_picks_get_422_with_the_field_named(web):
    s = await accepted_case(web)
    scheduling = f"/cases/{s.case_id}/scheduling"
    api = f"/api/v1/cases/{s.case_id}/scheduling"
    later = {"starts_at": "2031-05-01T16:00:00Z", "ends_at": "2031-05-01T17:00:00Z"}
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(scheduling)

        async def refused(body) -> dict:
            answer = await mona.api("POST", f"{api}/proposals", body)
            assert answer.status_code == 422, answer.text
            return answer.json()["errors"]

        assert "at least one time" in (await refused({"slots": []}))["slots"]
        nine = [{"starts_at": f"2031-05-0{d}T16:00:00Z", "ends_at": f"2031-05-0{d}T17:00:00Z"} for d in range(1, 10)]
        assert "at most 8" in (await refused({"slots": nine}))["slots"]
        assert "at least 2 times" in (await refused({"slots": [later]}))["slots"]
        past = {"starts_at": "2020-05-01T16:00:00Z", "ends_at": "2020-05-01T17:00:00Z"}
        assert "already passed" in (await refused({"slots": [later, past]}))["slots.1.starts_at"]
        backwards = {"starts_at": "2031-05-02T16:00:00Z", "ends_at": "2031-05-02T15:00:00Z"}
        assert (await refused({"slots": [later, backwards]}))["slots.1.ends_at"] == "The time must end after it starts."
        assert "already proposed" in (await refused({"slots": [later, later]}))["slots.1.starts_at"]
        assert (
            "at most 24 hours"
            in (await refused({"slots": [later, {"starts_at": "2031-05-03T16:00:00Z", "ends_at": "2031-05-05T16:00:00Z"}]}))["slots.1.ends_at"]
        )
        # The page keeps what was typed and names the field.
        page = await mona.post(f"{scheduling}/proposals", proposal_form([("2031-03-04T12:00", "2031-03-04T09:00"), TIMES[1]]))
        assert page.status_code == 422 and 'id="slots-0-ends_at-error"' in page.text and 'value="2031-03-04T12:00"' in page.text
        async with web.sessions() as session:
            assert await session.scalar(select(SchedulingPoll.id).where(SchedulingPoll.case_id == s.case_id)) is None

        assert (await mona.post(f"{scheduling}/proposals", proposal_form())).status_code == 303
        again = await mona.api(
            "POST", f"{api}/proposals", {"slots": [later, {**later, "starts_at": "2031-05-01T18:00:00Z", "ends_at": "2031-05-01T19:00:00Z"}]}
        )
        assert again.status_code == 409 and "add more to that poll" in again.json()["detail"]
        six = [{"starts_at": f"2031-06-0{d}T16:00:00Z", "ends_at": f"2031-06-0{d}T17:00:00Z"} for d in range(1, 7)]
        over = await mona.api("POST", f"{api}/proposals", {"poll": 1, "slots": six})
        assert over.status_code == 422 and "at most 8 times and this one has 3, so add at most 5" in over.json()["errors"]["slots"]
        bad_pick = await mona.api("POST", f"{api}/pick", {"poll": 1, "slot": 7})
        assert bad_pick.status_code == 422 and "no such time" in bad_pick.json()["errors"]["slot"]
        no_slot = await mona.api("POST", f"{api}/pick", {"poll": 1})
        assert no_slot.status_code == 422 and no_slot.json()["errors"] == {"slot": "Choose one of the proposed times."}
        no_poll = await mona.api("POST", f"{api}/pick", {"poll": 5, "slot": 1})
        assert no_poll.status_code == 422 and "no poll 5" in no_poll.json()["errors"]["poll"]
        page = await mona.post(f"{scheduling}/pick", {"poll": "1", "meeting_type": "Online"})
        assert page.status_code == 422 and 'id="slot-error"' in page.text

    async with web.browser() as katy:
        await katy.login(s.katy.email)
        await katy.get(scheduling)

        async def answered(marks) -> tuple[int, dict]:
            answer = await katy.api("PUT", f"{api}/answers", {"poll": 1, "answers": [{"slot": n, "answer": a} for n, a in marks]})
            return answer.status_code, answer.json().get("errors") or {}

        assert await answered([(1, "available"), (2, "available"), (3, "available"), (4, "available")]) == (
            422,
            {"answers.3.slot": "There is no such time in this poll; reload the page to see the times proposed."},
        )
        status, errors = await answered([(1, "available"), (2, "maybe"), (3, "available")])
        assert status == 422 and errors == {"answers.1.answer": "Mark this time available, if need be or unavailable."}
        status, errors = await answered([(1, "available")])
        assert status == 422 and "2 of the 3 times are not marked" in errors["answers"]


async def test_times_are_proposed_once_a_mediator_has_accepted_and_a_pick_on_a_withdrawn_case_schedules_nothing(web):
    s = await case_in_ranking(web)
    api = f"/api/v1/cases/{s.case_id}/scheduling"
    async with web.browser() as staff:
        await staff.login(s.staff.email)
        await staff.get(f"/cases/{s.case_id}/scheduling")
        early = await staff.api("POST", f"{api}/proposals", {"slots": [{"starts_at": "2031-05-01T16:00:00Z", "ends_at": "2031-05-01T17:00:00Z"}] * 2})
        assert early.status_code == 409 and "once a mediator has accepted" in early.json()["detail"]

    await accept(web, s)
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(f"/cases/{s.case_id}/scheduling")
        assert (await mona.post(f"/cases/{s.case_id}/scheduling/proposals", proposal_form())).status_code == 303
        await handle(web.client, web.settings, s.case_id).execute_update(CaseWorkflow.withdraw, StaffAction(actor_id=s.staff.id, reason="Settled"))
        await wait_for_stage(web.client, web.settings, s.case_id, "withdrawn")

        async def withdrawn():
            async with web.sessions() as session:
                return (await session.get(Case, s.case_id)).stage == "withdrawn"

        await eventually(withdrawn)
        refused = await mona.api("POST", f"{api}/pick", {"poll": 1, "slot": 1})
        assert refused.status_code == 409 and "over" in refused.json()["detail"]
    async with web.sessions() as session:
        assert await session.scalar(select(CalendarEvent.id).where(CalendarEvent.case_id == s.case_id)) is None


@pytest.mark.both_databases
async def test_more_times_and_cancel_on_the_page(web):
    s = await accepted_case(web)
    scheduling = f"/cases/{s.case_id}/scheduling"
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(scheduling)
        assert (await mona.post(f"{scheduling}/proposals", proposal_form(TIMES[:2]))).status_code == 303
        page = await mona.get(scheduling)
        assert "Propose more times" in page.text and 'name="poll" value="1"' in page.text
        more = await mona.post(f"{scheduling}/proposals", proposal_form(TIMES[2:], poll=1))
        assert (await mona.notice(more)).startswith("More times were proposed")
        assert len(grid_rows((await mona.get(scheduling)).text)) == 3
        cancelled = await mona.post(f"{scheduling}/cancel", {"poll": "1", "reason": "Evenings suit everyone better"})
        assert (await mona.notice(cancelled)).startswith("The proposed times were withdrawn")
        page = await mona.get(scheduling)
        assert "These times were withdrawn: Evenings suit everyone better" in page.text and "Propose times for the mediation" in page.text
        assert (await mona.post(f"{scheduling}/proposals", proposal_form(TIMES[1:]))).status_code == 303
    async with web.browser() as katy:
        # A form of the withdrawn poll, sent late, changes nothing and says why at the top of the page.
        await katy.login(s.katy.email)
        await katy.get(scheduling)
        late = await katy.post(f"{scheduling}/answers", answers_form(1, {1: "available", 2: "available", 3: "available"}))
        assert late.status_code == 409 and re.search(r'id="form-error">This scheduling poll has closed', late.text)
    async with web.sessions() as session:
        numbers = (await session.execute(select(SchedulingPoll.number, SchedulingPoll.status).where(SchedulingPoll.case_id == s.case_id))).all()
    assert sorted(numbers) == [(1, "cancelled"), (2, "open")]
    withdrawn = await eventually(lambda: web.outbox(to=s.katy.email, subject_starts="Proposed times withdrawn"))
    assert "(Evenings suit everyone better)" in withdrawn[0].text_body


async def test_the_staff_board_shows_a_case_waiting_on_its_scheduling_poll(web):
    s = await accepted_case(web)
    ivy = await with_ivy(web, s)
    scheduling = f"/cases/{s.case_id}/scheduling"

    async def board_row(staff) -> dict:
        rows = (await staff.api("GET", "/api/v1/staff/board")).json()["items"]
        return next(r for r in rows if r["case_id"] == s.case_id)

    async with web.browser() as staff:
        await staff.login(s.staff.email)
        before = await board_row(staff)
        assert before["kind"] == "mediator_steps"

        async with web.browser() as mona:
            await mona.login(s.mona.email)
            await mona.post(f"{scheduling}/proposals", proposal_form())
        waiting = await eventually(lambda: _row_of_kind(board_row(staff), "scheduling_poll"))
        assert waiting["waiting_on"] == "Ivy Interested's, Katy Perry's and Taylor Swift's answers to the scheduling poll"
        only_poll = (await staff.api("GET", "/api/v1/staff/board?kind=scheduling_poll")).json()["items"]
        assert [r["case_id"] for r in only_poll] == [s.case_id]

        for person in (s.katy, s.taylor, ivy):
            async with web.browser() as them:
                await them.login(person.email)
                await them.get(scheduling)
                saved = await them.post(f"{scheduling}/answers", answers_form(1, {1: "available", 2: "available", 3: "if_need_be"}))
                assert saved.status_code == 303, saved.text
        everyone = await eventually(lambda: _row_of_kind(board_row(staff), "scheduling_poll", "The mediator's choice of a time"))
        assert everyone["waiting_on"] == "The mediator's choice of a time"


async def _row_of_kind(pending, kind: str, waiting_on: str | None = None):
    row = await pending
    return row if row["kind"] == kind and (waiting_on is None or row["waiting_on"] == waiting_on) else None
