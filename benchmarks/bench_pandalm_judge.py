"""Benchmark the PandaLM reward's judge calls against the contract's figure.

The contract: 64 samples with 200 ms judge latency, every 5th call throttled, must finish within
3 s, where serial calls take over 12 s. Both are measured here in the same run, through the real
handler (`pandalm_reward.handler.lambda_handler`) and the real boto3 client, against a loopback
Converse server (tests/reward/converse_server.py) reached via AWS_ENDPOINT_URL_BEDROCK_RUNTIME:

* concurrent: JUDGE_MAX_CONCURRENCY at its default (16), the median of several runs against the
  goal, with the best and worst (botocore's throttling backoff is random, so the runs differ);
* serial: JUDGE_MAX_CONCURRENCY=1, the same batch, once.

Run: .venv/bin/python benchmarks/bench_pandalm_judge.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # before the handler's logger exists

from pandalm_reward.handler import lambda_handler  # noqa: E402
from rft_reward.judge.client import (  # noqa: E402
    DEFAULT_MAX_CONCURRENCY,
    JudgeSettings,
    bedrock_runtime_client,
)

from benchmarks.harness import RUNS, Figure, report  # noqa: E402
from tests.reward.converse_server import ConverseServer, loopback_env  # noqa: E402
from tests.reward.helpers import FakeLambdaContext  # noqa: E402

SAMPLES = 64
LATENCY_S = 0.2
THROTTLE_EVERY = 5
GOAL_S = 3.0
CONCURRENCY = DEFAULT_MAX_CONCURRENCY  # the concurrency a deployed judge reward runs with
SERIAL_FLOOR_S = SAMPLES * LATENCY_S  # 12.8 s: what serial calls cost at the least
CONCURRENT_FLOOR_S = -(-SAMPLES // CONCURRENCY) * LATENCY_S  # 0.8 s: full waves, no throttling

ANSWER = (
    "JUDGMENT: Response 1\n"
    "REASONING: Response 1 names red, which is a primary colour; Response 2 names purple, a mix of "
    "red and blue, so it does not follow the instruction."
)


def batch() -> list[dict[str, Any]]:
    reference = {
        "label": 1,
        "instruction": "Name a primary colour.",
        "input": "",
        "response1": "Red.",
        "response2": "Purple.",
    }
    return [
        {
            "id": f"bench-{i}",
            "messages": [
                {"role": "user", "content": "Which response follows the instruction better? ..."},
                {"role": "assistant", "content": ANSWER},
            ],
            "reference_answer": reference,
        }
        for i in range(SAMPLES)
    ]


def run_once(concurrency: int) -> dict[str, float]:
    """One batch through the handler against a fresh server; wall time and server counts."""
    with ConverseServer(delay_s=LATENCY_S, throttle_every=THROTTLE_EVERY) as server:
        for name, value in loopback_env(server.url).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.environ["JUDGE_MODEL_ID"] = "us.amazon.nova-pro-v1:0"
        os.environ["JUDGE_MAX_CONCURRENCY"] = str(concurrency)
        bedrock_runtime_client(JudgeSettings.from_env()[0])  # a warm container: the client exists
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the EMF blob
            results = lambda_handler(batch(), FakeLambdaContext(remaining_ms=300_000))
        wall = time.perf_counter() - start
        judged = sum(
            1 for r in results for m in r["metrics_list"] if m["name"] == "judge_error" and m["value"] == 0.0
        )
        return {
            "wall": wall,
            "judged": judged,
            "requests": len(server.calls),
            "throttled": server.replies.count(400),
            "max_in_flight": server.max_in_flight,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="concurrent runs (default: %(default)s)")
    args = parser.parse_args()

    print(
        f"PandaLM judge batch: {SAMPLES} samples, {LATENCY_S * 1000:.0f} ms judge latency, every {THROTTLE_EVERY}th call throttled"
    )
    runs = [run_once(CONCURRENCY) for _ in range(args.runs)]
    for i, r in enumerate(runs, 1):
        print(
            f"  concurrent run {i}: {r['wall']:.2f} s, {r['judged']}/{SAMPLES} judged, "
            f"{r['requests']} requests ({r['throttled']} throttled), max {r['max_in_flight']} in flight"
        )
    serial = run_once(1)
    print(
        f"  serial run:       {serial['wall']:.2f} s, {serial['judged']}/{SAMPLES} judged, "
        f"{serial['requests']} requests ({serial['throttled']} throttled), max {serial['max_in_flight']} in flight"
    )
    walls = sorted(r["wall"] for r in runs)
    median = statistics.median(walls)
    in_flight = sorted(r["max_in_flight"] for r in runs)
    report(
        Figure(
            f"PandaLM {SAMPLES}-sample batch, {CONCURRENCY} judge calls at once",
            median,
            GOAL_S,
            " s",
            f"median of {args.runs} runs, best {walls[0]:.2f} s, worst {walls[-1]:.2f} s, "
            f"{in_flight[0]}-{in_flight[-1]} in flight, floor {CONCURRENT_FLOOR_S:.1f} s; "
            f"{serial['wall'] / median:.1f}x faster than serial ({serial['wall']:.1f} s) in the same run",
        )
    )
    report(
        Figure(
            "PandaLM same batch, serial judge calls",
            serial["wall"],
            SERIAL_FLOOR_S,
            " s",
            f"the floor is {SAMPLES} x {LATENCY_S * 1000:.0f} ms; below it the loopback server is not delaying",
            at_least=True,
        )
    )
    report(
        Figure(
            "PandaLM samples judged, fewest of all runs",
            min(r["judged"] for r in [*runs, serial]),
            SAMPLES,
            f"/{SAMPLES}",
            "every throttled call must be retried to a verdict",
            at_least=True,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
