"""Benchmark the GSM8K reward against the figures the contract and the brief set.

* per-sample time of `score` on the 1,600 real model solutions bundled in
  rft/samples/gsm8k_solutions.jsonl, as a ratio to a plain `#### (-?[0-9.,]+)` regex timed in
  the same run (goal <= 10x): the anchored, hedge-proof reading must stay cheap;
* the time to score one 200 KB response, worst of 8 adversarial shapes (goal <= 5 ms): the reward
  must stay linear on a policy that never stops;
* cold import of `gsm8k_reward.handler`, Powertools included, in a fresh interpreter (goal <= 1 s).

Every figure is a median of several runs (benchmarks/harness.py).
Run: .venv/bin/python benchmarks/bench_gsm8k_reward.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "lambda"
sys.path[:0] = [str(ROOT), str(LAMBDA_DIR)]

from gsm8k_reward.scoring import score  # noqa: E402

from benchmarks.harness import (  # noqa: E402
    RUNS,
    WALL,
    Figure,
    long_response_figure,
    median_of,
    median_seconds,
    number,
    paired,
    per_call,
    report,
)

SOLUTIONS = ROOT / "rft" / "samples" / "gsm8k_solutions.jsonl"
BASELINE = re.compile(r"#### (-?[0-9.,]+)")
RATIO_GOAL = 10.0
IMPORT_GOAL_S = 1.0
IMPORT_RUNS = 5


def realistic_cases() -> list[tuple[str, str]]:
    """The bundled real solutions, already in the prompt's `#### N` form, with their golds."""
    rows = [json.loads(line) for line in SOLUTIONS.read_text(encoding="utf-8").splitlines() if line]
    return [(row["response"], row["gold"]) for row in rows]


def baseline(response: str, gold: str) -> float:
    m = BASELINE.search(response)
    if m is None:
        return 0.0
    try:
        return float(float(m.group(1).replace(",", "")) == float(gold))
    except ValueError:
        return 0.0


def long_responses() -> dict[str, str]:
    """200 KB responses shaped like the worst cases: prose, nested boxes, answer phrases, hashes."""
    size = 200 * 1024
    prose = "She sells 16 - 3 - 4 = 9 eggs at $2 each, so she makes 9 * 2 = 18 dollars. "
    return {
        "prose + final ####": (prose * (size // len(prose)))[:size] + "\n#### 18",
        "nested \\boxed{": "\\boxed{" * (size // 7),
        "repeated 'The answer is'": ("The answer is 18. " * (size // 18))[:size],
        "many #### anchors": ("#### 18\n" * (size // 8))[:size],
        "trailing whitespace": "#### 18" + " \n" * (size // 2),
        "markdown stars": "*" * size + " Final answer: 18",
        "runs of #": "#" * size + "\n#### 18",
        "braces": "{" * (size // 2) + "}" * (size // 2),
    }


def cold_import_seconds() -> float:
    """Wall time of the import inside one fresh interpreter (its own start-up excluded)."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); "
        "import gsm8k_reward.handler; print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(LAMBDA_DIR)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def main() -> int:
    cases = realistic_cases()
    mean_len = sum(len(r) for r, _ in cases) / len(cases)
    print(f"GSM8K reward benchmark on {len(cases):,} real model solutions (mean {mean_len:.0f} chars)")
    timing = paired(per_call(score, cases), per_call(baseline, cases))
    report(
        Figure(
            "GSM8K score() vs plain regex",
            timing.ratio,
            RATIO_GOAL,
            "x",
            f"{number(timing.measured * 1e6)} us vs {number(timing.baseline * 1e6)} us per sample, "
            f"median of {RUNS} paired passes",
        )
    )
    report(long_response_figure("GSM8K", score, long_responses(), "18", floor=BASELINE))

    import_s = median_of(cold_import_seconds, IMPORT_RUNS)
    bare_s = median_seconds(
        lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), IMPORT_RUNS, clock=WALL
    )
    report(
        Figure(
            "GSM8K cold import of the handler",
            import_s,
            IMPORT_GOAL_S,
            " s",
            f"median of {IMPORT_RUNS} fresh interpreters; a bare interpreter starts in {number(bare_s)} s",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
