"""How every benchmark measures and reports, so `make bench` reads them all the same way.

Medians, not best-of or means: the development machine has two cores shared with other work, and
one disturbed run moves a minimum or a mean while a median of several runs barely moves. Timings
that feed a ratio are taken in pairs, the baseline and the measured code back to back, and the
ratio is the median of the per-pair ratios, so a slow spell slows both sides of a pair alike.

Pure computation (scoring, data preparation) is timed on the CPU clock (`CPU`): the time the work
itself takes, which other processes on the machine do not inflate the way they inflate wall time.
What is about waiting (a judge batch against a slow server, a cold start) is timed on `WALL`.

A figure over its goal is a result, not a crash: a benchmark prints one line per figure,
`name: measured vs goal -> PASS|OVER`, and exits 0. `benchmarks/run.py` (what `make bench` runs)
collects the figures through the file named by $BENCH_RESULTS and prints them all at the end.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: Runs per measurement unless a benchmark says otherwise.
RUNS = 7
#: CPU time of the calling process (every thread: data_prep and the readers may use more than one).
CPU: Callable[[], float] = time.process_time
WALL: Callable[[], float] = time.perf_counter
#: The contract: a 200 KB response must score in milliseconds, whatever its shape.
LONG_RESPONSE_GOAL_MS = 5.0
LONG_RUNS = 21
#: The file (JSON lines) the runner reads the figures from; unset when a benchmark runs alone.
RESULTS_ENV = "BENCH_RESULTS"


def seconds(fn: Callable[[], object], clock: Callable[[], float] = CPU) -> float:
    """Time of one call on `clock`."""
    start = clock()
    fn()
    return clock() - start


def median_of(measure: Callable[[], float], runs: int = RUNS) -> float:
    """Median of `runs` measurements, each returned by `measure`."""
    return statistics.median(measure() for _ in range(runs))


def median_seconds(fn: Callable[[], object], runs: int = RUNS, clock: Callable[[], float] = CPU) -> float:
    """Median time of `runs` calls on `clock`."""
    return median_of(lambda: seconds(fn, clock), runs)


def per_call(fn: Callable[..., object], cases: Sequence[tuple[Any, ...]]) -> Callable[[], float]:
    """A pass over `cases` calling `fn(*case)`; returns the CPU seconds per call of that pass."""

    def one_pass() -> float:
        return seconds(lambda: [fn(*case) for case in cases]) / len(cases)

    return one_pass


@dataclass(frozen=True)
class Paired:
    """Medians of paired runs: the measured code, its baseline, and the ratio between them."""

    measured: float
    baseline: float
    ratio: float


def paired(measured: Callable[[], float], baseline: Callable[[], float], runs: int = RUNS) -> Paired:
    """Run baseline then measured `runs` times; each callable returns its own timing."""
    pairs = [(baseline(), measured()) for _ in range(runs)]
    return Paired(
        measured=statistics.median(m for _, m in pairs),
        baseline=statistics.median(b for b, _ in pairs),
        ratio=statistics.median(m / b for b, m in pairs),
    )


def long_response_figure(
    task: str,
    score: Callable[[str, Any], object],
    texts: Mapping[str, str],
    reference: Any,
    floor: re.Pattern[str],
    runs: int = LONG_RUNS,
) -> Figure:
    """The worst shape's median time to score one long response, against the contract's goal.

    The floor is `floor.findall` over the same text, timed in the same run: one pass of a plain
    regex through the whole response, about the least that finding a final answer can cost.
    """
    medians = {name: median_seconds(lambda t=text: score(t, reference), runs) for name, text in texts.items()}
    for name, value in medians.items():
        print(f"  200 KB {name:<26} {value * 1e3:7.3f} ms")
    worst = max(medians, key=medians.__getitem__)
    floor_s = median_seconds(lambda: floor.findall(texts[worst]), runs)
    return Figure(
        f"{task} 200 KB response, worst of {len(texts)} shapes",
        medians[worst] * 1e3,
        LONG_RESPONSE_GOAL_MS,
        " ms",
        f"{worst!r}, median of {runs} calls; {number(medians[worst] / floor_s)}x one plain regex "
        f"pass over the same text ({number(floor_s * 1e3)} ms)",
    )


def number(value: float) -> str:
    """Three significant figures, without exponents: 7.62, 0.631, 23.4, 1,600."""
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 0.001 else f"{value:.2e}"


@dataclass(frozen=True)
class Figure:
    """One measured figure against its goal. `at_least` goals are floors (counts, sanity checks)."""

    name: str
    measured: float
    goal: float
    unit: str = ""
    note: str = ""
    at_least: bool = False
    bench: str = ""

    @property
    def passed(self) -> bool:
        return self.measured >= self.goal if self.at_least else self.measured <= self.goal

    @property
    def verdict(self) -> str:
        if self.passed:
            return "PASS"
        return "UNDER" if self.at_least else "OVER"

    def headline(self) -> str:
        """`name: measured vs goal -> VERDICT`, the form every benchmark reports in."""
        bound = ">=" if self.at_least else "<="
        return (
            f"{self.name}: {number(self.measured)}{self.unit} vs {bound} {number(self.goal)}{self.unit}"
            f" -> {self.verdict}"
        )

    def line(self) -> str:
        """The headline and, after it, how the figure was measured and against what baseline."""
        return f"{self.headline()}   ({self.note})" if self.note else self.headline()


def report(figure: Figure) -> Figure:
    """Print the figure's line and hand it to the runner, if one is collecting."""
    if not figure.bench:
        figure = Figure(**{**asdict(figure), "bench": Path(sys.argv[0]).stem})
    print(figure.line(), flush=True)
    results = os.environ.get(RESULTS_ENV)
    if results:
        with open(results, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(figure)) + "\n")
    return figure


def read_results(path: Path) -> list[Figure]:
    """The figures the benchmarks reported into `path`, in order."""
    if not path.is_file():
        return []
    return [Figure(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]


def summary(figures: Iterable[Figure]) -> list[str]:
    """One headline per figure, then how many figures got each verdict."""
    figures = list(figures)
    lines = [f"  {figure.headline()}" for figure in figures]
    counts = {v: sum(f.verdict == v for f in figures) for v in ("PASS", "OVER", "UNDER")}
    lines.append(
        f"{len(figures)} figures: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n or v == "PASS")
    )
    return lines
