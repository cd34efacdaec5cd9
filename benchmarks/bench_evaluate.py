"""Benchmark `rft evaluate`'s sampling harness against the physical floor.

1,000 GSM8K prompts (data_prep's real records) are evaluated end to end through `rft.evaluate`
(the harness, the real boto3 client, the GSM8K reward, the reports) against a loopback Converse server
(tests/reward/converse_server.py) with 200 ms latency that throttles every 5th call, at concurrency 16.

* wall time, as a ratio to the floor: prompts × latency ÷ concurrency = 12.5 s, which no client can
  beat; goal <= 1.5x. Throttled calls answer at once but cost a backoff, which is where time goes.
* the harness's own overhead per call: the same 1,000 calls against a client that answers instantly
  in-process (no HTTP, no botocore), so what is left is planning, fingerprinting, threads, the cache
  append and the progress callback.

Run: .venv/bin/python benchmarks/bench_evaluate.py
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from rich.console import Console  # noqa: E402

from rft.evaluate.cache import ResponseCache  # noqa: E402
from rft.evaluate.command import EvaluateRequest, evaluate  # noqa: E402
from rft.evaluate.sampling import Inference, Sampler, plan, read_prompts  # noqa: E402
from tests.reward.converse_server import ConverseServer, converse_reply, loopback_env  # noqa: E402

try:  # the shared reporting of `make bench`, when this branch has it
    from benchmarks.harness import Figure, report
except ImportError:  # pragma: no cover - plain lines in the same form
    Figure = None  # type: ignore[assignment,misc]

PROMPTS = 1000
LATENCY_S = 0.2
THROTTLE_EVERY = 5
CONCURRENCY = 16
GOAL_RATIO = 1.5
GOAL_OVERHEAD_MS = 1.0
FLOOR_S = PROMPTS * LATENCY_S / CONCURRENCY


def figure(name: str, measured: float, goal: float, unit: str, note: str) -> None:
    if Figure is not None:
        report(Figure(name, measured, goal, unit, note))
        return
    verdict = "PASS" if measured <= goal else "OVER"
    print(f"{name}: {measured:.3g}{unit} vs <= {goal:g}{unit} -> {verdict}   ({note})", flush=True)


def data_file(work: Path) -> Path:
    from data_prep import prepare

    prepare("gsm8k", work / "prep")
    lines = []
    for split in ("train", "validation", "test"):
        lines += (work / "prep" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    path = work / "bench-prompts.jsonl"  # not named like a training split: evaluate refuses those
    path.write_text("\n".join(lines[:PROMPTS]) + "\n", encoding="utf-8")
    return path


def point_at(url: str) -> None:
    for name, value in loopback_env(url).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def serve(data: Path) -> None:
    """`--serve DATA`: the loopback server in its own process, as Bedrock is not in the client's.

    In one process the server's Python HTTP handling would take the GIL from the client and the
    benchmark would measure the server. Prints the URL, serves until stdin closes, then prints its
    counts as JSON.
    """
    golds = {}
    for line in data.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        golds[record["messages"][-1]["content"]] = record["reference_answer"]["final_answer"]

    def respond(_: int, call: Any) -> Any:
        return converse_reply(f"Step by step.\n#### {golds[call.user]}")

    with ConverseServer(delay_s=LATENCY_S, throttle_every=THROTTLE_EVERY, respond=respond) as server:
        print(server.url, flush=True)
        sys.stdin.read()
        counts = {
            "requests": len(server.calls),
            "throttled": server.replies.count(400),
            "max_in_flight": server.max_in_flight,
        }
    print(json.dumps(counts), flush=True)


def end_to_end(data: Path, work: Path) -> dict[str, Any]:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        point_at(server.stdout.readline().strip())
        request = EvaluateRequest(
            "gsm8k",
            ["us.amazon.nova-2-lite-v1:0"],
            data=data,
            out_dir=work / "reports",
            concurrency=CONCURRENCY,
        )
        quiet = Console(file=io.StringIO())
        start, cpu_start = time.perf_counter(), time.process_time()
        evaluation = evaluate(request, quiet, progress_console=quiet, confirm=lambda _: True)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        # The same command again: every response is cached, so this is scoring and the reports alone.
        start = time.perf_counter()
        evaluate(request, quiet, progress_console=quiet, confirm=lambda _: True)
        rest = time.perf_counter() - start
    finally:
        server.stdin.close()
        counts = json.loads(server.stdout.readline() or "{}")
        server.wait(timeout=30)
    result = evaluation.results[0]
    return {
        "wall": wall,
        "cpu": cpu,
        "rest": rest,
        "answered": result.accuracy.responses,
        "accuracy": result.accuracy.value,
        "errors": len(result.errors),
        **counts,
    }


class InstantClient:
    """Answers Converse in-process at once: what is left of the time is the harness's own."""

    class meta:  # mimics botocore's client.meta.events
        class events:
            @staticmethod
            def register(*_: Any) -> None:
                return None

    def converse(self, **_: Any) -> dict[str, Any]:
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": "#### 1"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120},
            "metrics": {"latencyMs": 1},
        }


def overhead_per_call_ms(data: Path, work: Path) -> float:
    prompts = read_prompts(data)
    inference = Inference(max_tokens=2048, temperature=0.0)
    best = float("inf")
    for run in range(5):
        with ResponseCache(work / f"overhead-{run}.jsonl") as cache:
            start = time.perf_counter()
            calls = plan(["m"], prompts, 1, inference, cache).calls
            Sampler(lambda _: InstantClient(), inference, concurrency=CONCURRENCY).run(
                calls, cache, on_response=lambda *_: None
            )
            best = min(best, time.perf_counter() - start)
    return best / len(prompts) * 1000


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        serve(Path(sys.argv[2]))
        return 0
    print(
        f"rft evaluate: {PROMPTS:,} prompts, {LATENCY_S * 1000:.0f} ms latency, every {THROTTLE_EVERY}th call "
        f"throttled, concurrency {CONCURRENCY}; floor {FLOOR_S:.1f} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = data_file(work)
        run = end_to_end(data, work)
        print(
            f"  {run['answered']:,}/{PROMPTS:,} answered ({run['errors']} errors), accuracy {run['accuracy']:.1%}; "
            f"{run['requests']:,} requests ({run['throttled']:,} throttled), max {run['max_in_flight']} in flight; "
            f"{run['wall']:.2f} s wall, {run['cpu']:.2f} s CPU in this process "
            f"({run['cpu'] / run['requests'] * 1000:.1f} ms per request)",
            flush=True,
        )
        figure(
            "evaluate 1,000 prompts vs the floor",
            run["wall"] / FLOOR_S,
            GOAL_RATIO,
            "x",
            f"{run['wall']:.2f} s wall for sampling, scoring and reports; floor {FLOOR_S:.1f} s = "
            f"{PROMPTS} x {LATENCY_S * 1000:.0f} ms / {CONCURRENCY}",
        )
        sampling = run["wall"] - run["rest"]
        figure(
            "evaluate 1,000 prompts, sampling alone vs the floor",
            sampling / FLOOR_S,
            GOAL_RATIO,
            "x",
            f"{sampling:.2f} s: the run minus a fully cached rerun ({run['rest']:.2f} s of scoring and reports)",
        )
        overhead = overhead_per_call_ms(data, work)
        figure(
            "evaluate harness overhead per call",
            overhead,
            GOAL_OVERHEAD_MS,
            " ms",
            "best of 5 runs of 1,000 calls to an in-process client that answers at once (no HTTP)",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
