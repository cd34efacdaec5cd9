"""The three stacks' templates, normalized, match the committed snapshots: refactors and feature-flag
or aws-cdk-lib upgrades cannot change a template unnoticed (a new logical id replaces a resource, and
replacing the job's custom resource stops a running job).

Refresh after an intended change, then review `git diff tests/stacks/snapshots/`:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/stacks/test_snapshot.py -q
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tasks import task_by_name

# The shipped tasks; a task a user scaffolds has no snapshot of ours to match.
BUILT_IN = [task_by_name(name) for name in ("gsm8k", "finqa", "pandalm")]
SNAPSHOTS = Path(__file__).parent / "snapshots"
# Content hashes of assets (data, code, the layer, CDK's own handlers) and CDK's usage analytics.
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    """The template without values that change when unrelated inputs change."""
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    text = text.replace('"123456789012"', '"<account>"')
    normalized = json.loads(text)
    normalized["Resources"].pop("CDKMetadata", None)
    normalized.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    for resource in normalized["Resources"].values():
        resource.pop("Metadata", None)  # construct paths, asset paths: not deployed state
    return normalized


@pytest.mark.parametrize("task", BUILT_IN, ids=lambda t: t.stack_name)
def test_template_matches_the_snapshot(synth, task):
    actual = normalize(synth(task.name).to_json())
    path = SNAPSHOTS / f"{task.stack_name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    expected = json.loads(path.read_text())
    changed = sorted(
        k for k in {*expected["Resources"], *actual["Resources"]}
        if expected["Resources"].get(k) != actual["Resources"].get(k)
    )  # fmt: skip
    assert actual == expected, (
        f"{task.stack_name} template changed (resources: {changed}); if intended, refresh with "
        "UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/stacks/test_snapshot.py and review the diff"
    )
