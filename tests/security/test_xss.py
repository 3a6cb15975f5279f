"""Stored and reflected script injection: every text field a person can write carries two classic payloads,
typed through the real forms, and every page (and every HTML email) that shows it must show it as text.

Each payload is tagged with the field it went into, so the test also proves that the field was shown
somewhere, escaped, rather than passing because no page displayed it. The pages are also checked for the
inline scripts, inline styles and event-handler attributes that the Content-Security-Policy would block.
"""

import re

import pytest
from sqlalchemy import select, update

from core.db.models import Case, DiscussionRoom, Document, Email, Message, Person
from core.db.session import transaction
from features.accounts.security import hash_password
from features.cases.models import DISPUTE_VALUES
from tests.support import eventually, handle, make_center, status, wait_for_stage
from tests.web_support import PASSWORD
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision, RankingSubmission

# Hostile input must meet PostgreSQL too, which refuses what SQLite quietly stores.
pytestmark = pytest.mark.both_databases

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TAG = re.compile(r"<[a-zA-Z][^>]*>")
QUOTED = re.compile(r'"[^"]*"')


def payload(label: str) -> str:
    return f"{label} {SCRIPT} {IMG}"


def escaped(label: str) -> str:
    return f"{label} &lt;script&gt;alert(1)&lt;/script&gt; &#34;&gt;&lt;img src=x onerror=alert(1)&gt;"


FIELDS = [
    "Profile name",
    "Organization",
    "Street",
    "City",
    "Confidential",
    "Mediator name",
    "Bio",
    "Expertise",
    "Fee",
    "Address",
    "Description",
    "Other party",
    "Decline",
    "Message",
    "Doc title",
    "Doc description",
    "Event",
    "Location",
    "Notes",
    "Room",
    "Joint",
    "Caucus",
    "Withdrawal",
    "Closing",
    "Poll withdrawn",
    "Picked location",
    "Picked notes",
    "Disclosure",
    "Objection",
    "Ruling",
]


class Pages:
    """Everything fetched, checked as it arrives."""

    def __init__(self):
        self.seen: dict[str, str] = {}
        self.problems: list[str] = []

    def check(self, where: str, html: str, page: bool = True) -> None:
        self.seen[where] = html
        if SCRIPT in html or "<img src=x" in html:
            self.problems.append(f"{where}: a payload is rendered as markup")
        # Emails need inline styles and are not under the site's CSP; pages are.
        for tag in TAG.findall(html) if page else ():
            bare = QUOTED.sub('""', tag)
            if re.search(r"\son[a-z]+\s*=", bare, re.IGNORECASE) or re.search(r"\sstyle\s*=", bare, re.IGNORECASE):
                self.problems.append(f"{where}: event handler or inline style in {tag[:120]}")
            if tag.lower().startswith("<script") and " src=" not in bare.lower():
                self.problems.append(f"{where}: inline script {tag[:120]}")
            if re.search(r"""href\s*=\s*["']?\s*javascript:""", tag, re.IGNORECASE):
                self.problems.append(f"{where}: javascript: link {tag[:120]}")

    async def visit(self, browser, who: str, url: str, **kwargs) -> None:
        response = await browser.get(url, **kwargs)
        if response.status_code in (403, 404):
            return
        assert response.status_code in (200, 422, 400, 409), (who, url, response.status_code)
        self.check(f"{url} as {who}", response.text)


async def form(browser, page: str, action: str, data: dict, **kwargs):
    await browser.get(page)
    response = await browser.post(action, data, **kwargs)
    assert response.status_code == 303, (action, response.status_code, response.text[:300])
    return response


async def test_every_written_field_is_shown_escaped_on_every_page(web):
    pages = Pages()
    center = await make_center(web.sessions, mediators=3)
    m1, m2, m3 = (m.id for m in center.mediators)
    katy = await web.person("katy@example.com", "Katy Perry")
    async with transaction(web.sessions) as session:
        await session.execute(update(Person).values(password_hash=hash_password(PASSWORD)))

    async with web.browser() as staff, web.browser() as k:
        await staff.login("staff@car.org")
        await k.login("katy@example.com")

        await form(
            staff,
            f"/staff/mediators/{m2}",
            f"/staff/mediators/{m2}",
            {
                "name": payload("Mediator name"),
                "email": "mediator2@example.com",
                "bio": payload("Bio"),
                "expertise": payload("Expertise"),
                "region": "Los Angeles",
                "languages": "English",
                "fee": payload("Fee"),
                "in_directory": "on",
            },
        )
        await form(
            k,
            "/profile",
            "/profile",
            {
                "email": "katy@example.com",
                "full_name": payload("Profile name"),
                "organization": payload("Organization"),
                "address1": payload("Street"),
                "city": payload("City"),
                "state": "CA",
                "zip": "90001",
                "phone": "",
            },
        )
        await form(
            staff,
            f"/staff/people/{katy.id}",
            f"/staff/people/{katy.id}",
            {
                "email": "katy@example.com",
                "full_name": payload("Profile name"),
                "organization": payload("Organization"),
                "address1": payload("Street"),
                "city": payload("City"),
                "state": "CA",
                "zip": "90001",
                "phone": "",
                "user_type": "Party",
                "confidential_notes": payload("Confidential"),
            },
        )
        filing = {
            "property_address": payload("Address"),
            "dispute_bases": ["Deposit dispute"],
            "dispute_value": DISPUTE_VALUES[0],
            "description": payload("Description"),
            "filer_role": "party",
            "others-0-full_name": payload("Other party"),
            "others-0-email": "taylor@example.com",
            "others-0-side": "responding",
        }
        filed = await form(k, "/cases/new", "/cases/new", filing)
        case_id = int(filed.headers["location"].split("?")[0].rsplit("/", 1)[1])
        second = await form(k, "/cases/new", "/cases/new", {**filing, "property_address": "2 Quiet Street, Fresno, CA 93650"})
        other_case_id = int(second.headers["location"].split("?")[0].rsplit("/", 1)[1])

        # Reflected, not stored: what a form sends back when it is refused.
        await k.get("/profile")
        refused = await k.post("/profile", {"email": "not an email", "full_name": payload("Profile name"), "city": payload("City")})
        assert refused.status_code == 422
        pages.check("/profile refused", refused.text)
        await k.get("/cases/new")
        refused = await k.post("/cases/new", {**filing, "others-0-email": ""})
        assert refused.status_code == 422
        pages.check("/cases/new refused", refused.text)
        async with web.browser() as anonymous:
            await anonymous.get("/login", params={"next": f"/cases{SCRIPT}{IMG}"})
            pages.check("/login?next=", (await anonymous.get("/login", params={"next": f"/cases{SCRIPT}{IMG}"})).text)
            failed = await anonymous.post("/login", {"email": f"x{IMG}@example.com", "password": "wrong", "next": f"/{IMG}"})
            pages.check("/login refused", failed.text)

    async with transaction(web.sessions) as session:
        await session.execute(update(Person).where(Person.password_hash.is_(None)).values(password_hash=hash_password(PASSWORD)))
        taylor_id = await session.scalar(select(Person.id).where(Person.email == "taylor@example.com"))

    wf = handle(web.client, web.settings, case_id)
    await wf.execute_update(CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3]))
    await wait_for_stage(web.client, web.settings, case_id, "ranking")

    async def mirrored_stage(stage):
        async with web.sessions() as session:
            return (await session.get(Case, case_id)).stage == stage

    await eventually(lambda: mirrored_stage("ranking"))
    async with web.browser() as k:
        await k.login("katy@example.com")
        await pages.visit(k, "party", f"/cases/{case_id}/ranking")
        await pages.visit(k, "party", f"/mediators/{m2}", params={"case": case_id})
    for party in (katy.id, taylor_id):
        await wf.execute_update(CaseWorkflow.submit_ranking, RankingSubmission(actor_id=party, party_id=party, ranked=[m1, m2, m3], eliminated=[]))
    await wait_for_stage(web.client, web.settings, case_id, "conflict_check")

    async with web.browser() as first:
        await first.login("mediator1@example.com")
        await form(first, f"/cases/{case_id}/conflict-check", f"/cases/{case_id}/conflict-check", {"accept": "false", "reason": payload("Decline")})

    async def asked_second():
        return (await status(web.client, web.settings, case_id)).candidate_mediator_id == m2

    await eventually(asked_second)
    async with web.browser() as mediator, web.browser() as k, web.browser() as staff:
        await mediator.login("mediator2@example.com")
        await pages.visit(mediator, "asked mediator", f"/cases/{case_id}/conflict-check")
        await form(
            mediator,
            f"/cases/{case_id}/conflict-check",
            f"/cases/{case_id}/conflict-check",
            {"accept": "true", "other_matters": "yes", "other_matters_details": payload("Disclosure")},
        )
        await eventually(lambda: mirrored_stage("disclosure_review"))
        await k.login("katy@example.com")
        await staff.login("staff@car.org")

        base = f"/cases/{case_id}"
        await pages.visit(k, "party", f"{base}/disclosures/1")
        await form(k, f"{base}/disclosures/1", f"{base}/disclosures/1", {"party_id": str(katy.id), "objects": "true", "reason": payload("Objection")})
        await pages.visit(staff, "staff", f"/staff/cases/{case_id}")
        await form(staff, f"/staff/cases/{case_id}", f"/staff/cases/{case_id}/disclosures/1/decision", {"uphold": "false", "reason": payload("Ruling")})
        await eventually(lambda: mirrored_stage("accepted"))
        await form(k, base, f"{base}/messages", {"body": payload("Message")})
        await form(
            k,
            f"{base}/documents",
            f"{base}/documents",
            {"category": "Contract", "title": payload("Doc title"), "description": payload("Doc description"), "share_with": [str(taylor_id)]},
            files={"file": ("evidence.pdf", PDF, "application/pdf")},
        )
        added = await form(
            mediator,
            f"{base}/calendar",
            f"{base}/calendar",
            {
                "title": payload("Event"),
                "starts_at": "2031-05-01T10:00",
                "ends_at": "2031-05-01T11:00",
                "meeting_type": "Online",
                "location": payload("Location"),
                "notes": payload("Notes"),
            },
        )
        event_id = int(re.search(r"event-(\d+)", added.headers["location"]).group(1))
        await form(
            mediator,
            f"{base}/calendar",
            f"{base}/calendar",
            {
                "title": "Link check",
                "starts_at": "2031-05-02T10:00",
                "ends_at": "2031-05-02T11:00",
                "meeting_type": "Online",
                "location": "javascript:alert(1)",
            },
        )
        # A scheduling poll withdrawn with a reason, then another whose time is picked with a room and notes.
        times = {
            "slots-0-starts_at": "2031-06-02T09:00",
            "slots-0-ends_at": "2031-06-02T12:00",
            "slots-1-starts_at": "2031-06-03T09:00",
            "slots-1-ends_at": "2031-06-03T12:00",
        }
        await form(mediator, f"{base}/scheduling", f"{base}/scheduling/proposals", times)
        await form(mediator, f"{base}/scheduling", f"{base}/scheduling/cancel", {"poll": "1", "reason": payload("Poll withdrawn")})
        await form(mediator, f"{base}/scheduling", f"{base}/scheduling/proposals", times)
        await form(
            k,
            f"{base}/scheduling",
            f"{base}/scheduling/answers",
            {"poll": "2", "answers-0-slot": "1", "answers-0-answer": "available", "answers-1-slot": "2", "answers-1-answer": "unavailable"},
        )
        await form(
            mediator,
            f"{base}/scheduling",
            f"{base}/scheduling/pick",
            {"poll": "2", "slot": "1", "meeting_type": "In person", "location": payload("Picked location"), "notes": payload("Picked notes")},
        )
        opened = await form(mediator, f"{base}/discussions", f"{base}/discussions/open", {})
        joint = int(opened.headers["location"].split("?")[0].rsplit("/", 1)[1])
        created = await form(mediator, f"{base}/discussions", f"{base}/discussions/rooms", {"name": payload("Room"), "member_ids": [str(katy.id)]})
        caucus = int(created.headers["location"].split("?")[0].rsplit("/", 1)[1])
        await form(mediator, f"{base}/discussions/rooms/{joint}", f"{base}/discussions/rooms/{joint}/messages", {"body": payload("Joint")})
        await form(k, f"{base}/discussions/rooms/{caucus}", f"{base}/discussions/rooms/{caucus}/messages", {"body": payload("Caucus")})
        await form(staff, f"/staff/cases/{other_case_id}", f"/staff/cases/{other_case_id}/withdraw", {"reason": payload("Withdrawal")})

        # The pages that ask before a delete (without JavaScript) show what would go.
        async with web.sessions() as session:
            message_id = await session.scalar(select(Message.id).where(Message.case_id == case_id))
            document_id = await session.scalar(select(Document.id).where(Document.case_id == case_id))
        for asked_url in (f"{base}/messages/{message_id}/delete", f"{base}/documents/{document_id}/delete"):
            await k.get(base)
            asked = await k.post(asked_url)
            assert asked.status_code == 200 and "This cannot be undone." in asked.text, (asked_url, asked.status_code)
            pages.check(f"{asked_url} asking", asked.text)

        async with web.browser() as taylor:
            await taylor.login("taylor@example.com")
            viewers = {"party": k, "other party": taylor, "mediator": mediator, "staff": staff}
            await visit_everything(pages, viewers, case_id, other_case_id, joint, caucus, event_id, m2, katy.id)

            await form(mediator, f"{base}/mediator", f"{base}/mediator/fee-deposit", {})
            await form(mediator, f"{base}/mediator", f"{base}/mediator/close", {"outcome": "settled", "note": payload("Closing")})
            await eventually(lambda: mirrored_stage("closed"))
            await visit_everything(pages, viewers, case_id, other_case_id, joint, caucus, event_id, m2, katy.id)

        for email_id in await eventually(lambda: outbox_ids(web, at_least=10)):
            await pages.visit(staff, "staff", f"/staff/outbox/{email_id}")

    async with web.sessions() as session:
        for email in (await session.execute(select(Email))).scalars():
            pages.check(f"HTML email {email.subject!r} to {email.to_email}", email.html_body, page=False)
        assert (await session.get(DiscussionRoom, caucus)).name == payload("Room")

    assert not pages.problems, "\n".join(pages.problems)
    everything = "\n".join(pages.seen.values())
    never_shown = [label for label in FIELDS if escaped(label) not in everything]
    assert not never_shown, f"fields never found escaped on any page or email (so their escaping was not checked): {never_shown}"


async def outbox_ids(web, at_least: int):
    async with web.sessions() as session:
        ids = list((await session.execute(select(Email.id).order_by(Email.id))).scalars())
    return ids if len(ids) >= at_least else None


async def visit_everything(
    pages: Pages, viewers: dict, case_id: int, other_case_id: int, joint: int, caucus: int, event_id: int, mediator_id: int, katy_id: int
):
    base = f"/cases/{case_id}"
    urls = [
        "/cases",
        base,
        f"{base}/intake",
        f"{base}/users",
        f"{base}/documents",
        f"{base}/discussions",
        f"{base}/discussions/rooms/{joint}",
        f"{base}/discussions/rooms/{caucus}",
        f"{base}/calendar",
        f"{base}/calendar/{event_id}/edit",
        f"{base}/scheduling",
        f"{base}/mediator",
        f"{base}/disclosures/1",
        f"/mediators/{mediator_id}",
        "/profile",
        f"/cases/{other_case_id}",
        "/staff/cases",
        "/staff/board",
        f"/staff/cases/{case_id}",
        f"/staff/cases/{other_case_id}",
        f"/staff/people/{katy_id}",
        "/staff/mediators",
        f"/staff/mediators/{mediator_id}",
        "/staff/outbox",
    ]
    for who, browser in viewers.items():
        for url in urls:
            await pages.visit(browser, who, url)
    # The board's filters come back in its form and in the message about a filter it cannot read.
    await pages.visit(viewers["staff"], "staff", "/staff/board", params={"person": f"Board {SCRIPT} {IMG}", "kind": SCRIPT})
