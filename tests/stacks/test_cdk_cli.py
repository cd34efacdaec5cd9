"""The real, pinned CDK CLI synthesizes offline with no AWS credentials, and fails cleanly on bad data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK = [str(REPO_ROOT / "node_modules" / ".bin" / "cdk")]

pytestmark = pytest.mark.slow


def run_cdk(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    if not Path(CDK[0]).exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make setup` (make test does it for you)")
    # As a user runs it: no AWS credentials, and no JSII_SILENCE_* variables (app.py silences jsii itself).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JSII_"))}
    env.update(
        CDK_HOME=str(outdir / ".cdk-home"),
        AWS_CONFIG_FILE=str(outdir / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(outdir / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_VERSION_CHECK="1",
    )
    return subprocess.run(
        [*CDK, *args, "--output", str(outdir / "cdk.out"), "--no-notices"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cdk_synth_gsm_stack_offline_without_credentials(tmp_path):
    result = run_cdk("synth", "GsmRftStack", "--quiet", outdir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # cdk.json sets every flag the pinned aws-cdk-lib recommends, as `cdk init` would.
    assert "feature flags are not configured" not in result.stdout + result.stderr
    template = json.loads((tmp_path / "cdk.out" / "GsmRftStack.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::S3::Bucket", "AWS::Lambda::Function", "AWS::IAM::Role", "Custom::BedrockRftJob"} <= types


def test_invalid_data_fails_synth_with_the_rule_and_no_traceback(tmp_path):
    # A limit no GSM8K prompt fits: the job would fail hours later; the synth must fail now.
    data = REPO_ROOT / "build" / "data" / "gsm8k"
    backup = tmp_path / "data-backup"
    if data.exists():
        shutil.copytree(data, backup)
    try:
        result = run_cdk(
            "synth", "GsmRftStack", "--quiet", "-c", "rft:gsm8k:maxPromptLength=20", outdir=tmp_path
        )
    finally:
        if backup.exists():
            shutil.rmtree(data, ignore_errors=True)
            shutil.copytree(backup, data)
    assert result.returncode != 0
    # The task's data problem fails its own stack (an error annotation the CLI prints as one line).
    assert "ERROR GsmRftStack (gsm8k):" in result.stderr and "maxPromptLength" in result.stderr
    assert "Traceback" not in result.stderr


def test_cdk_synth_every_stack_for_an_open_weight_model_and_a_wrong_region_in_one_line(tmp_path):
    """`-c rft:baseModel=qwen.qwen3-32b-v1:0` alone: every task's stack synthesizes on the mantle
    backend in us-west-2 (the region follows the model); with a region that does not serve it, the
    app fails before synth with one line naming the fix. gpt-oss is synthesized in-process
    (test_config_open_weight.py)."""
    result = run_cdk("synth", "--all", "--quiet", "-c", "rft:baseModel=qwen.qwen3-32b-v1:0", outdir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for stack in ("GsmRftStack", "FinqaRftStack", "PandalmRftStack"):
        template = json.loads((tmp_path / "cdk.out" / f"{stack}.template.json").read_text())
        (job,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockRftJob"]
        assert (job["Properties"]["Backend"], job["Properties"]["BaseModelIdentifier"]) == (
            "mantle",
            "qwen.qwen3-32b",
        )
        assert "-us-west-2/" in json.dumps(job["Properties"]["TrainingDataUri"]), stack
    wrong = run_cdk(
        "synth",
        "GsmRftStack",
        "--quiet",
        "-c",
        "rft:baseModel=openai.gpt-oss-20b",
        "-c",
        "rft:region=us-east-1",
        outdir=tmp_path / "wrong",
    )
    assert wrong.returncode != 0
    (line,) = [line for line in wrong.stderr.splitlines() if line.startswith("error: ")]
    assert "set -c rft:region=us-west-2" in line and "Traceback" not in wrong.stderr
