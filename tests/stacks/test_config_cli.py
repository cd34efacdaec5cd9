"""The real, pinned CDK CLI: one task's broken data fails only its stack; no Node banner; typos fail.

Slow (each run synthesizes), like test_cdk_cli.py. The data is broken through configuration
(`source=local` with a path that does not exist), so nothing in the repository is touched.
"""

from __future__ import annotations

import pytest

from tests.stacks.test_cdk_cli import run_cdk  # no AWS credentials and no JSII_SILENCE_* variables

BROKEN_FINQA = ("-c", "rft:finqa:source=local", "-c", "rft:finqa:path=/nonexistent/finqa.json")

pytestmark = pytest.mark.slow


def test_broken_finqa_data_fails_only_finqa_and_no_node_banner_is_printed(tmp_path):
    other = run_cdk("synth", "GsmRftStack", "--quiet", *BROKEN_FINQA, outdir=tmp_path / "gsm")
    assert other.returncode == 0, other.stderr[-3000:]
    assert (tmp_path / "gsm" / "cdk.out" / "GsmRftStack.template.json").is_file()
    # jsii's end-of-life banner is a box of `!!` lines; app.py silences it before aws_cdk starts Node.
    assert "!!" not in other.stderr and "end-of-life" not in other.stderr, other.stderr[:2000]

    broken = run_cdk("synth", "FinqaRftStack", "--quiet", *BROKEN_FINQA, outdir=tmp_path / "finqa")
    assert broken.returncode != 0
    errors = [line for line in broken.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, broken.stderr
    assert "FinqaRftStack (finqa): /nonexistent/finqa.json" in errors[0]
    assert "Traceback" not in broken.stderr and "program.js" not in broken.stderr


def test_misspelled_overrides_fail_synth_with_did_you_mean(tmp_path):
    top = run_cdk("synth", "GsmRftStack", "--quiet", "-c", "rft:launchjob=false", outdir=tmp_path / "a")
    assert top.returncode != 0
    assert "error: Unknown key `rft:launchjob` (from -c); did you mean `rft:launchJob`?" in top.stderr
    assert "Traceback" not in top.stderr

    task = run_cdk("synth", "GsmRftStack", "--quiet", "-c", "rft:gsm8k:epochcount=2", outdir=tmp_path / "b")
    assert task.returncode != 0
    assert "did you mean `rft:gsm8k:epochCount`?" in task.stderr and "Traceback" not in task.stderr
