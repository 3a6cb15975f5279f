"""Every recorded case history must replay on the current workflow code without nondeterminism.

Histories live in tests/histories/, one per file named `<workflow id>.json`; record more with
`.venv/bin/python -m tests.record_histories`. A failure here means a workflow change would break
cases already running: guard the change with `workflow.patched(...)` instead of re-recording.
"""

import json
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.worker import WORKFLOWS

HISTORIES_DIR = Path(__file__).resolve().parent / "histories"


def history_files() -> list[Path]:
    return sorted(HISTORIES_DIR.rglob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_recorded():
    files = history_files()
    assert files, f"no histories in {HISTORIES_DIR}: record them with .venv/bin/python -m tests.record_histories"
    for path in files:
        events = json.loads(path.read_text()).get("events", [])
        assert len(events) > 3, f"{path.name} holds {len(events)} events: a history that never got going proves nothing"


def workflow_type(path: Path) -> str:
    first = json.loads(path.read_text())["events"][0]
    return first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


def test_every_workflow_type_has_recorded_histories():
    recorded = {workflow_type(path) for path in history_files()}
    missing = [w.__name__ for w in WORKFLOWS if w.__name__ not in recorded]
    assert not missing, f"no recorded history of {missing}: record one with .venv/bin/python -m tests.record_histories"


async def test_every_history_replays_on_current_code():
    histories = [load(path) for path in history_files()]
    assert histories, f"no histories in {HISTORIES_DIR}"
    # Failures come back keyed by run id; name them by file.
    files_by_run = {h.run_id: f"{h.workflow_id}.json" for h in histories}

    async def each():
        for history in histories:
            yield history

    results = await Replayer(workflows=WORKFLOWS).replay_workflows(each(), raise_on_replay_failure=False)
    failures = {files_by_run.get(run_id, run_id): f"{type(error).__name__}: {error}" for run_id, error in results.replay_failures.items()}
    assert not failures, f"histories that no longer replay: {json.dumps(failures, indent=2)}"
