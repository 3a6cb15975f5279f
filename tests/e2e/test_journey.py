"""One case through the real platform in a real browser, as the people in the handbook live it.

Katy (a demo party) files a Request to Mediate against Jordan, who is new to the center; staff accept it with a
panel of three; Jordan activates the account from the email in the outbox and ranks by dragging cards; Katy ranks
with the keyboard alone; the mediator both ranked first accepts the conflict check with a disclosure, which both
parties read and do not object to; staff read the tally, the ballots' fingerprints, the disclosure and the
timeline; everyone's Case Home says "Mediator accepted"; a document shared with Jordan only reaches Jordan; the
mediator talks with Jordan in a private caucus room. Key pages are checked with axe-core along the way.

The steps share the case (`journey`), so they run in file order and a failed step skips the rest; the last test,
the accessibility and script-error report, runs whatever happened and reports the pages it got to.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from commands.demo import INITIATING, MEDIATOR_PASSWORD, MEDIATORS, STAFF
from core.time import time_range
from tests.e2e.conftest import BLOCKING_IMPACTS, Site, at, card_names, drag, eventually, expect_cards, focused_text, tab_to

pytestmark = pytest.mark.integration
step = pytest.mark.journey

PROPERTY = "88 Harbor Lane, Long Beach, CA 90802"
RESPONDER_NAME = "Jordan Lee"
RESPONDER_EMAIL = "jordan.lee@example.com"
RESPONDER_PASSWORD = "harbor-lane-2024"
PANEL = ("Elena Marquez", "Robert Chen", "Aisha Johnson")
DISCLOSED = "Jordan Lee bought a house through my brokerage in 2021."
MEDIATOR_EMAILS = {m.person.full_name: m.person.email for m in MEDIATORS}
# axe-core audits these pages (the audit keeps going; the last test reports every finding together).
AUDITED_PAGES = (
    "login",
    "my-cases",
    "request-to-mediate",
    "staff-outbox",
    "set-password",
    "case-home",
    "ranking",
    "conflict-check",
    "disclosure",
    "staff-case",
    "staff-board",
    "staff-mediators",
    "documents",
    "discussions",
    "discussion-room",
    "scheduling-propose",
    "scheduling-answer",
    "scheduling-grid",
)
# A one-page PDF: enough for the upload's check by content (%PDF) and for a viewer to open.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class Journey:
    case_id: int = 0
    # The panel in the order the ranking page shows it; both parties rank its last mediator first.
    panel: list[str] = field(default_factory=list)
    selected: str = ""
    # The fingerprint of Jordan's ballot, from the notice after submitting it.
    fingerprint: str = ""
    # Each person's page, in their own browser context (own session cookie).
    pages: dict = field(default_factory=dict)

    @property
    def home(self) -> str:
        return f"/cases/{self.case_id}"


@pytest.fixture(scope="module")
def journey() -> Journey:
    return Journey()


def stage_is(page, label: str):
    return lambda: page.locator(".stage").first.inner_text().strip() == label


# ---- 1. filing, intake, activation and a ranking by drag and drop ---------------------------------------------


@step
def test_filer_files_a_case_and_staff_accept_it_with_a_panel(site: Site, journey: Journey):
    login = site.visitor("katy")
    login.goto("/login")
    # The handbook's sign-in page, word for word.
    card = login.locator("main").inner_text()
    for words in (
        "REAL ESTATE MEDIATION\nCENTER FOR CONSUMERS",
        "Get your cases resolved - quickly and amicably",
        "Forgot Password ?",
        "Make sure to monitor your email for updates on the status of your mediation.",
    ):
        assert words in card, f"{words!r} is not on the sign-in page:\n{card}"
    assert login.get_by_label("Your Email Address").get_attribute("placeholder") == "Please enter your Email Address"
    assert login.get_by_label("Your Password").get_attribute("placeholder") == "Please enter your Password"
    assert login.get_by_role("button", name="Login").is_visible()
    site.shot(login, "01-login")
    site.audit(login, "login")
    login.context.close()

    katy = site.sign_in("katy", INITIATING.email, INITIATING.password)
    journey.pages["katy"] = katy
    site.shot(katy, "02-my-cases")
    site.audit(katy, "my-cases")

    katy.get_by_role("link", name="File a Request to Mediate").click()
    filing_url = katy.url
    # One block for the other party to start with; "Add another party" adds one in place (no trip to the server).
    assert katy.locator(".party-block").count() == 1
    katy.get_by_role("button", name="Add another party").click()
    assert katy.url == filing_url and katy.locator(".party-block").count() == 2
    assert katy.evaluate("() => document.activeElement.id") == "others-1-full_name"
    assert katy.get_by_label("Party 2: email").input_value() == ""
    katy.get_by_label("Failure to disclose a known defect").check()
    katy.get_by_label("Estimation of Dispute Value").select_option("$25,001 to $50,000")
    katy.get_by_label("Short description of the dispute").fill("The seller did not disclose a leaking roof that the inspector found after close of escrow.")
    katy.get_by_label("An initiating party", exact=True).check()
    katy.get_by_label("Party 1: full name").fill(RESPONDER_NAME)
    katy.get_by_label("Party 1: email").fill(RESPONDER_EMAIL)
    katy.get_by_label("Party 1: side").select_option("responding")
    # Forgotten: the property. The form comes back with the problem right under that field, the rest kept.
    katy.get_by_role("button", name="File the Request to Mediate").click()
    address = katy.get_by_label("Subject property address")
    address.wait_for()
    assert address.get_attribute("aria-invalid") == "true"
    assert address.evaluate("input => input.nextElementSibling.id") == address.get_attribute("aria-describedby") == "property_address-error"
    assert katy.locator("#property_address-error").inner_text() == "Enter the address of the subject property."
    assert katy.get_by_label("Party 1: email").input_value() == RESPONDER_EMAIL
    site.shot(katy, "03-request-to-mediate-error-beside-the-field")
    address.fill(PROPERTY)
    site.shot(katy, "03-request-to-mediate")
    site.audit(katy, "request-to-mediate")
    katy.get_by_role("button", name="File the Request to Mediate").click()
    katy.wait_for_url(re.compile(r"/cases/\d+(\?|$)"))
    journey.case_id = int(re.search(r"/cases/(\d+)", katy.url).group(1))
    assert "Your Request to Mediate was filed" in katy.locator(".notice").inner_text()
    assert f"{INITIATING.full_name} vs {RESPONDER_NAME}" in katy.locator("h1").inner_text()
    # A new case's Case Home starts with the center's welcome, which nobody can delete.
    welcome = katy.locator("ul.messages > li")
    assert welcome.count() == 1 and welcome.first.get_attribute("id") == "welcome"
    assert "Welcome to C.A.R. Mediation. Please remember any messages you post here will be visible to everyone." in welcome.first.inner_text()
    assert "Created by : C.A.R. Real Estate Mediation Center" in welcome.first.inner_text()
    assert welcome.first.get_by_role("button").count() == 0
    # Refresh sits beside YOUR NEXT STEP(S), on the same line.
    heading = katy.get_by_role("heading", name="YOUR NEXT STEP(S)").bounding_box()
    refresh = katy.get_by_role("link", name="Refresh").bounding_box()
    assert refresh["x"] > heading["x"] + heading["width"] and abs((refresh["y"] + refresh["height"] / 2) - (heading["y"] + heading["height"] / 2)) < 12
    site.shot(katy, "03-new-case-home")

    staff = site.sign_in("staff", STAFF.email, STAFF.password)
    journey.pages["staff"] = staff
    # Staff land on the staff console, and are not offered filing a request as their main action.
    assert at("/staff/cases").match(staff.url), staff.url
    assert staff.get_by_role("navigation", name="Main").get_by_role("link", name="File a Request to Mediate").count() == 0
    staff_case = f"/staff/cases/{journey.case_id}"
    eventually(staff, staff_case, stage_is(staff, "Intake review"), "the filed case reaching intake review")
    for name in PANEL:
        staff.get_by_role("checkbox", name=name).check()
    staff.get_by_role("button", name="Accept and send for ranking").click()
    eventually(staff, staff_case, stage_is(staff, "Mediator ranking"), "ranking opening after intake")
    site.shot(staff, "04-staff-case-ranking-open")


@step
def test_new_party_activates_from_the_email_and_ranks_by_dragging(site: Site, journey: Journey):
    staff = journey.pages["staff"]
    staff.goto("/staff/outbox")
    row = staff.get_by_role("row").filter(has_text=RESPONDER_EMAIL).filter(has_text="Your account at")
    site.shot(staff, "05-staff-outbox")
    site.audit(staff, "staff-outbox")
    row.get_by_role("link").first.click()
    body = staff.locator("pre.email-body").inner_text()
    link = re.search(r"https?://\S+/set-password/\S+", body).group(0)
    assert link.startswith(site.base_url), link

    jordan = site.visitor("jordan")
    journey.pages["jordan"] = jordan
    jordan.goto(link)
    assert jordan.locator("#account-email").inner_text() == RESPONDER_EMAIL  # whose account this is
    jordan.get_by_label("New password (at least 10 characters)").fill(RESPONDER_PASSWORD)
    jordan.get_by_label("Repeat the new password").fill(RESPONDER_PASSWORD)
    site.shot(jordan, "06-set-password")
    site.audit(jordan, "set-password")
    jordan.get_by_role("button", name="Set password").click()
    jordan.wait_for_url(at("/login"))
    assert "Your password is set" in jordan.locator(".notice").inner_text()
    # The sign-in page has the account's email filled in already.
    assert jordan.get_by_label("Your Email Address").input_value() == RESPONDER_EMAIL
    jordan.get_by_label("Your Password").fill(RESPONDER_PASSWORD)
    jordan.get_by_role("button", name="Login").click()
    jordan.wait_for_url(at("/cases"))
    jordan.get_by_role("link", name=f"Open Case {journey.case_id}").click()
    jordan.get_by_role("link", name="Submit Mediator Ranking").click()
    jordan.wait_for_url(at(f"{journey.home}/ranking"))
    jordan.locator("#js-help").wait_for(state="visible")  # ranking.js has taken over from the selects

    journey.panel = card_names(jordan, "ranked-list")
    assert sorted(journey.panel) == sorted(PANEL)
    first, second, third = journey.panel
    journey.selected = third
    site.shot(jordan, "07-ranking-before")
    site.audit(jordan, "ranking")

    # A tall screen, so both lists fit in the viewport the mouse moves in.
    jordan.set_viewport_size({"width": 1280, "height": 1800})

    def card(name):
        return jordan.locator(f'#ranking-form .mediator-card[data-name="{name}"]')

    drag(jordan, card(third), card(first), to_top=True)
    expect_cards(jordan, "ranked-list", [third, first, second])
    drag(jordan, card(second), jordan.locator("#eliminated-list"), to_top=False)
    expect_cards(jordan, "ranked-list", [third, first])
    expect_cards(jordan, "eliminated-list", [second])
    # What the form will send: the hidden selects follow the cards.
    chosen = {name: card(name).locator("select").input_value() for name in journey.panel}
    assert chosen == {third: "1", first: "2", second: "eliminate"}
    site.shot(jordan, "08-ranking-after-drag")

    jordan.get_by_role("button", name="Submit my Ranking").click()
    jordan.wait_for_url(at(journey.home))
    notice = jordan.locator(".notice").inner_text()
    assert "Your ranking was submitted." in notice and "waiting for 1 more party" in notice
    # The ballot's fingerprint, which the receipt email gives too.
    journey.fingerprint = re.search(r"Its fingerprint is ([0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{2})", notice).group(1)
    site.shot(jordan, "09-ranking-confirmation")


# ---- 2. the other party ranks with the keyboard alone ---------------------------------------------------------


@step
def test_other_party_ranks_with_the_keyboard_only(site: Site, journey: Journey):
    katy = journey.pages["katy"]
    first, second, third = journey.panel
    katy.goto(journey.home)
    site.audit(katy, "case-home")
    tab_to(katy, "Submit Mediator Ranking")
    katy.keyboard.press("Enter")
    katy.wait_for_url(at(f"{journey.home}/ranking"))
    katy.locator("#js-help").wait_for(state="visible")

    tab_to(katy, f"Move up {third}")
    katy.keyboard.press("Enter")
    expect_cards(katy, "ranked-list", [first, third, second])
    # Focus stays on the button just used, so the next press moves the same card again.
    assert focused_text(katy) == f"Move up {third}"
    katy.keyboard.press("Space")
    expect_cards(katy, "ranked-list", [third, first, second])
    katy.get_by_role("status").filter(has_text=f"{third} is ranked 1 of 3.").wait_for()

    tab_to(katy, f"Eliminate {second}")
    katy.keyboard.press("Enter")
    expect_cards(katy, "ranked-list", [third, first])
    expect_cards(katy, "eliminated-list", [second])
    assert focused_text(katy) == f"Restore {second}"
    site.shot(katy, "10-ranking-keyboard")

    tab_to(katy, "Submit my Ranking")
    katy.keyboard.press("Enter")
    katy.wait_for_url(at(journey.home))
    assert "All parties have ranked" in katy.locator(".notice").inner_text()
    site.shot(katy, "11-ranking-keyboard-confirmation")


# ---- 3. the selected mediator accepts the conflict check ------------------------------------------------------


@step
def test_selected_mediator_accepts_the_conflict_check(site: Site, journey: Journey):
    mediator = site.sign_in("mediator", MEDIATOR_EMAILS[journey.selected], MEDIATOR_PASSWORD)
    journey.pages["mediator"] = mediator
    check_link = mediator.get_by_role("link", name=f"Conflict check for Case {journey.case_id}")
    eventually(mediator, "/cases", lambda: check_link.count() == 1, "the conflict check reaching the selected mediator")
    site.shot(mediator, "12-mediator-my-cases")
    check_link.click()
    mediator.wait_for_url(at(f"{journey.home}/conflict-check"))
    assert PROPERTY in mediator.locator("main").inner_text()
    assert RESPONDER_NAME in mediator.get_by_role("table").inner_text()
    site.shot(mediator, "13-conflict-check")
    site.audit(mediator, "conflict-check")
    assert mediator.get_by_role("navigation", name="Main").get_by_role("link", name="File a Request to Mediate").count() == 0
    assert not site.phone_problems(mediator, "mediator-conflict-check")
    # The disclosure questions: a relationship with Jordan. A "yes" without details comes back with the problem beside it.
    relationship = mediator.get_by_role("group", name=re.compile("any relationship with a party"))
    relationship.get_by_label("Yes", exact=True).check()
    relationship.get_by_label(RESPONDER_NAME).check()
    mediator.get_by_role("button", name="Submit my answers and accept the case").click()
    details = mediator.locator("#relationship_details")
    details.wait_for()
    assert details.get_attribute("aria-invalid") == "true"
    assert mediator.locator("#relationship_details-error").inner_text() == "Say who the relationship is with and what it is (or was)."
    assert mediator.get_by_role("group", name=re.compile("any relationship with a party")).get_by_label(RESPONDER_NAME).is_checked()
    site.shot(mediator, "13-conflict-check-details-needed")
    details.fill(DISCLOSED)
    mediator.get_by_role("button", name="Submit my answers and accept the case").click()
    mediator.wait_for_url(at("/cases"))
    assert "your disclosure for case" in mediator.locator(".notice").inner_text()
    assert "You accepted this case with a disclosure, which the parties may object to until" in mediator.locator("main").inner_text()
    site.shot(mediator, "14-conflict-check-disclosed")


# ---- 3b. the parties read the disclosure and do not object ------------------------------------------------------


@step
def test_the_parties_read_the_disclosure_and_do_not_object(site: Site, journey: Journey):
    for who in ("jordan", "katy"):
        page = journey.pages[who]
        read = page.get_by_role("link", name="Read the mediator's disclosure and say whether you object")
        eventually(page, journey.home, lambda read=read: read.count() == 1, f"the disclosure reaching {who}'s Case Home")
        assert "Mediator disclosure: objection window" in page.locator(".stage").first.inner_text()
        site.shot(page, f"14-case-home-disclosure-{who}")
        read.click()
        page.wait_for_url(at(f"{journey.home}/disclosures/1"))
        shown = page.locator("main").inner_text()
        assert DISCLOSED in shown and f"Relationship with someone on the case ({RESPONDER_NAME})" in shown
        site.shot(page, f"14-disclosure-{who}")
        site.audit(page, "disclosure")
        page.get_by_role("button", name="I do not object").click()
        page.wait_for_url(at(journey.home))
        assert "You do not object" in page.locator(".notice").inner_text()
    # Every party has said it does not object: the mediator is theirs at once.
    mediator = journey.pages["mediator"]
    eventually(mediator, journey.home, stage_is(mediator, "Mediator accepted"), "the mediator's Case Home once the parties accepted the disclosure")
    site.shot(mediator, "14-conflict-check-accepted")


# ---- 4. staff read the tally and the timeline -----------------------------------------------------------------


@step
def test_staff_see_the_tally_and_the_timeline(site: Site, journey: Journey):
    staff = journey.pages["staff"]
    first, second, third = journey.panel
    staff_case = f"/staff/cases/{journey.case_id}"
    eventually(staff, staff_case, stage_is(staff, "Mediator accepted"), "the case showing the accepted mediator to staff")

    tally = staff.locator("table.tally")
    rows = tally.locator("tbody tr").all_inner_texts()
    assert [re.split(r"\t", r)[1].replace(" (selected)", "").strip() for r in rows] == [third, first]
    assert "(selected)" in rows[0]
    assert f"Eliminated: {second}" in staff.get_by_role("region", name="Mediator ranking · round 1").inner_text()
    assert staff.locator("tr.ballot").count() == 2
    # Jordan's ballot, counted, under the fingerprint Jordan was given; and Jordan's receipt says the same.
    jordan_ballot = staff.locator("tr.ballot").filter(has_text=RESPONDER_NAME)
    assert jordan_ballot.locator("code.fingerprint").inner_text() == journey.fingerprint
    counted = staff.get_by_role("region", name="Ballot audit trail").get_by_role("row").filter(has_text=journey.fingerprint)
    assert counted.locator(".counted").inner_text() == "Counted"

    timeline = staff.locator("ol.timeline").inner_text()
    for event in (
        "Filed",
        "Intake accepted",
        "Ranking opened",
        "Ranking submitted",
        "Tallied",
        "Conflict check started",
        "Disclosure made",
        "Disclosure not objected",
        "Disclosure accepted",
        "Mediator accepted",
    ):
        assert event in timeline, f"{event!r} missing from the timeline:\n{timeline}"
    assert "Accepted" in staff.get_by_role("region", name="Conflict checks").inner_text()
    disclosures = staff.get_by_role("region", name="Mediator disclosures and re-confirmations").inner_text()
    assert DISCLOSED in disclosures and "No objection: the disclosure stands" in disclosures
    site.shot(staff, "15-staff-case-tally-timeline")
    site.audit(staff, "staff-case")
    staff.goto("/staff/outbox")
    staff.get_by_role("row").filter(has_text=RESPONDER_EMAIL).filter(has_text="Receipt of your mediator ranking").get_by_role("link").first.click()
    receipt = staff.locator("pre.email-body").inner_text()
    assert f"Fingerprint: {journey.fingerprint}" in receipt and f"1. {third}\n2. {first}\nEliminated: {second}" in receipt
    site.shot(staff, "15-staff-outbox-ballot-receipt")


@step
def test_staff_see_who_each_case_waits_on_and_the_mediators_figures(site: Site, journey: Journey):
    staff = journey.pages["staff"]
    staff.goto("/staff/cases")
    staff.get_by_role("navigation", name="Staff console").get_by_role("link", name="Waiting board").click()
    staff.wait_for_url(at("/staff/board"))
    board = staff.locator("table#board")
    # The demo's case 1 still waits for both parties' rankings; the journey's case for its mediator's next steps.
    demo = board.locator("tr", has_text="Katy Perry vs Taylor Swift")
    assert "Katy Perry's and Taylor Swift's rankings" in demo.inner_text()
    assert f"{journey.selected}'s next steps" in board.locator(f'tr[data-case="{journey.case_id}"]').inner_text()
    site.shot(staff, "15b-staff-waiting-board")
    site.audit(staff, "staff-board")

    staff.get_by_label("Waiting on someone named").fill("Taylor")
    staff.get_by_role("button", name="Show cases").click()
    staff.wait_for_url(re.compile(r".*/staff/board\?.*person=Taylor.*"))
    assert board.locator("tbody tr").count() == 1 and "Katy Perry vs Taylor Swift" in board.inner_text()
    with staff.expect_download() as event:
        staff.get_by_role("link", name="Download CSV").click()
    export = Path(event.value.path()).read_text()
    assert event.value.suggested_filename.startswith("waiting-board-") and "Katy Perry's and Taylor Swift's rankings" in export
    assert len(export.strip().splitlines()) == 2  # the header and the one case the filter keeps

    staff.get_by_role("link", name="Mediator directory").click()
    row = staff.get_by_role("row").filter(has_text=journey.selected)
    assert "1 asked: 1 accepted" in row.inner_text()
    site.audit(staff, "staff-mediators")


# ---- 5. everyone's Case Home ----------------------------------------------------------------------------------


@step
def test_every_participant_sees_mediator_accepted_on_case_home(site: Site, journey: Journey):
    for who in ("katy", "jordan", "mediator"):
        page = journey.pages[who]
        eventually(page, journey.home, stage_is(page, "Mediator accepted"), f"{who}'s Case Home showing the accepted mediator")
        if who != "mediator":
            assert f"Your mediator: {journey.selected}" in page.locator("main").inner_text()
        site.shot(page, f"16-case-home-{who}")


# ---- 6. documents shared with one party -----------------------------------------------------------------------


@step
def test_a_document_shared_with_one_party_reaches_only_that_party(site: Site, journey: Journey, tmp_path):
    mediator, jordan, katy = journey.pages["mediator"], journey.pages["jordan"], journey.pages["katy"]
    upload = tmp_path / "roof-inspection.pdf"
    upload.write_bytes(PDF)

    mediator.goto(f"{journey.home}/documents")
    mediator.get_by_text("Add Document").click()
    form = mediator.locator('form[enctype="multipart/form-data"]')
    form.get_by_label("Document", exact=True).set_input_files(str(upload))
    form.get_by_label("Category").select_option("Inspection report")
    form.get_by_label("Document Title").fill("Roof inspection")
    form.get_by_label("Document Description").fill("For the responding party only.")
    form.get_by_role("group", name=re.compile("^Shared With")).get_by_label(RESPONDER_NAME).check()
    form.get_by_role("button", name="Upload").click()
    assert "“Roof inspection” was added." in mediator.locator(".notice").inner_text()
    site.shot(mediator, "17-documents-uploaded")

    jordan.goto(f"{journey.home}/documents")
    link = jordan.get_by_role("link", name="roof-inspection.pdf")
    site.shot(jordan, "18-documents-shared")
    site.audit(jordan, "documents")
    with jordan.expect_download() as event:
        link.click()
    download = event.value
    assert download.suggested_filename == "roof-inspection.pdf"
    assert download.failure() is None
    assert Path(download.path()).read_bytes() == PDF
    href = link.get_attribute("href")

    katy.goto(f"{journey.home}/documents")
    assert katy.get_by_text("roof-inspection.pdf").count() == 0
    assert katy.get_by_text("Roof inspection").count() == 0
    site.shot(katy, "19-documents-not-shared")
    # Not even by its address: an unshared document answers like a missing one.
    assert katy.request.get(href).status == 404


# ---- 7. discussions: a private caucus room --------------------------------------------------------------------


@step
def test_mediator_talks_with_one_party_in_a_caucus_room(site: Site, journey: Journey):
    mediator, jordan, katy = journey.pages["mediator"], journey.pages["jordan"], journey.pages["katy"]
    message = "Jordan, could you bring the repair estimates to the session?"

    mediator.goto(f"{journey.home}/discussions")
    mediator.get_by_role("button", name="Open discussions").click()
    assert "Discussions are open" in mediator.locator(".notice").inner_text()
    mediator.goto(f"{journey.home}/discussions")
    mediator.get_by_label("Room name (optional)").fill("Caucus with Jordan")
    mediator.get_by_role("group", name="Members").get_by_role("checkbox", name=RESPONDER_NAME).check()
    site.audit(mediator, "discussions")
    mediator.get_by_role("button", name="Create caucus room").click()
    assert "Only its members can see it" in mediator.locator(".notice").inner_text()
    mediator.get_by_label("Message", exact=True).fill(message)
    mediator.get_by_role("button", name="Send").click()
    mediator.locator("#latest").filter(has_text=message).wait_for()
    site.shot(mediator, "20-caucus-mediator")

    jordan.goto(f"{journey.home}/discussions")
    jordan.get_by_role("link", name="Caucus with Jordan").click()
    jordan.locator(".chat").filter(has_text=message).wait_for()
    site.shot(jordan, "21-caucus-party")
    site.audit(jordan, "discussion-room")
    jordan.get_by_label("Message", exact=True).fill("Yes, I will bring both estimates.")
    jordan.get_by_role("button", name="Send").click()
    jordan.locator("#latest").filter(has_text="I will bring both estimates").wait_for()

    katy.goto(f"{journey.home}/discussions")
    assert katy.get_by_role("link", name="Caucus with Jordan").count() == 0
    assert katy.get_by_text(message).count() == 0
    site.shot(katy, "22-discussions-other-party")


# ---- 7b. local time: the mediator types Pacific time, Katy reads Eastern time ----------------------------------


@step
def test_a_session_typed_in_pacific_time_reads_in_each_persons_own_zone(site: Site, journey: Journey):
    mediator, jordan, katy = journey.pages["mediator"], journey.pages["jordan"], journey.pages["katy"]

    katy.goto("/profile")
    katy.get_by_label("Time zone").select_option("America/New_York")
    site.audit(katy, "profile")
    katy.get_by_role("button", name="Submit").click()
    assert "Your profile was saved." in katy.locator(".notice").inner_text()

    # The demo mediator lives in California: 9:00 on December 3, 2026 is 9:00 AM PST, 17:00 UTC.
    mediator.goto(f"{journey.home}/calendar")
    assert "Meeting Start Time (America/Los_Angeles)" in mediator.locator("main").inner_text()
    mediator.get_by_label("Meeting Title").fill("Pre-mediation call")
    mediator.get_by_label("Meeting Start Time").fill("2026-12-03T09:00")
    mediator.get_by_label("Meeting End Time").fill("2026-12-03T10:00")
    mediator.get_by_role("button", name="Add the event").click()
    assert "The event was added" in mediator.locator(".notice").inner_text()
    assert "Dec 3, 2026 9:00 AM PST" in mediator.get_by_role("table").inner_text()
    site.audit(mediator, "calendar")

    katy.goto(f"{journey.home}/calendar")
    assert "Dec 3, 2026 12:00 PM EST" in katy.get_by_role("table").inner_text()
    site.shot(katy, "23-calendar-eastern-time")
    jordan.goto(f"{journey.home}/calendar")
    # Jordan chose no zone: the center's, Pacific.
    assert "Dec 3, 2026 9:00 AM PST" in jordan.get_by_role("table").inner_text()


# ---- 7c. scheduling by availability: three times proposed, marked in two zones, the best picked ---------------------


def _proposed_times() -> list[tuple[datetime, datetime]]:
    """Three mornings two weeks ahead, 9:00 to 12:00 on the mediator's (Pacific) clock."""
    pacific = ZoneInfo("America/Los_Angeles")
    day = datetime.now(pacific).date() + timedelta(days=14)
    starts = [datetime.combine(day + timedelta(days=n), time(9), tzinfo=pacific) for n in range(3)]
    return [(start, start + timedelta(hours=3)) for start in starts]


@step
def test_the_mediator_proposes_times_each_party_marks_them_in_their_zone_and_the_best_is_picked(site: Site, journey: Journey):
    mediator, jordan, katy = journey.pages["mediator"], journey.pages["jordan"], journey.pages["katy"]
    times = _proposed_times()
    pacific, eastern = ZoneInfo("America/Los_Angeles"), ZoneInfo("America/New_York")

    mediator.goto(journey.home)
    mediator.get_by_role("link", name=re.compile("^Schedule the mediation")).click()
    mediator.wait_for_url(at(f"{journey.home}/scheduling"))
    for n, (start, end) in enumerate(times):
        mediator.locator(f"#slots-{n}-starts_at").fill(start.strftime("%Y-%m-%dT%H:%M"))
        mediator.locator(f"#slots-{n}-ends_at").fill(end.strftime("%Y-%m-%dT%H:%M"))
    site.audit(mediator, "scheduling-propose")
    mediator.get_by_role("button", name="Propose these times").click()
    assert "The times were proposed; everyone asked was emailed" in mediator.locator(".notice").inner_text()
    site.shot(mediator, "24-scheduling-proposed")

    # Katy reads New York time; she cannot make the first morning.
    katy.goto(journey.home)
    katy.get_by_role("link", name="Mark the times you can attend the mediation").click()
    katy.wait_for_url(at(f"{journey.home}/scheduling"))
    for (start, end), answer in zip(times, ("Unavailable", "Available", "If need be"), strict=True):
        katy.get_by_role("group", name=time_range(start, end, eastern)).get_by_label(answer, exact=True).check()
    assert "12:00 PM – 3:00 PM EST" in katy.locator("main").inner_text()
    site.shot(katy, "25-scheduling-answer-eastern")
    site.audit(katy, "scheduling-answer")
    katy.get_by_role("button", name="Save my answers").click()
    assert "Your answers were saved." in katy.locator(".notice").inner_text()

    # Jordan has no zone of his own: the center's, Pacific. He can come any morning.
    jordan.goto(f"{journey.home}/scheduling")
    for start, end in times:
        jordan.get_by_role("group", name=time_range(start, end, pacific)).get_by_label("Available", exact=True).check()
    jordan.get_by_role("button", name="Save my answers").click()
    assert "Your answers were saved." in jordan.locator(".notice").inner_text()

    # The grid puts the second morning first (both available); the first, which Katy cannot make, last.
    mediator.goto(f"{journey.home}/scheduling")
    rows = mediator.locator("table.answers-grid tbody tr").all_inner_texts()
    assert time_range(*times[1], pacific) in rows[0] and "Best" in rows[0]
    assert time_range(*times[0], pacific) in rows[-1]
    assert "Everyone asked has answered." in mediator.locator("main").inner_text()
    site.shot(mediator, "26-scheduling-grid")
    site.audit(mediator, "scheduling-grid")
    assert not site.phone_problems(mediator, "mediator-scheduling-grid")
    mediator.get_by_role("group", name="Time", exact=True).get_by_label(time_range(*times[1], pacific)).check()
    mediator.get_by_label("Room or Link").fill("https://zoom.example.com/j/8800")
    mediator.get_by_role("button", name="Schedule the Mediation at this time").click()
    assert f"The Mediation is scheduled for {time_range(*times[1], pacific)}" in mediator.locator(".notice").inner_text()

    eventually(katy, journey.home, stage_is(katy, "Mediation scheduled"), "Katy's Case Home showing the mediation scheduled")
    katy.goto(f"{journey.home}/calendar")
    assert "Mediation session" in katy.get_by_role("table").inner_text()
    site.shot(katy, "27-calendar-mediation-scheduled")

    # Katy's email gives the time in New York, with the calendar file attached.
    staff = journey.pages["staff"]
    row = staff.get_by_role("row").filter(has_text=INITIATING.email).filter(has_text="Mediation scheduled")
    eventually(staff, "/staff/outbox", lambda: row.count() == 1, "the email telling Katy the mediation is scheduled")
    row.get_by_role("link").first.click()
    assert time_range(*times[1], eastern) in staff.locator("pre.email-body").inner_text()
    assert re.search(r"case-\d+-event-\d+\.ics", staff.locator("dl.facts").inner_text())


# ---- 8. deleting asks first ------------------------------------------------------------------------------------


@step
def test_deleting_a_message_or_a_document_asks_first(site: Site, journey: Journey):
    katy, mediator = journey.pages["katy"], journey.pages["mediator"]
    asked: list[str] = []

    def answer(dialog, accept: bool):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    katy.goto(journey.home)
    katy.get_by_text("Add New Message").click()
    katy.get_by_label("Your message (everyone on the case will see it)").fill("Posted by mistake.")
    katy.get_by_role("button", name="Save the message").click()
    assert "Your message was posted." in katy.locator(".notice").inner_text()
    mine = katy.locator("ul.messages > li").filter(has_text="Posted by mistake.")
    katy.once("dialog", lambda dialog: answer(dialog, accept=False))
    mine.get_by_role("button").click()
    assert asked == ["Delete this message? This cannot be undone."]
    assert mine.count() == 1 and at(journey.home).match(katy.url)
    katy.once("dialog", lambda dialog: answer(dialog, accept=True))
    mine.get_by_role("button").click()
    katy.locator(".notice").filter(has_text="The message was deleted.").wait_for()
    assert katy.locator("ul.messages > li").filter(has_text="Posted by mistake.").count() == 0
    assert katy.locator("#welcome").count() == 1

    mediator.goto(f"{journey.home}/documents")
    delete = mediator.get_by_role("button", name="Delete roof-inspection.pdf")
    mediator.once("dialog", lambda dialog: answer(dialog, accept=False))
    delete.click()
    assert asked[-1] == "Delete roof-inspection.pdf? This cannot be undone."
    assert mediator.get_by_role("link", name="roof-inspection.pdf").count() == 1
    mediator.once("dialog", lambda dialog: answer(dialog, accept=True))
    delete.click()
    mediator.locator(".notice").filter(has_text="The document was deleted.").wait_for()
    assert mediator.get_by_role("link", name="roof-inspection.pdf").count() == 0


# ---- 9. accessibility and script health across the journey ---------------------------------------------------


def test_key_pages_have_no_serious_accessibility_violations_and_no_script_errors(site: Site, request):
    findings = [f for page in site.audited.values() for f in page]
    for finding in findings:
        print(finding.line())
    blocking = [f.line() for f in findings if f.impact in BLOCKING_IMPACTS]
    assert not blocking, "axe-core found serious or critical violations:\n" + "\n".join(blocking)
    assert not site.script_problems, "script errors or CSP violations in the browser:\n" + "\n".join(site.script_problems)
    # After a failed step the pages it never reached are that step's failure, not a second one.
    if not getattr(request.session, "e2e_failed_step", None):
        missing = [name for name in AUDITED_PAGES if name not in site.audited]
        assert not missing, f"the journey never reached these pages to audit them: {missing}"
