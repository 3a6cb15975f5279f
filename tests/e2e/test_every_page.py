"""Every page each kind of person can open, on a phone and to axe-core.

A world with something on every page is built through the JSON API first: the demo case ranked, accepted by its
mediator with a disclosure both parties accept, someone joining after (so a re-confirmation waits), and filled (a calendar event,
times proposed for the mediation and marked by a party, a document, a caucus room, a Case Home message); a second case open for
ranking, with a representative for the responding party; a fresh password link. Then each person (nobody signed
in, a party, a representative, the mediator, staff) opens every page they can: at 360 and 390 px wide the page
must not scroll sideways (screenshots test-artifacts/e2e/phone-<width>-<role>-<page>.png), and axe-core must find
no serious or critical violation (axe-<role>-<page>.json).
"""

import re
from dataclasses import dataclass, field

import pytest

from commands.demo import INITIATING, MEDIATOR_PASSWORD, MEDIATORS, RESPONDING, STAFF
from tests.e2e.conftest import BLOCKING_IMPACTS, Site, api, api_until

pytestmark = pytest.mark.integration

MEDIATOR_EMAILS = {m.person.full_name: m.person.email for m in MEDIATORS}
REPRESENTATIVE = ("Robin Counsel", "robin.counsel@example.com", "counsel-for-taylor-2024")
# Long, unbroken words are what widen a phone page: a file name, a link, an email address.
LONG_FILE_NAME = "roof-inspection-report-for-the-property-at-742-evergreen-terrace-final-version.pdf"
LONG_LINK = "https://meet.example.com/mediation-session-katy-perry-vs-taylor-swift-room-0123456789"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
DISCLOSED = "Years ago I sold a condominium to Katy Perry through my former brokerage, https://brokerage.example.com/listings/0123456789."


@dataclass
class World:
    accepted_case: int = 0
    ranking_case: int = 0
    mediator_email: str = ""
    mediator_id: int = 0
    katy_id: int = 0
    event_id: int = 0
    caucus_room: int = 0
    email_id: int = 0
    unused_link: str = ""
    # Who joined the accepted case after acceptance: the mediator's re-confirmation waits on them.
    joined_id: int = 0
    pages: dict = field(default_factory=dict)


def outbox_link(staff, to: str, subject_starts: str) -> tuple[int, str]:
    listing = api_until(
        staff,
        "/api/v1/staff/outbox",
        lambda box: any(e["to_email"] == to and e["subject"].startswith(subject_starts) for e in box["items"]),
        f"the email {subject_starts!r} to {to}",
    )
    email = next(e for e in listing["items"] if e["to_email"] == to and e["subject"].startswith(subject_starts))
    body = api(staff, "GET", f"/api/v1/staff/outbox/{email['id']}")["text_body"]
    return email["id"], re.search(r"/set-password/\S+", body).group(0)


@pytest.fixture(scope="module")
def world(site: Site) -> World:
    w = World()
    staff = site.sign_in("staff", STAFF.email, STAFF.password)
    katy = site.sign_in("katy", INITIATING.email, INITIATING.password)
    taylor = site.sign_in("taylor", RESPONDING.email, RESPONDING.password)
    w.katy_id = api(katy, "GET", "/api/v1/me")["id"]
    taylor_id = api(taylor, "GET", "/api/v1/me")["id"]

    # The demo case: both parties rank, the mediator both put first accepts.
    w.accepted_case = api(katy, "GET", "/api/v1/cases")["items"][0]["id"]
    panel = [m["id"] for m in api(katy, "GET", f"/api/v1/cases/{w.accepted_case}/ranking")["panel"]]
    for party in (katy, taylor):
        api(party, "PUT", f"/api/v1/cases/{w.accepted_case}/ranking", {"ranked": panel})
    checking = api_until(
        staff, f"/api/v1/staff/cases/{w.accepted_case}", lambda c: c["status"]["stage"] == "conflict_check", "the conflict check of the demo case"
    )
    w.mediator_id = checking["status"]["candidate_mediator_id"]
    w.mediator_email = MEDIATOR_EMAILS[checking["names"][str(w.mediator_id)]]
    mediator = site.sign_in("mediator", w.mediator_email, MEDIATOR_PASSWORD)
    # The mediator accepts with a disclosure, which both parties accept; then someone joins and a re-confirmation waits.
    disclosure = {"accept": True, "relationship": True, "relationship_details": DISCLOSED, "relationship_with": [w.katy_id]}
    api(mediator, "POST", f"/api/v1/cases/{w.accepted_case}/conflict-check", disclosure)
    for party in (katy, taylor):
        api(party, "POST", f"/api/v1/cases/{w.accepted_case}/disclosures/1/answer", {"objects": False})
    api_until(mediator, f"/api/v1/cases/{w.accepted_case}", lambda c: c["stage"] == "accepted", "the mediator's acceptance")
    api(
        staff,
        "POST",
        f"/api/v1/staff/cases/{w.accepted_case}/participants",
        {"name": "Nora Neighbour", "email": "nora.neighbour@example.com", "role": "interested"},
    )
    w.joined_id = next(p["person_id"] for p in api(staff, "GET", f"/api/v1/staff/cases/{w.accepted_case}")["participants"] if p["name"] == "Nora Neighbour")

    # Something on every page of the case room, with the long words that widen phone pages.
    event = api(
        mediator,
        "POST",
        f"/api/v1/cases/{w.accepted_case}/calendar",
        {
            "title": "Pre-mediation call",
            "starts_at": "2031-03-01T17:00:00Z",
            "ends_at": "2031-03-01T18:30:00Z",
            "meeting_type": "Online",
            "location": LONG_LINK,
            "notes": "Bring the inspection report and the repair estimates.",
        },
    )
    w.event_id = event["id"]
    # Times proposed for the mediation, which Katy has marked.
    times = [{"starts_at": f"2031-03-0{d}T17:00:00Z", "ends_at": f"2031-03-0{d}T20:00:00Z"} for d in (2, 3, 4)]
    api(mediator, "POST", f"/api/v1/cases/{w.accepted_case}/scheduling/proposals", {"slots": times})
    marks = [{"slot": n, "answer": a} for n, a in ((1, "available"), (2, "if_need_be"), (3, "unavailable"))]
    api(katy, "PUT", f"/api/v1/cases/{w.accepted_case}/scheduling/answers", {"poll": 1, "answers": marks})
    api(
        mediator,
        "POST",
        f"/api/v1/cases/{w.accepted_case}/documents",
        multipart={
            "file": {"name": LONG_FILE_NAME, "mimeType": "application/pdf", "buffer": PDF},
            "category": "Inspection report",
            "title": "Roof inspection",
            "description": "The inspector's report on the roof, with photographs.",
            "share_with": str(w.katy_id),
        },
    )
    api(mediator, "POST", f"/api/v1/cases/{w.accepted_case}/discussions/open")
    room = api(mediator, "POST", f"/api/v1/cases/{w.accepted_case}/discussions/rooms", {"name": "Caucus with Katy", "member_ids": [w.katy_id]})
    w.caucus_room = room["id"]
    api(mediator, "POST", f"/api/v1/cases/{w.accepted_case}/discussions/rooms/{w.caucus_room}/messages", {"body": "Katy, what outcome would you accept?"})
    api(katy, "POST", f"/api/v1/cases/{w.accepted_case}/messages", {"body": "Hello everyone, I look forward to resolving this."})

    # A second case, open for ranking, with an attorney for Taylor who activates the account from the email.
    filed = api(
        katy,
        "POST",
        "/api/v1/cases",
        {
            "property_address": "742 Evergreen Terrace, Springfield, CA 90210",
            "dispute_bases": ["Deposit dispute"],
            "dispute_value": "$25,001 to $50,000",
            "description": "The deposit was not returned after the buyer cancelled within the contingency period.",
            "others": [{"full_name": RESPONDING.full_name, "email": RESPONDING.email, "side": "responding"}],
        },
    )
    w.ranking_case = filed["id"]
    api_until(staff, f"/api/v1/staff/cases/{w.ranking_case}", lambda c: c["status"]["stage"] == "intake_review", "the new case reaching intake")
    api(staff, "POST", f"/api/v1/staff/cases/{w.ranking_case}/intake", {"accept": True, "panel": []})
    api_until(staff, f"/api/v1/staff/cases/{w.ranking_case}", lambda c: c["status"]["stage"] == "ranking", "ranking opening on the new case")
    name, email, password = REPRESENTATIVE
    api(
        staff,
        "POST",
        f"/api/v1/staff/cases/{w.ranking_case}/participants",
        {"name": name, "email": email, "role": "representative", "represents_id": taylor_id, "kind": "Attorney"},
    )
    w.email_id, activation = outbox_link(staff, email, "Your account at")
    api(staff, "POST", "/api/v1/password-links/" + activation.rsplit("/", 1)[1], {"password": password, "confirm": password})
    representative = site.sign_in("representative", email, password)

    # A link nobody has used, for the set-password page itself.
    spare = MEDIATORS[-1].person.email if MEDIATORS[-1].person.email != w.mediator_email else MEDIATORS[0].person.email
    api(staff, "POST", "/api/v1/password-reset", {"email": spare})
    _, w.unused_link = outbox_link(staff, spare, "Reset your password")

    w.pages = {"anonymous": site.visitor("anonymous"), "party": katy, "representative": representative, "mediator": mediator, "staff": staff}
    return w


def pages_of(role: str, w: World) -> list[tuple[str, str]]:
    """(name, path) of every page this person can open in the world."""
    case, ranking = f"/cases/{w.accepted_case}", f"/cases/{w.ranking_case}"
    room = f"{case}/discussions/rooms/{w.caucus_room}"
    if role == "anonymous":
        return [("login", "/login"), ("forgot-password", "/forgot-password"), ("set-password", w.unused_link)]
    if role == "party":
        return [
            ("my-cases", "/cases"),
            ("request-to-mediate", "/cases/new"),
            ("case-home", case),
            ("intake", f"{case}/intake"),
            ("documents", f"{case}/documents"),
            ("users", f"{case}/users"),
            ("discussions", f"{case}/discussions"),
            ("discussion-room", room),
            ("calendar", f"{case}/calendar"),
            ("scheduling", f"{case}/scheduling"),
            ("disclosure", f"{case}/disclosures/1"),
            ("ranking", f"{ranking}/ranking"),
            ("mediator-profile", f"/mediators/{w.mediator_id}?case={w.accepted_case}"),
            ("profile", "/profile"),
            ("not-found", "/cases/99999"),
        ]
    if role == "representative":
        return [
            ("my-cases", "/cases"),
            ("case-home", ranking),
            ("ranking", f"{ranking}/ranking"),
            ("intake", f"{ranking}/intake"),
            ("documents", f"{ranking}/documents"),
            ("users", f"{ranking}/users"),
            ("discussions", f"{ranking}/discussions"),
            ("calendar", f"{ranking}/calendar"),
            ("profile", "/profile"),
        ]
    if role == "mediator":
        return [
            ("my-cases", "/cases"),
            ("case-home", case),
            ("mediator-checklist", f"{case}/mediator"),
            ("intake", f"{case}/intake"),
            ("documents", f"{case}/documents"),
            ("users", f"{case}/users"),
            ("discussions", f"{case}/discussions"),
            ("discussion-room", room),
            ("calendar", f"{case}/calendar"),
            ("calendar-edit", f"{case}/calendar/{w.event_id}/edit"),
            ("scheduling", f"{case}/scheduling"),
            ("disclosure", f"{case}/disclosures/1"),
            ("reconfirm", f"{case}/reconfirm/{w.joined_id}"),
            ("profile", "/profile"),
        ]
    assert role == "staff"
    return [
        ("staff-cases", "/staff/cases"),
        ("staff-case-accepted", f"/staff/cases/{w.accepted_case}"),
        ("staff-case-ranking", f"/staff/cases/{w.ranking_case}"),
        ("staff-mediators", "/staff/mediators"),
        ("staff-mediator-new", "/staff/mediators/new"),
        ("staff-mediator-edit", f"/staff/mediators/{w.mediator_id}"),
        ("staff-outbox", "/staff/outbox"),
        ("staff-email", f"/staff/outbox/{w.email_id}"),
        ("staff-person", f"/staff/people/{w.katy_id}"),
        ("my-cases", "/cases"),
        ("case-home", case),
        ("users", f"{case}/users"),
        ("documents", f"{case}/documents"),
        ("calendar", f"{case}/calendar"),
        ("scheduling", f"{case}/scheduling"),
        ("discussions", f"{case}/discussions"),
        ("profile", "/profile"),
    ]


def confirmation_before_delete(site: Site, page, role: str, w: World) -> list[str]:
    """The page that asks before a delete where no dialog could (without JavaScript): sent here as such a browser
    would send the form, skipping the script's dialog; the answer is "No, keep it"."""
    page.goto(f"/cases/{w.accepted_case}")
    form = page.locator("ul.messages form[data-confirm]").first
    form.evaluate("form => HTMLFormElement.prototype.submit.call(form)")
    page.get_by_role("heading", name="Delete this message?").wait_for()
    problems = site.phone_problems(page, f"{role}-confirm-delete", reload=False)
    problems += [finding.line() for finding in site.audit(page, f"{role}-confirm-delete")]
    page.get_by_role("link", name="No, keep it").click()
    page.locator("ul.messages").filter(has_text="Hello everyone, I look forward").wait_for()
    return problems


@pytest.mark.parametrize("role", ["anonymous", "party", "representative", "mediator", "staff"])
def test_every_page_fits_a_phone_and_has_no_serious_accessibility_violation(site: Site, world: World, role: str):
    page = world.pages[role]
    problems: list[str] = []
    for name, path in pages_of(role, world):
        response = page.goto(path)
        expected = 404 if name == "not-found" else 200
        if response.status != expected:
            problems.append(f"{role} {name}: {path} answered {response.status}")
            continue
        problems += site.phone_problems(page, f"{role}-{name}")
        problems += [finding.line() for finding in site.audit(page, f"{role}-{name}")]
    if role in ("party", "staff"):
        problems += confirmation_before_delete(site, page, role, world)
    for finding in (f for name, found in site.audited.items() if name.startswith(role + "-") for f in found if f.impact not in BLOCKING_IMPACTS):
        print(finding.line())
    assert not problems, "\n".join(problems)
    assert not site.script_problems, "script errors or CSP violations in the browser:\n" + "\n".join(site.script_problems)
