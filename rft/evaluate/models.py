"""What `--model` accepts, and how the shorthands `base` and `tuned` resolve.

Converse takes a foundation model id or ARN, an inference profile id or ARN, a provisioned model ARN
or a custom model deployment ARN as its `modelId`; anything else is passed through unchanged and
Bedrock is the judge of it.

* `base` is the stack's configured base model (`rft:baseModel` in cdk.json), mapped to the id Converse
  accepts on demand (`rft_eval.model_ids.on_demand_id`: Nova 2 Lite through its inference profile).
* `tuned` is the stack's tuned model through its on-demand deployment: the `deployment_arn` that
  `rft deploy-model <stack>` records in `<out>/deployment-<stack>.json` (`rft.deploy_model`).
"""

from __future__ import annotations

from pathlib import Path

from rft_eval.model_ids import ON_DEMAND_PROFILES, on_demand_id

from rft.deploy_model import read_record, record_path
from rft.errors import UserError

__all__ = ["BASE", "ON_DEMAND_PROFILES", "TUNED", "on_demand_id", "resolve_models", "tuned_model"]

BASE = "base"
TUNED = "tuned"


def tuned_model(out_dir: Path, stack_name: str) -> str:
    record = read_record(out_dir, stack_name)
    if record is None or not record.deployment_arn:
        raise UserError(
            f"no deployment of {stack_name}'s tuned model is recorded ({record_path(out_dir, stack_name)}); "
            f"run `rft deploy-model {stack_name}` first, or pass its ARN with --model"
        )
    return record.deployment_arn


def resolve_models(
    names: list[str], *, base_model: str, region: str, out_dir: Path, stack_name: str
) -> list[str]:
    """`--model` values with the shorthands replaced; a model named twice is an error."""
    if not names:
        raise UserError("give at least one --model (e.g. --model base, or a model id or ARN)")
    resolved = []
    for name in names:
        if name == BASE:
            resolved.append(on_demand_id(base_model, region))
        elif name == TUNED:
            resolved.append(tuned_model(out_dir, stack_name))
        else:
            resolved.append(name)
    repeated = sorted({m for m in resolved if resolved.count(m) > 1})
    if repeated:
        raise UserError(f"--model {repeated[0]} is given twice; each model is evaluated once")
    return resolved
