"""Local time over HTTP: every time is typed and read in the viewer's own zone (their profile's, or the center's),
named; emails are written in the recipient's zone; the .ics files hold the right moment; the database keeps UTC.

The center here works in Chicago, so a person without a zone of their own is told apart from Mona, the mediator,
who lives in Los Angeles, and Katy, who lives in New York. Dates are chosen on both sides of daylight saving time:
July 15, 2026 (PDT, CDT, EDT) and December 3, 2026 (PST, CST, EST).
"""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core.db.models import CalendarEvent, Case, Message, Person
from core.db.session import transaction
from core.settings import SettingsError, get_settings
from core.time import as_utc
from tests.support import eventually
from tests.test_calendar import Setup, accept, case_in_ranking, event_form

CENTER = "America/Chicago"
PACIFIC = "America/Los_Angeles"
EASTERN = "America/New_York"
UNKNOWN_ZONE = "is not a time zone we know"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"center_time_zone": CENTER})


async def set_zone(web, person: Person, zone: str | None) -> None:
    async with transaction(web.sessions) as session:
        (await session.get(Person, person.id)).time_zone = zone


async def zoned_case(web, accepted: bool = True) -> Setup:
    """Katy against Taylor with Mona as mediator: Mona in Los Angeles, Katy in New York, Taylor and staff with no zone."""
    s = await case_in_ranking(web)
    await set_zone(web, s.mona, PACIFIC)
    await set_zone(web, s.katy, EASTERN)
    if accepted:
        await accept(web, s)
    return s


def spelled(moment: datetime, zone: str) -> str:
    """A moment as a sentence says it in `zone`, written out independently of the code under test."""
    local = as_utc(moment).astimezone(ZoneInfo(zone))
    hour = local.hour % 12 or 12
    return f"{local:%B} {local.day}, {local.year} at {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}"


async def stored(web, case_id: int, title: str) -> CalendarEvent:
    async with web.sessions() as session:
        return (await session.execute(select(CalendarEvent).where(CalendarEvent.case_id == case_id, CalendarEvent.title == title))).scalar_one()


# ---- the calendar ------------------------------------------------------------------------------------


@pytest.mark.both_databases
async def test_a_pacific_mediator_types_local_times_stored_in_utc_and_each_person_reads_their_own(web):
    s = await zoned_case(web)
    calendar = f"/cases/{s.case_id}/calendar"
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        page = await mona.get(calendar)
        assert "Meeting Start Time (America/Los_Angeles)" in page.text and "When (times in America/Los_Angeles)" in page.text
        summer = await mona.post(calendar, event_form(title="Summer session", starts_at="2026-07-15T09:00", ends_at="2026-07-15T11:00"))
        assert summer.status_code == 303, summer.text
        winter = await mona.post(calendar, event_form(title="Winter session", starts_at="2026-12-03T09:00", ends_at="2026-12-03T10:30"))
        assert winter.status_code == 303, winter.text

        # 9:00 in Los Angeles is 16:00 UTC in daylight time, 17:00 UTC in standard time.
        summer_event, winter_event = await stored(web, s.case_id, "Summer session"), await stored(web, s.case_id, "Winter session")
        assert as_utc(summer_event.starts_at) == datetime(2026, 7, 15, 16, tzinfo=UTC)
        assert as_utc(summer_event.ends_at) == datetime(2026, 7, 15, 18, tzinfo=UTC)
        assert as_utc(winter_event.starts_at) == datetime(2026, 12, 3, 17, tzinfo=UTC)
        assert as_utc(winter_event.ends_at) == datetime(2026, 12, 3, 18, 30, tzinfo=UTC)

        page = await mona.get(calendar)
        assert "Jul 15, 2026 9:00 AM PDT" in page.text and "Dec 3, 2026 9:00 AM PST" in page.text
        edit = await mona.get(f"{calendar}/{winter_event.id}/edit")
        assert 'value="2026-12-03T09:00"' in edit.text and 'value="2026-12-03T10:30"' in edit.text

        # The JSON API keeps answering in UTC.
        events = {e["title"]: e for e in (await mona.api("GET", f"/api/v1/cases/{s.case_id}/calendar")).json()["events"]}
        assert datetime.fromisoformat(events["Summer session"]["starts_at"]) == datetime(2026, 7, 15, 16, tzinfo=UTC)
        assert events["Winter session"]["starts_at"].startswith("2026-12-03T17:00:00") and events["Winter session"]["starts_at"].endswith(("Z", "+00:00"))

    async with web.browser() as katy:
        await katy.login(s.katy.email)
        page = await katy.get(calendar)
        assert "Jul 15, 2026 12:00 PM EDT" in page.text and "Jul 15, 2026 2:00 PM EDT" in page.text
        assert "Dec 3, 2026 12:00 PM EST" in page.text and "Dec 3, 2026 1:30 PM EST" in page.text
        assert "your time zone, America/New_York" in page.text
        home = await katy.get(f"/cases/{s.case_id}")
        my_calendar = home.text.split('id="my-calendar"', 1)[1].split("</section>", 1)[0]
        assert "Jul 15, 2026 12:00 PM EDT" in my_calendar and "UTC" not in my_calendar

    async with web.browser() as taylor:
        # No zone of her own: the center's.
        await taylor.login(s.taylor.email)
        page = await taylor.get(calendar)
        assert "Jul 15, 2026 11:00 AM CDT" in page.text and "Dec 3, 2026 11:00 AM CST" in page.text
        assert "your time zone, America/Chicago" in page.text

    # The .ics files carry the moment itself, in UTC, which every calendar program shows in its owner's zone.
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        ics = await katy.get(f"{calendar}.ics")
        assert "TZID" not in ics.text
        parsed = {str(e["SUMMARY"]): e for e in Calendar.from_ical(ics.content).walk("VEVENT")}
        assert parsed["Summer session"].decoded("DTSTART") == datetime(2026, 7, 15, 16, tzinfo=UTC)
        assert parsed["Summer session"].decoded("DTEND") == datetime(2026, 7, 15, 18, tzinfo=UTC)
        assert parsed["Winter session"].decoded("DTSTART") == datetime(2026, 12, 3, 17, tzinfo=UTC)
        (one,) = Calendar.from_ical((await katy.get(f"{calendar}/{winter_event.id}.ics")).content).walk("VEVENT")
        assert one.decoded("DTSTART").astimezone(ZoneInfo(EASTERN)) == datetime(2026, 12, 3, 12, tzinfo=ZoneInfo(EASTERN))


async def test_calendar_emails_are_written_in_each_recipients_zone(web):
    s = await zoned_case(web)
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(f"/cases/{s.case_id}/calendar")
        added = await mona.post(f"/cases/{s.case_id}/calendar", event_form(title="Mediation day", starts_at="2026-12-03T09:00", ends_at="2026-12-03T12:00"))
        assert added.status_code == 303, added.text
    (katy_mail,) = await eventually(lambda: web.outbox(to=s.katy.email, subject_starts="New calendar event"))
    (taylor_mail,) = await eventually(lambda: web.outbox(to=s.taylor.email, subject_starts="New calendar event"))
    for body in (katy_mail.text_body, katy_mail.html_body):
        assert "December 3, 2026 at 12:00 PM EST" in body and "December 3, 2026 at 3:00 PM EST" in body
    for body in (taylor_mail.text_body, taylor_mail.html_body):
        assert "December 3, 2026 at 11:00 AM CST" in body and "December 3, 2026 at 2:00 PM CST" in body
    assert "UTC" not in katy_mail.text_body + taylor_mail.text_body


async def test_deadlines_on_pages_and_in_emails_are_in_each_persons_zone(web):
    s = await zoned_case(web, accepted=False)
    async with web.sessions() as session:
        deadline = (await session.get(Case, s.case_id)).stage_deadline
    assert deadline is not None
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        assert spelled(deadline, EASTERN) in (await katy.get(f"/cases/{s.case_id}")).text
        assert spelled(deadline, EASTERN) in (await katy.get(f"/cases/{s.case_id}/ranking")).text
    async with web.browser() as taylor:
        await taylor.login(s.taylor.email)
        assert spelled(deadline, CENTER) in (await taylor.get(f"/cases/{s.case_id}")).text
    async with web.browser() as staff:
        await staff.login(s.staff.email)
        assert spelled(deadline, CENTER) in (await staff.get(f"/staff/cases/{s.case_id}")).text
        extended = await staff.post(f"/staff/cases/{s.case_id}/extend", {"amount": "1", "unit": "days"})
        notice = await staff.notice(extended)
        async with web.sessions() as session:
            later = (await session.get(Case, s.case_id)).stage_deadline
        assert f"new deadline {spelled(later, CENTER)}" in notice

    # The mediator's conflict-check request gives her answer-by time in Los Angeles time.
    await accept(web, s)
    (request,) = await eventually(lambda: web.outbox(to=s.mona.email, subject_starts="Conflict check"))
    zone_names = re.findall(r"at \d{1,2}:\d\d [AP]M ([A-Z]{3})", request.text_body)
    assert zone_names and set(zone_names) <= {"PST", "PDT"}, request.text_body


async def test_a_json_time_with_an_offset_is_that_moment_and_one_without_is_in_the_senders_zone(web):
    s = await zoned_case(web)
    api = f"/api/v1/cases/{s.case_id}/calendar"
    await set_zone(web, s.staff, EASTERN)
    async with web.browser() as staff:
        await staff.login(s.staff.email)
        await staff.get(f"/cases/{s.case_id}/calendar")
        offset = await staff.api("POST", api, {"title": "Offset", "starts_at": "2026-07-15T09:00:00-07:00", "ends_at": "2026-07-15T10:00:00-07:00"})
        assert offset.status_code == 201 and datetime.fromisoformat(offset.json()["starts_at"]) == datetime(2026, 7, 15, 16, tzinfo=UTC)
        wall = await staff.api("POST", api, {"title": "Wall clock", "starts_at": "2026-07-15T09:00", "ends_at": "2026-07-15T10:00"})
        assert wall.status_code == 201 and datetime.fromisoformat(wall.json()["starts_at"]) == datetime(2026, 7, 15, 13, tzinfo=UTC)
        # A wall-clock end before an offset start is caught once both are placed.
        backwards = await staff.api("POST", api, {"title": "Backwards", "starts_at": "2026-07-15T17:00:00Z", "ends_at": "2026-07-15T12:30"})
        assert backwards.status_code == 422 and backwards.json()["errors"] == {"ends_at": "The meeting must end after it starts."}


async def test_times_daylight_saving_skips_are_refused_and_repeated_ones_read_as_the_first(web):
    s = await zoned_case(web)
    calendar = f"/cases/{s.case_id}/calendar"
    async with web.browser() as mona:
        await mona.login(s.mona.email)
        await mona.get(calendar)
        # Los Angeles clocks go from 2:00 to 3:00 AM on March 8, 2026: 2:30 AM never happens there.
        skipped = await mona.post(calendar, event_form(title="Too early", starts_at="2026-03-08T02:30", ends_at="2026-03-08T04:00"))
        assert skipped.status_code == 422
        assert '<p class="error" id="starts_at-error">2:30 AM on March 8, 2026 does not exist in America/Los_Angeles' in skipped.text
        assert 'value="2026-03-08T02:30"' in skipped.text
        by_api = await mona.api("POST", f"/api/v1/cases/{s.case_id}/calendar", {"title": "x", "starts_at": "2026-03-08T01:00", "ends_at": "2026-03-08T02:15"})
        assert by_api.status_code == 422 and "does not exist in America/Los_Angeles" in by_api.json()["errors"]["ends_at"]
        # On November 1, 2026 1:30 AM happens twice: the first time (still PDT, 08:30 UTC) is meant.
        repeated = await mona.api(
            "POST", f"/api/v1/cases/{s.case_id}/calendar", {"title": "Night", "starts_at": "2026-11-01T01:30", "ends_at": "2026-11-01T03:00"}
        )
        assert repeated.status_code == 201, repeated.text
        assert datetime.fromisoformat(repeated.json()["starts_at"]) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
        assert datetime.fromisoformat(repeated.json()["ends_at"]) == datetime(2026, 11, 1, 11, tzinfo=UTC)
    async with web.sessions() as session:
        titles = set((await session.execute(select(CalendarEvent.title).where(CalendarEvent.case_id == s.case_id))).scalars())
    assert titles == {"Night"}


# ---- messages and other times on pages ---------------------------------------------------------------


async def test_case_home_message_times_are_in_the_viewers_zone(web):
    s = await zoned_case(web, accepted=False)
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        await katy.get(f"/cases/{s.case_id}")
        assert (await katy.post(f"/cases/{s.case_id}/messages", {"body": "Late-night thought"})).status_code == 303
    # Pin the message to a known moment: 03:30 UTC on December 4 is still December 3 in the United States.
    async with transaction(web.sessions) as session:
        message = (await session.execute(select(Message).where(Message.case_id == s.case_id))).scalar_one()
        message.created_at = datetime(2026, 12, 4, 3, 30, tzinfo=UTC)
    expected = {s.katy: "Dec 3, 2026 10:30 PM EST", s.taylor: "Dec 3, 2026 9:30 PM CST", s.staff: "Dec 3, 2026 9:30 PM CST"}
    for person, shown in expected.items():
        async with web.browser() as b:
            await b.login(person.email)
            page = (await b.get(f"/cases/{s.case_id}")).text
            assert f"Created by : Katy Perry · {shown}" in page, person.email
    await set_zone(web, s.taylor, "UTC")
    async with web.browser() as taylor:
        await taylor.login(s.taylor.email)
        assert "Created by : Katy Perry · Dec 4, 2026 3:30 AM UTC" in (await taylor.get(f"/cases/{s.case_id}")).text


# ---- My Profile and the center's setting ---------------------------------------------------------------


@pytest.mark.both_databases
async def test_a_person_chooses_their_zone_on_my_profile_and_an_unknown_one_is_refused_next_to_the_field(web):
    katy = await web.person("katy@example.com", "Katy Perry")
    async with web.browser() as b:
        await b.login(katy.email)
        page = (await b.get("/profile")).text
        # The center's zone is the default; the common US zones come before the world's.
        assert '<option value="" selected>The center\'s time zone (America/Chicago)</option>' in page.replace("&#39;", "'")
        assert page.index('value="America/Los_Angeles"') < page.index('value="America/New_York"') < page.index('value="Africa/Abidjan"')

        refused = await b.post("/profile", {"full_name": "Katy Perry", "email": katy.email, "time_zone": "Mars/Olympus_Mons"})
        assert refused.status_code == 422
        assert f'<p class="error" id="time_zone-error">“Mars/Olympus_Mons” {UNKNOWN_ZONE}' in refused.text
        assert 'aria-invalid="true" aria-describedby="time_zone-hint time_zone-error"' in refused.text or (
            'aria-describedby="time_zone-hint time_zone-error" aria-invalid="true"' in refused.text
        )
        saved = await b.post("/profile", {"full_name": "Katy Perry", "email": katy.email, "time_zone": EASTERN})
        assert saved.status_code == 303, saved.text
        assert f'<option value="{EASTERN}" selected>' in (await b.get("/profile")).text

        for hostile in ("Nowhere/Special", "../../etc/passwd", "localtime", "x" * 65):
            sent = await b.api("PUT", "/api/v1/profile", {"time_zone": hostile})
            assert sent.status_code == 422 and "time_zone" in sent.json()["errors"], (hostile, sent.text)
        assert (await b.api("GET", "/api/v1/profile")).json()["time_zone"] == EASTERN
        # The IANA spelling is kept whatever the case typed; empty goes back to the center's.
        assert (await b.api("PUT", "/api/v1/profile", {"time_zone": "america/los_angeles"})).json()["time_zone"] == PACIFIC
        assert (await b.api("PUT", "/api/v1/profile", {"city": "Santa Barbara"})).json()["time_zone"] == PACIFIC
        assert (await b.api("PUT", "/api/v1/profile", {"time_zone": ""})).json()["time_zone"] is None
    async with web.sessions() as session:
        assert (await session.get(Person, katy.id)).time_zone is None


def test_an_unknown_center_time_zone_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("MEDIATION_CENTER_TIME_ZONE", "Pacific/Atlantis")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as problem:
            get_settings()
        monkeypatch.setenv("MEDIATION_CENTER_TIME_ZONE", "america/denver")
        get_settings.cache_clear()
        assert get_settings().center_time_zone == "America/Denver"
    finally:
        get_settings.cache_clear()
    assert "MEDIATION_CENTER_TIME_ZONE='Pacific/Atlantis'" in str(problem.value) and "America/Los_Angeles" in str(problem.value)
