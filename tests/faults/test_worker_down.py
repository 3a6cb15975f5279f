"""With every worker down, people can still read their cases: pages answer from the database within a second and
say that changes are paused; an action answers 503 at once and nothing is sent, so nothing is lost or half-done;
when the worker is back, everything done before is there and the next action goes through.

The worker is frozen with SIGSTOP, as the issue's report did: a worker restarting for a deploy, or stuck, looks
like this to the web app. The last test freezes it after the web has seen it alive, so the action's Update is
sent and not answered: it says the change could not be confirmed, and the change is applied once the worker is
back, exactly once.
"""

import asyncio
import os
import re
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.db.models import BallotRecord, Case, Person
from features.accounts.security import hash_password
from features.lifecycle import NOT_CONFIRMED, PAUSED
from tests.faults.processes import wait_until
from tests.support import handle, make_case, make_center
from tests.web_support import PASSWORD, WebApp
from workflows.case import CaseWorkflow
from workflows.types import IntakeDecision

pytestmark = pytest.mark.faults


async def _case_in_ranking(sessions, client, settings):
    center = await make_center(sessions)
    m1, m2, m3 = (m.id for m in center.mediators[:3])
    case_id, people = await make_case(sessions, client, settings)
    async with sessions() as session:
        await session.execute(update(Person).values(password_hash=hash_password(PASSWORD)))
        await session.commit()
    await handle(client, settings, case_id).execute_update(
        CaseWorkflow.review_intake, IntakeDecision(accept=True, actor_id=center.staff.id, panel=[m1, m2, m3])
    )
    return case_id, people, (m1, m2, m3)


async def _timed(call):
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def test_pages_answer_and_actions_pause_while_the_worker_is_frozen(dev_client, settings, sessions, start_worker, cleanup_cases):
    settings = settings.model_copy(update={"worker_presence_interval": timedelta(seconds=1), "worker_absent_after": timedelta(seconds=3)})
    cleanup_cases(dev_client, settings)
    worker = await start_worker(settings)
    async with WebApp.running(settings, dev_client, sessions) as web:
        case_id, people, (m1, m2, m3) = await _case_in_ranking(sessions, dev_client, settings)
        async with web.browser() as katy, web.browser() as taylor, web.browser() as staff:
            await katy.login("katy.perry@example.com")
            await taylor.login("taylor.swift@example.com")
            await staff.login("staff@car.org")
            first = await katy.api("PUT", f"/api/v1/cases/{case_id}/ranking", {"ranked": [m1, m2, m3]})
            assert first.status_code == 200, first.text

            os.kill(worker.pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(4)  # past worker_absent_after: no word from any worker
                for browser, url in (
                    (katy, f"/cases/{case_id}"),
                    (katy, f"/api/v1/cases/{case_id}"),
                    (katy, "/cases"),
                    (taylor, f"/cases/{case_id}/ranking"),
                    (staff, f"/staff/cases/{case_id}"),
                ):
                    response, took = await _timed(browser.http.get(url))
                    assert response.status_code == 200, f"{url}: {response.status_code}"
                    assert took < 1.0, f"{url} took {took:.2f} s with the worker frozen"
                    if "/api/" in url:
                        assert response.json()["changes_paused"] is True
                    else:
                        assert "Changes are paused" in response.text, url
                ranking_page = (await taylor.get(f"/cases/{case_id}/ranking")).text
                button = re.search(r"<button[^>]*>Submit my Ranking</button>", ranking_page)
                assert button and "disabled" in button.group(0), "the ranking form is offered while changes are paused"

                refused, took = await _timed(taylor.api("PUT", f"/api/v1/cases/{case_id}/ranking", {"ranked": [m2, m1, m3]}))
                assert refused.status_code == 503 and refused.json()["detail"] == PAUSED and took < 1.0
                form = await taylor.post(
                    f"/cases/{case_id}/ranking",
                    {"party_id": str(people["Taylor Swift"]), "choice_" + str(m1): "2", "choice_" + str(m2): "1", "choice_" + str(m3): "3"},
                )
                assert form.status_code == 503 and "Changes are paused" in form.text
            finally:
                os.kill(worker.pid, signal.SIGCONT)

            async def back():
                response = await taylor.api("GET", f"/api/v1/cases/{case_id}")
                return response.json()["changes_paused"] is False

            await wait_until(back, 15, what="the web app seeing the worker again")
            second = await taylor.api("PUT", f"/api/v1/cases/{case_id}/ranking", {"ranked": [m2, m1, m3]})
            assert second.status_code == 200, second.text
            home = (await katy.api("GET", f"/api/v1/cases/{case_id}")).json()
            assert home["stage"] == "conflict_check"
    async with sessions() as session:
        ballots = (await session.execute(select(BallotRecord).where(BallotRecord.case_id == case_id))).scalars().all()
        # Katy's before the freeze and Taylor's after it; the refused attempts left nothing behind.
        assert sorted((b.party_id, tuple(b.ranked)) for b in ballots) == sorted([(people["Katy Perry"], (m1, m2, m3)), (people["Taylor Swift"], (m2, m1, m3))])


async def test_an_action_the_frozen_worker_never_answered_is_applied_once_when_it_is_back(dev_client, settings, sessions, start_worker, cleanup_cases):
    # The web still believes the worker is there (it froze a moment ago), so the Update is sent and waits.
    settings = settings.model_copy(update={"worker_absent_after": timedelta(minutes=5), "action_timeout": timedelta(seconds=3)})
    cleanup_cases(dev_client, settings)
    worker = await start_worker(settings)
    async with WebApp.running(settings, dev_client, sessions) as web:
        case_id, people, (m1, m2, m3) = await _case_in_ranking(sessions, dev_client, settings)
        async with web.browser() as katy:
            await katy.login("katy.perry@example.com")
            os.kill(worker.pid, signal.SIGSTOP)
            try:
                pending = await katy.api("PUT", f"/api/v1/cases/{case_id}/ranking", {"ranked": [m3, m2, m1]})
                assert pending.status_code == 503 and pending.json()["detail"] == NOT_CONFIRMED
            finally:
                os.kill(worker.pid, signal.SIGCONT)

            async def applied():
                async with sessions() as session:
                    return (await session.execute(select(BallotRecord).where(BallotRecord.case_id == case_id))).scalars().all()

            ballots = await wait_until(applied, 20, what="the waiting ballot applied once the worker is back")
            await asyncio.sleep(1)
            assert [(b.party_id, b.ranked) for b in await applied()] == [(people["Katy Perry"], [m3, m2, m1])]
            mine = (await katy.api("GET", f"/api/v1/cases/{case_id}/ranking")).json()["my_ballot"]
            assert mine["ranked"] == [m3, m2, m1] and len(ballots) == 1
    async with sessions() as session:
        assert (await session.get(Case, case_id)).stage == "ranking"
