"""The measurements of docs/performance.md: (a) the selection pipeline against its raw-Temporal baseline and the floor of
one action, (b) reads and rankings at growing numbers of users against the floor of a signed-in read, (c) the cost of
many open cases."""

import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from bench import baseline
from bench.data import BENCH_PASSWORD, Cast, OpenCase, create_parties, insert_cases, start_and_accept, wait_for_stage
from bench.http import BenchError, Timings, User, sign_in_all, summary_ms
from bench.stack import Stack, memory_kib
from core.db.models import Email
from core.db.session import create_engine, session_factory
from core.time import as_utc

STEP_TIMEOUT = 120.0


class Scene:
    """What every scenario shares: the stack, a database session factory, the demo's staff and mediators."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.engine = create_engine(stack.database_url)
        self.sessions = session_factory(self.engine)
        # Filled in once the stack has seeded the demo (bench.data.cast).
        self.cast: Cast | None = None
        self.panel: list[int] = []

    def user(self, email: str, password: str, timings: Timings | None = None) -> User:
        return User(self.stack.base_url, email, password, timings)

    async def close(self) -> None:
        await self.engine.dispose()


# ---- (a) the selection pipeline end to end, and the baseline ----------------------------------------


async def pipeline(scene: Scene, cases: int, concurrency: int) -> dict:
    """File, accept intake, every party ranks, the selected mediator accepts: all over the HTTP API."""
    timings = Timings()
    parties = await create_parties(scene.sessions, f"pipe{uuid.uuid4().hex[:6]}", cases * 2)
    filers = [scene.user(p.email, BENCH_PASSWORD, timings) for p in parties[0::2]]
    responders = [scene.user(p.email, BENCH_PASSWORD, timings) for p in parties[1::2]]
    staff = scene.user(scene.cast.staff_email, scene.cast.staff_password, timings)
    mediator_id = scene.panel[0]
    mediator = scene.user(scene.cast.mediator_emails[mediator_id], scene.cast.mediator_password, timings)
    everyone = [*filers, *responders, staff, mediator]
    await sign_in_all(everyone)

    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []

    ballots_answered: dict[int, datetime] = {}

    async def rank(user: User, case_id: int) -> None:
        # What a party's screen does: wait for the ranking to open, then submit.
        await user.poll(f"/api/v1/cases/{case_id}", lambda r: r.status_code == 200 and r.json()["stage"] == "ranking", STEP_TIMEOUT)
        await user.request("put_ranking", "PUT", f"/api/v1/cases/{case_id}/ranking", json={"ranked": scene.panel})
        answered = datetime.now(UTC)
        ballots_answered[case_id] = max(ballots_answered.get(case_id, answered), answered)

    async def one(n: int) -> None:
        filer, responder = filers[n], responders[n]
        async with gate:
            started = time.perf_counter()
            filed = await filer.request(
                "post_case",
                "POST",
                "/api/v1/cases",
                expect=(201,),
                json={
                    "property_address": f"{n + 1} Pipeline Street, Los Angeles, CA 90012",
                    "dispute_bases": ["Deposit dispute"],
                    "dispute_value": "$12,501 to $25,000",
                    "description": "Filed by the benchmark.",
                    "others": [{"full_name": "Bench Responder", "email": responder.email, "side": "responding"}],
                },
            )
            case_id = filed.json()["id"]
            await staff.request("post_intake", "POST", f"/api/v1/staff/cases/{case_id}/intake", json={"accept": True, "panel": scene.panel})
            await asyncio.gather(rank(filer, case_id), rank(responder, case_id))
            await mediator.poll(f"/api/v1/cases/{case_id}/conflict-check", lambda r: r.status_code == 200, STEP_TIMEOUT)
            answer = await mediator.request("post_conflict_check", "POST", f"/api/v1/cases/{case_id}/conflict-check", json={"accept": True})
            if answer.json()["mediator_id"] != mediator_id:
                raise BenchError(f"case {case_id}: expected mediator {mediator_id} to be accepted, got {answer.json()}")
            durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(n) for n in range(cases)))
    finally:
        elapsed = time.perf_counter() - started
        await asyncio.gather(*(u.close() for u in everyone))
    return {
        "cases": cases,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "cases_per_second": round(cases / elapsed, 2),
        "case_latency": summary_ms(durations),
        "requests": timings.report(),
        "intake_via": "staff JSON API: POST /api/v1/staff/cases/{id}/intake",
        "time_to_mediator": summary_ms(await _time_to_mediator(scene, ballots_answered)),
    }


async def _time_to_mediator(scene: Scene, ballots_answered: dict[int, datetime]) -> list[float]:
    """Per case, seconds from the answer to the last party's ballot to the conflict-check request in the outbox
    (the ledger row's creation; 0 when the email was already there when the party's answer arrived)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        async with scene.sessions() as db:
            rows = (
                await db.execute(
                    select(Email.case_id, func.min(Email.created_at))
                    .where(Email.case_id.in_(list(ballots_answered)), Email.idempotency_key.like("%conflict_check_request%"))
                    .group_by(Email.case_id)
                )
            ).all()
        found = {case_id: as_utc(created) for case_id, created in rows if case_id is not None}
        missing = sorted(set(ballots_answered) - set(found))
        if not missing:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"no conflict-check request in the outbox for cases {missing[:10]}")
        await asyncio.sleep(0.5)
    return [max(0.0, (found[case_id] - answered).total_seconds()) for case_id, answered in ballots_answered.items()]


async def raw_baseline(scene: Scene, cases: int, concurrency: int, floor_seconds: float) -> dict:
    """The same starts and updates straight from a Temporal client, on a minimal workflow in its own worker process;
    then, on the same worker, the floor of one action: a bare Update round trip at the same concurrency."""
    task_queue = f"bench-baseline-{uuid.uuid4().hex[:8]}"
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.baseline", scene.stack.temporal_address, scene.stack.settings.temporal_namespace, task_queue
    )
    try:
        # Warm the worker (imports, first poll) outside the measured window, as the app's worker already is.
        await baseline.run_baseline(scene.stack.client, task_queue, 2, 2, "warmup")
        result = await baseline.run_baseline(scene.stack.client, task_queue, cases, concurrency, uuid.uuid4().hex[:6])
        floor = await baseline.update_floor(scene.stack.client, task_queue, concurrency, floor_seconds, uuid.uuid4().hex[:6])
    finally:
        worker.terminate()
        await worker.wait()
    durations = result.pop("case_seconds")
    return {
        **{k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()},
        "case_latency": summary_ms(durations),
        "per_case": "start + accept_intake update + 2 submit_ranking updates + accept_conflict_check update, then the workflow completes",
        "update_floor": {**summary_ms(floor), "concurrency": concurrency, "seconds": floor_seconds},
    }


# ---- (b) latency under concurrent users -------------------------------------------------------------


async def open_cases(scene: Scene, tag: str, count: int, concurrency: int) -> tuple[list[OpenCase], dict]:
    """`count` cases waiting for rankings, created the fast way (see bench/data.py)."""
    parties = await create_parties(scene.sessions, tag, count * 2)
    cases = await insert_cases(scene.sessions, tag, parties)
    started = await start_and_accept(scene.stack.client, scene.stack.settings, cases, scene.cast.staff_id, scene.panel, concurrency)
    waited = await wait_for_stage(scene.sessions, [c.case_id for c in cases], "ranking", timeout=max(120.0, count * 0.2))
    return cases, {**started, "seconds_until_all_in_ranking": round(started["seconds"] + waited, 2)}


PARTY_TURN = ["me", "case_home_html", "case_home_json", "ranking_page", "my_cases", "put_ranking"]
STAFF_TURN = ["me", "staff_list_html", "staff_list_json"]


async def latency(scene: Scene, steps: list[int], duration: float, think: float, staff_users: int) -> dict:
    """Users reading and ranking, at each number of users in `steps`: each user is the initiating party of their own
    case in ranking (the other party stays silent, so the round stays open) and goes round `PARTY_TURN` with a think
    time between requests; `staff_users` staff go round the case list. `me` (a signed-in database read) is the floor
    every read is held to, measured in the same window."""
    most = max(steps)
    cases, setup = await open_cases(scene, f"lat{uuid.uuid4().hex[:6]}", most, concurrency=16)
    people = [scene.user(c.initiating.email, BENCH_PASSWORD) for c in cases]
    staff = [scene.user(scene.cast.staff_email, scene.cast.staff_password) for _ in range(staff_users)]
    await sign_in_all([*people, *staff])
    orders = [scene.panel, [scene.panel[1], scene.panel[0], scene.panel[2]]]
    rng = random.Random(5)
    results = []
    try:
        for users in steps:
            timings = Timings()
            for user in [*people, *staff]:
                user.timings = timings
            stop_at = time.monotonic() + duration

            async def pause() -> None:
                if think > 0:
                    await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))

            async def party(user: User, case: OpenCase, stop_at: float) -> None:
                # Users start spread over one think time, as real ones do, rather than in one burst.
                await asyncio.sleep(rng.uniform(0, think))
                turn = rng.randrange(len(PARTY_TURN))
                while time.monotonic() < stop_at:
                    label = PARTY_TURN[turn % len(PARTY_TURN)]
                    url = {
                        "me": "/api/v1/me",
                        "case_home_html": f"/cases/{case.case_id}",
                        "case_home_json": f"/api/v1/cases/{case.case_id}",
                        "ranking_page": f"/cases/{case.case_id}/ranking",
                        "my_cases": "/cases",
                    }.get(label)
                    try:
                        if url:
                            await user.request(label, "GET", url)
                        else:
                            await user.request(label, "PUT", f"/api/v1/cases/{case.case_id}/ranking", json={"ranked": orders[turn % 2]})
                    except BenchError:
                        pass
                    turn += 1
                    await pause()

            async def clerk(user: User, stop_at: float) -> None:
                await asyncio.sleep(rng.uniform(0, think))
                turn = rng.randrange(len(STAFF_TURN))
                while time.monotonic() < stop_at:
                    label = STAFF_TURN[turn % len(STAFF_TURN)]
                    url = {"me": "/api/v1/me", "staff_list_html": "/staff/cases", "staff_list_json": "/api/v1/staff/cases"}[label]
                    try:
                        await user.request(label, "GET", url)
                    except BenchError:
                        pass
                    turn += 1
                    await pause()

            started = time.perf_counter()
            await asyncio.gather(*(party(u, c, stop_at) for u, c in zip(people[:users], cases[:users], strict=True)), *(clerk(u, stop_at) for u in staff))
            elapsed = time.perf_counter() - started
            report = timings.report()
            total = sum(v["count"] for v in report.values())
            errors = sum(sum(v["errors"].values()) for v in report.values())
            results.append(
                {
                    "users": users,
                    "staff_users": staff_users,
                    "duration_seconds": round(elapsed, 1),
                    "requests_per_second": round(total / elapsed, 1),
                    "errors": errors,
                    "requests": report,
                }
            )
            print(f"bench: (b) {users} users: {results[-1]['requests_per_second']} req/s, {errors} errors", flush=True)
    finally:
        await asyncio.gather(*(u.close() for u in [*people, *staff]))
    return {"think_seconds_mean": think, "setup": setup, "steps": results}


# ---- (c) many open cases ----------------------------------------------------------------------------


STAFF_LIST_VARIANTS = [
    ("me", "/api/v1/me"),
    ("html_unfiltered", "/staff/cases"),
    ("json_unfiltered", "/api/v1/staff/cases"),
    ("html_stage_ranking", "/staff/cases?stage=ranking"),
    ("json_stage_ranking", "/api/v1/staff/cases?stage=ranking"),
    ("html_search_name", "/staff/cases?q=Person00042"),
    ("json_search_name", "/api/v1/staff/cases?q=Person00042"),
    ("html_page_50", "/staff/cases?page=50"),
    ("json_page_50", "/api/v1/staff/cases?page=50"),
    # The waiting board (features/staff/board.py): the same open cases, with what each waits on and per-stage figures.
    ("board_html_unfiltered", "/staff/board"),
    ("board_json_unfiltered", "/api/v1/staff/board"),
    ("board_json_kind_ranking", "/api/v1/staff/board?kind=ranking"),
    ("board_html_overdue", "/staff/board?overdue=yes"),
    ("board_json_sort_deadline", "/api/v1/staff/board?sort=deadline"),
    ("board_json_page_50", "/api/v1/staff/board?page=50"),
    ("board_csv", "/staff/board.csv"),
]


async def many_open(scene: Scene, count: int, staff_users: int, staff_duration: float, concurrency: int) -> dict:
    before = memory_kib(scene.stack.worker_pid)
    cases, setup = await open_cases(scene, f"open{uuid.uuid4().hex[:6]}", count, concurrency)
    right_after = memory_kib(scene.stack.worker_pid)
    # Let the email queues of the new cases drain, so what is left is what open cases cost at rest.
    await asyncio.sleep(5 if count >= 1000 else 1)
    settled = memory_kib(scene.stack.worker_pid)

    timings = Timings()
    staff = [scene.user(scene.cast.staff_email, scene.cast.staff_password, timings) for _ in range(staff_users)]
    await sign_in_all(staff)
    stop_at = time.monotonic() + staff_duration

    # The first cases created are long out of the worker's cache (it keeps the most recent ones), the last ones in it:
    # Case Home reads the database either way, so both must cost the same.
    sample = max(1, min(20, len(cases) // 4))
    cold = [c.case_id for c in cases[:sample]]
    hot = [c.case_id for c in cases[-sample:]]
    variants = [*STAFF_LIST_VARIANTS]
    for n in range(sample):
        variants += [("case_home_evicted", f"/api/v1/cases/{cold[n]}"), ("case_home_cached", f"/api/v1/cases/{hot[n]}")]

    async def browse(user: User, offset: int) -> None:
        turn = offset
        while time.monotonic() < stop_at:
            label, url = variants[turn % len(variants)]
            turn += 1
            try:
                await user.request(label, "GET", url)
            except BenchError:
                await asyncio.sleep(0.5)

    try:
        await asyncio.gather(*(browse(u, n) for n, u in enumerate(staff)))
    finally:
        await asyncio.gather(*(u.close() for u in staff))
    report = timings.report()
    html = [v for k, values in timings.ok.items() if k.startswith("html") for v in values]
    json_ = [v for k, values in timings.ok.items() if k.startswith("json") for v in values]
    cache_size = scene.stack.settings.worker_max_cached_workflows
    return {
        "open_cases": count,
        "setup": setup,
        "worker_memory_mib": {
            "before_rss": round(before["VmRSS"] / 1024, 1),
            "after_creation_rss": round(right_after["VmRSS"] / 1024, 1),
            "settled_rss": round(settled["VmRSS"] / 1024, 1),
            "peak_rss": round(settled["VmHWM"] / 1024, 1),
        },
        "staff_list": {
            "staff_users": staff_users,
            # The board's variants are in by_variant (board_*), judged one by one in bench/run.py.
            "duration_seconds": staff_duration,
            "html": summary_ms(html),
            "json": summary_ms(json_),
            "all": summary_ms(html + json_),
            "by_variant": report,
        },
        "case_home": {
            "evicted": report.get("case_home_evicted"),
            "cached": report.get("case_home_cached"),
            # The sampled first cases have left the worker's cache if at least a cache's worth of cases came after them.
            "cache_size": cache_size,
            "sample_evicted": count - sample >= cache_size,
        },
    }
