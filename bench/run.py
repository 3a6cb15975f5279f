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

# Every target is a ratio to a floor measured in the same run: absolute times on a shared machine move 2x between runs.
TARGETS = {
    "pipeline_ratio_min": 0.5,  # (a) cases/s over HTTP / raw-Temporal baseline cases/s
    "action_to_floor_max": 1.5,  # (a) p95 of each action / p95 of a bare execute_update at the same concurrency
    "read_to_floor_max": 1.5,  # (b), (c) p95 of each read / p95 of GET /api/v1/me in the same window
    "time_to_mediator_to_floor_max": 2.0,  # (a) p95 of last ballot -> conflict-check email / the action floor's p95
    "worker_rss_mib_max": 250,  # (c)
}
ACTIONS = {"put_ranking": "PUT ranking", "post_conflict_check": "conflict-check accept", "post_intake": "staff intake"}
READS = ["case_home_html", "case_home_json", "ranking_page", "my_cases", "staff_list_html", "staff_list_json"]
STAFF_LIST = [
    "html_unfiltered",
    "json_unfiltered",
    "html_stage_ranking",
    "json_stage_ranking",
    "html_search_name",
    "json_search_name",
    "html_page_50",
    "json_page_50",
]
# The waiting board in (c), each variant against the same floor. The CSV holds every open case, not a page of 50.
BOARD = [
    "board_html_unfiltered",
    "board_json_unfiltered",
    "board_json_kind_ranking",
    "board_html_overdue",
    "board_json_sort_deadline",
    "board_json_page_50",
    "board_csv",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=40, help="cases driven through the whole selection pipeline (default 40)")
    parser.add_argument("--concurrency", type=int, default=10, help="cases in flight at once, for the pipeline and its baseline (default 10)")
    parser.add_argument("--users", type=_steps, default=[50, 100, 200], help="concurrent users for (b), one window per number: e.g. 50,100,200 (the default)")
    parser.add_argument("--duration", type=float, default=15, help="seconds each window of (b) runs (default 15)")
    parser.add_argument("--floor-seconds", type=float, default=8, help="seconds the bare-Update floor of (a) is measured (default 8)")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time of a user between requests, seconds (default 1.0)")
    parser.add_argument(
        "--open-cases", type=int, default=1000, help="cases left open and waiting for rankings (default 1000; docs/performance.md has a 10000 run)"
    )
    parser.add_argument("--open-concurrency", type=int, default=32, help="workflow starts in flight while creating open cases (default 32)")
    parser.add_argument("--staff-users", type=int, default=4, help="staff browsing the case list at once (default 4)")
    parser.add_argument("--staff-duration", type=float, default=15, help="seconds the staff browse (default 15)")
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


def _steps(text: str) -> list[int]:
    steps = [int(part) for part in text.split(",") if part.strip()]
    if not steps or any(n <= 0 for n in steps):
        raise argparse.ArgumentTypeError("give positive numbers of users, e.g. 50,100,200")
    return steps


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


def _ratio(value: float | None, floor: float | None) -> float | None:
    return round(value / floor, 2) if value is not None and floor else None


def _check(checks: dict, name: str, value: float | None, floor: float | None, limit: float, floor_name: str) -> None:
    ratio = _ratio(value, floor)
    checks[name] = {
        "value_ms": value,
        "floor": floor_name,
        "floor_ms": floor,
        "ratio": ratio,
        "target": f"<= {limit} x floor",
        "met": ratio is not None and ratio <= limit,
    }


def verdicts(results: dict) -> dict:
    """Each target as a ratio to the floor measured beside it in this run, and whether it was met."""
    checks: dict = {}
    pipe, base = results.get("pipeline"), results.get("baseline")
    if pipe and base:
        ratio = round(pipe["cases_per_second"] / base["cases_per_second"], 3)
        results["throughput_ratio"] = ratio
        checks["1_pipeline"] = {
            "value": pipe["cases_per_second"],
            "floor": "raw-Temporal baseline cases/s",
            "floor_value": base["cases_per_second"],
            "ratio": ratio,
            "target": f">= {TARGETS['pipeline_ratio_min']} x baseline",
            "met": ratio >= TARGETS["pipeline_ratio_min"],
        }
        floor = base["update_floor"]["p95_ms"]
        for label, name in ACTIONS.items():
            _check(checks, f"2_action_{label}", pipe["requests"].get(label, {}).get("p95_ms"), floor, TARGETS["action_to_floor_max"], "bare execute_update p95")
            checks[f"2_action_{label}"]["what"] = name
        _check(checks, "5_time_to_mediator", pipe["time_to_mediator"]["p95_ms"], floor, TARGETS["time_to_mediator_to_floor_max"], "bare execute_update p95")
    lat = results.get("latency")
    if lat:
        first = lat["steps"][0]
        floor = first["requests"].get("me", {}).get("p95_ms")
        for label in READS:
            _check(
                checks,
                f"3_read_{label}_{first['users']}_users",
                first["requests"].get(label, {}).get("p95_ms"),
                floor,
                TARGETS["read_to_floor_max"],
                "GET /api/v1/me p95",
            )
        for step in lat["steps"]:
            checks[f"4_no_errors_{step['users']}_users"] = {"value": step["errors"], "target": "0", "met": step["errors"] == 0}
    many = results.get("open_cases")
    if many:
        rss = max(many["worker_memory_mib"]["settled_rss"], many["worker_memory_mib"]["after_creation_rss"])
        checks["4_worker_rss_mib"] = {"value": rss, "target": f"<= {TARGETS['worker_rss_mib_max']}", "met": rss <= TARGETS["worker_rss_mib_max"]}
        by_variant = many["staff_list"]["by_variant"]
        floor = by_variant.get("me", {}).get("p95_ms")
        for label in STAFF_LIST:
            _check(
                checks,
                f"4_staff_list_{label}_{many['open_cases']}_cases",
                by_variant.get(label, {}).get("p95_ms"),
                floor,
                TARGETS["read_to_floor_max"],
                "GET /api/v1/me p95",
            )
        for label in BOARD:
            _check(
                checks,
                f"4_{label}_{many['open_cases']}_cases",
                by_variant.get(label, {}).get("p95_ms"),
                floor,
                TARGETS["read_to_floor_max"],
                "GET /api/v1/me p95",
            )
        home = many["case_home"]
        if home["evicted"] and home["cached"]:
            _check(
                checks,
                "3_case_home_evicted",
                home["evicted"]["p95_ms"],
                home["cached"]["p95_ms"],
                TARGETS["read_to_floor_max"],
                "Case Home of a cached case p95",
            )
            checks["3_case_home_evicted"]["evicted"] = home["sample_evicted"]
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
        ttm = pipe["time_to_mediator"]
        lines.append(f"        {'time_to_mediator':<22} n={ttm['count']:<5} p50 {ttm['p50_ms']} ms  p95 {ttm['p95_ms']} ms")
    if base:
        lines.append(f"      raw-Temporal baseline: {base['cases']} cases in {base['seconds']} s = {base['cases_per_second']} cases/s")
        floor = base["update_floor"]
        lines.append(f"      bare execute_update floor: n={floor['count']} p50 {floor['p50_ms']} ms  p95 {floor['p95_ms']} ms")
    lat = results.get("latency")
    if lat:
        for step in lat["steps"]:
            lines.append(
                f"  (b) {step['users']} users + {step['staff_users']} staff, {step['duration_seconds']} s: {step['requests_per_second']} req/s, {step['errors']} errors"
            )
            for label, r in step["requests"].items():
                lines.append(
                    f"        {label:<22} n={r['count']:<5} p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  p99 {r['p99_ms']} ms  errors {r['errors'] or 0}"
                )
    many = results.get("open_cases")
    if many:
        mem = many["worker_memory_mib"]
        lines.append(
            f"  (c) {many['open_cases']} open cases (created in {many['setup']['seconds_until_all_in_ranking']} s): worker RSS "
            f"{mem['settled_rss']} MiB (peak {mem['peak_rss']} MiB, before {mem['before_rss']} MiB)"
        )
        for label, r in many["staff_list"]["by_variant"].items():
            lines.append(f"        {label:<22} n={r['count']:<5} p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  errors {r['errors'] or 0}")
    lines.append("  targets (each against a floor measured in this run):")
    for name, check in results["targets"].items():
        value = check.get("ratio", check.get("value"))
        detail = (
            f"{check.get('value_ms', check.get('value'))} vs {check['floor']} {check.get('floor_ms', check.get('floor_value'))}" if "floor" in check else ""
        )
        lines.append(f"    {'met   ' if check['met'] else 'MISSED'} {name} = {value} (target {check['target']}) {detail}")
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
            results["baseline"] = await scenarios.raw_baseline(scene, args.cases, args.concurrency, args.floor_seconds)
        if "latency" not in args.skip:
            print(f"bench: (b) {', '.join(map(str, args.users))} users, {args.duration:.0f} s each...", flush=True)
            results["latency"] = await scenarios.latency(scene, args.users, args.duration, args.think, args.staff_users)
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


TARGET_NAMES = {
    "1_pipeline": "1. Pipeline: cases/s over HTTP",
    "2_action_put_ranking": "2. `PUT` ranking p95",
    "2_action_post_conflict_check": "2. Conflict-check accept p95",
    "2_action_post_intake": "2. Staff intake p95",
    "5_time_to_mediator": "5. Last ballot → conflict-check email p95",
    "3_case_home_evicted": "3. Case Home of an evicted case p95",
    "4_worker_rss_mib": "4. Worker RSS at the open cases (MiB)",
}


def _target_name(key: str) -> str:
    if key in TARGET_NAMES:
        return TARGET_NAMES[key]
    number, _, rest = key.partition("_")
    return f"{number}. {rest.replace('_', ' ')}"


def markdown_table(results: dict) -> str:
    """The targets as docs/performance.md shows them: value, floor, ratio, met, from this one run."""
    rows = ["| Target | Value | Floor (measured in the same run) | Ratio | Limit | |", "|---|---|---|---|---|---|"]
    for key, check in sorted(results["targets"].items()):
        value = check.get("value_ms", check.get("value"))
        unit = " ms" if "value_ms" in check else ""
        floor = f"{check['floor']}: {check.get('floor_ms', check.get('floor_value'))}{unit}" if "floor" in check else "—"
        ratio = check.get("ratio", "—")
        rows.append(f"| {_target_name(key)} | {value}{unit} | {floor} | {ratio} | {check['target']} | {'met' if check['met'] else '**missed**'} |")
    return "\n".join(rows) + "\n"


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
    table = args.output.with_suffix(".md")
    table.write_text(f"Command: `{results['command']}`\n\n" + markdown_table(results))
    print(summary(results), flush=True)
    print(f"\nbench: results written to {args.output}, the targets' table to {table}", flush=True)
    exit_now(0)
