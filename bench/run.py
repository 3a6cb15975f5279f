"""`python -m bench` (`make bench`): start the embedded stack on free ports in a temp folder, measure, report.

Writes bench/results/latest.json (or --output) and prints a summary with each target and whether it was met.
See docs/performance.md for what each number means and how noisy they are.
"""

import argparse
import asyncio
import json
import logging
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import scenarios
from bench.data import cast
from bench.stack import Stack
from commands.common import exit_now
from commands.dev import find_binary

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

TARGETS = {
    "throughput_ratio_min": 0.6,
    "ranking_p95_ms_max": 150,
    "case_home_p95_ms_max": 100,
    "worker_rss_mib_max": 300,
    "staff_list_p95_ms_max": 200,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=50, help="cases driven through the whole selection pipeline (default 50)")
    parser.add_argument("--concurrency", type=int, default=10, help="cases in flight at once, for the pipeline and its baseline (default 10)")
    parser.add_argument("--users", type=int, default=50, help="concurrent users for the latency scenario (default 50)")
    parser.add_argument("--duration", type=float, default=30, help="seconds the users run (default 30)")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time of a user between requests, seconds (default 1.0)")
    parser.add_argument("--open-cases", type=int, default=10000, help="cases left open and waiting for rankings (default 10000)")
    parser.add_argument("--open-concurrency", type=int, default=32, help="workflow starts in flight while creating open cases (default 32)")
    parser.add_argument("--staff-users", type=int, default=4, help="staff browsing the case list at once (default 4)")
    parser.add_argument("--staff-duration", type=float, default=20, help="seconds the staff browse (default 20)")
    parser.add_argument("--skip", action="append", default=[], choices=["pipeline", "latency", "open"], help="leave a scenario out")
    parser.add_argument("--profile", type=Path, default=None, help="run the worker and web app under pyinstrument; reports go to this folder")
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help=f"results file (default {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS})",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the temp data folder (SQLite files) for inspection")
    return parser.parse_args(argv)


def _first_line(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def machine() -> dict:
    memory_mib = None
    try:
        with open("/proc/meminfo") as info:
            memory_mib = round(int(next(line for line in info if line.startswith("MemTotal")).split()[1]) / 1024)
    except (OSError, StopIteration):
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_mib": memory_mib,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "temporal_cli": _first_line([find_binary("temporal"), "--version"]),
    }


def verdicts(results: dict) -> dict:
    checks = {}
    pipe, base = results.get("pipeline"), results.get("baseline")
    if pipe and base:
        ratio = pipe["cases_per_second"] / base["cases_per_second"]
        results["throughput_ratio"] = round(ratio, 3)
        checks["throughput_ratio"] = {
            "value": round(ratio, 3),
            "target": f">= {TARGETS['throughput_ratio_min']}",
            "met": ratio >= TARGETS["throughput_ratio_min"],
        }
    lat = results.get("latency")
    if lat:
        for label, key in (("put_ranking", "ranking_p95_ms_max"), ("case_home_html", "case_home_p95_ms_max")):
            p95 = lat["requests"].get(label, {}).get("p95_ms")
            checks[f"{label}_p95_ms"] = {"value": p95, "target": f"<= {TARGETS[key]}", "met": p95 is not None and p95 <= TARGETS[key]}
    many = results.get("open_cases")
    if many:
        rss = max(many["worker_memory_mib"]["settled_rss"], many["worker_memory_mib"]["after_creation_rss"])
        checks["worker_rss_mib"] = {"value": rss, "target": f"<= {TARGETS['worker_rss_mib_max']}", "met": rss <= TARGETS["worker_rss_mib_max"]}
        for kind in ("html", "json"):
            p95 = many["staff_list"][kind]["p95_ms"]
            checks[f"staff_list_{kind}_p95_ms"] = {
                "value": p95,
                "target": f"<= {TARGETS['staff_list_p95_ms_max']}",
                "met": p95 is not None and p95 <= TARGETS["staff_list_p95_ms_max"],
            }
    return checks


def summary(results: dict) -> str:
    lines = [
        "",
        "Benchmark results",
        f"  machine: {results['machine']['nproc']} CPUs, {results['machine']['memory_mib']} MiB, Python "
        f"{results['machine']['python']}, {results['machine']['temporal_cli']}",
    ]
    pipe, base = results.get("pipeline"), results.get("baseline")
    if pipe:
        lines.append(
            f"  (a) pipeline over HTTP: {pipe['cases']} cases in {pipe['seconds']} s = {pipe['cases_per_second']} cases/s "
            f"(case p50 {pipe['case_latency']['p50_ms']} ms, concurrency {pipe['concurrency']})"
        )
        for label, r in pipe["requests"].items():
            lines.append(f"        {label:<22} n={r['count']:<5} p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  errors {r['errors'] or 0}")
    if base:
        lines.append(f"      raw-Temporal baseline: {base['cases']} cases in {base['seconds']} s = {base['cases_per_second']} cases/s")
    lat = results.get("latency")
    if lat:
        lines.append(f"  (b) {lat['users']} users for {lat['duration_seconds']} s (think {lat['think_seconds_mean']} s): {lat['requests_per_second']} req/s")
        for label, r in lat["requests"].items():
            lines.append(f"        {label:<22} n={r['count']:<5} p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  p99 {r['p99_ms']} ms  errors {r['errors'] or 0}")
    many = results.get("open_cases")
    if many:
        mem = many["worker_memory_mib"]
        lines.append(
            f"  (c) {many['open_cases']} open cases (created in {many['setup']['seconds_until_all_in_ranking']} s): worker RSS "
            f"{mem['settled_rss']} MiB (peak {mem['peak_rss']} MiB, before {mem['before_rss']} MiB)"
        )
        for label, r in many["staff_list"]["by_variant"].items():
            lines.append(f"        {label:<22} n={r['count']:<5} p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  errors {r['errors'] or 0}")
    lines.append("  targets:")
    for name, check in results["targets"].items():
        lines.append(f"    {'met   ' if check['met'] else 'MISSED'} {name} = {check['value']} (target {check['target']})")
    return "\n".join(lines)


async def measure(args: argparse.Namespace) -> dict:
    results: dict = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "machine": machine(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    stack = Stack(keep_data=args.keep_data, profile_dir=args.profile.resolve() if args.profile else None)
    started = time.perf_counter()
    await stack.start()
    results["stack"] = {"startup_seconds": round(time.perf_counter() - started, 1), "data_dir": str(stack.data_dir), "app": stack.base_url}
    scene = scenarios.Scene(stack)
    try:
        scene.cast = await cast(scene.sessions)
        scene.panel = scene.cast.mediator_ids[:3]
        if "pipeline" not in args.skip and args.cases > 0:
            print(f"bench: (a) driving {args.cases} cases through the pipeline over HTTP...", flush=True)
            results["pipeline"] = await scenarios.pipeline(scene, args.cases, args.concurrency)
            print("bench: (a) raw-Temporal baseline...", flush=True)
            results["baseline"] = await scenarios.raw_baseline(scene, args.cases, args.concurrency)
        if "latency" not in args.skip and args.users > 0:
            print(f"bench: (b) {args.users} users for {args.duration:.0f} s...", flush=True)
            results["latency"] = await scenarios.latency(scene, args.users, args.duration, args.think)
        if "open" not in args.skip and args.open_cases > 0:
            print(f"bench: (c) creating {args.open_cases} open cases...", flush=True)
            results["open_cases"] = await scenarios.many_open(scene, args.open_cases, args.staff_users, args.staff_duration, args.open_concurrency)
        if stack.healthy():
            raise RuntimeError(stack.healthy())
    finally:
        await scene.close()
        await stack.stop()
    results["targets"] = verdicts(results)
    if args.profile:
        results["profiles"] = str(args.profile.resolve())
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        results = asyncio.run(measure(args))
    except KeyboardInterrupt:
        exit_now(130)
    except Exception:
        traceback.print_exc()
        exit_now(1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results), flush=True)
    print(f"\nbench: results written to {args.output}", flush=True)
    exit_now(0)
