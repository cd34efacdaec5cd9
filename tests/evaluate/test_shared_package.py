"""`lambda/rft_eval`, the evaluation code `rft evaluate` and the post-training workflow share.

It ships in a Lambda asset, so it must import from `lambda/` alone and pull in nothing of the CLI;
`rft evaluate` must use it rather than a copy; and its summary, paired interval and SVG chart are
checked against figures worked out here from the counts.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rft_eval
from rft_eval.chart import evaluation_svg
from rft_eval.report_text import summary
from rft_eval.responses import Response
from rft_eval.results import Evaluation, ModelResult
from rft_eval.scoring import Scored
from rft_eval.stats import Z95, paired_difference_ci

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_DIR = REPO_ROOT / "lambda"
MODULES = sorted(
    f"{p.parent.name}.{p.stem}"
    for package in ("rft_eval", "rft_eval_workflow")
    for p in (LAMBDA_DIR / package).glob("*.py")
    if p.stem != "__init__"
)
FORBIDDEN = {
    "rft",
    "rich",
    "typer",
    "matplotlib",
    "aws_cdk",
    "constructs",
    "stacks",
    "local_aws",
    "data_prep",
}


def test_the_packages_import_from_the_asset_root_alone_and_pull_in_no_cli_or_cdk() -> None:
    """rft_eval and the workflow's handlers, as the Lambda runtime imports them."""
    probe = (
        "import importlib, json, sys; "
        f"[importlib.import_module(m) for m in {MODULES!r}]; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(sorted(FORBIDDEN))!r})))"
    )
    # Run from lambda/ as the Lambda runtime does: the asset root is the only project directory on sys.path.
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=LAMBDA_DIR, capture_output=True, text=True, check=True
    )
    assert len(MODULES) >= 13 and "rft_eval_workflow.handler" in MODULES
    assert json.loads(result.stdout) == []


def test_no_module_of_the_package_names_the_cli_or_cdk() -> None:
    for path in [*(LAMBDA_DIR / "rft_eval").glob("*.py"), *(LAMBDA_DIR / "rft_eval_workflow").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for name in FORBIDDEN:
            assert (
                f"import {name}" not in text and f"from {name} " not in text and f"from {name}." not in text
            ), f"{path.name} imports {name}"


def test_rft_evaluate_uses_the_shared_code_not_a_copy() -> None:
    from rft_eval import converse as shared_sampling
    from rft_eval import deployments, reward_contract, scoring
    from rft_eval import model_ids as shared_models
    from rft_eval import report_text as shared_report
    from rft_eval import responses as shared_responses

    from rft.contract import check_results
    from rft.deploy_model import deployment_name
    from rft.evaluate import cache, grading, models, report, sampling
    from rft.rehearse import handlers

    assert cache.Response is shared_responses.Response
    assert sampling.Inference is shared_sampling.Inference
    assert issubclass(sampling.Sampler, shared_sampling.Sampler)
    assert sampling.Sampler.ask is shared_sampling.Sampler.ask
    assert grading.score is scoring.score and grading.Scored is scoring.Scored
    assert models.on_demand_id is shared_models.on_demand_id
    assert report.rows is shared_report.rows and report.markdown is shared_report.markdown
    assert check_results is reward_contract.check_results
    assert deployment_name is deployments.deployment_name
    assert handlers.call is scoring.call
    for gone in ("stats", "results"):
        assert not (REPO_ROOT / "rft" / "evaluate" / f"{gone}.py").exists()
    assert Path(rft_eval.__file__).parent == LAMBDA_DIR / "rft_eval"


def _paired_wald(both: int, improved: int, regressed: int, neither: int) -> tuple[float, float]:
    """The textbook paired Wald interval, as an independent check at a large n."""
    n = both + improved + regressed + neither
    d = (improved - regressed) / n
    se = math.sqrt((improved + regressed) - (improved - regressed) ** 2 / n) / n
    return d - Z95 * se, d + Z95 * se


def test_the_paired_interval_agrees_with_wald_at_a_large_n_and_behaves_at_the_edges() -> None:
    low, high = paired_difference_ci(900, 209, 40, 170)
    wald_low, wald_high = _paired_wald(900, 209, 40, 170)
    assert low < (209 - 40) / 1319 < high
    assert abs(low - wald_low) < 0.003 and abs(high - wald_high) < 0.003
    # Swapping the models mirrors the interval.
    m_low, m_high = paired_difference_ci(900, 40, 209, 170)
    assert math.isclose(m_low, -high, abs_tol=1e-9) and math.isclose(m_high, -low, abs_tol=1e-9)
    # Where Wald collapses (no discordant prompt) or leaves [-1, 1], this one does not.
    edge_low, edge_high = paired_difference_ci(10, 0, 0, 0)
    assert edge_low < 0 < edge_high
    all_low, all_high = paired_difference_ci(0, 5, 0, 0)
    assert all_high == 1.0 and 0 < all_low < 1
    assert paired_difference_ci(0, 0, 0, 0) == (-1.0, 1.0)
    with pytest.raises(ValueError):
        paired_difference_ci(-1, 0, 0, 0)


def _result(model: str, label: str, correct: list[bool], prompt_ids: list[str]) -> ModelResult:
    scored = [
        Scored(
            Response(model, pid, 0, "f", text="x", output_tokens=10, latency_ms=5.0), 1.0 if ok else 0.0, True
        )
        for pid, ok in zip(prompt_ids, correct, strict=True)
    ]
    return ModelResult(model, scored, [], label=label)


def _evaluation(both: int, improved: int, regressed: int, neither: int) -> Evaluation:
    ids = [f"p{i}" for i in range(both + improved + regressed + neither)]
    base = [True] * both + [False] * improved + [True] * regressed + [False] * neither
    tuned = [True] * both + [True] * improved + [False] * regressed + [False] * neither
    return Evaluation(
        task="gsm8k",
        data="s3://bucket/test.jsonl",
        prompts=len(ids),
        samples_per_prompt=1,
        max_tokens=1024,
        temperature=0.0,
        handler="gsm8k_reward.handler.lambda_handler",
        results=[
            _result("us.amazon.nova-2-lite-v1:0", "base", base, ids),
            _result(
                "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc", "tuned", tuned, ids
            ),
        ],
    )


def test_the_summary_states_the_paired_figures_worked_out_from_the_counts() -> None:
    both, improved, regressed, neither = 900, 209, 40, 170
    n = both + improved + regressed + neither
    text = summary(_evaluation(both, improved, regressed, neither))
    tuned, base = (both + improved) / n * 100, (both + regressed) / n * 100
    low, high = paired_difference_ci(both, improved, regressed, neither)
    half = (high - low) / 2 * 100
    assert text.startswith(
        f"gsm8k: tuned {tuned:.1f} % vs base {base:.1f} % ({tuned - base:+.1f} points, 95 % CI "
    )
    assert "McNemar p < 0.001" in text and f"on {n:,} held-out prompts." in text
    assert f"±{half:.1f}" in text or f"{low * 100:+.1f} to {high * 100:+.1f}" in text
    assert text.count(".") >= 1 and "\n" not in text  # one paragraph


def test_a_small_difference_gives_its_p_value_and_a_range_when_the_interval_is_lopsided() -> None:
    text = summary(_evaluation(2, 3, 1, 0))
    assert "McNemar p = 0.625" in text  # 2 x (1 + 4) / 16
    low, high = paired_difference_ci(2, 3, 1, 0)
    assert f"95 % CI {low * 100:+.1f} to {high * 100:+.1f}" in text


def test_the_svg_chart_is_well_formed_has_a_bar_per_model_and_escapes_names() -> None:
    evaluation = _evaluation(3, 1, 0, 1)
    evaluation.results[1].label = "<tuned & co>"
    svg = evaluation_svg(evaluation)
    root = ET.fromstring(svg)  # raises on malformed XML (an unescaped & or <)
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = [r for r in root.findall("s:rect", ns) if r.find("s:title", ns) is not None]
    assert len(bars) == 2
    widths = [float(b.get("width")) for b in bars]
    accuracies = [r.accuracy.value for r in evaluation.results]
    assert widths[1] / widths[0] == pytest.approx(accuracies[1] / accuracies[0], rel=1e-3)
    assert "&lt;tuned &amp; co&gt;" in svg
