"""Load: 50 concurrent users on the embedded stack for a while. No errors, and nothing lost: every action a
user saw succeed is in the database and in the case workflows, exactly once.

Run with `make test-e2e` (or name this file to pytest). MEDIATION_LOAD_USERS and MEDIATION_LOAD_SECONDS
change the size; the defaults are 50 users for 90 seconds.
"""

import asyncio
import os
import random
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from bench.data import BENCH_PASSWORD, cast
from bench.http import BenchError, Timings
from bench.scenarios import Scene, open_cases
from bench.stack import Stack
from core.db.models import BallotRecord, Message
from workflows.case import CaseWorkflow

USERS = int(os.environ.get("MEDIATION_LOAD_USERS", "50"))
SECONDS = float(os.environ.get("MEDIATION_LOAD_SECONDS", "90"))
THINK_SECONDS = 1.0

pytestmark = pytest.mark.integration


async def test_fifty_users_lose_nothing():
    stack = Stack()
    await stack.start()
    scene = Scene(stack)
    try:
        scene.cast = await cast(scene.sessions)
        scene.panel = scene.cast.mediator_ids[:3]
        cases, _setup = await open_cases(scene, f"load{os.getpid()}", USERS, concurrency=16)
        timings = Timings()
        users = [scene.user(c.initiating.email, BENCH_PASSWORD, timings) for c in cases]
        for user in users:
            await user.sign_in()
        orders = [scene.panel, [scene.panel[1], scene.panel[0], scene.panel[2]], [scene.panel[2], scene.panel[0]]]
        posted: Counter[int] = Counter()
        changed_ballots: Counter[int] = Counter()
        last_order: dict[int, list[int]] = {}
        errors: list[str] = []
        stop_at = time.monotonic() + SECONDS

        async def life(user, case, rng: random.Random) -> None:
            await asyncio.sleep(rng.uniform(0, THINK_SECONDS))
            while time.monotonic() < stop_at:
                action = rng.choices(["home", "rank", "message", "documents", "users"], weights=[4, 2, 2, 1, 1])[0]
                try:
                    if action == "home":
                        await user.request("case_home", "GET", f"/cases/{case.case_id}")
                    elif action == "rank":
                        order = rng.choice(orders)
                        eliminated = [m for m in scene.panel if m not in order]
                        response = await user.request("rank", "PUT", f"/api/v1/cases/{case.case_id}/ranking", json={"ranked": order, "eliminated": eliminated})
                        if not response.json()["unchanged"]:
                            changed_ballots[case.case_id] += 1
                        last_order[case.case_id] = order
                    elif action == "message":
                        await user.request(
                            "message", "POST", f"/api/v1/cases/{case.case_id}/messages", expect=(200, 201), json={"body": f"note {posted[case.case_id]}"}
                        )
                        posted[case.case_id] += 1
                    elif action == "documents":
                        await user.request("documents", "GET", f"/api/v1/cases/{case.case_id}/documents")
                    else:
                        await user.request("users", "GET", f"/api/v1/cases/{case.case_id}/users")
                except BenchError as error:
                    errors.append(str(error))
                await asyncio.sleep(rng.uniform(0.5 * THINK_SECONDS, 1.5 * THINK_SECONDS))

        await asyncio.gather(*(life(u, c, random.Random(n)) for n, (u, c) in enumerate(zip(users, cases, strict=False))))
        await asyncio.gather(*(u.close() for u in users))

        report = timings.report()
        print({label: {k: v for k, v in r.items() if k in ("count", "p50_ms", "p95_ms", "errors")} for label, r in report.items()})
        assert errors == [], f"{len(errors)} failed actions, first: {errors[:3]}"
        assert sum(r["count"] for r in report.values()) > USERS * SECONDS / (THINK_SECONDS * 4), "the users hardly did anything"

        async with scene.sessions() as db:
            messages = dict((await db.execute(select(Message.case_id, func.count()).group_by(Message.case_id))).all())
            ballots = dict((await db.execute(select(BallotRecord.case_id, func.count()).group_by(BallotRecord.case_id))).all())
        for case in cases:
            assert messages.get(case.case_id, 0) == posted[case.case_id], f"case {case.case_id}: messages lost or doubled"
            assert ballots.get(case.case_id, 0) == changed_ballots[case.case_id], f"case {case.case_id}: ballots lost or doubled"
            if case.case_id in last_order:
                ballot = await stack.client.get_workflow_handle(stack.settings.workflow_id(case.case_id)).query(CaseWorkflow.ballot_of, case.initiating.id)
                assert ballot.ranked == last_order[case.case_id], f"case {case.case_id}: the workflow holds another ballot"
    finally:
        await scene.close()
        await stack.stop()
