"""Benchmark the whole GSM8K reward handler against a bare regex reward, in the same run.

What is timed is what Lambda runs: `gsm8k_reward.handler.lambda_handler` on 64-sample batches of
the bundled real model solutions (rft/samples/gsm8k_solutions.jsonl, final `A: N` already
rewritten to `#### N`), with a fake Lambda context, so the contract checks, the per-sample time
budget (scorer on its worker thread), the Lambda deadline, Powertools' context injection, the
batch log line and the EMF blob are all included. Powertools' output goes to a sink: its cost is
building and writing the lines, not a terminal.

The baseline is the bare reward the GSM8K benchmark compares with: per sample of the same event,
`#### (-?[0-9.,]+)` on the last message, the number read and compared with the gold. Each
run times every batch both ways, interleaved; the medians of 7 runs are printed with their ratio
against the goal (<= 10x). The exit code is 0 unless the benchmark itself crashes: PASS / OVER
is the verdict.

Run: .venv/bin/python benchmarks/bench_reward_handler.py
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]

from tests.reward.helpers import FakeLambdaContext  # noqa: E402  (Powertools reads these fields)

SOLUTIONS = ROOT / "rft" / "samples" / "gsm8k_solutions.jsonl"
BASELINE = re.compile(r"#### (-?[0-9.,]+)")
BATCH_SIZE = 64
BATCHES = 10
RUNS = 7
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


def main() -> int:
    sink = _Sink()
    with contextlib.redirect_stdout(sink):  # Powertools binds its log stream at import
        from gsm8k_reward.handler import lambda_handler
    events = batches()
    context = FakeLambdaContext()
    with contextlib.redirect_stdout(sink):
        for event in events:  # warm: imports, caches and the idle scorer worker
            results = lambda_handler(event, context)
            assert [r["id"] for r in results] == [s["id"] for s in event]

    wall = {"baseline": [], "handler": []}
    cpu = {"baseline": [], "handler": []}
    for _ in range(RUNS):
        spent = {key: [0.0, 0.0] for key in wall}  # [wall, cpu] seconds over all batches
        for event in events:
            start, start_cpu = time.perf_counter(), time.process_time()
            for sample in event:
                baseline(sample)
            spent["baseline"][0] += time.perf_counter() - start
            spent["baseline"][1] += time.process_time() - start_cpu
            with contextlib.redirect_stdout(sink):
                start, start_cpu = time.perf_counter(), time.process_time()
                lambda_handler(event, context)
                spent["handler"][0] += time.perf_counter() - start
                spent["handler"][1] += time.process_time() - start_cpu
        for key, (wall_s, cpu_s) in spent.items():
            wall[key].append(wall_s / len(events))
            cpu[key].append(cpu_s / len(events))

    print(f"GSM8K reward handler, {BATCH_SIZE}-sample batches of real solutions, median of {RUNS} runs")
    ratios = {}
    for label, runs in (("CPU time", cpu), ("wall time", wall)):
        base_us = statistics.median(runs["baseline"]) * 1e6
        handler_us = statistics.median(runs["handler"]) * 1e6
        ratios[label] = handler_us / base_us
        print(
            f"  {label}: bare regex reward {base_us:7.1f} us/batch, lambda_handler {handler_us:7.1f} us/batch"
            f" ({handler_us / BATCH_SIZE:.1f} us/sample), ratio {ratios[label]:.2f} x"
        )
    ratio = ratios["CPU time"]
    verdict = "PASS" if ratio <= RATIO_GOAL else "OVER"
    print(f"  ratio (CPU time)    {ratio:8.2f} x         goal <= {RATIO_GOAL:g} x   {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
