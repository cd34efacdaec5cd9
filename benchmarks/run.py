"""Run every benchmark, each in its own interpreter, and summarise all their figures.

Every benchmark runs even when an earlier one reports a figure OVER its goal or crashes: the
exit status is non-zero only when a benchmark crashed (exited non-zero), because a slow figure on
a noisy machine is a result to read, not a broken build.
Run: .venv/bin/python benchmarks/run.py [benchmarks/bench_x.py ...]   (default: all bench_*.py)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.harness import RESULTS_ENV, read_results, summary  # noqa: E402


def main(argv: list[str]) -> int:
    scripts = [Path(arg) for arg in argv] or sorted(HERE.glob("bench_*.py"))
    crashed: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "figures.jsonl"
        env = {**os.environ, RESULTS_ENV: str(results)}
        for script in scripts:
            print(f"==> {script.name}", flush=True)
            code = subprocess.run([sys.executable, str(script)], env=env, check=False).returncode
            if code != 0:
                crashed[script.stem] = code
                print(f"{script.stem}: CRASHED with exit {code}; carrying on with the others", flush=True)
        figures = read_results(results)
        reported = {figure.bench for figure in figures}

    print("\n==> summary")
    for line in summary(figures):
        print(line)
    silent = [s.stem for s in scripts if s.stem not in reported and s.stem not in crashed]
    if silent:
        print("ran but reported no figure: " + ", ".join(silent))
    if crashed:
        print("CRASHED: " + ", ".join(f"{name} (exit {code})" for name, code in crashed.items()))
        return 1
    print(f"all {len(scripts)} benchmarks ran to the end; none crashed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\nbenchmarks interrupted; nothing was written outside a temporary directory")
        sys.exit(130)
