"""The sample files `rft new-task` writes for a task, used by default when it registers no rollouts.

A scaffold writes `data_prep/samples/<task>/rollouts.jsonl` (labeled rollouts in the `--responses`
format) and `batch.json` (a batch exactly as Bedrock sends it) beside its training rows, so
`rft rehearse <task>` and `rft invoke <task>` work on a new task without options. A task with
registered rollouts (`rft.rehearse.sources`) keeps using those.
"""

from __future__ import annotations

from pathlib import Path

from data_prep.sources import SAMPLES_DIR
from rft.project import REPO_ROOT
from rft.rehearse.rollouts import read_responses_file
from rft.rehearse.sources import RolloutSource, rehearsal_for

ROLLOUTS_FILE = "rollouts.jsonl"
BATCH_FILE = "batch.json"


def shown(path: Path) -> str:
    """A path as the user knows it: relative to the repository when it is inside."""
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)


def task_sample(task: str, file: str) -> Path:
    """`data_prep/samples/<task>/<file>`, where the scaffold writes it (it may not exist)."""
    return SAMPLES_DIR / task / file


def rollout_source(task: str) -> RolloutSource | None:
    """The task's registered rollouts, else the ones its scaffold wrote; None when it has neither."""
    registered = rehearsal_for(task).source
    if registered is not None:
        return registered
    path = task_sample(task, ROLLOUTS_FILE)
    if not path.is_file():
        return None
    return RolloutSource(f"{shown(path)} (the task's sample rollouts)", lambda: read_responses_file(path))
