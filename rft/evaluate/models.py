"""What `--model` accepts, and how the shorthands `base` and `tuned` resolve.

Converse takes a foundation model id or ARN, an inference profile id or ARN, a provisioned model ARN
or a custom model deployment ARN as its `modelId`; anything else is passed through unchanged and
Bedrock is the judge of it.

* `base` is the stack's configured base model (`rft:baseModel` in cdk.json). That value is what the
  RFT job customizes, a foundation-model ARN that can carry a context-window variant (`...:256k`).
  Nova 2 Lite is served on demand only through its cross-Region inference profiles
  (`us.amazon.nova-2-lite-v1:0`, `global.amazon.nova-2-lite-v1:0`), so a known base model maps to
  its profile; any other base model is used as configured.
* `tuned` is the stack's tuned model through its on-demand deployment: the `deployment_arn` that
  `rft deploy-model <stack>` records in `<out>/deployment-<stack>.json` (`rft.deploy_model`).
"""

from __future__ import annotations

import re
from pathlib import Path

from rft.deploy_model import read_record, record_path
from rft.errors import UserError

BASE = "base"
TUNED = "tuned"
_FOUNDATION_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]+)::foundation-model/(?P<id>.+)$")
# Foundation models (without a context-window variant) -> their on-demand inference profile, by
# geography. Source: the Amazon Nova 2 user guide, "Core inference" (model ids for Nova 2 Lite).
ON_DEMAND_PROFILES: dict[str, dict[str, str]] = {
    "amazon.nova-2-lite-v1:0": {
        "us": "us.amazon.nova-2-lite-v1:0",
        "global": "global.amazon.nova-2-lite-v1:0",
    },
}


def _geography(region: str) -> str:
    return "us" if region.startswith("us-") else "global"


def on_demand_id(base_model: str, region: str) -> str:
    """The id Converse accepts on demand for the configured base model (itself when none is known)."""
    match = _FOUNDATION_ARN.match(base_model)
    model_id = match.group("id") if match else base_model
    model_region = match.group("region") if match else region
    without_variant = re.sub(r"(:\d+)(:[0-9]+[km])$", r"\1", model_id)
    profiles = ON_DEMAND_PROFILES.get(without_variant)
    if profiles is None:
        return base_model
    return profiles.get(_geography(model_region), profiles["global"])


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
