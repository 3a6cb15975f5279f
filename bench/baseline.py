"""Run the baseline worker (`python -m bench.baseline ADDRESS NAMESPACE TASK_QUEUE`) and drive the baseline.

The worker runs in its own process, like the platform's worker, so both pipelines get the same
processes to work with: one worker process beside the client that drives the load.
"""

import asyncio
import sys
import time

from temporalio.client import Client
from temporalio.worker import Worker

from bench.baseline_workflow import BaselineBallot, BaselineCaseWorkflow, BaselineEchoWorkflow
from commands.common import exit_now


async def drive_case(client: Client, task_queue: str, workflow_id: str, panel: list[int]) -> None:
    handle = await client.start_workflow(BaselineCaseWorkflow.run, 2, id=workflow_id, task_queue=task_queue)
    await handle.execute_update(BaselineCaseWorkflow.accept_intake)
    await asyncio.gather(
        handle.execute_update(BaselineCaseWorkflow.submit_ranking, BaselineBallot(party_id=1, ranked=panel)),
        handle.execute_update(BaselineCaseWorkflow.submit_ranking, BaselineBallot(party_id=2, ranked=panel)),
    )
    await handle.execute_update(BaselineCaseWorkflow.accept_conflict_check)
    await handle.result()


async def run_baseline(client: Client, task_queue: str, cases: int, concurrency: int, run_id: str) -> dict:
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []

    async def one(n: int) -> None:
        async with gate:
            started = time.perf_counter()
            await drive_case(client, task_queue, f"bench-baseline-{run_id}-{n}", [101, 102, 103])
            durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(cases)))
    elapsed = time.perf_counter() - started
    return {"cases": cases, "concurrency": concurrency, "seconds": elapsed, "cases_per_second": cases / elapsed, "case_seconds": durations}


async def update_floor(client: Client, task_queue: str, concurrency: int, duration: float, run_id: str) -> list[float]:
    """Round trips of a bare `execute_update` (client -> server -> worker -> back), `concurrency` at a time for
    `duration` seconds: the least any action of ours can cost, measured on the same server and machine."""
    handles = [await client.start_workflow(BaselineEchoWorkflow.run, id=f"bench-floor-{run_id}-{n}", task_queue=task_queue) for n in range(concurrency)]
    durations: list[float] = []
    stop_at = time.monotonic() + duration

    async def loop(handle) -> None:
        n = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            await handle.execute_update(BaselineEchoWorkflow.echo, n)
            durations.append(time.perf_counter() - started)
            n += 1

    await asyncio.gather(*(loop(h) for h in handles))
    await asyncio.gather(*(h.execute_update(BaselineEchoWorkflow.finish) for h in handles))
    return durations


async def serve(address: str, namespace: str, task_queue: str) -> None:
    client = await Client.connect(address, namespace=namespace)
    await Worker(client, task_queue=task_queue, workflows=[BaselineCaseWorkflow, BaselineEchoWorkflow]).run()


def main() -> None:
    address, namespace, task_queue = sys.argv[1:4]
    try:
        asyncio.run(serve(address, namespace, task_queue))
    except KeyboardInterrupt:
        pass
    exit_now(0)


if __name__ == "__main__":
    main()
