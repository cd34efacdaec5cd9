"""`python -m rft.summary <Stack>`: what `make demo` prepared and synthesized, and what a deploy would do.

Reads only files synth left behind (cdk.out/<Stack>.template.json and build/data/<task>/stats.json),
so it needs no AWS account. Cost: the Lambda and S3 parts are computed from published arm64 Lambda
prices; Bedrock bills the training itself by its own RFT pricing, which is not published as a fixed
per-token rate, so the summary reports the volume that drives it (rollouts and tokens) instead of
inventing a dollar figure.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tasks import TASKS

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_ARM_GB_SECOND_USD = 0.0000133334
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
# Assumed per-sample reward time for the bound below (the GSM8K benchmark measures ~0.01 ms; judges ~1 s).
SECONDS_PER_SAMPLE = {"rlvr": 0.005, "rlaif": 2.0}


def summarize(
    stack_name: str, cdk_out: Path = REPO_ROOT / "cdk.out", data_dir: Path = REPO_ROOT / "build" / "data"
) -> str:
    task = next((t for t in TASKS if t.stack_name == stack_name), None)
    if task is None:
        raise SystemExit(f"error: unknown stack {stack_name!r}; known: {[t.stack_name for t in TASKS]}")
    template_path = cdk_out / f"{stack_name}.template.json"
    stats_path = data_dir / task.name / "stats.json"
    for path in (template_path, stats_path):
        if not path.exists():
            shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
            raise SystemExit(f"error: {shown} is missing; run `make synth STACK={stack_name}` first.")
    template = json.loads(template_path.read_text())
    stats = json.loads(stats_path.read_text())
    return "\n".join(_render(stack_name, template, stats, task.kind))


def _render(stack_name: str, template: dict[str, Any], stats: dict[str, Any], kind: str) -> list[str]:
    resources = template.get("Resources", {})
    job = next((r["Properties"] for r in resources.values() if r["Type"] == "Custom::BedrockRftJob"), None)
    splits = stats.get("splits", {})
    tokens = stats.get("prompt_tokens", {})
    lines = [f"== {stack_name} (synthesized, nothing deployed) =="]
    lines.append(
        "data      " + ", ".join(f"{name} {count:,}" for name, count in splits.items()) + " records"
        + (f" ({stats['dropped_overlong']} over-long dropped)" if stats.get("dropped_overlong") else "")
    )  # fmt: skip
    if tokens:
        lines.append(
            f"prompts   est. tokens min {tokens.get('min')} / median {tokens.get('median')} / p95 {tokens.get('p95')}"
            f" / max {tokens.get('max')} (limit maxPromptLength={tokens.get('limit')})"
        )
    counts = Counter(r["Type"] for r in resources.values())
    lines.append(
        f"template  {sum(counts.values())} resources: "
        + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    )

    if job is None:
        lines.append(
            "job       not launched (rft:launchJob is false): deploy creates everything but the paid job"
        )
        return lines
    hp = json.loads(job["HyperParameters"])
    lines.append(f"deploy    launches a REINFORCEMENT_FINE_TUNING job on {job['BaseModelIdentifier']}")
    lines.append("          hyperparameters " + ", ".join(f"{k}={v}" for k, v in sorted(hp.items())))

    train = int(splits.get("train", 0))
    rollouts = train * int(hp["epochCount"]) * int(hp["trainingSamplePerPrompt"])
    prompt_tokens = rollouts * float(tokens.get("mean", tokens.get("median", 0)) or 0)
    output_tokens = rollouts * int(hp["inferenceMaxTokens"])
    seconds = rollouts * SECONDS_PER_SAMPLE.get(kind, 0.005)
    memory_gb = _reward_memory_gb(resources)
    lambda_usd = seconds * memory_gb * LAMBDA_ARM_GB_SECOND_USD + rollouts * LAMBDA_REQUEST_USD
    lines.append(
        f"cost      ~{rollouts:,} scored rollouts; ~{prompt_tokens / 1e6:.1f}M prompt + ≤{output_tokens / 1e6:.1f}M generated tokens"
    )
    lines.append(
        f"          reward Lambda ≤ ${lambda_usd:.2f} (upper bound, one call per rollout), S3 < $0.01;"
        " training is billed by Amazon Bedrock RFT pricing for the base model (see the Bedrock pricing page)"
    )
    judge = _reward_environment(resources).get("JUDGE_MODEL_ID")
    if judge:
        lines.append(
            f"          judge: up to ~{rollouts:,} Converse calls to {judge} (billed as on-demand inference)"
        )
    lines.append("          jobs run for hours; `make destroy` stops a running job and removes everything")
    return lines


def _reward_function(resources: dict[str, Any]) -> dict[str, Any]:
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Function" and "RewardFunction" in logical_id:
            return resource["Properties"]
    return {}


def _reward_memory_gb(resources: dict[str, Any]) -> float:
    return int(_reward_function(resources).get("MemorySize", 512)) / 1024


def _reward_environment(resources: dict[str, Any]) -> dict[str, str]:
    return _reward_function(resources).get("Environment", {}).get("Variables", {})


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m rft.summary <StackName>")
    print(summarize(args[0]))


if __name__ == "__main__":
    main()
