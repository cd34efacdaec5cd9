"""Built-in rollouts per task, each named by its task's `TaskSpec.rehearsal`.

Each task can name a `TaskRehearsal`: where its bundled rollouts come from, and, for a reward that
calls a judge model, the part of the reward that runs without AWS. Prompts and references are built by
the task's own data_prep converter, so a rehearsal sends exactly what training will send.

* gsm8k: 1,600 real model solutions to 400 GSM8K test questions (4 models each), labeled correct or
  not by GSM8K's authors (`rft/samples/gsm8k_solutions.jsonl`).
* finqa: the bundled FinQA sample, each question answered five ways: correct, the same value written as
  a percentage or as a decimal (both must pay), a wrong value, and the right value without the
  `ANSWER:` marker (must not pay).
* pandalm: PandaLM-7B's real verdicts and reasons on the PandaLM test pairs, labeled by whether the
  verdict matches the human majority (`rft/samples/pandalm7b_verdicts.jsonl`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.errors import UserError
from rft.project import ensure_lambda_path, task_spec
from rft.rehearse.handlers import Handler, quiet
from rft.rehearse.rollouts import Rollout
from tasks import TaskRegistryError, resolve

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
GSM8K_SOLUTIONS = SAMPLES_DIR / "gsm8k_solutions.jsonl"
PANDALM_VERDICTS = SAMPLES_DIR / "pandalm7b_verdicts.jsonl"


@dataclass(frozen=True)
class RolloutSource:
    description: str
    load: Callable[[], list[Rollout]]


@dataclass(frozen=True)
class TaskRehearsal:
    """How to rehearse one task.

    `offline_handler` builds a handler that scores only the part of the reward checked in code, for a
    reward whose full score needs a judge model (and so AWS); `offline_note` says so in the report.
    """

    source: RolloutSource | None = None
    offline_handler: Callable[[], Handler] | None = None
    offline_note: str | None = None


def rehearsal_for(task: str) -> TaskRehearsal:
    """The rehearsal the task's `TaskSpec.rehearsal` names (e.g. `rft.rehearse.sources:GSM8K`), or none."""
    spec = task_spec(task)
    if spec is None or spec.rehearsal is None:
        return TaskRehearsal()
    try:
        rehearsal = resolve(spec.rehearsal)
    except TaskRegistryError as error:
        raise UserError(f"task {task!r}: rehearsal {error}") from None
    if not isinstance(rehearsal, TaskRehearsal):
        raise UserError(f"task {task!r}: rehearsal {spec.rehearsal!r} is not a TaskRehearsal")
    return rehearsal


# -- building prompts with the task's converter -------------------------------------------------


def _converter(task: str) -> Any:
    from data_prep import DataPrepError, get_task

    try:
        return get_task(task)
    except DataPrepError:
        raise UserError(
            f"rehearsing {task} needs its data_prep converter (TaskSpec.converter in tasks/) to build "
            "its prompts; it is not there yet. Pass --responses FILE with your own rollouts instead."
        ) from None


def _records(
    converter: Any, data: dict[str, Any], split: str, index: int, where: str
) -> list[dict[str, Any]]:
    from data_prep import DataPrepError, RawRow, RowError

    try:
        return converter.to_records(RawRow(data, split, index, where), split)
    except (RowError, DataPrepError) as error:
        raise UserError(f"{where}: the {converter.name} converter rejected a bundled row: {error}") from None


def _prompt(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in record["messages"] if m.get("role") != "assistant"]


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        raise UserError(f"bundled rollouts {path} are missing; restore rft/samples/ from the repository")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _bundled_rows(task: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(split, index, row) for every row of the converter's bundled sample, official splits in order."""
    from data_prep import DataPrepError, PrepOptions

    converter = _converter(task)
    try:
        splits = converter.load(PrepOptions(source="bundled", progress=False))
    except DataPrepError as error:
        raise UserError(f"cannot read data_prep's bundled {task} sample: {error}") from None
    for split in ("train", "validation", "test"):
        for index, row in enumerate(splits.get(split, [])):
            yield split, index, row


# -- gsm8k --------------------------------------------------------------------------------------


def gsm8k_rollouts() -> list[Rollout]:
    converter = _converter("gsm8k")
    rollouts: list[Rollout] = []
    records: dict[int, dict[str, Any]] = {}
    for row in _read_jsonl(GSM8K_SOLUTIONS):
        index = int(row["test_index"])
        if index not in records:
            data = {"question": row["question"], "answer": f"#### {row['gold']}"}
            records[index] = _records(converter, data, "test", index, f"{GSM8K_SOLUTIONS.name}[{index}]")[0]
        record = records[index]
        rollouts.append(
            Rollout(
                sample_id=f"{record['id']}/{row['model']}",
                prompt_id=record["id"],
                prompt=_prompt(record),
                response=row["response"],
                reference=record["reference_answer"],
                label=bool(row["is_correct"]),
                variant=row["model"],
            )
        )
    return rollouts


# -- finqa --------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _gold_number(gold: Any) -> tuple[float, bool] | None:
    """(value, written as a percentage) for a numeric gold; None for yes/no or unreadable golds."""
    if isinstance(gold, bool):
        return None
    if isinstance(gold, int | float):
        return (float(gold), False) if math.isfinite(gold) else None
    if isinstance(gold, str):
        text = gold.strip().replace(",", "").replace("$", "")
        is_percent = text.endswith("%")
        try:
            value = float(text.rstrip("%").strip())
        except ValueError:
            return None
        return (value, is_percent) if math.isfinite(value) else None
    return None


def _far_from(candidate: float, gold: float) -> bool:
    """True when no reading the FinQA reward tries (as printed, x100, /100) lands within 2% of gold."""
    for reading in (candidate, candidate / 100, candidate * 100):
        if gold == 0:
            if abs(reading) <= 1e-3:
                return False
        elif abs(reading - gold) <= 0.02 * abs(gold):
            return False
    return True


def finqa_answer_variants(gold: Any) -> list[tuple[str, str, bool]]:
    """(variant, final answer text, deserves the reward) for one FinQA gold answer.

    The percent/decimal flip must pay: the contract reads 9.37% against a gold of 0.0937 and 0.141
    against "14.1%". The unmarked answer is right but has no `ANSWER:` line, so it must not pay.
    """
    number = _gold_number(gold)
    if number is None:
        word = str(gold).strip().lower()
        if word not in ("yes", "no"):
            return []
        other = "no" if word == "yes" else "yes"
        return [
            ("correct", f"ANSWER: {word}", True),
            ("wrong", f"ANSWER: {other}", False),
            ("unmarked", f"So the result is {word}.", False),
        ]
    value, is_percent = number
    shown = f"{_fmt(value)}%" if is_percent else _fmt(value)
    flipped = _fmt(value / 100) if is_percent else f"{_fmt(value * 100)}%"
    wrong = next(c for c in (value + max(1.0, abs(value)), value * 3 + 7, -value - 11) if _far_from(c, value))
    return [
        ("correct", f"ANSWER: {shown}", True),
        ("percent-flipped" if not is_percent else "decimal-flipped", f"ANSWER: {flipped}", True),
        ("wrong", f"ANSWER: {_fmt(wrong)}{'%' if is_percent else ''}", False),
        ("unmarked", f"So the result is {shown}.", False),
    ]


def finqa_rollouts() -> list[Rollout]:
    converter = _converter("finqa")
    rollouts: list[Rollout] = []
    for split, index, row in _bundled_rows("finqa"):
        for record in _records(converter, row, split, index, f"finqa {split}[{index}]"):
            reference = record["reference_answer"]
            gold = reference.get("answer") if isinstance(reference, dict) else reference
            program = reference.get("program") if isinstance(reference, dict) else None
            working = f"Working from the table and the text ({program}).\n" if program else ""
            for variant, answer, label in finqa_answer_variants(gold):
                rollouts.append(
                    Rollout(
                        sample_id=f"{record['id']}/{variant}",
                        prompt_id=record["id"],
                        prompt=_prompt(record),
                        response=working + answer,
                        reference=reference,
                        label=label,
                        variant=variant,
                    )
                )
    return rollouts


# -- pandalm ------------------------------------------------------------------------------------

PANDALM_VERDICT_WORDS = {1: "Response 1", 2: "Response 2", 0: "Tie"}


def pandalm_response(verdict: int, reason: str) -> str:
    """PandaLM-7B's verdict and reason, written in the answer form our prompt asks for."""
    return f"JUDGMENT: {PANDALM_VERDICT_WORDS[verdict]}\nREASONING: {reason.strip()}"


def pandalm_rollouts() -> list[Rollout]:
    converter = _converter("pandalm")
    verdicts = {int(v["idx"]): v for v in _read_jsonl(PANDALM_VERDICTS)}
    rollouts: list[Rollout] = []
    for split, index, row in _bundled_rows("pandalm"):
        verdict = verdicts.get(int(row.get("idx", -1)))
        if verdict is None:
            continue
        records = _records(converter, row, split, index, f"pandalm {split}[{index}]")
        if not records:  # a row the converter skips (blank instruction): nothing to judge
            continue
        record = records[0]  # the pair in its original order (the converter may add it swapped)
        rollouts.append(
            Rollout(
                sample_id=f"{record['id']}/pandalm-7b",
                prompt_id=record["id"],
                prompt=_prompt(record),
                response=pandalm_response(int(verdict["pandalm_result"]), verdict["pandalm_reason"]),
                reference=record["reference_answer"],
                label=int(verdict["pandalm_result"]) == int(verdict["human_label"]),
                variant=f"verdict {PANDALM_VERDICT_WORDS[int(verdict['pandalm_result'])]}",
            )
        )
    return rollouts


def pandalm_verdict_handler() -> Handler:
    """The PandaLM reward's code-checked part (the verdict) as a handler; no judge model, no AWS.

    It runs the reward's own `prepare` and `combine` with VERDICT_WEIGHT = 1 and the judge's part
    absent, so the score is exactly the verdict the deployed reward computes, with its format checks
    and metrics; only the judge's grade of the REASONING is missing.
    """
    ensure_lambda_path()
    try:
        with quiet():
            from pandalm_reward.scoring import combine, prepare
            from rft_reward import make_handler
            from rft_reward.judge import JudgeOutcome
    except ModuleNotFoundError as error:
        raise UserError(f"cannot import the PandaLM reward from lambda/ ({error})") from None
    skipped = JudgeOutcome(score=None, error="judge not called in an offline rehearsal")

    def verdict_only(response_text: str, reference: Any, sample: Any) -> Any:
        prepared = prepare(sample, weight=1.0)
        return prepared.score if prepared.score is not None else combine(prepared, skipped, weight=1.0)

    with quiet():
        return make_handler(verdict_only, task="pandalm")


GSM8K = TaskRehearsal(
    RolloutSource(
        "1,600 real GSM8K solutions (4 models x 400 test questions), labeled correct/incorrect by "
        "GSM8K's authors",
        gsm8k_rollouts,
    )
)
FINQA = TaskRehearsal(
    RolloutSource(
        "the bundled FinQA sample, each question answered as: correct, percent/decimal flipped "
        "(should pay), wrong, and unmarked (should not pay)",
        finqa_rollouts,
    )
)
PANDALM = TaskRehearsal(
    RolloutSource(
        "PandaLM-7B's real verdicts on the PandaLM test pairs, labeled by agreement with the human majority",
        pandalm_rollouts,
    ),
    offline_handler=pandalm_verdict_handler,
    offline_note=(
        "WITHOUT AWS this scores only the code-checked verdict (JUDGMENT vs. the human label); the "
        "judge model's grade of the REASONING is not included. Use --judge bedrock for the full reward."
    ),
)
