"""Deployment configuration: cdk.json context, merged over a task's defaults and checked at synth.

Bedrock only rejects a bad hyperparameter when the job is created, after the stack has deployed; a
typo found here costs seconds instead of a failed deploy. Ranges are botocore's own
(`RFTHyperParameters` in the `bedrock` service model).

Precedence, lowest first: the TaskSpec defaults, the `rft:<task>` block in cdk.json, then single-value
overrides such as `-c rft:gsm8k:epochCount=2` (which arrive as strings from the command line).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tasks.spec import TaskSpec

NOVA_2_LITE = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"

# name -> (type, minimum, maximum); None = no bound published.
HYPERPARAMETER_RANGES: dict[str, tuple[type, float | None, float | None]] = {
    "epochCount": (int, 1, 50),
    "batchSize": (int, 16, 512),
    "learningRate": (float, 1e-7, 1e-3),
    "trainingSamplePerPrompt": (int, 2, 16),
    "evalInterval": (int, 1, 100),
    "maxPromptLength": (int, 1, None),
    "inferenceMaxTokens": (int, 1, None),
}
REASONING_EFFORTS = ("low", "medium", "high")
HYPERPARAMETERS = (*HYPERPARAMETER_RANGES, "reasoningEffort")

# data_prep options settable from cdk.json (camelCase there, snake_case in data_prep.PrepOptions).
DATA_OPTIONS: dict[str, tuple[str, type]] = {
    "source": ("source", str),
    "path": ("path", str),
    "seed": ("seed", int),
    "validationSize": ("validation_size", int),
    "maxTrainRecords": ("max_train_records", int),
    "onOverlong": ("on_overlong", str),
    "charsPerToken": ("chars_per_token", float),
}
TASK_SETTINGS = (
    "judgeModelId",
    "verdictWeight",
    "judgeMaxConcurrency",
    "judgeTimeoutS",
    "rewardReservedConcurrency",
)


class ConfigError(ValueError):
    """A configuration mistake, worded as the fix; the app prints it without a traceback."""


@dataclass(frozen=True)
class RftConfig:
    """Everything one task's stack needs to know, already validated."""

    task: TaskSpec
    region: str
    base_model: str
    launch_job: bool
    destroy_data_on_delete: bool
    log_retention_days: int
    notification_email: str
    hyperparameters: dict[str, Any]
    data_options: dict[str, Any]
    settings: dict[str, Any]

    @property
    def max_prompt_tokens(self) -> int:
        return int(self.hyperparameters["maxPromptLength"])

    @property
    def judge_model_id(self) -> str | None:
        judge = self.task.judge
        return self.settings.get("judgeModelId") or (judge.model_id if judge else None)

    @property
    def reward_reserved_concurrency(self) -> int | None:
        """Unset: the task's default. `0` or `none`: unreserved (accounts with a low concurrency limit
        cannot reserve any, because Lambda keeps 100 unreserved)."""
        raw = self.settings.get("rewardReservedConcurrency")
        if raw is None:
            return self.task.reward_reserved_concurrency
        if str(raw).lower() == "none":
            return None
        return _as_int(raw, "rewardReservedConcurrency") or None


def load_config(task: TaskSpec, get_context: Callable[[str], Any]) -> RftConfig:
    """Read and validate the configuration for `task` from CDK context (`node.try_get_context`)."""
    block = get_context(f"rft:{task.name}") or {}
    if not isinstance(block, Mapping):
        raise ConfigError(f"`rft:{task.name}` in cdk.json must be an object, got {type(block).__name__}.")
    unknown = set(block) - {"hyperParameters", "data", *TASK_SETTINGS}
    if unknown:
        raise ConfigError(
            f"Unknown key(s) {sorted(unknown)} in `rft:{task.name}`; "
            f"expected hyperParameters, data, {', '.join(TASK_SETTINGS)}."
        )

    hyperparameters = {**task.hyperparameters, **(block.get("hyperParameters") or {})}
    data = {**task.data, **(block.get("data") or {})}
    settings = {k: block[k] for k in TASK_SETTINGS if k in block}
    for key in (*HYPERPARAMETERS, *DATA_OPTIONS, *TASK_SETTINGS):
        override = get_context(f"rft:{task.name}:{key}")
        if override is None:
            continue
        if key in HYPERPARAMETERS:
            hyperparameters[key] = override
        elif key in DATA_OPTIONS:
            data[key] = override
        else:
            settings[key] = override

    return RftConfig(
        task=task,
        region=str(get_context("rft:region") or "us-east-1"),
        base_model=str(get_context("rft:baseModel") or NOVA_2_LITE),
        launch_job=_as_bool(get_context("rft:launchJob"), "rft:launchJob", default=True),
        destroy_data_on_delete=_as_bool(
            get_context("rft:destroyDataOnDelete"), "rft:destroyDataOnDelete", default=True
        ),
        log_retention_days=_as_int(get_context("rft:logRetentionDays") or 30, "rft:logRetentionDays"),
        notification_email=_email(get_context("rft:notificationEmail")),
        hyperparameters=validate_hyperparameters(hyperparameters, task.name),
        data_options=_data_options(data, task.name),
        settings=settings,
    )


def validate_hyperparameters(values: Mapping[str, Any], task_name: str) -> dict[str, Any]:
    """Coerce and range-check RFT hyperparameters, naming the cdk.json key to fix."""
    where = f"`rft:{task_name}` → hyperParameters in cdk.json (or `-c rft:{task_name}:<name>=<value>`)"
    unknown = sorted(set(values) - set(HYPERPARAMETERS))
    if unknown:
        raise ConfigError(
            f"Unknown hyperparameter(s) {unknown}; Bedrock RFT accepts {list(HYPERPARAMETERS)}."
        )
    missing = [k for k in ("maxPromptLength", "inferenceMaxTokens") if k not in values]
    if missing:
        raise ConfigError(f"Hyperparameter(s) {missing} must be set in {where}.")

    checked: dict[str, Any] = {}
    for name, raw in values.items():
        if name == "reasoningEffort":
            effort = str(raw).lower()
            if effort not in REASONING_EFFORTS:
                raise ConfigError(
                    f"reasoningEffort {raw!r} must be one of {REASONING_EFFORTS}; set it in {where}."
                )
            checked[name] = effort
            continue
        kind, low, high = HYPERPARAMETER_RANGES[name]
        value = _as_int(raw, name) if kind is int else _as_float(raw, name)
        if low is not None and value < low:
            raise ConfigError(
                f"{name} {raw} is below Bedrock's minimum of {_fmt(low)}; set {name} in {where}."
            )
        if high is not None and value > high:
            raise ConfigError(
                f"{name} {raw} is above Bedrock's maximum of {_fmt(high)}; set {name} in {where}."
            )
        checked[name] = value
    return checked


def _data_options(values: Mapping[str, Any], task_name: str) -> dict[str, Any]:
    unknown = sorted(set(values) - set(DATA_OPTIONS))
    if unknown:
        raise ConfigError(
            f"Unknown data option(s) {unknown} in `rft:{task_name}` → data; expected {list(DATA_OPTIONS)}."
        )
    options: dict[str, Any] = {}
    for key, raw in values.items():
        name, kind = DATA_OPTIONS[key]
        if raw is None:
            continue
        options[name] = (
            _as_int(raw, key) if kind is int else _as_float(raw, key) if kind is float else str(raw)
        )
    return options


def _email(raw: Any) -> str:
    email = str(raw or "").strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ConfigError(
            f"rft:notificationEmail {email!r} is not an email address; set it in cdk.json or leave it empty."
        )
    return email


def _as_bool(raw: Any, key: str, *, default: bool) -> bool:
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}.")


def _as_int(raw: Any, key: str) -> int:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a whole number, got {raw!r}.") from None
    if not value.is_integer():
        raise ConfigError(f"{key} must be a whole number, got {raw!r}.")
    return int(value)


def _as_float(raw: Any, key: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, got {raw!r}.") from None
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {raw!r}.")
    return value


def _fmt(x: float) -> str:
    return f"{x:g}"
