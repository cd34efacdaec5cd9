"""The model id Converse accepts on demand for a configured base model.

The stack's base model (`rft:baseModel`) is what the RFT job customizes, a foundation-model ARN that
can carry a context-window variant (`...:256k`). Nova 2 Lite is served on demand only through its
cross-Region inference profiles (`us.amazon.nova-2-lite-v1:0`, `global.amazon.nova-2-lite-v1:0`), so a
known base model maps to its profile; any other id is used as configured. `rft evaluate --model base`
and the workflow's base-model shards both use this.
"""

from __future__ import annotations

import re

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
