"""Schemathesis over /openapi.json, in process: generated and deliberately malformed requests to every JSON
operation, signed in as a party and as staff, must never get a server error.

Hypothesis drives the generation in a worker thread while the app, the Temporal worker and the database stay
on the test's event loop; each generated request is handed to that loop, so the app runs exactly as it does
for every other test. Path parameters are sometimes the world's real ids (so requests reach the handlers
rather than stopping at a 404), sometimes generated.
"""

import asyncio
import re
import time
import traceback
from contextlib import AsyncExitStack

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import GenerationMode

from tests.security.world import PARTY, STAFF, World, build_world

# Both engines: PostgreSQL refuses what SQLite stores (NUL, integers past 32 bits), so each gets its own run.
pytestmark = pytest.mark.both_databases

EXAMPLES_PER_OPERATION = 6
# Signing out mid-run would leave the rest of the run anonymous; sign-out is covered by test_sessions.py.
SKIPPED = {("DELETE", "/api/v1/session")}


def known_ids(world: World) -> dict[str, int]:
    return {
        "case_id": world.case_id,
        "person_id": world.person(PARTY).id,
        "room_id": world.caucus_room_id,
        "document_id": world.shared_document_id,
        "event_id": world.event_id,
        "email_id": world.email_id,
        "message_id": world.message_id,
        "participant_id": 1,
        "number": 1,
    }


def encoded(transport: dict) -> requests.PreparedRequest:
    """Schemathesis describes a request in `requests` terms; let `requests` encode it, byte for byte, and
    hand those bytes to the in-process httpx client (the session cookie is the client's own)."""
    keep = ("method", "url", "headers", "params", "json", "data", "files")
    return requests.Request(**{k: v for k, v in transport.items() if k in keep}).prepare()


@pytest.fixture
def hypothesis_home(tmp_path):
    # Hypothesis keeps caches in ./.hypothesis; a test run should leave the work tree as it found it.
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


async def test_json_api_never_answers_with_a_server_error(web, hypothesis_home):
    world = await build_world(web)
    loop = asyncio.get_running_loop()
    failures: list[str] = []
    async with AsyncExitStack() as stack:
        browsers = await world.browsers(stack, roles=(PARTY, STAFF))
        schema = schemathesis.openapi.from_dict((await browsers[STAFF].http.get("/openapi.json")).json())
        ids = known_ids(world)

        async def deliver(browser, case):
            prepared = encoded(case.as_transport_kwargs(base_url="http://testserver", headers={"X-CSRF-Token": browser.csrf}))
            try:
                return await browser.http.request(prepared.method, prepared.url, content=prepared.body, headers=dict(prepared.headers)), ""
            except Exception:  # the ASGI transport re-raises what the app did not handle: that is the 500
                return None, traceback.format_exc()

        sent = 0

        def probe_all(operation, role: str, cases) -> None:
            """Generate requests for one operation as one role, and note every server error."""
            browser = browsers[role]

            @given(case=cases)
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def probe(case):
                nonlocal sent
                sent += 1
                response, crash = asyncio.run_coroutine_threadsafe(deliver(browser, case), loop).result(timeout=60)
                if response is None or response.status_code >= 500:
                    failures.append(
                        f"{operation.method.upper()} {operation.path} as {role}: "
                        + (crash or f"{response.status_code} {response.text[:500]}")
                        + f"\n    reproduce: {case.as_curl_command(base_url='http://testserver')}"
                    )

            probe()

        def fuzz() -> int:
            for result in schema.get_all_operations():
                operation = result.ok()
                if (operation.method.upper(), operation.path) in SKIPPED:
                    continue
                names = re.findall(r"{(\w+)}", operation.path)
                real = {name: ids[name] for name in names if name in ids}
                for role in (PARTY, STAFF):
                    cases = st.one_of(
                        operation.as_strategy(path_parameters=real),
                        operation.as_strategy(),
                        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, path_parameters=real),
                    )
                    probe_all(operation, role, cases)
            return sent

        started = time.monotonic()
        await asyncio.to_thread(fuzz)
        print(f"schemathesis: {sent} requests in {time.monotonic() - started:.1f}s")
    assert sent > 0
    assert not failures, f"{len(failures)} server errors:\n" + "\n\n".join(failures)


HUGE = 2**64
HUGE_INTEGER_REQUESTS = [
    ("GET", f"/api/v1/cases/{HUGE}", None),
    ("GET", f"/api/v1/cases/{HUGE}/messages", None),
    ("GET", f"/api/v1/cases/{{case}}/documents/{HUGE}", None),
    ("GET", f"/api/v1/mediators/{HUGE}", None),
    ("GET", f"/api/v1/staff/outbox/{HUGE}", None),
    ("GET", f"/cases/{HUGE}", None),
    ("GET", f"/cases/{HUGE}/conflict-check", None),
    ("GET", f"/staff/people/{HUGE}", None),
    ("POST", "/api/v1/staff/cases/{case}/new-panel", {"panel": [HUGE]}),
]


async def test_integers_past_64_bits_answer_4xx(web):
    """Found by the schemathesis run above; test_hostile_input.py holds every id parameter and id list to it."""
    world = await build_world(web)
    failures = []
    async with AsyncExitStack() as stack:
        staff = (await world.browsers(stack, roles=(STAFF,)))[STAFF]
        for method, url, body in HUGE_INTEGER_REQUESTS:
            url = url.replace("{case}", str(world.case_id))
            try:
                response = await staff.http.request(method, url, json=body, headers={"Accept": "application/json", "X-CSRF-Token": staff.csrf})
                status = response.status_code
            except OverflowError:
                status = 500
            if not 400 <= status < 500:
                failures.append(f"{method} {url}: {status}")
        try:
            upload = await staff.http.post(
                f"/api/v1/cases/{world.case_id}/documents",
                data={"category": "Others", "title": "Huge share", "share_with": str(HUGE)},
                files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")},
                headers={"X-CSRF-Token": staff.csrf},
            )
            status = upload.status_code
        except OverflowError:
            status = 500
        if not 400 <= status < 500:
            failures.append(f"POST /api/v1/cases/{world.case_id}/documents with share_with={HUGE}: {status}")
    assert not failures, "\n".join(failures)
