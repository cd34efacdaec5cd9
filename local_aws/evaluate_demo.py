"""`python -m local_aws evaluate-demo`: `rft evaluate gsm8k` against two replayed models, offline.

The replayed models (`converse_replay`) answer with recorded GSM8K solutions that GSM8K's authors
labeled correct or not, so the reward's accuracy for each must equal the labels' rate on the same
test prompts: this step checks that, and fails loudly if they differ. It is a replay of recorded
outputs, not a live model, and says so. It runs its own emulator in this process and shells out to
the `rft` CLI (local_aws never imports `rft`), exactly as a user would point it at the emulator.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from local_aws import client_env, converse_replay, settings

MODELS = ("replay.gsm8k-6b-verification", "replay.gsm8k-175b-verification")
TEST_SPLIT = settings.PROJECT_ROOT / "build" / "data" / "gsm8k" / "test.jsonl"
TIMEOUT_S = 600


class EvaluateDemoFailure(Exception):
    pass


def label_counts(
    models: Sequence[str],
    test_split: Path = TEST_SPLIT,
    solutions: Path = converse_replay.SOLUTIONS,
    *,
    limit: int | None = None,
) -> tuple[int, dict[str, int]]:
    """(prompts, model -> solutions labeled correct) over the test split's (first `limit`) prompts."""
    labels: dict[str, dict[str, bool]] = {}
    for line in solutions.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_question = labels.setdefault(converse_replay.model_id(row["model"]), {})
            by_question[converse_replay.normalize(row["question"])] = bool(row["is_correct"])
    recorded = converse_replay.recordings(solutions)
    prompts = 0
    correct = dict.fromkeys(models, 0)
    for line in test_split.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if limit is not None and prompts >= limit:
            break
        users = [m["content"] for m in json.loads(line)["messages"] if m.get("role") == "user"]
        question = recorded.question_in(users[-1] if users else "")
        if question is None:
            raise EvaluateDemoFailure(
                f"{test_split} has a prompt with no recorded solution: {users[-1][:80]!r}"
            )
        prompts += 1
        for model in models:
            correct[model] += labels[model][question]
    return prompts, correct


def run_evaluate_demo(
    *,
    port: int = 0,
    out_dir: Path | None = None,
    test_split: Path = TEST_SPLIT,
    print_line: Callable[[str], None] = print,
) -> int:
    from local_aws.server import Emulator  # imports moto: only when the step runs

    out_dir = out_dir or settings.state_dir() / "evaluate"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the result
    started = time.monotonic()
    print_line(
        f"rft evaluate gsm8k on the emulator: {' vs '.join(MODELS)} "
        "(a REPLAY of recorded GSM8K solutions, labeled by GSM8K's authors; not a live model)"
    )
    try:
        if not test_split.is_file():
            raise EvaluateDemoFailure(f"{test_split} is missing; write it with `python -m data_prep gsm8k`")
        prompts, expected = label_counts(MODELS, test_split)
        # A fresh run each time: a cache left by the last demo would answer without asking the emulator.
        (out_dir / "evaluate-gsm8k.responses.jsonl").unlink(missing_ok=True)
        with Emulator(port) as emulator:
            command = [sys.executable, "-m", "rft", "evaluate", "gsm8k"]
            command += [arg for model in MODELS for arg in ("--model", model)]
            command += [
                "--data",
                str(test_split),
                "--yes",
                "--out",
                str(out_dir),
                "--region",
                settings.REGION,
            ]
            command += ["--endpoint-url", emulator.endpoint]
            env = client_env.apply(dict(os.environ), emulator.endpoint)
            try:
                done = subprocess.run(
                    command,
                    cwd=settings.PROJECT_ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT_S,
                )
            except subprocess.TimeoutExpired:
                raise EvaluateDemoFailure(f"rft evaluate took more than {TIMEOUT_S}s") from None
        (out_dir / "evaluate-demo.log").parent.mkdir(parents=True, exist_ok=True)
        (out_dir / "evaluate-demo.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        if done.returncode != 0:
            tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
            raise EvaluateDemoFailure(f"rft evaluate exited {done.returncode}: {' / '.join(tail)}")
        report = json.loads((out_dir / "evaluate-gsm8k.json").read_text(encoding="utf-8"))
        check(report, prompts, expected, print_line)
    except (EvaluateDemoFailure, OSError, ValueError, KeyError) as error:
        print_line(f"evaluate demo FAILED after {time.monotonic() - started:.1f}s: {error}")
        return 1
    print_line(
        f"evaluate demo passed in {time.monotonic() - started:.1f}s; report: {_shown(out_dir / 'evaluate-gsm8k.html')}"
    )
    return 0


def check(
    report: dict[str, Any], prompts: int, expected: dict[str, int], print_line: Callable[[str], None]
) -> None:
    """Each model's accuracy must be its labels' rate on the same prompts; raises on any difference."""
    models = {entry["model"]: entry for entry in report["models"]}
    for model, labeled in expected.items():
        entry = models[model]
        if entry["errors"]:
            raise EvaluateDemoFailure(f"{model}: {entry['errors']} call errors {entry.get('error_reasons')}")
        if entry["prompts"] != prompts or entry["correct"] != labeled:
            raise EvaluateDemoFailure(
                f"{model}: the reward says {entry['correct']}/{entry['prompts']} correct but GSM8K's labels "
                f"say {labeled}/{prompts}"
            )
        print_line(
            f"  {model:<32} accuracy {entry['correct']}/{entry['prompts']} = {entry['accuracy']:.1%} "
            f"(labels: {labeled}/{prompts} = {labeled / prompts:.1%}, equal)"
        )
    for comparison in report["comparisons"]:
        print_line(
            f"  {comparison['candidate']} vs {comparison['baseline']}: delta {comparison['delta'] * 100:+.1f} points, "
            f"exact McNemar p = {comparison['p_value']:.2g} ({len(comparison['improved'])} improved, "
            f"{len(comparison['regressed'])} regressed)"
        )


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
