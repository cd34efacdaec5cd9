"""Benchmark the whole GSM8K reward handler against a bare regex reward, in the same run.

What is timed is what Lambda runs: `gsm8k_reward.handler.lambda_handler` on 64-sample batches of
the bundled real model solutions (rft/samples/gsm8k_solutions.jsonl, final `A: N` already
rewritten to `#### N`), with a fake Lambda context, so the contract checks, the per-sample time
budget (scorer on its worker thread), the Lambda deadline, Powertools' context injection, the
batch log line and the EMF blob are all included. Powertools' output goes to a sink: its cost is
building and writing the lines, not a terminal.

The baseline is the bare reward the GSM8K benchmark compares with: per sample of the same event,
`#### (-?[0-9.,]+)` on the last message, the number read and compared with the gold. Timing is
`benchmarks/harness.py`'s: on the CPU clock (every thread's, the scorer's worker included), one
pass over the batches timing each batch both ways back to back (see `Interleaved`), and the
median of the per-pass ratios (goal <= 10x).
The wall-time ratio is reported too: on a shared machine it also counts waiting for a free core.

Run: .venv/bin/python benchmarks/bench_reward_handler.py
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]

from benchmarks.harness import CPU, WALL, Figure, number, paired, report, seconds  # noqa: E402
from tests.reward.helpers import FakeLambdaContext  # noqa: E402  (Powertools reads these fields)

SOLUTIONS = ROOT / "rft" / "samples" / "gsm8k_solutions.jsonl"
BASELINE = re.compile(r"#### (-?[0-9.,]+)")
BATCH_SIZE = 64
BATCHES = 10
RUNS = 15  # paired passes: one pass is only ~10 ms, and more pairs steady the median on a busy host
RATIO_GOAL = 10.0


class _Sink(io.TextIOBase):
    """Powertools' log lines and EMF blobs, written and dropped."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def batches() -> list[list[dict[str, Any]]]:
    """Bedrock-shaped 64-sample events of the bundled real solutions (gold in metadata)."""
    rows = [json.loads(line) for line in SOLUTIONS.read_text(encoding="utf-8").splitlines()]
    events = []
    for start in range(0, BATCH_SIZE * BATCHES, BATCH_SIZE):
        events.append(
            [
                {
                    "id": f"{row['test_index']}-{row['model']}",
                    "messages": [
                        {"role": "user", "content": row["question"]},
                        {"role": "assistant", "content": row["response"]},
                    ],
                    "metadata": {"reference_answer": {"final_answer": row["gold"]}},
                }
                for row in rows[start : start + BATCH_SIZE]
            ]
        )
    return events


def baseline(sample: dict[str, Any]) -> float:
    """A bare regex reward on one sample of the event: the first `#### N` of the last message,
    compared with the gold."""
    m = BASELINE.search(sample["messages"][-1]["content"])
    if m is None:
        return 0.0
    try:
        return float(
            float(m.group(1).replace(",", ""))
            == float(sample["metadata"]["reference_answer"]["final_answer"])
        )
    except ValueError:
        return 0.0


class Interleaved:
    """Passes over the batches in which each batch is timed bare, then through the handler.

    Back to back per batch, as the old form of this benchmark did and as a Lambda sees it: one
    batch per invocation, never ten handler calls in a row (in a row, each batch arrives while
    the scorer's worker thread is still going idle from the last one, and the bare loop, run ten
    batches in a row too, keeps the machine's caches to itself). `harness.paired` calls
    `baseline` then `measured` for each pair; `baseline` runs the pass and `measured` returns
    the handler's side of that same pass.
    """

    def __init__(
        self,
        handle: Callable[[Any], object],
        bare: Callable[[Any], object],
        events: list[Any],
        clock: Callable[[], float],
    ) -> None:
        self.handle, self.bare, self.events, self.clock = handle, bare, events, clock
        self._handled = 0.0

    def baseline(self) -> float:
        bare_s = handled_s = 0.0
        for event in self.events:
            bare_s += seconds(lambda e=event: self.bare(e), self.clock)
            handled_s += seconds(lambda e=event: self.handle(e), self.clock)
        self._handled = handled_s / len(self.events)
        return bare_s / len(self.events)

    def measured(self) -> float:
        return self._handled


def main() -> int:
    sink = _Sink()
    with contextlib.redirect_stdout(sink):  # Powertools binds its log stream at import
        from gsm8k_reward.handler import lambda_handler
    events = batches()
    context = FakeLambdaContext()

    def handler(event: list[dict[str, Any]]) -> object:
        return lambda_handler(event, context)

    def bare(event: list[dict[str, Any]]) -> object:
        return [baseline(sample) for sample in event]

    print(f"GSM8K reward handler, {BATCHES} batches of {BATCH_SIZE} real solutions, {RUNS} paired passes")
    with contextlib.redirect_stdout(sink):
        for event in events:  # warm: imports, caches and the idle scorer worker
            results = handler(event)
            assert [r["id"] for r in results] == [s["id"] for s in event]
        timings = {}
        for name, clock in (("CPU", CPU), ("wall", WALL)):
            passes = Interleaved(handler, bare, events, clock)
            timings[name] = paired(passes.measured, passes.baseline, RUNS)
    cpu, wall = timings["CPU"], timings["wall"]
    report(
        Figure(
            "GSM8K lambda_handler vs bare regex reward, 64-sample batches",
            cpu.ratio,
            RATIO_GOAL,
            "x",
            f"CPU time {number(cpu.measured * 1e6)} us vs {number(cpu.baseline * 1e6)} us per batch, "
            f"median of {RUNS} paired passes; wall time {number(wall.ratio)}x "
            f"({number(wall.measured * 1e6)} us vs {number(wall.baseline * 1e6)} us)",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
