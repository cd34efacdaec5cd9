"""Time `prepare("gsm8k")` on the full GSM8K train split (7,473 rows) against the 2 s goal.

The baseline, measured in the same run on the same rows, is the least any converter must do:
json.loads every line and json.dumps every row. The ratio says how much the conversion,
validation, splitting and byte-stable writing cost on top of that.

Reads ../shared/data/gsm8k from the repository root; skips with a message if it is absent.
Run: .venv/bin/python benchmarks/bench_data_prep.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_prep import PrepOptions, prepare  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "gsm8k"
GOAL_S = 2.0
REPEATS = 5


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Best wall time of `repeats` runs: the least noisy estimate on a shared machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def baseline(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    "".join(json.dumps(row) + "\n" for row in rows)


def main() -> int:
    train = DATA / "train.jsonl"
    if not train.is_file():
        print(f"skipped: {train} not found (the shared GSM8K copy is not available here)")
        return 0
    rows = sum(1 for line in train.read_text(encoding="utf-8").splitlines() if line.strip())

    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(1_000))

        def fresh(path: Path) -> Callable[[], object]:
            # A new output directory per run so every run really writes its files.
            return lambda: prepare(
                "gsm8k",
                Path(tmp) / f"run{next(runs)}",
                PrepOptions(source="local", path=path, progress=False),
            )

        base_s = best_of(lambda: baseline(train))
        prep_s = best_of(fresh(train))
        result = prepare(
            "gsm8k", Path(tmp) / "rerun", PrepOptions(source="local", path=train, progress=False)
        )
        rerun_s = best_of(
            lambda: prepare(
                "gsm8k", Path(tmp) / "rerun", PrepOptions(source="local", path=train, progress=False)
            )
        )
        full_s = best_of(fresh(DATA)) if (DATA / "test.jsonl").is_file() else None

    splits = result.stats["splits"]
    print(
        f"GSM8K train split: {rows:,} rows -> train {splits['train']:,} + validation {splits['validation']:,}"
    )
    print(f"  baseline (json.loads + json.dumps of the same rows): {base_s * 1000:8.1f} ms")
    verdict = "meets" if prep_s <= GOAL_S else "MISSES"
    print(
        f"  prepare, fresh output dir:                          {prep_s * 1000:8.1f} ms  "
        f"({prep_s / base_s:.1f}x baseline; {verdict} the {GOAL_S:.0f} s goal, {GOAL_S / prep_s:.0f}x headroom)"
    )
    print(f"  prepare, unchanged output (no file rewritten):      {rerun_s * 1000:8.1f} ms")
    if full_s is not None:
        print(f"  prepare, train + test directory (8,792 rows):       {full_s * 1000:8.1f} ms")
    print(f"  best of {REPEATS} runs each")
    return 0 if prep_s <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
