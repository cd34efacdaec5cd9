"""`python -m rft.summary`: the figures `make demo` prints come from the synthesized files."""

from __future__ import annotations

import json

import pytest

from rft.summary import REPO_ROOT, summarize
from tasks import task_by_name
from tests.stacks.synth import synth_task

FINQA, PANDALM = task_by_name("finqa"), task_by_name("pandalm")


@pytest.mark.parametrize("task", [FINQA, PANDALM], ids=lambda t: t.name)
def test_summary_reports_the_data_the_template_and_the_job(task, tmp_path):
    synth_task(task, tmp_path)
    text = summarize(task.stack_name, cdk_out=tmp_path)
    stats = json.loads((REPO_ROOT / "build" / "data" / task.name / "stats.json").read_text())
    template = json.loads((tmp_path / f"{task.stack_name}.template.json").read_text())
    assert f"train {stats['splits']['train']:,}" in text
    assert f"{len(template['Resources'])} resources" in text
    assert "REINFORCEMENT_FINE_TUNING" in text and "maxPromptLength=" in text
    hp = json.loads(
        next(r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockRftJob")["Properties"][
            "HyperParameters"
        ]
    )
    rollouts = stats["splits"]["train"] * hp["epochCount"] * hp["trainingSamplePerPrompt"]
    assert f"~{rollouts:,} scored rollouts" in text
    assert ("judge:" in text) == (task.kind == "rlaif")


def test_summary_without_a_job_says_so(tmp_path):
    synth_task(FINQA, tmp_path, **{"rft:launchJob": "false"})
    assert "not launched" in summarize(FINQA.stack_name, cdk_out=tmp_path)


def test_summary_names_the_fix_when_synth_has_not_run(tmp_path):
    with pytest.raises(SystemExit, match="run `make synth STACK=FinqaRftStack` first"):
        summarize(FINQA.stack_name, cdk_out=tmp_path)
