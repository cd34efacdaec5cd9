"""Time `prepare("gsm8k")` on a full-size GSM8K train split (7,473 rows) against the 2 s goal.

The data is generated in a temporary directory from the bundled sample (data_prep/samples/gsm8k:
1,000 train and 200 test rows), expanded deterministically to GSM8K's real sizes, 7,473 train
and 1,319 test rows: copy k of a sample row shifts every integer in its question by k, so every
question is unique (data_prep keys leaks, and soon duplicates, on the question) while the rows
keep the sample's lengths and shapes. The answers are left as they are: data_prep checks their
`#### N` form, not the arithmetic.

Timed on the CPU clock (benchmarks/harness.py), with the median wall time beside it. The
pipeline runs as `python -m data_prep gsm8k --source local --path <dir>` does, through
`prepare(... PrepOptions(source="local", path=...))`, in process so that interpreter start-up is
not counted. The baseline, measured in the same run on the same rows, is the least any converter
must do: json.loads every line and json.dumps every row. The ratio says how much the conversion,
validation, splitting and byte-stable writing cost on top of that.
Run: .venv/bin/python benchmarks/bench_data_prep.py
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import sys
import tempfile
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import RUNS, WALL, Figure, median_seconds, number, paired, report, seconds  # noqa: E402
from data_prep import PrepOptions, get_task, prepare  # noqa: E402
from data_prep.dedup import prompt_key  # noqa: E402
from data_prep.rows import RawRow  # noqa: E402
from data_prep.sources import SAMPLES_DIR  # noqa: E402

SAMPLE = SAMPLES_DIR / "gsm8k"
#: openai/gsm8k "main": the sizes the README's figure is about.
FULL_SIZES = {"train": 7_473, "test": 1_319}
GOAL_S = 2.0
_INTEGER = re.compile(r"\d+")


def question_key(question: str) -> Hashable:
    """data_prep's own key for comparing prompts (what it drops duplicates by), on the GSM8K record."""
    row = RawRow({"question": question, "answer": "#### 1"}, "train", 0, "generated")
    return prompt_key(get_task("gsm8k").to_records(row, "train")[0])


def perturbed(question: str, shift: int) -> str:
    """The question with every integer in it raised by `shift`; a marked copy if it has none."""
    if shift == 0:
        return question
    changed = _INTEGER.sub(lambda m: str(int(m.group()) + shift), question)
    return changed if changed != question else f"{question} (variant {shift})"


def expand(rows: list[dict[str, Any]], size: int, seen: set[Hashable]) -> Iterator[dict[str, Any]]:
    """`size` rows cycling over `rows`, each copy's question made unique against `seen`."""
    for index in range(size):
        row = rows[index % len(rows)]
        copy = index // len(rows)
        for shift in itertools.count(copy, len(rows)):  # on a clash, try further shifts
            question = perturbed(row["question"], shift)
            if question_key(question) not in seen:
                break
        seen.add(question_key(question))
        yield {**row, "question": question}


def write_full_gsm8k(directory: Path) -> dict[str, Path]:
    """Write train.jsonl and test.jsonl at GSM8K's full sizes into `directory`; same bytes every time."""
    directory.mkdir(parents=True, exist_ok=True)
    seen: set[Hashable] = set()
    paths = {}
    for split, size in FULL_SIZES.items():
        sample = read_jsonl(SAMPLE / f"{split}.jsonl")
        paths[split] = directory / f"{split}.jsonl"
        paths[split].write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in expand(sample, size, seen)),
            encoding="utf-8",
        )
    return paths


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def baseline(path: Path) -> None:
    "".join(json.dumps(row) + "\n" for row in read_jsonl(path))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_full_gsm8k(Path(tmp) / "gsm8k")
        rows = {split: len(read_jsonl(path)) for split, path in paths.items()}
        print(
            f"GSM8K at full size, generated from the bundled sample: {rows['train']:,} train + "
            f"{rows['test']:,} test rows"
        )
        outputs = (Path(tmp) / f"out{i}" for i in itertools.count())

        def run_prepare(path: Path, out: Path | None = None) -> Callable[[], object]:
            # A new output directory per run unless `out` is given, so every run writes its files.
            options = PrepOptions(source="local", path=path, progress=False)
            return lambda: prepare("gsm8k", out or next(outputs), options)

        walls: list[float] = []

        def prepare_cpu() -> float:
            start = WALL()
            cpu = seconds(run_prepare(paths["train"]))
            walls.append(WALL() - start)
            return cpu

        timing = paired(prepare_cpu, lambda: seconds(lambda: baseline(paths["train"])))
        rerun_dir = Path(tmp) / "rerun"
        result = run_prepare(paths["train"], rerun_dir)()
        rerun_s = median_seconds(run_prepare(paths["train"], rerun_dir))
        full_s = median_seconds(run_prepare(paths["train"].parent))

    splits = result.stats["splits"]
    print(
        f"  train {rows['train']:,} rows -> train {splits['train']:,} + validation {splits['validation']:,}"
    )
    print(f"  prepare, unchanged output (no file rewritten): {rerun_s:.3f} s CPU, median")
    print(f"  prepare, train + test directory ({sum(rows.values()):,} rows): {full_s:.3f} s CPU, median")
    report(
        Figure(
            f"data_prep of the {rows['train']:,}-row GSM8K train split",
            timing.measured,
            GOAL_S,
            " s",
            f"CPU time, {number(timing.ratio)}x a bare json load+dump of the same rows "
            f"({number(timing.baseline * 1e3)} ms), median of {RUNS} paired runs; "
            f"wall time {number(statistics.median(walls))} s",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
