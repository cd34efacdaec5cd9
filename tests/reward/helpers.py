"""Shared helpers for the reward tests (imported by the test modules; fixtures live in conftest)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

_UNSET: Any = object()


@dataclass
class FakeLambdaContext:
    """The fields Powertools reads from a Lambda context, as in the Powertools testing examples."""

    function_name: str = "reward-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reward-test"
    aws_request_id: str = "da658bd3-2d6f-4e7b-8ec2-937234644fdc"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def make_sample(
    response: Any = "#### 48",
    reference: Any = _UNSET,
    *,
    sample_id: Any = _UNSET,
    role: str = "assistant",
    in_metadata: bool = False,
) -> dict[str, Any]:
    """One Bedrock RFT reward sample; the reference goes top level or inside `metadata`."""
    sample: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "Put the final answer after ####."},
            {"role": "user", "content": "Natalia sold clips to 48 of her friends. How many?"},
            {"role": role, "content": response},
        ]
    }
    if sample_id is not _UNSET:
        sample["id"] = sample_id
    if reference is _UNSET:
        reference = {"final_answer": "48"}
    if in_metadata:
        sample["metadata"] = {"reference_answer": reference, "source": "test"}
    else:
        sample["reference_answer"] = reference
    return sample


def metric(result: dict[str, Any], name: str) -> float | None:
    """The value of one named entry of a result's metrics_list, or None when absent."""
    values = [m["value"] for m in result["metrics_list"] if m["name"] == name]
    assert len(values) <= 1, f"metric {name} reported twice"
    return values[0] if values else None


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    """The EMF documents among captured stdout lines."""
    blobs = []
    for line in stdout.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "_aws" in doc:
            blobs.append(doc)
    return blobs


def parse_logs(buffer: io.StringIO) -> list[dict[str, Any]]:
    """Powertools writes one JSON object per log line."""
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
