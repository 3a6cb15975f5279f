"""Discussions over HTTP: the mediator opens them, caucus rooms stay private, attachments follow the room,
and a burst of messages becomes one digest email per member."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from temporalio import activity
from temporalio.worker import Worker

from activities.types import Notification
from core.db.models import Case, Participant, Person
from core.db.session import transaction
from features.accounts.security import hash_password
from tests.support import emails, eventually, handle, make_case, make_center, wait_for_stage
from tests.web_support import PASSWORD
from workflows.case import CaseWorkflow
from workflows.discussion_digest import DigestRequest, DiscussionDigestWorkflow
from workflows.types import CaseClosure, ConflictDecision, IntakeDecision, MediatorMilestone, RankingSubmission

ADDRESS = "742 Evergreen Terrace, Springfield, CA 90210"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class Setup:
    case_id: int
    staff: Person
    mediator: Person
    katy: Person
    taylor: Person


async def accepted_case(web) -> Setup:
    """A filed case driven through its workflow until Mediator 1 accepts; everyone gets the test password."""
    center = await make_center(web.sessions, mediators=3)
    m1, m2, m3 = (m.id for m in center.mediators)
    case_id, ids = await make_case(web.sessions, web.client, web.settings, address=ADDRESS)
    wf = handle(web.client, web.settings, case_id)
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
    await wait_for_stage(web.client, web.settings, case_id, "ranking")
    for party in ids.values():
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=party, party_id=party, ranked=[m1, m2, m3], eliminated=[]))
    await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=m1, accept=True))
    await wait_for_stage(web.client, web.settings, case_id, "accepted")

    async def mediator_on_case():
        async with web.sessions() as session:
            case = await session.get(Case, case_id)
            joined = await session.execute(select(Participant.id).where(Participant.case_id == case_id, Participant.person_id == m1))
            return case.mediator_id == m1 and joined.first() is not None

    await eventually(mediator_on_case)
    async with transaction(web.sessions) as session:
        await session.execute(update(Person).values(password_hash=hash_password(PASSWORD)))
    async with web.sessions() as session:
        people = {p.id: p for p in (await session.execute(select(Person))).scalars()}
    return Setup(case_id, center.staff, people[m1], people[ids["Katy Perry"]], people[ids["Taylor Swift"]])


async def open_by_mediator(web, s: Setup) -> int:
    """The mediator opens discussions from the tab; returns the joint room's id."""
    async with web.browser() as b:
        await b.login(s.mediator.email)
        await b.get(f"/cases/{s.case_id}/discussions")
        opened = await b.post(f"/cases/{s.case_id}/discussions/open")
        assert opened.status_code == 303, opened.text
        return int(opened.headers["location"].split("?")[0].rsplit("/", 1)[1])


async def caucus_with(web, s: Setup, member: Person, name: str = "Caucus with Katy") -> int:
    async with web.browser() as b:
        await b.login(s.mediator.email)
        await b.get(f"/cases/{s.case_id}/discussions")
        created = await b.post(f"/cases/{s.case_id}/discussions/rooms", {"name": name, "member_ids": [str(member.id)]})
        assert created.status_code == 303, created.text
        return int(created.headers["location"].split("?")[0].rsplit("/", 1)[1])


async def test_discussions_are_closed_until_the_mediator_opens_them(web):
    s = await accepted_case(web)
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        tab = await katy.get(f"/cases/{s.case_id}/discussions")
        assert tab.status_code == 200 and "Discussions are not open yet" in tab.text
        assert "Open discussions</button>" not in tab.text
        # A party cannot open them, by form or API.
        refused = await katy.post(f"/cases/{s.case_id}/discussions/open")
        assert refused.status_code == 403 and "mediator or center staff" in refused.text
        api = await katy.api("POST", f"/api/v1/cases/{s.case_id}/discussions/open")
        assert api.status_code == 403 and "mediator" in api.json()["detail"]
        assert (await katy.api("GET", f"/api/v1/cases/{s.case_id}/discussions")).json() == {"open": False, "can_manage": False, "rooms": []}

    async with web.browser() as mediator:
        await mediator.login(s.mediator.email)
        assert "Open discussions</button>" in (await mediator.get(f"/cases/{s.case_id}/discussions")).text
    joint = await open_by_mediator(web, s)

    for person in (s.katy, s.taylor, s.mediator, s.staff):
        async with web.browser() as b:
            await b.login(person.email)
            listing = (await b.api("GET", f"/api/v1/cases/{s.case_id}/discussions")).json()
            assert listing["open"] is True
            assert [(r["id"], r["kind"], r["name"]) for r in listing["rooms"]] == [(joint, "joint", "Joint discussion")]
            assert {m["id"] for m in listing["rooms"][0]["members"]} == {s.katy.id, s.taylor.id, s.mediator.id}
            assert (await b.get(f"/cases/{s.case_id}/discussions/rooms/{joint}")).status_code == 200

    # Opening again keeps the one joint room.
    async with web.browser() as staff:
        await staff.login(s.staff.email)
        again = (await staff.api("POST", f"/api/v1/cases/{s.case_id}/discussions/open")).json()
        assert [r["id"] for r in again["rooms"]] == [joint] and again["can_manage"] is True


@pytest.mark.both_storages
async def test_caucus_room_is_private_with_its_messages_and_attachments(web):
    s = await accepted_case(web)
    joint = await open_by_mediator(web, s)
    caucus = await caucus_with(web, s, s.katy)

    async with web.browser() as katy:
        await katy.login(s.katy.email)
        page = await katy.get(f"/cases/{s.case_id}/discussions/rooms/{caucus}")
        assert page.status_code == 200 and "Caucus with Katy" in page.text and "Mediator 1" in page.text
        posted = await katy.post(
            f"/cases/{s.case_id}/discussions/rooms/{caucus}/messages",
            {"body": "Between us: I would accept $40,000."},
            files={"attachment": ("offer.pdf", PDF, "application/pdf")},
        )
        assert posted.status_code == 303, posted.text
        messages = (await katy.api("GET", f"/api/v1/cases/{s.case_id}/discussions/rooms/{caucus}/messages")).json()
        assert [m["body"] for m in messages] == ["Between us: I would accept $40,000."]
        attachment = messages[0]["attachment"]
        assert attachment["file_name"] == "offer.pdf"
        download = attachment["download_url"]
        assert download == f"/cases/{s.case_id}/documents/{attachment['id']}/download"
        room = (await katy.get(f"/cases/{s.case_id}/discussions/rooms/{caucus}")).text
        assert "Between us: I would accept $40,000." in room and download in room

    # The attachment is in Documents, under Dialogue, for exactly the room's members (and staff).
    for person, sees in ((s.katy, True), (s.mediator, True), (s.staff, True), (s.taylor, False)):
        async with web.browser() as b:
            await b.login(person.email)
            listed = (await b.api("GET", f"/api/v1/cases/{s.case_id}/documents")).json()
            assert [(d["id"], d["category"], d["room_id"]) for d in listed] == ([(attachment["id"], "Dialogue", caucus)] if sees else [])
            assert ("offer.pdf" in (await b.get(f"/cases/{s.case_id}/documents")).text) is sees

    async with web.browser() as taylor:
        await taylor.login(s.taylor.email)
        listing = await taylor.get(f"/cases/{s.case_id}/discussions")
        assert "Joint discussion" in listing.text and "Caucus with Katy" not in listing.text
        api_rooms = (await taylor.api("GET", f"/api/v1/cases/{s.case_id}/discussions")).json()["rooms"]
        assert [r["id"] for r in api_rooms] == [joint]
        assert (await taylor.get(f"/cases/{s.case_id}/discussions/rooms/{caucus}")).status_code == 404
        assert (await taylor.api("GET", f"/api/v1/cases/{s.case_id}/discussions/rooms/{caucus}/messages")).status_code == 404
        sneaked = await taylor.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms/{caucus}/messages", {"body": "hello?"})
        assert sneaked.status_code == 404
        await taylor.get(f"/cases/{s.case_id}/discussions")
        form_post = await taylor.post(f"/cases/{s.case_id}/discussions/rooms/{caucus}/messages", {"body": "hello?"})
        assert form_post.status_code == 404
        hidden = await taylor.get(download)
        assert hidden.status_code == 404 and PDF not in hidden.content
        # A room of another case answers the same as a missing one.
        assert (await taylor.get(f"/cases/{s.case_id}/discussions/rooms/99999")).status_code == 404

    async with web.browser() as mediator:
        await mediator.login(s.mediator.email)
        fetched = await mediator.get(download)
        assert fetched.status_code == 200 and fetched.content == PDF
    async with web.browser() as staff:
        await staff.login(s.staff.email)
        assert [r["id"] for r in (await staff.api("GET", f"/api/v1/cases/{s.case_id}/discussions")).json()["rooms"]] == [joint, caucus]
        assert (await staff.get(f"/cases/{s.case_id}/discussions/rooms/{caucus}")).status_code == 200

    # Someone added to the case later is in the joint room at once, and still not in the caucus.
    async with transaction(web.sessions) as session:
        newcomer = Person(email="ivy.interested@example.com", full_name="Ivy Interested", password_hash=hash_password(PASSWORD))
        session.add(newcomer)
        await session.flush()
        session.add(Participant(case_id=s.case_id, person_id=newcomer.id, role="interested"))
    async with web.browser() as ivy:
        await ivy.login("ivy.interested@example.com")
        assert [r["id"] for r in (await ivy.api("GET", f"/api/v1/cases/{s.case_id}/discussions")).json()["rooms"]] == [joint]
        assert (await ivy.get(f"/cases/{s.case_id}/discussions/rooms/{joint}")).status_code == 200
        assert (await ivy.get(f"/cases/{s.case_id}/discussions/rooms/{caucus}")).status_code == 404


async def test_caucus_rooms_are_for_the_mediator_and_people_on_the_case(web):
    s = await accepted_case(web)
    outsider_id = (await web.person("ozzy@example.com", "Ozzy Outsider")).id
    async with web.browser() as mediator:
        await mediator.login(s.mediator.email)
        await mediator.get(f"/cases/{s.case_id}/discussions")
        early = await mediator.post(f"/cases/{s.case_id}/discussions/rooms", {"name": "Too soon", "member_ids": [str(s.katy.id)]})
        assert early.status_code == 409 and "Open discussions first" in early.text
    await open_by_mediator(web, s)

    async with web.browser() as mediator:
        await mediator.login(s.mediator.email)
        await mediator.get(f"/cases/{s.case_id}/discussions")
        stranger = await mediator.post(f"/cases/{s.case_id}/discussions/rooms", {"name": "Side deal", "member_ids": [str(outsider_id)]})
        assert stranger.status_code == 422 and "people on this case" in stranger.text and 'value="Side deal"' in stranger.text
        nobody = await mediator.post(f"/cases/{s.case_id}/discussions/rooms", {"name": "Alone"})
        assert nobody.status_code == 422 and "at least one person besides the mediator" in nobody.text
        created = await mediator.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms", {"name": "", "member_ids": [s.taylor.id]})
        assert created.status_code == 201
        room = created.json()
        assert room["kind"] == "caucus" and room["name"] == "Caucus with Taylor Swift"
        assert {m["id"] for m in room["members"]} == {s.mediator.id, s.taylor.id}
        bad = await mediator.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms", {"name": "x" * 121, "member_ids": [s.taylor.id]})
        assert bad.status_code == 422

    async with web.browser() as katy:
        await katy.login(s.katy.email)
        refused = await katy.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms", {"name": "Mine", "member_ids": [s.katy.id]})
        assert refused.status_code == 403
        assert "Create a private caucus room" not in (await katy.get(f"/cases/{s.case_id}/discussions")).text


@pytest.mark.both_storages
async def test_the_json_api_takes_attachments_with_the_same_rules_as_the_room_page(web):
    s = await accepted_case(web)
    await open_by_mediator(web, s)
    caucus = await caucus_with(web, s, s.katy)
    messages = f"/api/v1/cases/{s.case_id}/discussions/rooms/{caucus}/messages"
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        send = lambda data, files=None: katy.http.post(messages, data=data, files=files, headers={"X-CSRF-Token": katy.csrf})  # noqa: E731

        posted = await send({"body": "The signed offer, as promised."}, {"attachment": ("offer.pdf", PDF, "application/pdf")})
        assert posted.status_code == 201, posted.text
        message = posted.json()
        assert message["body"] == "The signed offer, as promised." and message["author_name"] == "Katy Perry"
        assert message["attachment"]["file_name"] == "offer.pdf" and message["attachment"]["size_bytes"] == len(PDF)
        assert datetime.fromisoformat(message["created_at"]).utcoffset() == timedelta(0)
        # With a file, the message itself may be empty; without one it may not, in either format.
        only_a_file = await send({"body": ""}, {"attachment": ("floor-plan.pdf", PDF, "application/pdf")})
        assert only_a_file.status_code == 201 and only_a_file.json()["body"] == ""
        # A form whose file input was left empty still sends the part, with no file name.
        nothing = await send({"body": "   "}, {"attachment": ("", b"", "application/octet-stream")})
        assert nothing.status_code == 422 and nothing.json()["errors"] == {"body": "Type a message or attach a file before sending."}
        assert (await katy.api("POST", messages, {"body": ""})).json()["errors"] == {"body": "Type a message or attach a file before sending."}
        # The same limits as the page: the file's content checked, the message's length counted.
        html = await send({"body": "see attached"}, {"attachment": ("evil.html", b"<script>alert(1)</script>", "text/html")})
        assert html.status_code == 422 and "cannot be uploaded" in html.json()["errors"]["attachment"]
        disguised = await send({"body": "see attached"}, {"attachment": ("offer.pdf", b"<script>alert(1)</script>", "application/pdf")})
        assert disguised.status_code == 422 and "not a valid .pdf file" in disguised.json()["errors"]["attachment"]
        too_long = await send({"body": "x" * 5001}, {"attachment": ("offer.pdf", PDF, "application/pdf")})
        assert too_long.status_code == 422 and too_long.json()["errors"] == {"body": "Keep a message to 5,000 characters (it has 5,001)."}
        as_text = await katy.http.post(messages, content=b"hello", headers={"Content-Type": "text/plain", "X-CSRF-Token": katy.csrf})
        assert as_text.status_code == 415

        listed = (await katy.api("GET", messages)).json()
        assert [(m["body"], m["attachment"]["file_name"]) for m in listed] == [("The signed offer, as promised.", "offer.pdf"), ("", "floor-plan.pdf")]
        openapi = (await katy.http.get("/openapi.json")).json()
        body = openapi["paths"]["/api/v1/cases/{case_id}/discussions/rooms/{room_id}/messages"]["post"]["requestBody"]["content"]
        assert set(body) == {"application/json", "multipart/form-data"}
        assert body["multipart/form-data"]["schema"]["properties"]["attachment"]["format"] == "binary"
        assert body["application/json"]["schema"]["properties"]["body"]["maxLength"] == 5000

    # The files are the room's: in Documents for its members only.
    for person, sees in ((s.katy, True), (s.mediator, True), (s.taylor, False)):
        async with web.browser() as b:
            await b.login(person.email)
            listed = (await b.api("GET", f"/api/v1/cases/{s.case_id}/documents")).json()
            assert sorted(d["file_name"] for d in listed) == (["floor-plan.pdf", "offer.pdf"] if sees else [])


async def test_a_refused_message_comes_back_with_the_problem_next_to_its_field(web):
    s = await accepted_case(web)
    joint = await open_by_mediator(web, s)
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        await katy.get(f"/cases/{s.case_id}/discussions/rooms/{joint}")
        refused = await katy.post(
            f"/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": "Here it is"}, files={"attachment": ("notes.txt", b"\x00\x01", "text/plain")}
        )
        assert refused.status_code == 422
        assert '<p class="error" id="attachment-error">The file&#39;s content is not a valid .txt file.</p>' in refused.text
        assert 'aria-invalid="true" aria-describedby="attachment-help attachment-error"' in refused.text and ">Here it is</textarea>" in refused.text
        rooms = (await katy.api("GET", f"/api/v1/cases/{s.case_id}/discussions")).json()["rooms"]
        assert rooms[0]["message_count"] == 0 and rooms[0]["last_message_at"] is None
    async with web.browser() as mediator:
        await mediator.login(s.mediator.email)
        await mediator.get(f"/cases/{s.case_id}/discussions")
        unnamed = await mediator.post(f"/cases/{s.case_id}/discussions/rooms", {"name": "Side room", "member_ids": ["everyone"]})
        assert unnamed.status_code == 422
        assert '<p class="error" id="member_ids-error">Members of a caucus room must be people on this case.</p>' in unnamed.text
        assert 'value="Side room"' in unnamed.text


async def test_messages_are_escaped_and_empty_ones_refused(web):
    s = await accepted_case(web)
    joint = await open_by_mediator(web, s)
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        await katy.get(f"/cases/{s.case_id}/discussions/rooms/{joint}")
        empty = await katy.post(f"/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": "   "})
        assert empty.status_code == 422 and "Type a message or attach a file" in empty.text
        bad_file = await katy.post(
            f"/cases/{s.case_id}/discussions/rooms/{joint}/messages",
            {"body": "see attached"},
            files={"attachment": ("evil.html", b"<script>alert(1)</script>", "text/html")},
        )
        assert bad_file.status_code == 422 and "cannot be uploaded" in bad_file.text and "see attached</textarea>" in bad_file.text
        posted = await katy.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": "<script>alert('x')</script> & <b>bold</b>"})
        assert posted.status_code == 201 and posted.json()["author_name"] == "Katy Perry"
        assert (await katy.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": ""})).status_code == 422
    async with web.browser() as taylor:
        await taylor.login(s.taylor.email)
        page = (await taylor.get(f"/cases/{s.case_id}/discussions/rooms/{joint}")).text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
        assert "<script>alert" not in page and "<b>bold</b>" not in page


async def test_a_closed_case_keeps_its_discussions_readable_but_not_writable(web):
    s = await accepted_case(web)
    joint = await open_by_mediator(web, s)
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        assert (await katy.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": "Before the end"})).status_code == 201
    wf = handle(web.client, web.settings, s.case_id)
    await wf.execute_update(CaseWorkflow.record_fee_deposit, MediatorMilestone(actor_id=s.mediator.id))
    await wf.execute_update(CaseWorkflow.record_scheduled, MediatorMilestone(actor_id=s.mediator.id))
    await wf.execute_update(CaseWorkflow.close_case, CaseClosure(actor_id=s.mediator.id, outcome="settled"))

    async def closed_row():
        async with web.sessions() as session:
            return (await session.get(Case, s.case_id)).stage == "closed"

    await eventually(closed_row)
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        page = await katy.get(f"/cases/{s.case_id}/discussions/rooms/{joint}")
        assert "Before the end" in page.text and "can be read but not changed" in page.text and 'name="body"' not in page.text
        late = await katy.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": "After the end"})
        assert late.status_code == 409 and "over" in late.json()["detail"]
    async with web.browser() as mediator:
        await mediator.login(s.mediator.email)
        refused = await mediator.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms", {"name": "", "member_ids": [s.katy.id]})
        assert refused.status_code == 409


async def test_a_burst_of_messages_becomes_one_digest_per_other_member(web, time_skipping_env):
    s = await accepted_case(web)
    joint = await open_by_mediator(web, s)
    subject = "5 new messages in Joint discussion RE: " + ADDRESS
    async with web.browser() as katy:
        await katy.login(s.katy.email)
        for n in range(4):
            sent = await katy.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": f"Confidential point {n}"})
            assert sent.status_code == 201
    async with web.browser() as mediator:
        await mediator.login(s.mediator.email)
        await mediator.get(f"/cases/{s.case_id}/discussions/rooms/{joint}")
        assert (await mediator.post(f"/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": "Noted, thank you."})).status_code == 303

    await time_skipping_env.sleep(timedelta(minutes=5))
    assert await _digests(web) == []
    await time_skipping_env.sleep(timedelta(minutes=6))
    digests = await eventually(lambda: _at_least(3, _digests(web)))
    # Each member is told, once, of the messages the others wrote: who wrote and where, never what.
    told = {e.to_email: e for e in digests}
    assert len(digests) == 3
    assert told[s.taylor.email].subject == subject
    assert told[s.katy.email].subject == "1 new message in Joint discussion RE: " + ADDRESS
    assert told[s.mediator.email].subject == "4 new messages in Joint discussion RE: " + ADDRESS
    assert "Katy Perry, Mediator 1" in told[s.taylor.email].text_body
    assert "from Mediator 1 " in told[s.katy.email].text_body and "Katy Perry" not in told[s.katy.email].text_body.split("from ")[1].split(" in ")[0]
    for email in digests:
        assert f"/cases/{s.case_id}/discussions/rooms/{joint}" in email.text_body
        assert "Confidential point" not in email.text_body and "Confidential point" not in email.html_body
        assert "Noted, thank you" not in email.text_body

    # A later message starts a new digest run of its own, telling everyone but its author.
    async with web.browser() as taylor:
        await taylor.login(s.taylor.email)
        await taylor.api("POST", f"/api/v1/cases/{s.case_id}/discussions/rooms/{joint}/messages", {"body": "My reply"})
    await time_skipping_env.sleep(timedelta(minutes=11))
    later = await eventually(lambda: _at_least(5, _digests(web)))
    fresh = [e for e in later if e.id not in {d.id for d in digests}]
    assert sorted(e.to_email for e in fresh) == sorted([s.katy.email, s.mediator.email])
    assert all(e.subject.startswith("1 new message") and "from Taylor Swift " in e.text_body for e in fresh)
    assert len(await emails(web.sessions, "5 new messages")) == 1


async def test_a_message_posted_while_the_digest_is_sending_waits_for_the_next_one(time_skipping_env, settings):
    env = time_skipping_env
    batches: list[Notification] = []

    @activity.defn(name="send_notification")
    async def record_batch(notification: Notification) -> int:
        batches.append(notification)
        if len(batches) == 1:
            # Someone posts just as the first digest goes out.
            await env.client.get_workflow_handle(activity.info().workflow_id).signal(DiscussionDigestWorkflow.message_posted, 3)
        return len(notification.details["message_ids"].split(","))

    async with Worker(env.client, task_queue=settings.task_queue, workflows=[DiscussionDigestWorkflow], activities=[record_batch]):
        digest = await env.client.start_workflow(
            DiscussionDigestWorkflow.run,
            DigestRequest(room_id=7, delay_seconds=600),
            id=f"{settings.workflow_id_prefix}room-digest-7",
            task_queue=settings.task_queue,
            start_signal="message_posted",
            start_signal_args=[1],
        )
        await digest.signal(DiscussionDigestWorkflow.message_posted, 2)
        assert await digest.result() == 1
    assert [b.details["message_ids"] for b in batches] == ["1,2", "3"]
    assert batches[0].key != batches[1].key


async def _digests(web):
    return [e for e in await emails(web.sessions) if " in Joint discussion RE: " in e.subject]


async def _at_least(n: int, pending):
    found = await pending
    return found if len(found) >= n else None
