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
        "--users", "3", "--duration", "2", "--think", "0.2",
        "--open-cases", "10", "--open-concurrency", "5",
        "--staff-users", "1", "--staff-duration", "1",
        "--output", str(output),
    ]  # fmt: skip
    finished = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=150)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "targets:" in finished.stdout

    results = json.loads(output.read_text())
    assert results["machine"]["nproc"] >= 1
    assert results["pipeline"]["cases"] == 2
    assert results["pipeline"]["cases_per_second"] > 0
    for label in ("post_case", "post_intake", "put_ranking", "post_conflict_check"):
        assert results["pipeline"]["requests"][label]["errors"] == {}, label
    assert results["pipeline"]["requests"]["put_ranking"]["count"] == 4
    assert results["baseline"]["cases"] == 2 and results["baseline"]["cases_per_second"] > 0
    assert results["throughput_ratio"] > 0
    latency = results["latency"]["requests"]
    assert latency["case_home_html"]["count"] >= 3 and latency["case_home_html"]["p95_ms"] is not None
    assert "put_ranking" in latency
    many = results["open_cases"]
    assert many["open_cases"] == 10
    assert many["worker_memory_mib"]["settled_rss"] > 0
    assert many["staff_list"]["html"]["count"] > 0 and many["staff_list"]["json"]["count"] > 0
    assert set(results["targets"]) == {
        "throughput_ratio",
        "put_ranking_p95_ms",
        "case_home_html_p95_ms",
        "worker_rss_mib",
        "staff_list_html_p95_ms",
        "staff_list_json_p95_ms",
    }
