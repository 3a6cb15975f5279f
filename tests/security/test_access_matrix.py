"""Who may do what, for every route the app serves: the route table × eight kinds of visitor.

The policy below classifies every route. A route added to the app without a line here fails the test, so
each new route gets its access rule decided and reviewed. A refused visitor must get 401, 403 or 404 (an
anonymous visitor of a page: a redirect to the sign-in page), never a success and never a 500; an allowed
visitor must not get those refusals. State-changing requests carry a valid CSRF token and a minimal body,
so what answers is the access rule, not the CSRF check; the bodies are chosen so that an allowed visitor's
request is refused as incomplete (or is harmless) rather than changing the case.
"""

from contextlib import AsyncExitStack
from dataclasses import dataclass

from tests.security.world import (
    ANONYMOUS,
    INTERESTED,
    MEDIATOR,
    OTHER_SIDE_REP,
    PARTY,
    ROLES,
    STAFF,
    UNSELECTED_MEDIATOR,
    World,
    api_routes,
    build_world,
    fill_path,
)

SIGNED_IN = frozenset(ROLES) - {ANONYMOUS}
ON_CASE = frozenset({PARTY, OTHER_SIDE_REP, INTERESTED, MEDIATOR, STAFF})


@dataclass(frozen=True)
class Rule:
    name: str
    allowed: frozenset[str]
    # Path parameters made afresh for each request, because an allowed request consumes them.
    fresh: tuple[str, ...] = ()
    # Which case fills {case_id}: "A" (the accepted case) or "B" (waiting on Mediator 1's conflict check).
    case: str = "A"
    ends_session: bool = False


PUBLIC = Rule("public", frozenset(ROLES))
ANY_SIGNED_IN = Rule("any signed-in person", SIGNED_IN)
# The sign-out page is harmless without a session, so it is open to all; the API's asks for one.
SIGN_OUT_PAGE = Rule("anyone; ends the session if there is one", frozenset(ROLES), ends_session=True)
SIGN_OUT = Rule("any signed-in person; ends the session", SIGNED_IN, ends_session=True)
PARTICIPANT = Rule("case participant or staff", ON_CASE)
ACTS_FOR_PARTY = Rule("a party or their representative (the ranking)", frozenset({PARTY, OTHER_SIDE_REP}))
INTAKE_READER = Rule("parties, representatives, the mediator, staff (not interested persons)", frozenset({PARTY, OTHER_SIDE_REP, MEDIATOR, STAFF}))
MEDIATOR_OR_STAFF = Rule("the case's mediator or staff", frozenset({MEDIATOR, STAFF}))
# Everyone on the case who attends marks the times; the mediator proposes them and staff manage the poll.
MARKS_TIMES = Rule("parties, representatives and interested persons (the scheduling poll)", frozenset({PARTY, OTHER_SIDE_REP, INTERESTED}))
CONFLICT_CHECK = Rule("only the mediator asked for the conflict check (case B), not even staff", frozenset({MEDIATOR}), case="B")
STAFF_ONLY = Rule("staff only", frozenset({STAFF}))
ANSWERS_DISCLOSURE = Rule("a party or their representative (answers the mediator's disclosure)", frozenset({PARTY, OTHER_SIDE_REP}))
RECONFIRMS = Rule("only the case's mediator, for the person a re-confirmation waits on (not staff)", frozenset({MEDIATOR}))
STAFF_REMOVES = Rule("staff only (removes a participant)", frozenset({STAFF}), fresh=("participant_id",))
DOCUMENT_SHARED = Rule("the uploader, the people it is shared with, staff", frozenset({PARTY, MEDIATOR, STAFF}))
OWN_DOCUMENT = Rule("the uploader or staff (deletes a document)", frozenset({PARTY, STAFF}), fresh=("document_id",))
OWN_MESSAGE = Rule("the author or staff (deletes a message)", frozenset({PARTY, STAFF}), fresh=("message_id",))
ROOM_MEMBER = Rule("members of the caucus room, staff", frozenset({PARTY, MEDIATOR, STAFF}))
# Mediator 1 serves on case A and is asked on case B, so everyone on either case may read the profile;
# Mediator 2 is on no case, and the directory is not browsable by people outside the center.
MEDIATOR_PROFILE = Rule("staff, the mediator, people on a case the mediator is proposed for or serves", SIGNED_IN - {UNSELECTED_MEDIATOR})

POLICY: dict[str, Rule] = {
    "GET /healthz": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": SIGN_OUT_PAGE,
    "GET /forgot-password": PUBLIC,
    "POST /forgot-password": PUBLIC,
    "GET /set-password/{token}": PUBLIC,
    "POST /set-password/{token}": PUBLIC,
    "GET /cases": ANY_SIGNED_IN,
    "GET /cases/new": ANY_SIGNED_IN,
    "POST /cases/new": ANY_SIGNED_IN,
    "GET /cases/{case_id}": PARTICIPANT,
    "GET /cases/{case_id}/ranking": ACTS_FOR_PARTY,
    "POST /cases/{case_id}/ranking": ACTS_FOR_PARTY,
    "GET /mediators/{person_id}": MEDIATOR_PROFILE,
    "GET /api/v1/cases/{case_id}/ranking": ACTS_FOR_PARTY,
    "PUT /api/v1/cases/{case_id}/ranking": ACTS_FOR_PARTY,
    "GET /api/v1/mediators/{person_id}": MEDIATOR_PROFILE,
    "GET /cases/{case_id}/conflict-check": CONFLICT_CHECK,
    "POST /cases/{case_id}/conflict-check": CONFLICT_CHECK,
    "GET /cases/{case_id}/reconfirm/{person_id}": RECONFIRMS,
    "POST /cases/{case_id}/reconfirm/{person_id}": RECONFIRMS,
    "GET /api/v1/cases/{case_id}/reconfirmations/{person_id}": RECONFIRMS,
    "POST /api/v1/cases/{case_id}/reconfirmations/{person_id}": RECONFIRMS,
    "GET /cases/{case_id}/disclosures/{number}": PARTICIPANT,
    "POST /cases/{case_id}/disclosures/{number}": ANSWERS_DISCLOSURE,
    "GET /api/v1/cases/{case_id}/disclosures": PARTICIPANT,
    "POST /api/v1/cases/{case_id}/disclosures/{number}/answer": ANSWERS_DISCLOSURE,
    "POST /staff/cases/{case_id}/disclosures/{number}/decision": STAFF_ONLY,
    "POST /api/v1/staff/cases/{case_id}/disclosures/{number}/decision": STAFF_ONLY,
    "GET /cases/{case_id}/mediator": MEDIATOR_OR_STAFF,
    "POST /cases/{case_id}/mediator/fee-deposit": MEDIATOR_OR_STAFF,
    "POST /cases/{case_id}/mediator/close": MEDIATOR_OR_STAFF,
    "GET /staff": STAFF_ONLY,
    "GET /staff/cases": STAFF_ONLY,
    "GET /staff/board": STAFF_ONLY,
    "GET /staff/board.csv": STAFF_ONLY,
    "GET /staff/cases/{case_id}": STAFF_ONLY,
    "POST /staff/cases/{case_id}/intake": STAFF_ONLY,
    "POST /staff/cases/{case_id}/extend": STAFF_ONLY,
    "POST /staff/cases/{case_id}/close-ranking": STAFF_ONLY,
    "POST /staff/cases/{case_id}/new-panel": STAFF_ONLY,
    "POST /staff/cases/{case_id}/withdraw": STAFF_ONLY,
    "POST /staff/cases/{case_id}/participants": STAFF_ONLY,
    "POST /staff/cases/{case_id}/participants/{participant_id}/remove": STAFF_REMOVES,
    "GET /staff/mediators": STAFF_ONLY,
    "GET /staff/mediators/new": STAFF_ONLY,
    "POST /staff/mediators/new": STAFF_ONLY,
    "GET /staff/mediators/{person_id}": STAFF_ONLY,
    "POST /staff/mediators/{person_id}": STAFF_ONLY,
    "GET /staff/outbox": STAFF_ONLY,
    "GET /staff/outbox/{email_id}": STAFF_ONLY,
    "GET /api/v1/staff/cases": STAFF_ONLY,
    "GET /api/v1/staff/board": STAFF_ONLY,
    "GET /api/v1/staff/cases/{case_id}": STAFF_ONLY,
    "POST /api/v1/staff/cases/{case_id}/intake": STAFF_ONLY,
    "POST /api/v1/staff/cases/{case_id}/extend": STAFF_ONLY,
    "POST /api/v1/staff/cases/{case_id}/close-ranking": STAFF_ONLY,
    "POST /api/v1/staff/cases/{case_id}/new-panel": STAFF_ONLY,
    "POST /api/v1/staff/cases/{case_id}/withdraw": STAFF_ONLY,
    "POST /api/v1/staff/cases/{case_id}/participants": STAFF_ONLY,
    "DELETE /api/v1/staff/cases/{case_id}/participants/{participant_id}": STAFF_REMOVES,
    "GET /api/v1/staff/mediators": STAFF_ONLY,
    "POST /api/v1/staff/mediators": STAFF_ONLY,
    "GET /api/v1/staff/mediators/{person_id}": STAFF_ONLY,
    "PUT /api/v1/staff/mediators/{person_id}": STAFF_ONLY,
    "GET /api/v1/staff/outbox": STAFF_ONLY,
    "GET /api/v1/staff/outbox/{email_id}": STAFF_ONLY,
    "POST /api/v1/session": PUBLIC,
    "DELETE /api/v1/session": SIGN_OUT,
    "GET /api/v1/me": ANY_SIGNED_IN,
    "POST /api/v1/password-reset": PUBLIC,
    "GET /api/v1/password-links/{token}": PUBLIC,
    "POST /api/v1/password-links/{token}": PUBLIC,
    "PUT /api/v1/password": ANY_SIGNED_IN,
    "GET /api/v1/cases": ANY_SIGNED_IN,
    "POST /api/v1/cases": ANY_SIGNED_IN,
    "GET /api/v1/cases/{case_id}": PARTICIPANT,
    "GET /api/v1/cases/{case_id}/conflict-check": CONFLICT_CHECK,
    "POST /api/v1/cases/{case_id}/conflict-check": CONFLICT_CHECK,
    "POST /api/v1/cases/{case_id}/fee-deposit": MEDIATOR_OR_STAFF,
    "POST /api/v1/cases/{case_id}/close": MEDIATOR_OR_STAFF,
    "GET /profile": ANY_SIGNED_IN,
    "POST /profile": ANY_SIGNED_IN,
    "POST /profile/password": ANY_SIGNED_IN,
    "GET /staff/people/{person_id}": STAFF_ONLY,
    "POST /staff/people/{person_id}": STAFF_ONLY,
    "GET /api/v1/profile": ANY_SIGNED_IN,
    "PUT /api/v1/profile": ANY_SIGNED_IN,
    "GET /api/v1/staff/people/{person_id}": STAFF_ONLY,
    "PUT /api/v1/staff/people/{person_id}": STAFF_ONLY,
    "POST /cases/{case_id}/messages": PARTICIPANT,
    "POST /cases/{case_id}/messages/{message_id}/delete": OWN_MESSAGE,
    "GET /api/v1/cases/{case_id}/messages": PARTICIPANT,
    "POST /api/v1/cases/{case_id}/messages": PARTICIPANT,
    "DELETE /api/v1/cases/{case_id}/messages/{message_id}": OWN_MESSAGE,
    "GET /cases/{case_id}/intake": INTAKE_READER,
    "GET /api/v1/cases/{case_id}/intake": INTAKE_READER,
    "GET /cases/{case_id}/users": PARTICIPANT,
    "POST /cases/{case_id}/users": STAFF_ONLY,
    "POST /cases/{case_id}/users/{participant_id}/remove": STAFF_REMOVES,
    "GET /api/v1/cases/{case_id}/users": PARTICIPANT,
    "GET /cases/{case_id}/documents": PARTICIPANT,
    "POST /cases/{case_id}/documents": PARTICIPANT,
    "GET /cases/{case_id}/documents/{document_id}/download": DOCUMENT_SHARED,
    "POST /cases/{case_id}/documents/{document_id}/delete": OWN_DOCUMENT,
    "GET /api/v1/cases/{case_id}/documents": PARTICIPANT,
    "POST /api/v1/cases/{case_id}/documents": PARTICIPANT,
    "GET /api/v1/cases/{case_id}/documents/{document_id}": DOCUMENT_SHARED,
    "GET /api/v1/cases/{case_id}/documents/{document_id}/download": DOCUMENT_SHARED,
    "DELETE /api/v1/cases/{case_id}/documents/{document_id}": OWN_DOCUMENT,
    "GET /cases/{case_id}/discussions": PARTICIPANT,
    "POST /cases/{case_id}/discussions/open": MEDIATOR_OR_STAFF,
    "POST /cases/{case_id}/discussions/rooms": MEDIATOR_OR_STAFF,
    "GET /cases/{case_id}/discussions/rooms/{room_id}": ROOM_MEMBER,
    "POST /cases/{case_id}/discussions/rooms/{room_id}/messages": ROOM_MEMBER,
    "GET /api/v1/cases/{case_id}/discussions": PARTICIPANT,
    "POST /api/v1/cases/{case_id}/discussions/open": MEDIATOR_OR_STAFF,
    "POST /api/v1/cases/{case_id}/discussions/rooms": MEDIATOR_OR_STAFF,
    "GET /api/v1/cases/{case_id}/discussions/rooms/{room_id}/messages": ROOM_MEMBER,
    "POST /api/v1/cases/{case_id}/discussions/rooms/{room_id}/messages": ROOM_MEMBER,
    "GET /cases/{case_id}/calendar": PARTICIPANT,
    "POST /cases/{case_id}/calendar": MEDIATOR_OR_STAFF,
    "GET /cases/{case_id}/calendar/{event_id}/edit": MEDIATOR_OR_STAFF,
    "POST /cases/{case_id}/calendar/{event_id}": MEDIATOR_OR_STAFF,
    "GET /cases/{case_id}/calendar.ics": PARTICIPANT,
    "GET /cases/{case_id}/calendar/{event_id}.ics": PARTICIPANT,
    "GET /api/v1/cases/{case_id}/calendar": PARTICIPANT,
    "POST /api/v1/cases/{case_id}/calendar": MEDIATOR_OR_STAFF,
    "PUT /api/v1/cases/{case_id}/calendar/{event_id}": MEDIATOR_OR_STAFF,
    "GET /cases/{case_id}/scheduling": PARTICIPANT,
    "POST /cases/{case_id}/scheduling/proposals": MEDIATOR_OR_STAFF,
    "POST /cases/{case_id}/scheduling/answers": MARKS_TIMES,
    "POST /cases/{case_id}/scheduling/pick": MEDIATOR_OR_STAFF,
    "POST /cases/{case_id}/scheduling/cancel": MEDIATOR_OR_STAFF,
    "GET /api/v1/cases/{case_id}/scheduling": PARTICIPANT,
    "POST /api/v1/cases/{case_id}/scheduling/proposals": MEDIATOR_OR_STAFF,
    "PUT /api/v1/cases/{case_id}/scheduling/answers": MARKS_TIMES,
    "POST /api/v1/cases/{case_id}/scheduling/pick": MEDIATOR_OR_STAFF,
    "POST /api/v1/cases/{case_id}/scheduling/cancel": MEDIATOR_OR_STAFF,
}

LATER = {"starts_at": "2031-03-01T10:00:00Z", "ends_at": "2031-03-01T11:00:00Z"}
# JSON bodies valid in shape, so that the access rule answers before validation; for an allowed visitor
# each is refused as incomplete (422) or changes nothing. Routes not listed get {}.
JSON_BODIES: dict[str, object] = {
    "POST /api/v1/session": {"email": "nobody@example.com", "password": "not the password"},
    "POST /api/v1/password-reset": {"email": "nobody@example.com"},
    "POST /api/v1/password-links/{token}": {"password": "a long enough password", "confirm": "a long enough password"},
    "PUT /api/v1/password": {"current_password": "not the password", "password": "a long enough password", "confirm": "a long enough password"},
    "POST /api/v1/cases": {"property_address": "", "dispute_bases": [], "dispute_value": "", "others": []},
    "PUT /api/v1/cases/{case_id}/ranking": {"ranked": []},
    "POST /api/v1/cases/{case_id}/conflict-check": {"accept": False, "reason": ""},
    "POST /api/v1/cases/{case_id}/reconfirmations/{person_id}": {"accept": False, "reason": ""},
    # The window of disclosure 1 has closed: a party is refused at this moment (409), anyone else as not theirs to answer.
    "POST /api/v1/cases/{case_id}/disclosures/{number}/answer": {"objects": False},
    "POST /api/v1/staff/cases/{case_id}/disclosures/{number}/decision": {"uphold": False, "reason": ""},
    "POST /api/v1/cases/{case_id}/close": {"outcome": "", "note": ""},
    "POST /api/v1/cases/{case_id}/messages": {"body": ""},
    "POST /api/v1/cases/{case_id}/discussions/rooms": {"name": "", "member_ids": []},
    "POST /api/v1/cases/{case_id}/discussions/rooms/{room_id}/messages": {"body": "Probe from the access matrix."},
    "POST /api/v1/cases/{case_id}/calendar": {"title": "", **LATER},
    "PUT /api/v1/cases/{case_id}/calendar/{event_id}": {"title": "", **LATER},
    # Each names no poll (or no time), so an allowed visitor is refused as incomplete and the world's poll stays open.
    "POST /api/v1/cases/{case_id}/scheduling/proposals": {"slots": []},
    "PUT /api/v1/cases/{case_id}/scheduling/answers": {"answers": []},
    "POST /api/v1/cases/{case_id}/scheduling/pick": {"poll": 1},
    "POST /api/v1/cases/{case_id}/scheduling/cancel": {},
}


async def path_values(world: World, path: str, rule: Rule) -> dict[str, object]:
    person_id = world.person(PARTY).id if path.startswith(("/staff/people", "/api/v1/staff/people")) else world.person(MEDIATOR).id
    if "/reconfirm" in path:
        # The person Mediator 1's re-confirmation waits on.
        person_id = world.person(INTERESTED).id
    values = {
        "case_id": world.case_id if rule.case == "A" else world.other_case_id,
        "person_id": person_id,
        "room_id": world.caucus_room_id,
        "document_id": world.shared_document_id,
        "event_id": world.event_id,
        "email_id": world.email_id,
        "message_id": world.message_id,
        "token": "no-such-password-link",
        "number": 1,
    }
    makers = {"message_id": world.disposable_message, "document_id": world.disposable_document, "participant_id": world.disposable_participant}
    for name in rule.fresh:
        values[name] = await makers[name]()
    return values


async def send(browser, method: str, path: str, url: str):
    key = f"{method} {path}"
    if method == "GET":
        return await browser.http.get(url)
    if url.startswith("/api/"):
        body = JSON_BODIES.get(key, {})
        return await browser.http.request(method, url, json=body if method != "DELETE" else None, headers={"X-CSRF-Token": browser.csrf})
    return await browser.http.request(method, url, data={"csrf_token": browser.csrf})


def refused(response, url: str) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    # A page asked for without signing in sends the visitor to sign in, and nowhere else.
    return not url.startswith("/api/") and response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def has_security_headers(response) -> bool:
    """A CSP, nosniff, a referrer policy, and no framing: downloads carry their own sandboxing CSP and rely on X-Frame-Options."""
    csp = response.headers.get("content-security-policy", "")
    unframeable = "frame-ancestors 'none'" in csp or response.headers.get("x-frame-options") == "DENY"
    return bool(csp) and unframeable and response.headers.get("x-content-type-options") == "nosniff" and bool(response.headers.get("referrer-policy"))


async def test_every_route_is_classified_and_each_role_gets_what_the_policy_says(web):
    world = await build_world(web)
    table = api_routes(web.asgi)
    keys = [f"{method} {path}" for method, path, _ in table]
    unclassified = sorted(set(keys) - set(POLICY))
    assert not unclassified, "routes without an access rule (add them to POLICY after deciding who may use them):\n" + "\n".join(unclassified)
    stale = sorted(set(POLICY) - set(keys))
    assert not stale, "POLICY names routes the app no longer serves:\n" + "\n".join(stale)

    problems: list[str] = []
    async with AsyncExitStack() as stack:
        browsers = await world.browsers(stack)
        for method, path, _route in table:
            key = f"{method} {path}"
            rule = POLICY[key]
            for role in ROLES:
                if rule.ends_session and role != ANONYMOUS:
                    async with web.browser() as own:
                        await world.sign_in(own, role)
                        url = fill_path(path, await path_values(world, path, rule))
                        response = await send(own, method, path, url)
                else:
                    url = fill_path(path, await path_values(world, path, rule))
                    response = await send(browsers[role], method, path, url)
                said = f"{key} as {role} [{rule.name}]: {response.status_code} {response.text[:160]!r}"
                if response.status_code >= 500:
                    problems.append("server error: " + said)
                elif role in rule.allowed and refused(response, url):
                    problems.append("allowed but refused: " + said)
                elif role not in rule.allowed and not refused(response, url):
                    problems.append("refused role got through: " + said)
                if not has_security_headers(response):
                    problems.append("missing security headers: " + said)
    assert not problems, f"{len(problems)} access-rule violations:\n" + "\n".join(problems)
