"""The case Calendar over HTTP: the mediator adds and changes events, participants see them, get emails and .ics files."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import func, select

from core.db.models import CalendarEvent, Case, Participant, Person
from tests.support import eventually, handle, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import ConflictDecision, IntakeDecision, RankingSubmission

ADDRESS = "1234 Music Way, Los Angeles, CA 90210"
NOT_ACCEPTED = "The mediation can be scheduled once a mediator has accepted, and only once."


@dataclass
class Setup:
    case_id: int
    staff: Person
    mona: Person
    katy: Person
    taylor: Person
    outsider: Person
    panel: list[int]


async def case_in_ranking(web) -> Setup:
    """Katy files against Taylor on the web; staff accept the intake with a panel of three mediators."""
    staff = await web.person("staff@car.org", "Center Staff", staff=True)
    mona = await web.person("mona@example.com", "Mona Mediator", mediator=True)
    nate = await web.person("nate@example.com", "Nate Neutral", mediator=True)
    olga = await web.person("olga@example.com", "Olga Arbiter", mediator=True)
    katy = await web.person("katy@example.com", "Katy Perry")
    taylor = await web.person("taylor@example.com", "Taylor Swift")
    outsider = await web.person("ozzy@example.com", "Ozzy Outsider")
    async with web.browser() as b:
        await b.login(katy.email)
        await b.get("/cases/new")
        filed = await b.post(
            "/cases/new",
            {
                "property_address": ADDRESS,
                "dispute_bases": "Deposit dispute",
                "dispute_value": "$75,001 and over",
                "description": "The seller kept the deposit.",
                "filer_role": "party",
                "others-0-full_name": taylor.full_name,
                "others-0-email": taylor.email,
                "others-0-side": "responding",
            },
        )
        assert filed.status_code == 303, filed.text
        case_id = int(filed.headers["location"].split("?")[0].rsplit("/", 1)[1])
    wf = handle(web.client, web.settings, case_id)
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=staff.id, panel=[mona.id, nate.id, olga.id]))
    await wait_for_stage(web.client, web.settings, case_id, "ranking")
    return Setup(case_id, staff, mona, katy, taylor, outsider, [mona.id, nate.id, olga.id])


async def accept(web, s: Setup) -> None:
    """Both parties rank Mona first and she accepts; wait until the database mirror knows she is the mediator."""
    wf = handle(web.client, web.settings, s.case_id)
    ranked = s.panel
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=s.katy.id, party_id=s.katy.id, ranked=ranked))
    await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=s.taylor.id, party_id=s.taylor.id, ranked=ranked))
    await wait_for_stage(web.client, web.settings, s.case_id, "conflict_check")
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=s.mona.id, accept=True))
    await wait_for_stage(web.client, web.settings, s.case_id, "accepted")

    async def mirrored():
        async with web.sessions() as session:
            case = await session.get(Case, s.case_id)
            joined = await session.scalar(select(Participant.id).where(Participant.case_id == s.case_id, Participant.person_id == s.mona.id))
            return case.mediator_id == s.mona.id and case.stage == "accepted" and joined is not None

    await eventually(mirrored)


async def accepted_case(web) -> Setup:
    s = await case_in_ranking(web)
    await accept(web, s)
    return s


def event_form(**changes) -> dict:
    form = {
        "title": "Mediation",
        "starts_at": "2024-08-24T13:00",
        "ends_at": "2024-08-24T16:00",
        "meeting_type": "Online",
        "location": "https://zoom.example.com/j/123",
        "notes": "Bring the purchase agreement, the inspection report; and photos.",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def event_count(web, case_id: int) -> int:
    async with web.sessions() as session:
        return await session.scalar(select(func.count()).select_from(CalendarEvent).where(CalendarEvent.case_id == case_id))


def unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


async def test_mediator_adds_event_participants_see_it_and_are_emailed(web):
    s = await accepted_case(web)
    calendar = f"/cases/{s.case_id}/calendar"
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        page = await mona.get(calendar)
        assert page.status_code == 200 and "No events scheduled" in page.text
        # Mona has no time zone of her own: she types and reads times in the center's (Los Angeles).
        assert "This is the Mediation session" in page.text and "Meeting Start Time (America/Los_Angeles)" in page.text
        added = await mona.post(calendar, event_form(title="Conference Call", meeting_type="Phone", location="Dial 555-0100"))
        assert added.status_code == 303, added.text
        assert added.headers["location"].startswith(calendar)

    async with web.sessions() as session:
        event = (await session.execute(select(CalendarEvent).where(CalendarEvent.case_id == s.case_id))).scalar_one()
    assert event.sequence == 0 and event.created_by_id == s.mona.id

    async with web.browser() as katy:
        await katy.login(s.katy.email)
        page = await katy.get(calendar)
        assert page.status_code == 200
        for shown in (
            "Conference Call",
            "Phone",
            "Dial 555-0100",
            "Aug 24, 2024 1:00 PM PDT",
            "Aug 24, 2024 4:00 PM PDT",
            "Total hours : 3",
            "Total session : 1",
        ):
            assert shown in page.text, shown
        assert f'href="/cases/{s.case_id}/calendar/{event.id}.ics"' in page.text
        # A party reads the calendar but has no form to change it.
        assert 'name="title"' not in page.text and "/edit" not in page.text
        home = await katy.get(f"/cases/{s.case_id}")
        my_calendar = home.text.split('id="my-calendar"', 1)[1].split("</section>", 1)[0]
        assert "Conference Call" in my_calendar and "No events scheduled" not in my_calendar

        listed = await katy.api("GET", f"/api/v1/cases/{s.case_id}/calendar")
        assert listed.status_code == 200
        body = listed.json()
        assert body["total_sessions"] == 1 and body["total_hours"] == 3.0 and body["can_edit"] is False
        assert body["events"][0]["title"] == "Conference Call" and body["events"][0]["starts_at"].startswith("2024-08-24T20:00:00")
        assert body["events"][0]["ics_url"] == f"/cases/{s.case_id}/calendar/{event.id}.ics"

        # A party cannot add or change events, by form or JSON.
        assert (await katy.post(calendar, event_form(title="Katy's meeting"))).status_code == 403
        assert (await katy.get(f"{calendar}/{event.id}/edit")).status_code == 403
        assert (await katy.post(f"{calendar}/{event.id}", event_form(title="Moved"))).status_code == 403
        refused = await katy.api(
            "POST", f"/api/v1/cases/{s.case_id}/calendar", {"title": "x", "starts_at": "2024-08-25T10:00:00Z", "ends_at": "2024-08-25T11:00:00Z"}
        )
        assert refused.status_code == 403 and "mediator or center staff" in refused.json()["detail"]
    assert await event_count(web, s.case_id) == 1

    for person in (s.katy, s.taylor):
        mails = await eventually(lambda p=person: web.outbox(to=p.email, subject_starts="New calendar event"))
        assert len(mails) == 1
        mail = mails[0]
        assert "Conference Call" in mail.subject and ADDRESS in mail.subject
        assert f"/cases/{s.case_id}/calendar/{event.id}.ics" in mail.text_body and "August 24, 2024 at 1:00 PM PDT" in mail.text_body
    await eventually(lambda: _all_sent(web, "New calendar event"))
    assert await web.outbox(to=s.mona.email, subject_starts="New calendar event") == []


async def _all_sent(web, subject: str) -> bool:
    mails = await web.outbox(subject_starts=subject)
    return bool(mails) and all(m.status == "sent" for m in mails)


async def test_end_before_start_and_missing_times_are_refused_with_messages(web):
    s = await accepted_case(web)
    calendar = f"/cases/{s.case_id}/calendar"
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(calendar)
        page = await mona.post(calendar, event_form(title="Backwards", starts_at="2024-08-24T16:00", ends_at="2024-08-24T13:00"))
        assert page.status_code == 422
        assert "The meeting must end after it starts." in page.text
        # What was typed is kept.
        assert 'value="Backwards"' in page.text and 'value="2024-08-24T16:00"' in page.text

        page = await mona.post(calendar, event_form(starts_at="", ends_at="tomorrow", meeting_type="Carrier pigeon", title=""))
        assert page.status_code == 422
        for message in ("Give the meeting a title.", "Enter the meeting start time", "Enter the meeting end time", "Choose the meeting type"):
            assert message in page.text, message

        same = await mona.api(
            "POST", f"/api/v1/cases/{s.case_id}/calendar", {"title": "x", "starts_at": "2024-08-24T13:00:00Z", "ends_at": "2024-08-24T13:00:00Z"}
        )
        assert same.status_code == 422 and same.json()["errors"] == {"ends_at": "The meeting must end after it starts."}
        missing = await mona.api("POST", f"/api/v1/cases/{s.case_id}/calendar", {"title": "x"})
        assert missing.status_code == 422 and missing.json()["errors"]["starts_at"].startswith("Enter the meeting start time")
    assert await event_count(web, s.case_id) == 0
    assert await web.outbox(subject_starts="New calendar event") == []


async def test_totals_ics_files_and_sequence_on_edit(web):
    s = await accepted_case(web)
    calendar = f"/cases/{s.case_id}/calendar"
    long_notes = "Parking, on level 3; ask for the mediation room.\nBring: ID " + "é" * 60
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(calendar)
        first = await mona.api(
            "POST",
            f"/api/v1/cases/{s.case_id}/calendar",
            {"title": "Pre-mediation call, parties", "starts_at": "2024-09-20T13:45:00Z", "ends_at": "2024-09-20T15:15:00Z", "meeting_type": "Phone"},
        )
        assert first.status_code == 201, first.text
        second = await mona.api(
            "POST",
            f"/api/v1/cases/{s.case_id}/calendar",
            {
                "title": "Site visit",
                "starts_at": "2024-09-10T09:00",
                "ends_at": "2024-09-10T11:00",
                "meeting_type": "In person",
                "location": "Room 4; 2nd floor, 1234 Music Way",
                "notes": long_notes,
            },
        )
        assert second.status_code == 201, second.text
        visit = second.json()
        # Without an offset, 09:00 is read in the sender's zone (the center's, Los Angeles, in September PDT).
        assert visit["sequence"] == 0 and visit["starts_at"].startswith("2024-09-10T16:00:00")

        listed = (await mona.api("GET", f"/api/v1/cases/{s.case_id}/calendar")).json()
        assert listed["total_sessions"] == 2 and listed["total_hours"] == 3.5 and listed["can_edit"] is True
        # Ordered by start: the site visit comes first although it was added second.
        assert [e["title"] for e in listed["events"]] == ["Site visit", "Pre-mediation call, parties"]
        page = await mona.get(calendar)
        assert "Total hours : 3.5" in page.text and "Total session : 2" in page.text

        whole = await mona.get(f"{calendar}.ics")
        assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/calendar")
        ics = whole.content.decode("utf-8")
        assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")
        assert "\n" not in ics.replace("\r\n", "")
        assert all(len(line.encode("utf-8")) <= 75 for line in ics.split("\r\n"))
        lines = unfold(ics)
        assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
        assert lines.count("BEGIN:VEVENT") == 2 and lines.count("END:VEVENT") == 2
        starts = [line for line in lines if line.startswith("DTSTART:")]
        assert starts == ["DTSTART:20240910T160000Z", "DTSTART:20240920T134500Z"]
        assert all(re.fullmatch(r"DT(START|END|STAMP):\d{8}T\d{6}Z", line) for line in lines if line.startswith(("DTSTART", "DTEND", "DTSTAMP")))
        assert "SUMMARY:Pre-mediation call\\, parties" in lines
        assert "LOCATION:Room 4\\; 2nd floor\\, 1234 Music Way" in lines
        description = next(line for line in lines if line.startswith("DESCRIPTION:") and "Parking" in line)
        assert description.startswith("DESCRIPTION:Parking\\, on level 3\\; ask for the mediation room.\\nBring: ID " + "é" * 60)
        uids = [line for line in lines if line.startswith("UID:")]
        assert len(set(uids)) == 2
        # What a calendar program reads back.
        parsed = Calendar.from_ical(whole.content)
        events = {str(e["SUMMARY"]): e for e in parsed.walk("VEVENT")}
        assert set(events) == {"Site visit", "Pre-mediation call, parties"}
        visit_event = events["Site visit"]
        assert visit_event.decoded("DTSTART") == datetime(2024, 9, 10, 16, tzinfo=UTC)
        assert visit_event.decoded("DTEND") == datetime(2024, 9, 10, 18, tzinfo=UTC)
        assert str(visit_event["LOCATION"]) == "Room 4; 2nd floor, 1234 Music Way" and "URL" not in visit_event
        assert str(visit_event["DESCRIPTION"]).startswith(long_notes + f"\n\nCase {s.case_id}: ")
        assert visit_event["CATEGORIES"].cats == ["In person"] and str(visit_event["STATUS"]) == "CONFIRMED" and visit_event["SEQUENCE"] == 0
        assert {str(e["UID"]) for e in events.values()} == {u.removeprefix("UID:") for u in uids}

        one = await mona.get(f"{calendar}/{visit['id']}.ics")
        assert one.status_code == 200 and one.headers["content-type"].startswith("text/calendar")
        one_lines = unfold(one.text)
        assert one_lines.count("BEGIN:VEVENT") == 1 and "SEQUENCE:0" in one_lines
        uid = next(line for line in one_lines if line.startswith("UID:"))

        edit = await mona.get(f"{calendar}/{visit['id']}/edit")
        assert edit.status_code == 200 and 'value="2024-09-10T09:00"' in edit.text and "Site visit" in edit.text
        changed = await mona.post(
            f"{calendar}/{visit['id']}",
            event_form(title="Site visit", starts_at="2024-09-11T09:00", ends_at="2024-09-11T12:00", meeting_type="In person", location="Room 5", notes=""),
        )
        assert changed.status_code == 303, changed.text
        again = unfold((await mona.get(f"{calendar}/{visit['id']}.ics")).text)
        assert "SEQUENCE:1" in again and uid in again and "DTSTART:20240911T160000Z" in again and "LOCATION:Room 5" in again
        (changed_event,) = Calendar.from_ical((await mona.get(f"{calendar}/{visit['id']}.ics")).content).walk("VEVENT")
        assert changed_event["SEQUENCE"] == 1 and changed_event.decoded("DTEND") == datetime(2024, 9, 11, 19, tzinfo=UTC)

        put = await mona.api(
            "PUT",
            f"/api/v1/cases/{s.case_id}/calendar/{visit['id']}",
            {"title": "Site visit", "starts_at": "2024-09-11T10:00:00+01:00", "ends_at": "2024-09-11T12:00:00Z", "meeting_type": "In person"},
        )
        assert put.status_code == 200 and put.json()["sequence"] == 2 and put.json()["starts_at"].startswith("2024-09-11T09:00:00")
        assert (
            await mona.api("PUT", f"/api/v1/cases/{s.case_id}/calendar/999999", {"title": "x", "starts_at": "2024-09-11T10:00", "ends_at": "2024-09-11T11:00"})
        ).status_code == 404
        hours = (await mona.api("GET", f"/api/v1/cases/{s.case_id}/calendar")).json()["total_hours"]
        assert hours == 4.5

    updated = await eventually(lambda: web.outbox(to=s.katy.email, subject_starts="Calendar event updated"))
    assert len(updated) >= 1 and "has been updated" in updated[0].text_body and "Room 5" in updated[0].text_body
    assert len(await eventually(lambda: _at_least(2, web.outbox(to=s.taylor.email, subject_starts="Calendar event updated")))) == 2
    keys = {m.idempotency_key for m in await web.outbox(to=s.katy.email)}
    assert {f"calendar/{visit['id']}/{n}:{s.katy.id}" for n in (0, 1, 2)} <= keys


async def _at_least(n: int, found):
    result = await found
    return result if len(result) >= n else None


async def test_mediation_event_schedules_the_case_and_needs_an_accepted_mediator(web):
    s = await case_in_ranking(web)
    calendar = f"/cases/{s.case_id}/calendar"
    async with web.browser() as staff:
        await staff.login(s.staff.email)
        await staff.get(calendar)
        refused = await staff.post(calendar, event_form(is_mediation="on"))
        assert refused.status_code == 409 and NOT_ACCEPTED in refused.text
        assert 'value="Mediation"' in refused.text
        assert (
            await staff.api(
                "POST",
                f"/api/v1/cases/{s.case_id}/calendar",
                {"title": "Mediation", "starts_at": "2024-08-24T13:00", "ends_at": "2024-08-24T16:00", "is_mediation": True},
            )
        ).status_code == 409
    assert await event_count(web, s.case_id) == 0
    assert (await wait_for_stage(web.client, web.settings, s.case_id, "ranking")).mediation_scheduled is False

    await accept(web, s)
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(calendar)
        added = await mona.post(calendar, event_form(is_mediation="on"))
        assert added.status_code == 303, added.text
        current = await wait_for_stage(web.client, web.settings, s.case_id, "scheduled")
        assert current.mediation_scheduled
        # A further Mediation session (a second day) is kept although the case is already scheduled.
        second = await mona.post(calendar, event_form(is_mediation="on", starts_at="2024-08-25T13:00", ends_at="2024-08-25T16:00"))
        assert second.status_code == 303, second.text
        page = await mona.get(calendar)
        assert page.text.count("Mediation session</span>") == 2
    assert await event_count(web, s.case_id) == 2
    mail = await eventually(lambda: web.outbox(to=s.katy.email, subject_starts="New calendar event: Mediation"))
    assert "This is the Mediation session." in mail[0].text_body
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        whole = await katy.get(f"{calendar}.ics")
        mediation = Calendar.from_ical(whole.content).walk("VEVENT")
        assert len(mediation) == 2 and all(str(e["DESCRIPTION"]).startswith("This is the Mediation session.") for e in mediation)
        # An online meeting's bare link is also the event's URL.
        assert {str(e["URL"]) for e in mediation} == {"https://zoom.example.com/j/123"}


async def test_people_not_on_the_case_get_404(web):
    s = await accepted_case(web)
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(f"/cases/{s.case_id}/calendar")
        assert (await mona.post(f"/cases/{s.case_id}/calendar", event_form())).status_code == 303
    async with web.sessions() as session:
        event_id = await session.scalar(select(CalendarEvent.id).where(CalendarEvent.case_id == s.case_id))

    async with web.browser() as ozzy:
        await ozzy.login(s.outsider.email)
        for url in (
            f"/cases/{s.case_id}/calendar",
            f"/cases/{s.case_id}/calendar.ics",
            f"/cases/{s.case_id}/calendar/{event_id}.ics",
            f"/cases/{s.case_id}/calendar/{event_id}/edit",
            f"/api/v1/cases/{s.case_id}/calendar",
        ):
            assert (await ozzy.get(url)).status_code == 404, url
        assert (
            await ozzy.api(
                "PUT", f"/api/v1/cases/{s.case_id}/calendar/{event_id}", {"title": "x", "starts_at": "2024-09-11T10:00", "ends_at": "2024-09-11T11:00"}
            )
        ).status_code == 404
        # Someone who cannot see the case learns nothing from the forms either.
        await ozzy.get("/cases")
        assert (await ozzy.post(f"/cases/{s.case_id}/calendar", event_form())).status_code == 404

    async with web.browser() as anonymous:
        assert (await anonymous.get(f"/cases/{s.case_id}/calendar.ics")).status_code == 303
        assert (await anonymous.get(f"/api/v1/cases/{s.case_id}/calendar")).status_code == 401

    async with web.browser() as staff:
        await staff.login(s.staff.email)
        assert (await staff.get(f"/cases/{s.case_id}/calendar/{event_id}.ics")).status_code == 200
        page = await staff.get(f"/cases/{s.case_id}/calendar")
        assert page.status_code == 200 and f"/calendar/{event_id}/edit" in page.text


async def test_the_form_and_the_json_api_keep_the_same_limits_in_the_same_words(web):
    s = await accepted_case(web)
    calendar = f"/cases/{s.case_id}/calendar"
    api = f"/api/v1/cases/{s.case_id}/calendar"
    refused = [
        ("title", "T" * 201, "Keep the title to 200 characters (it has 201)."),
        ("title", "   ", "Give the meeting a title."),
        ("location", "L" * 301, "Keep the room or link to 300 characters (it has 301)."),
        ("notes", "N" * 5001, "Keep the notes to 5,000 characters (it has 5,001)."),
        ("meeting_type", "Carrier pigeon", "Choose the meeting type: Online, In person or Phone."),
    ]
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(calendar)
        for name, value, message in refused:
            page = await mona.post(calendar, event_form(**{name: value}))
            assert page.status_code == 422 and f'<p class="error" id="{name}-error">{message}</p>' in page.text, name
            assert f'aria-describedby="{name}-error' in page.text, name
            body = {"title": "Call", "starts_at": "2024-08-24T13:00", "ends_at": "2024-08-24T14:00", name: value}
            sent = await mona.api("POST", api, body)
            assert sent.status_code == 422 and sent.json()["errors"] == {name: message}, (name, sent.text)
        # One line of text, as typed in one box: the spaces and line breaks of a pasted title are tidied the same way.
        tidy = await mona.api("POST", api, {"title": "  Pre-mediation\n   call ", "starts_at": "2024-08-24T13:00", "ends_at": "2024-08-24T14:00"})
        assert tidy.status_code == 201 and tidy.json()["title"] == "Pre-mediation call"
        page = await mona.post(calendar, event_form(title="  Site \t visit  "))
        assert page.status_code == 303
        listed = (await mona.api("GET", api)).json()["events"]
        assert sorted(e["title"] for e in listed) == ["Pre-mediation call", "Site visit"]
        # Extremes: 200 characters are enough, an unknown field is refused by the API.
        assert (await mona.api("POST", api, {"title": "T" * 200, "starts_at": "2024-08-25T13:00", "ends_at": "2024-08-25T14:00"})).status_code == 201
        assert (await mona.api("POST", api, {"title": "x", "starts_at": "2024-08-25T13:00", "ends_at": "2024-08-25T14:00", "colour": "red"})).status_code == 422
    assert await event_count(web, s.case_id) == 3
