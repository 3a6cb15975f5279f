"""The same ranking submitted twice counts once: a retried API request with the same Idempotency-Key, two
identical API requests at the same moment (with one key, and with none), and a double-clicked form. One
ballot row and one "Mediator ranking received" email per party, with the worker a separate process on the
real dev server."""

import asyncio
import re

import pytest
from sqlalchemy import select, update

from core.db.models import BallotRecord, Person
from core.db.session import transaction
from features.accounts.security import hash_password
from tests.faults.processes import wait_until
from tests.support import emails, make_case, make_center, status, wait_for_stage
from tests.web_support import PASSWORD, WebApp
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision

pytestmark = pytest.mark.faults

NONCE = re.compile(r'name="nonce" value="([^"]+)"')
SUBMITTER = re.compile(r"^(.+) submitted a mediator ranking for case", re.MULTILINE)
PARTIES = [("Katy Perry", "initiating"), ("Taylor Swift", "responding"), ("Ann Arbor", "initiating"), ("Tom Hanks", "responding")]
NAMES = sorted(name for name, _ in PARTIES)


async def test_duplicate_ranking_submissions_count_once(dev_client, settings, sessions, start_worker, cleanup_cases):
    client = dev_client
    cleanup_cases(client, settings)
    await start_worker(settings)
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, client, settings, parties=PARTIES)
    katy, taylor, ann, tom = (people[name] for name in ("Katy Perry", "Taylor Swift", "Ann Arbor", "Tom Hanks"))
    async with transaction(sessions) as session:
        await session.execute(update(Person).where(Person.id.in_(list(people.values()))).values(password_hash=hash_password(PASSWORD)))
    await client.get_workflow_handle(settings.workflow_id(case_id)).execute_update(
        CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3])
    )
    await wait_for_stage(client, settings, case_id, "ranking")
    url = f"/api/v1/cases/{case_id}/ranking"

    async with WebApp.running(settings, client, sessions) as web:
        # A retried request (the answer was lost on the way back) with the same key.
        async with web.browser() as browser:
            assert (await browser.login("katy.perry@example.com")).status_code == 303
            headers = {"X-CSRF-Token": browser.csrf, "Idempotency-Key": "katy-ballot-1"}
            body = {"ranked": [m1, m2, m3]}
            first = await browser.http.put(url, json=body, headers=headers)
            again = await browser.http.put(url, json=body, headers=headers)
            assert first.status_code == again.status_code == 200, (first.text, again.text)
            assert first.json() == again.json()
            assert first.json()["revision"] is False and first.json()["unchanged"] is False

        # Two identical requests at the same moment, with the same key.
        async with web.browser() as browser:
            assert (await browser.login("taylor.swift@example.com")).status_code == 303
            headers = {"X-CSRF-Token": browser.csrf, "Idempotency-Key": "taylor-ballot-1"}
            body = {"ranked": [m2, m1], "eliminated": [m3]}
            answers = await asyncio.gather(*(browser.http.put(url, json=body, headers=headers) for _ in range(2)))
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
            assert answers[0].json() == answers[1].json()
            assert answers[0].json()["revision"] is False

        # Two identical requests at the same moment without a key: two submissions, the second changes nothing.
        async with web.browser() as browser:
            assert (await browser.login("ann.arbor@example.com")).status_code == 303
            body = {"ranked": [m3, m1, m2]}
            answers = await asyncio.gather(*(browser.api("PUT", url, json=body) for _ in range(2)))
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
            assert sorted(a.json()["unchanged"] for a in answers) == [False, True]
            assert not any(a.json()["revision"] and not a.json()["unchanged"] for a in answers)

        # A double-clicked form: the same page, so the same nonce, posted twice at once. The last ballot
        # closes the round, so the second post must be recognised as the same submission, not rejected.
        async with web.browser() as browser:
            assert (await browser.login("tom.hanks@example.com")).status_code == 303
            page = await browser.get(f"/cases/{case_id}/ranking")
            assert page.status_code == 200
            form = {
                "csrf_token": browser.csrf,
                "nonce": NONCE.search(page.text).group(1),
                "party_id": str(tom),
                "ranking_round": "1",
                f"choice_{m1}": "2",
                f"choice_{m2}": "1",
                f"choice_{m3}": "3",
            }
            posts = await asyncio.gather(*(browser.http.post(f"/cases/{case_id}/ranking", data=form) for _ in range(2)))
            assert [p.status_code for p in posts] == [303, 303], [p.text[:500] for p in posts]

    await wait_for_stage(client, settings, case_id, "conflict_check")

    async def receipts_sent():
        found = await emails(sessions, "Mediator ranking")
        return found if len(found) >= len(PARTIES) and all(e.status == "sent" for e in found) else None

    receipts = await wait_until(receipts_sent, 15, what="ranking receipts")
    await asyncio.sleep(1.5)
    receipts = await emails(sessions, "Mediator ranking")
    assert [e.subject.split(" RE: ")[0] for e in receipts] == ["Mediator ranking received"] * len(PARTIES)
    assert sorted(SUBMITTER.search(e.text_body).group(1) for e in receipts) == NAMES
    async with sessions() as session:
        ballots = select(BallotRecord.party_id, BallotRecord.ranked, BallotRecord.eliminated).where(BallotRecord.case_id == case_id)
        rows = (await session.execute(ballots)).all()
    assert sorted(rows) == sorted([(katy, [m1, m2, m3], []), (taylor, [m2, m1], [m3]), (ann, [m3, m1, m2], []), (tom, [m2, m1, m3], [])])

    current = await status(client, settings, case_id)
    events = [t.event for t in current.timeline]
    assert events.count("ranking_submitted") == len(PARTIES) and "ranking_revised" not in events
    assert current.tally.ballots_counted == len(PARTIES)
