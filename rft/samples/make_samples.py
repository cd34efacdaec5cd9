"""Regenerate the rehearsal bundles in rft/samples/ from the project's shared data folder.

A developer tool, never run by the product: users get the bundled files, not ../shared. Run from the
repository root: `.venv/bin/python rft/samples/make_samples.py [--shared ../shared]`.

* `gsm8k_solutions.jsonl`: 1,600 real solutions by four models to the first 400 GSM8K test questions,
  each labeled correct or not by GSM8K's authors (MIT, `LICENSE-gsm8k`). The final `A: N` line is
  rewritten to the `#### N` line our prompt asks for, so the reward sees the format it was built for.
* `pandalm7b_verdicts.jsonl`: PandaLM-7B's verdict and reason for each of the 999 PandaLM test pairs,
  with the human label (majority of three annotators; a three-way split is a tie) joined from the
  annotated test set (Apache-2.0, `LICENSE-pandalm`). The pairs themselves are read from data_prep's
  bundled copy of that test set, so they are not duplicated here.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_FINAL_LINE = re.compile(r"(?m)^A:[ \t]*(.*?)\s*\Z")


def rewrite_final_line(solution: str) -> str:
    """`...\\nA: 26` becomes `...\\n#### 26`; a solution cut off before its `A:` line is kept as is."""
    return _FINAL_LINE.sub(r"#### \1", solution.rstrip())


def majority_label(annotators: list[int]) -> int:
    """The label at least two of three annotators gave; 0 (tie) when all three differ."""
    value, count = Counter(annotators).most_common(1)[0]
    return value if count >= 2 else 0


def build_gsm8k(shared: Path) -> int:
    rows = [json.loads(line) for line in (shared / "gsm8k/model_solutions_labeled.jsonl").open()]
    with (HERE / "gsm8k_solutions.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            record = {
                "test_index": row["test_index"],
                "model": row["model"],
                "question": row["question"],
                "gold": row["gold"],
                "response": rewrite_final_line(row["solution"]),
                "is_correct": row["is_correct"],
            }
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    shutil.copyfile(shared / "gsm8k/LICENSE", HERE / "LICENSE-gsm8k")
    return len(rows)


def _load_nan_json(path: Path) -> Any:
    """The PandaLM files write missing inputs as a bare NaN, which strict JSON rejects."""
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda _: None)


def build_pandalm(shared: Path) -> int:
    pairs = {row["idx"]: row for row in _load_nan_json(shared / "pandalm/testset-v1.json")}
    verdicts = _load_nan_json(shared / "pandalm/pandalm-7b-testset-v1.json")
    with (HERE / "pandalm7b_verdicts.jsonl").open("w", encoding="utf-8") as out:
        for verdict in verdicts:
            pair = pairs[verdict["idx"]]
            record = {
                "idx": verdict["idx"],
                "pandalm_result": verdict["pandalm_result"],
                "pandalm_reason": verdict["pandalm_reason"],
                "human_label": majority_label([pair["annotator1"], pair["annotator2"], pair["annotator3"]]),
            }
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    shutil.copyfile(shared / "pandalm/LICENSE", HERE / "LICENSE-pandalm")
    return len(verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=HERE.parents[2] / "shared" / "data")
    args = parser.parse_args()
    print(f"gsm8k_solutions.jsonl: {build_gsm8k(args.shared)} solutions")
    print(f"pandalm7b_verdicts.jsonl: {build_pandalm(args.shared)} verdicts")


if __name__ == "__main__":
    main()
