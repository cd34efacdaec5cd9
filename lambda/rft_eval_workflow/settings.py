"""The workflow functions' environment, read once per call and checked, with the fix in every message.

The CDK construct sets these (docs/post-training-evaluation.md lists them); a missing or malformed
value fails the state with a message naming the variable, which the workflow publishes as its cause.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rft_eval.converse import MAX_CONCURRENCY, RetryPolicy, default_temperature
from rft_eval.input_errors import EvalInputError
from rft_eval.layout import REPORT_PREFIX

DEFAULT_PREFIX = REPORT_PREFIX  # the construct sets REPORT_PREFIX to the same value
#: The slowest decode speed the time budget plans for (tokens/s); real on-demand models are faster.
SLOWEST_TOKENS_PER_S = 25.0
#: Seconds kept back after the last call for scoring the shard and writing its file.
FINISH_RESERVE_S = 30.0
SDK_ATTEMPTS = 2  # botocore attempts per Converse call inside a shard (our own throttle retries follow)


def _int(env: Mapping[str, str], name: str, default: int | None, low: int, high: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        if default is None:
            raise EvalInputError(
                f"environment variable {name} is not set; the EvaluationWorkflow construct sets it"
            )
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EvalInputError(f"{name}={raw!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise EvalInputError(f"{name}={value} is outside {bounds}")
    return value


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise EvalInputError(
            f"environment variable {name} is not set; the EvaluationWorkflow construct sets it"
        )
    return value


def parse_s3_uri(uri: str, what: str = "S3 URI") -> tuple[str, str]:
    """(bucket, key) of `s3://bucket/key`."""
    if not uri.startswith("s3://") or "/" not in uri[5:] or uri.endswith("/"):
        raise EvalInputError(f"{what} {uri!r} is not s3://bucket/key")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def tags(raw: str | None) -> list[dict[str, str]]:
    """TAGS as Bedrock's TagList: a JSON object {key: value} or a list of {key, value} / {Key, Value}."""
    if not raw:
        return []
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError:
        raise EvalInputError(f"TAGS is not JSON: {raw[:80]!r}") from None
    if isinstance(data, dict):
        return [{"key": str(k), "value": str(v)} for k, v in data.items()]
    if isinstance(data, list):
        out = []
        for item in data:
            if not isinstance(item, dict):
                raise EvalInputError("TAGS must be a JSON object or a list of {key, value} objects")
            key, value = item.get("key", item.get("Key")), item.get("value", item.get("Value"))
            if key is None or value is None:
                raise EvalInputError("each TAGS entry needs a key and a value")
            out.append({"key": str(key), "value": str(value)})
        return out
    raise EvalInputError("TAGS must be a JSON object or a list of {key, value} objects")


@dataclass(frozen=True)
class Settings:
    task: str
    bucket: str
    report_prefix: str
    test_data_uri: str
    base_model_id: str
    reward_handler: str
    samples: int
    shard_concurrency: int
    max_prompts: int  # 0: the whole test split
    shard_size: int
    max_tokens: int
    temperature: float
    stack_name: str
    tags: list[dict[str, str]]
    region: str

    def job_prefix(self, job_name: str) -> str:
        """`rft-eval/<job-name>/`: where one job's report and shard files go."""
        return f"{self.report_prefix}{job_name}/"

    def shard_key(self, job_name: str, label: str, index: int) -> str:
        return f"{self.job_prefix(job_name)}shards/{label}/{index:04d}.jsonl"

    @property
    def retry_policy(self) -> RetryPolicy:
        """Read timeout from maxTokens at the slowest planned decode speed, two SDK attempts a call."""
        read_timeout = math.ceil(10 + self.max_tokens / SLOWEST_TOKENS_PER_S)
        return RetryPolicy(sdk_max_attempts=SDK_ATTEMPTS, read_timeout_s=float(read_timeout))

    @property
    def reserve_s(self) -> float:
        """No Converse attempt starts with less than this left: the longest call, then scoring and writing."""
        return self.retry_policy.longest_call_s + FINISH_RESERVE_S


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    samples = _int(env, "SAMPLES", 1, 1, 64)
    raw_temperature = env.get("TEMPERATURE", "")
    if raw_temperature.strip():
        try:
            temperature = float(raw_temperature)
        except ValueError:
            raise EvalInputError(f"TEMPERATURE={raw_temperature!r} is not a number") from None
        if not 0.0 <= temperature <= 1.0:
            raise EvalInputError(f"TEMPERATURE={temperature:g} is outside 0..1")
    else:
        temperature = default_temperature(samples)
    prefix = env.get("REPORT_PREFIX", DEFAULT_PREFIX).strip() or DEFAULT_PREFIX
    test_data_uri = _required(env, "TEST_DATA_URI")
    parse_s3_uri(test_data_uri, "TEST_DATA_URI")
    return Settings(
        task=_required(env, "TASK"),
        bucket=_required(env, "BUCKET"),
        report_prefix=prefix if prefix.endswith("/") else prefix + "/",
        test_data_uri=test_data_uri,
        base_model_id=_required(env, "BASE_MODEL_ID"),
        reward_handler=_required(env, "REWARD_HANDLER"),
        samples=samples,
        shard_concurrency=_int(env, "SHARD_CONCURRENCY", 8, 1, MAX_CONCURRENCY),
        max_prompts=_int(env, "MAX_PROMPTS", 0, 0),
        shard_size=_int(env, "SHARD_SIZE", 25, 1, 10_000),
        max_tokens=_int(env, "MAX_TOKENS", 2048, 1, 1_000_000),
        temperature=temperature,
        stack_name=env.get("STACK_NAME", ""),
        tags=tags(env.get("TAGS")),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
