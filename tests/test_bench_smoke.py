"""The benchmark harness (bench/, `make bench`) at a tiny size, so its code cannot rot unnoticed.

It starts the real embedded stack (Temporal dev server, worker, web app) on free ports, drives two cases
through the whole selection pipeline over HTTP plus the raw-Temporal baseline, runs a few users for two
seconds and opens a handful of cases, then checks the results file has every number docs/performance.md
talks about. The numbers themselves are not judged here: a tiny run on a busy machine says nothing.
"""

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def test_tiny_benchmark_run_reports_every_number(tmp_path):
    output = tmp_path / "latest.json"
    command = [
        sys.executable, "-m", "bench",
        "--cases", "2", "--concurrency", "2",
        "--users", "2,3", "--duration", "2", "--think", "0.2", "--floor-seconds", "1",
        "--open-cases", "10", "--open-concurrency", "5",
        "--staff-users", "1", "--staff-duration", "1",
        "--output", str(output),
    ]  # fmt: skip
    finished = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=150)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "targets (each against a floor measured in this run):" in finished.stdout

    results = json.loads(output.read_text())
    assert results["machine"]["nproc"] >= 1
    assert results["pipeline"]["cases"] == 2
    assert results["pipeline"]["cases_per_second"] > 0
    for label in ("post_case", "post_intake", "put_ranking", "post_conflict_check"):
        assert results["pipeline"]["requests"][label]["errors"] == {}, label
    assert results["pipeline"]["requests"]["put_ranking"]["count"] == 4
    assert results["baseline"]["cases"] == 2 and results["baseline"]["cases_per_second"] > 0
    assert results["throughput_ratio"] > 0
    assert results["baseline"]["update_floor"]["count"] > 0 and results["baseline"]["update_floor"]["p95_ms"] > 0
    assert results["pipeline"]["time_to_mediator"]["count"] == 2
    steps = results["latency"]["steps"]
    assert [s["users"] for s in steps] == [2, 3]
    for step in steps:
        for label in ("me", "case_home_html", "case_home_json", "ranking_page", "my_cases", "put_ranking", "staff_list_html", "staff_list_json"):
            assert label in step["requests"], (step["users"], label)
    many = results["open_cases"]
    assert many["open_cases"] == 10
    assert many["worker_memory_mib"]["settled_rss"] > 0
    assert many["staff_list"]["html"]["count"] > 0 and many["staff_list"]["json"]["count"] > 0
    assert many["case_home"]["evicted"]["count"] > 0 and many["case_home"]["cached"]["count"] > 0
    # Every target of docs/performance.md is judged, each against a floor measured in the same run.
    targets = results["targets"]
    assert {name.split("_")[0] for name in targets} == {"1", "2", "3", "4", "5"}
    assert all("met" in check for check in targets.values())
    assert {"2_action_put_ranking", "2_action_post_conflict_check", "2_action_post_intake", "5_time_to_mediator", "4_worker_rss_mib"} <= set(targets)
    assert all(check["floor_ms"] for name, check in targets.items() if "floor_ms" in check)
    # The table docs/performance.md shows, written beside the results from the same run.
    table = output.with_suffix(".md").read_text()
    assert "| 1. Pipeline: cases/s over HTTP |" in table and table.count("\n| ") == len(targets) + 1
