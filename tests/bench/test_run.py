"""`make bench`'s runner: every benchmark runs, OVER is reported, only a crash fails the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "benchmarks" / "run.py"


def fake_bench(directory: Path, name: str, body: str) -> Path:
    """A benchmark script that reports through the real harness, as the real ones do."""
    path = directory / f"{name}.py"
    path.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from benchmarks.harness import Figure, report\n" + body,
        encoding="utf-8",
    )
    return path


def run(*scripts: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), *map(str, scripts)], capture_output=True, text=True, check=False
    )


def test_a_figure_over_its_goal_is_reported_and_the_run_still_exits_0(tmp_path: Path) -> None:
    over = fake_bench(tmp_path, "bench_over", 'report(Figure("slow thing", 12.0, 10.0, "x"))\n')
    fine = fake_bench(tmp_path, "bench_fine", 'report(Figure("fast thing", 1.0, 5.0, " ms"))\n')
    result = run(over, fine)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.split("==> summary", 1)[1].splitlines()
    assert "  slow thing: 12x vs <= 10x -> OVER" in summary
    assert "  fast thing: 1 ms vs <= 5 ms -> PASS" in summary
    assert "2 figures: 1 PASS, 1 OVER" in summary
    assert "CRASHED" not in result.stdout


def test_a_crash_fails_the_run_but_the_benchmarks_after_it_still_run(tmp_path: Path) -> None:
    crash = fake_bench(
        tmp_path, "bench_crash", 'report(Figure("before the crash", 1, 2))\nraise RuntimeError("boom")\n'
    )
    after = fake_bench(tmp_path, "bench_after", 'report(Figure("after the crash", 1, 2))\n')
    result = run(crash, after)
    assert result.returncode == 1
    assert "RuntimeError: boom" in result.stderr
    assert "  after the crash: 1 vs <= 2 -> PASS" in result.stdout
    assert "  before the crash: 1 vs <= 2 -> PASS" in result.stdout
    assert "CRASHED: bench_crash (exit 1)" in result.stdout


def test_a_benchmark_that_reports_nothing_is_named(tmp_path: Path) -> None:
    quiet = fake_bench(tmp_path, "bench_quiet", 'print("no figures here")\n')
    result = run(quiet)
    assert result.returncode == 0
    assert "ran but reported no figure: bench_quiet" in result.stdout
    assert "0 figures: 0 PASS" in result.stdout


def test_no_benchmark_reads_the_developers_shared_directory() -> None:
    for path in (ROOT / "benchmarks").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and '"shared"' not in text, path.name
