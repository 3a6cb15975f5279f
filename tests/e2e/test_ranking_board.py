"""The ranking board in a real browser, on the demo case (open for ranking; Katy and Taylor have not ranked).

Taylor tries the board without submitting: the skip link, the disabled Move up/Move down buttons, a drop the full
"Eliminated" column refuses, a mediator's profile in a dialog and, without JavaScript, the profile page and back;
the arrangement survives each. Katy submits a board she never touched: she is asked first, once.
"""

import pytest

from commands.demo import INITIATING, RESPONDING
from tests.e2e.conftest import Site, api, at, card_names, expect_cards, focused_text

pytestmark = pytest.mark.integration

UNTOUCHED_QUESTION = "You have not changed the order. Submit the panel order as your ranking?"
# The Move up/Move down buttons: the brand colour when they work, grey when they cannot.
ENABLED_COLOUR = "rgb(29, 78, 216)"
DISABLED_COLOUR = "rgb(107, 114, 128)"


@pytest.fixture(scope="module")
def taylor(site: Site):
    return site.sign_in("taylor", RESPONDING.email, RESPONDING.password)


@pytest.fixture(scope="module")
def ranking_url(taylor) -> str:
    case_id = api(taylor, "GET", "/api/v1/cases")["items"][0]["id"]
    return f"/cases/{case_id}/ranking"


def open_board(page, url: str) -> list[str]:
    page.goto(url)
    page.locator("#js-help").wait_for(state="visible")  # ranking.js has taken over from the selects
    return card_names(page, "ranked-list")


def card(page, name: str):
    return page.locator(f'#ranking-form .mediator-card[data-name="{name}"]')


def test_the_skip_link_takes_the_keyboard_straight_to_the_board(site: Site, taylor, ranking_url):
    first = open_board(taylor, ranking_url)[0]
    taylor.keyboard.press("Tab")
    assert focused_text(taylor) == "Skip to the ranking board"
    site.shot(taylor, "board-01-skip-link")
    taylor.keyboard.press("Enter")
    assert taylor.evaluate("() => document.activeElement.id") == "ranking-board"
    # From the board, the next key press reaches the first card instead of the 14 links and buttons above it.
    taylor.keyboard.press("Tab")
    assert focused_text(taylor) == f"View profile of {first}"


def test_move_buttons_that_cannot_act_look_and_are_disabled(site: Site, taylor, ranking_url):
    first, second, third = open_board(taylor, ranking_url)
    up_first = card(taylor, first).get_by_role("button", name=f"Move up {first}")
    down_first = card(taylor, first).get_by_role("button", name=f"Move down {first}")
    down_last = card(taylor, third).get_by_role("button", name=f"Move down {third}")
    for disabled in (up_first, down_last):
        assert disabled.get_attribute("aria-disabled") == "true"
        assert disabled.evaluate("b => getComputedStyle(b).color") == DISABLED_COLOUR
        assert disabled.evaluate("b => getComputedStyle(b).cursor") == "not-allowed"
        assert disabled.is_disabled()  # Playwright reads aria-disabled as a person's assistive technology does
    assert down_first.get_attribute("aria-disabled") is None
    assert down_first.evaluate("b => getComputedStyle(b).color") == ENABLED_COLOUR
    site.shot(taylor, "board-02-disabled-buttons")
    # Clicking one anyway moves nothing and says why.
    up_first.click(force=True)
    expect_cards(taylor, "ranked-list", [first, second, third])
    taylor.get_by_role("status").filter(has_text=f"{first} is already first.").wait_for()
    # Once one mediator is eliminated (at most one may be), no other card's Eliminate works.
    card(taylor, third).get_by_role("button", name=f"Eliminate {third}").click()
    expect_cards(taylor, "eliminated-list", [third])
    for name in (first, second):
        assert card(taylor, name).get_by_role("button", name=f"Eliminate {name}").get_attribute("aria-disabled") == "true"


def test_a_drop_the_full_eliminated_column_refuses_leaves_the_card_where_it_was(site: Site, taylor, ranking_url):
    first, second, third = open_board(taylor, ranking_url)
    card(taylor, third).get_by_role("button", name=f"Eliminate {third}").click()
    expect_cards(taylor, "ranked-list", [first, second])
    expect_cards(taylor, "eliminated-list", [third])
    taylor.set_viewport_size({"width": 1280, "height": 1800})
    try:
        taylor.wait_for_function("() => [...document.querySelectorAll('.mediator-card')].every(card => !card.animated)", timeout=5000)
        start = card(taylor, first).locator(".name").bounding_box()
        over_second = card(taylor, second).bounding_box()
        target = taylor.locator("#eliminated-list").bounding_box()
        taylor.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
        taylor.mouse.down()
        taylor.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + start["height"] / 2 + 5, steps=5)
        # Past the second card first, so the list makes room below it (where the card would stay without the fix)...
        x, y = over_second["x"] + over_second["width"] / 2, over_second["y"] + over_second["height"] * 0.8
        taylor.mouse.move(x, y, steps=15)
        for wiggle in (-2, 2, -2, 2):
            taylor.wait_for_timeout(120)
            taylor.mouse.move(x + wiggle, y)
        # ...then on to the full "Eliminated" column, and let go there.
        x, y = target["x"] + target["width"] / 2, target["y"] + target["height"] / 2
        taylor.mouse.move(x, y, steps=20)
        for wiggle in (-2, 2, -2, 2):
            taylor.wait_for_timeout(120)
            taylor.mouse.move(x + wiggle, y)
        taylor.mouse.up()
        expect_cards(taylor, "ranked-list", [first, second])
        expect_cards(taylor, "eliminated-list", [third])
        taylor.get_by_role("status").filter(has_text="You may eliminate at most 1 mediator.").wait_for()
        site.shot(taylor, "board-03-refused-drop")
    finally:
        taylor.set_viewport_size({"width": 1280, "height": 900})


def test_a_profile_opens_in_a_dialog_over_the_board_and_the_arrangement_stays(site: Site, taylor, ranking_url):
    first, second, third = open_board(taylor, ranking_url)
    card(taylor, third).get_by_role("button", name=f"Move up {third}").click()
    expect_cards(taylor, "ranked-list", [first, third, second])

    opener = card(taylor, second).get_by_role("button", name=f"View profile of {second}")
    opener.click()
    dialog = taylor.get_by_role("dialog", name=second)
    dialog.wait_for(state="visible")
    assert "Fee" in dialog.inner_text() and "Languages" in dialog.inner_text()
    assert at(ranking_url).match(taylor.url), taylor.url
    site.shot(taylor, "board-04-profile-dialog")
    blocking = site.audit(taylor, "ranking-profile-dialog")
    assert not blocking, "\n".join(finding.line() for finding in blocking)
    dialog.get_by_role("button", name=f"Close the profile of {second}").click()
    dialog.wait_for(state="hidden")
    # Back where the person was: the same button focused, the board as they left it.
    assert focused_text(taylor) == f"View profile of {second}"
    expect_cards(taylor, "ranked-list", [first, third, second])

    # Escape closes it as well.
    card(taylor, first).get_by_role("button", name=f"View profile of {first}").click()
    taylor.get_by_role("dialog", name=first).wait_for(state="visible")
    taylor.keyboard.press("Escape")
    taylor.get_by_role("dialog", name=first).wait_for(state="hidden")
    expect_cards(taylor, "ranked-list", [first, third, second])


def test_without_javascript_the_profile_page_and_back_keep_the_arrangement(site: Site, ranking_url):
    plain = site.sign_in("taylor-without-javascript", RESPONDING.email, RESPONDING.password, javascript=False)
    plain.goto(ranking_url)
    names = plain.locator("#ranked-list > .mediator-card").evaluate_all("cards => cards.map(c => c.dataset.name)")
    first, second, third = names
    arranged = {third: "1", first: "2", second: "eliminate"}
    for name, choice in arranged.items():
        plain.get_by_label(f"Your choice for {name}").select_option(choice)
    plain.get_by_role("button", name=f"View profile of {first}").click()
    plain.wait_for_url(lambda url: "/mediators/" in url)
    assert first in plain.locator("h1").inner_text()
    site.shot(plain, "board-05-profile-page-without-javascript")
    plain.get_by_role("link", name="Back to Mediator Rankings").click()
    plain.wait_for_url(lambda url: "/ranking" in url)
    assert "Your arrangement is as you left it" in plain.locator("#draft-kept").inner_text()
    assert {name: plain.get_by_label(f"Your choice for {name}").input_value() for name in names} == arranged
    site.shot(plain, "board-06-back-without-javascript")


def test_an_untouched_board_asks_once_before_it_counts(site: Site, ranking_url):
    katy = site.sign_in("katy", INITIATING.email, INITIATING.password)
    panel = open_board(katy, ranking_url)
    asked: list[str] = []

    def answer(dialog, accept: bool):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    katy.once("dialog", lambda dialog: answer(dialog, accept=False))
    katy.get_by_role("button", name="Submit my Ranking").click()
    katy.get_by_role("status").filter(has_text="Nothing was submitted.").wait_for()
    assert asked == [UNTOUCHED_QUESTION]
    assert at(ranking_url).match(katy.url), katy.url
    assert api(katy, "GET", f"/api/v1{ranking_url}")["my_ballot"] is None

    katy.once("dialog", lambda dialog: answer(dialog, accept=True))
    katy.get_by_role("button", name="Submit my Ranking").click()
    katy.wait_for_url(lambda url: not url.split("?")[0].endswith("/ranking"))
    assert asked == [UNTOUCHED_QUESTION, UNTOUCHED_QUESTION]
    assert "Your ranking was submitted." in katy.locator(".notice").inner_text()
    ballot = api(katy, "GET", f"/api/v1{ranking_url}")["my_ballot"]
    names = {m["id"]: m["full_name"] for m in api(katy, "GET", f"/api/v1{ranking_url}")["panel"]}
    assert [names[m] for m in ballot["ranked"]] == panel and ballot["eliminated"] == []
