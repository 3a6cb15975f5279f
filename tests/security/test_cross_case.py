"""One mediator on two cases: the ids of one case's events, messages, rooms and documents mean nothing under the
other case's addresses, through the pages and the JSON API alike. Each attempt answers 404 and changes nothing."""

from sqlalchemy import select

from core.db.models import CalendarEvent, Message, Participant, RoomMessage
from tests.support import eventually, handle, make_case, wait_for_stage
from workflows.case import CaseWorkflow
from workflows.types import ConflictDecision, IntakeDecision, RankingSubmission

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EVENT = {"title": "Mediation", "starts_at": "2027-03-02T17:00:00Z", "ends_at": "2027-03-02T19:00:00Z", "meeting_type": "Online"}


async def accepted_with(web, mediator_id: int, others: list[int], parties: list[tuple[str, str]], address: str) -> int:
    case_id, ids = await make_case(web.sessions, web.client, web.settings, parties=parties, address=address)
    wf = handle(web.client, web.settings, case_id)
    panel = [mediator_id, *others]
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=0, panel=panel))
    await wait_for_stage(web.client, web.settings, case_id, "ranking")
    for party in ids.values():
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=party, party_id=party, ranked=panel))
    await wait_for_stage(web.client, web.settings, case_id, "conflict_check")
    await wf.execute_update(CaseWorkflow.decide_conflict, ConflictDecision(actor_id=mediator_id, accept=True))
    await wait_for_stage(web.client, web.settings, case_id, "accepted")

    async def joined():
        async with web.sessions() as session:
            return await session.scalar(select(Participant.id).where(Participant.case_id == case_id, Participant.person_id == mediator_id))

    await eventually(joined)
    return case_id


async def test_a_mediator_on_two_cases_cannot_reach_one_case_through_the_other(web):
    mona, m2, m3 = [(await web.person(f"{n.lower()}@example.com", f"{n} Mediator", mediator=True)).id for n in ("Mona", "Nate", "Olga")]
    case_a = await accepted_with(web, mona, [m2, m3], [("Katy Perry", "initiating"), ("Taylor Swift", "responding")], "1 First Street, Los Angeles, CA 90068")
    case_b = await accepted_with(web, mona, [m3, m2], [("Otto Owner", "initiating"), ("Olga Tenant", "responding")], "2 Second Street, Fresno, CA 93650")

    async with web.browser() as b:
        await b.login("mona@example.com")
        made = {}
        for case_id in (case_a, case_b):
            event = await b.api("POST", f"/api/v1/cases/{case_id}/calendar", {**EVENT, "title": f"Session of case {case_id}"})
            message = await b.api("POST", f"/api/v1/cases/{case_id}/messages", {"body": f"Hello case {case_id}"})
            rooms = await b.api("POST", f"/api/v1/cases/{case_id}/discussions/open")
            assert event.status_code == 201 and message.status_code == 201 and rooms.status_code == 200, (event.text, message.text, rooms.text)
            room = rooms.json()["rooms"][0]["id"]
            said = await b.api("POST", f"/api/v1/cases/{case_id}/discussions/rooms/{room}/messages", {"body": f"Joint room of case {case_id}"})
            assert said.status_code == 201, said.text
            await b.get(f"/cases/{case_id}/documents")
            uploaded = await b.post(
                f"/cases/{case_id}/documents",
                {"title": f"Brief {case_id}", "category": "Others"},
                files={"file": (f"brief-{case_id}.pdf", PDF, "application/pdf")},
            )
            assert uploaded.status_code == 303, uploaded.text
            documents = (await b.api("GET", f"/api/v1/cases/{case_id}/documents")).json()
            made[case_id] = {"event": event.json()["id"], "message": message.json()["id"], "room": room, "document": documents[0]["id"]}

        for here, there in ((case_a, case_b), (case_b, case_a)):
            theirs = made[there]
            attempts = [
                await b.api("PUT", f"/api/v1/cases/{here}/calendar/{theirs['event']}", {**EVENT, "title": "Moved"}),
                await b.post(
                    f"/cases/{here}/calendar/{theirs['event']}", {**EVENT, "starts_at": "2027-03-02T09:00", "ends_at": "2027-03-02T11:00", "title": "Moved"}
                ),
                await b.get(f"/cases/{here}/calendar/{theirs['event']}/edit"),
                await b.get(f"/cases/{here}/calendar/{theirs['event']}.ics"),
                await b.api("DELETE", f"/api/v1/cases/{here}/messages/{theirs['message']}"),
                await b.post(f"/cases/{here}/messages/{theirs['message']}/delete"),
                await b.get(f"/cases/{here}/discussions/rooms/{theirs['room']}"),
                await b.api("GET", f"/api/v1/cases/{here}/discussions/rooms/{theirs['room']}/messages"),
                await b.api("POST", f"/api/v1/cases/{here}/discussions/rooms/{theirs['room']}/messages", {"body": "Crossed over"}),
                await b.post(f"/cases/{here}/discussions/rooms/{theirs['room']}/messages", {"body": "Crossed over"}),
                await b.api("GET", f"/api/v1/cases/{here}/documents/{theirs['document']}"),
                await b.get(f"/cases/{here}/documents/{theirs['document']}/download"),
                await b.api("DELETE", f"/api/v1/cases/{here}/documents/{theirs['document']}"),
                await b.post(f"/cases/{here}/documents/{theirs['document']}/delete"),
            ]
            assert [(a.request.method, a.request.url.path, a.status_code) for a in attempts if a.status_code != 404] == []

        # Everything is still where it was made, unchanged.
        for case_id, theirs in made.items():
            assert (await b.api("GET", f"/api/v1/cases/{case_id}/documents/{theirs['document']}")).status_code == 200
    async with web.sessions() as session:
        events = {e.case_id: e.title for e in (await session.execute(select(CalendarEvent))).scalars()}
        messages = {m.case_id: m.body for m in (await session.execute(select(Message))).scalars() if m.body.startswith("Hello")}
        room_texts = sorted(m.body for m in (await session.execute(select(RoomMessage))).scalars())
    assert events == {case_a: f"Session of case {case_a}", case_b: f"Session of case {case_b}"}
    assert messages == {case_a: f"Hello case {case_a}", case_b: f"Hello case {case_b}"}
    assert room_texts == sorted([f"Joint room of case {case_a}", f"Joint room of case {case_b}"])
