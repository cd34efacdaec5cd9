"""Deployment configuration: the defaults, what a user overrode in cdk.json or with `-c`, and checks.

Each default lives in one place: a task's in its `TaskSpec` (tasks/<name>.py), the app's in
`APP_DEFAULTS` below, the hyperparameter ranges (and the open-weight defaults) in
`lambda/rft_job/hyperparameter_ranges.py` (shared with the job function), the models Bedrock RFT can
train, with their backend, API id and regions, in `RFT_MODELS` below. cdk.json carries only what a
user changes.

Precedence, lowest first: the defaults, then CDK context, which holds cdk.json's `context` and the
command line's `-c key=value` (strings). Within a task, a `rft:<task>` block is overridden by a
single-value key such as `rft:gsm8k:epochCount`.

Everything is checked at synth, because Bedrock only rejects a bad value when the job is created,
after the deploy, and a reward Lambda falls back to its default (logging an error on every batch of a
multi-hour job) rather than fail: a typo found here costs seconds. Every unknown `rft:` key fails too,
with the known key it was probably meant to be. Errors are `ConfigError`s worded as the fix; a
`TaskConfigError` concerns one task only, so the app fails that task's stack and keeps the others.

`rft config <task>` prints `RftConfig.provenance`, from the same loader synth uses.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from stacks.alarm_thresholds import ALARM_DEFAULTS, ALARM_SETTINGS, AlarmThresholds
from tasks.spec import JudgeSpec, TaskSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"
RANGES_FILE = REPO_ROOT / "lambda" / "rft_job" / "hyperparameter_ranges.py"


def lambda_module(path: Path, name: str) -> Any:
    """A pure module of `lambda/`, loaded by path: the CDK app never imports Lambda packages."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file ships with the repository
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def eval_layout() -> Any:
    """lambda/rft_eval/layout.py: the report prefix and the state machine's output name, written once."""
    return lambda_module(REPO_ROOT / "lambda" / "rft_eval" / "layout.py", "_bedrock_rft_eval_layout")


_RANGES = lambda_module(RANGES_FILE, "_bedrock_rft_hyperparameter_ranges")
HYPERPARAMETER_SPECS = _RANGES.HYPERPARAMETER_SPECS
HYPERPARAMETERS: tuple[str, ...] = tuple(HYPERPARAMETER_SPECS)
OPEN_WEIGHT_HYPERPARAMETER_SPECS = _RANGES.OPEN_WEIGHT_HYPERPARAMETER_SPECS
OPEN_WEIGHT_HYPERPARAMETERS: tuple[str, ...] = tuple(OPEN_WEIGHT_HYPERPARAMETER_SPECS)
OPEN_WEIGHT_DEFAULTS: Mapping[str, Any] = _RANGES.OPEN_WEIGHT_DEFAULTS
NOVA_TO_OPEN_WEIGHT: Mapping[str, str | None] = _RANGES.NOVA_TO_OPEN_WEIGHT
# Every hyperparameter name of either API: the key check accepts all, the model's check then picks.
ALL_HYPERPARAMETERS: tuple[str, ...] = (*HYPERPARAMETERS, *OPEN_WEIGHT_HYPERPARAMETERS)

# -- Bedrock facts (docs/configuration.md and docs/open-weight.md cite the pages) --------------------
# The job backends: Nova's CreateModelCustomizationJob, and the OpenAI-compatible fine-tuning API
# (`bedrock-mantle`) that trains the open-weight models. The names match the job resource's `Backend`.
BACKEND_BEDROCK = "bedrock"
BACKEND_MANTLE = "mantle"


@dataclass(frozen=True)
class RftModel:
    """A base model Bedrock RFT trains: how the job is launched, what the API calls it, and where.

    `model_id` is the id users write (`rft:baseModel`), `aliases` other spellings of it, and
    `api_model_id` the id the job API is sent (and IAM's `bedrock-mantle:Model` condition names).
    `regions` are those the RFT pages list for the model; the first is where a stack goes when
    `rft:region` is not set.
    """

    model_id: str
    name: str
    backend: str
    api_model_id: str
    regions: tuple[str, ...]
    aliases: tuple[str, ...] = ()

    @property
    def is_open_weight(self) -> bool:
        return self.backend == BACKEND_MANTLE

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.model_id, *self.aliases)


NOVA_2_LITE_ID = "amazon.nova-2-lite-v1:0:256k"
NOVA_2_LITE = f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_2_LITE_ID}"
# The one model table (pages reinforcement-fine-tuning, "Supported models for reinforcement
# fine-tuning", and fine-tuning-openai-apis, "Supported models and regions"). Qwen3 32B is
# `qwen.qwen3-32b` in the docs and `qwen.qwen3-32b-v1:0` (its bedrock-runtime id) in the public
# notebook: both are accepted, and the API is sent the docs' id (an open question: docs/open-weight.md).
RFT_MODELS: tuple[RftModel, ...] = (
    RftModel(NOVA_2_LITE_ID, "Amazon Nova 2 Lite", BACKEND_BEDROCK, NOVA_2_LITE_ID, ("us-east-1",)),
    RftModel(
        "openai.gpt-oss-20b", "OpenAI gpt-oss-20b", BACKEND_MANTLE, "openai.gpt-oss-20b", ("us-west-2",)
    ),
    RftModel(
        "qwen.qwen3-32b-v1:0",
        "Qwen3 32B",
        BACKEND_MANTLE,
        "qwen.qwen3-32b",
        ("us-west-2",),
        aliases=("qwen.qwen3-32b",),
    ),
)
_MODELS_BY_ID: Mapping[str, RftModel] = {i: m for m in RFT_MODELS for i in m.ids}


def rft_model(model: str) -> RftModel | None:
    """The table entry of a model id, alias or foundation-model ARN; None when Bedrock RFT has none."""
    arn = _MODEL_ARN.fullmatch(model.strip())
    return _MODELS_BY_ID.get(arn.group("id") if arn else model.strip())


def model_region(model: str) -> str:
    """Where a stack for `model` goes when `rft:region` is not set: the model's first region."""
    found = rft_model(model) or rft_model(NOVA_2_LITE)
    assert found is not None
    return found.regions[0]


# `us-east-1`, `eu-west-3`, `ap-southeast-2`, `us-gov-west-1`, `cn-north-1`, `il-central-1`, ...
REGION_PATTERN = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
_MODEL_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:"
    r"(?P<kind>[a-z-]+)/(?P<id>[A-Za-z0-9._:/-]+)"
)
# A foundation-model id (`amazon.nova-pro-v1:0`) or an inference profile id (`us.amazon.nova-pro-v1:0`).
_MODEL_ID = re.compile(r"([a-z]{2,7}\.)?[a-z0-9-]+\.[A-Za-z0-9._:-]+")

# -- app-wide settings -----------------------------------------------------------------------------
APP_DEFAULTS: Mapping[str, Any] = {
    # None: the base model's region (`RFT_MODELS`): us-east-1 for Nova, us-west-2 for open-weight.
    "rft:region": None,
    "rft:baseModel": NOVA_2_LITE,
    "rft:launchJob": True,
    "rft:destroyDataOnDelete": True,
    "rft:logRetentionDays": 30,
    "rft:notificationEmail": "",
    # The training alarms' thresholds (stacks/alarm_thresholds.py has their defaults and ranges).
    **ALARM_DEFAULTS,
    # Governed accounts (docs/governed-account.md); unset, the stacks are as they always were.
    "rft:kmsKeyArn": "",
    "rft:assetsKmsKeyArn": "",
    "rft:vpc": None,
    "rft:bucketVersioning": False,
    "rft:noncurrentVersionDays": 30,
    "rft:outputExpirationDays": 0,
    # Post-training evaluation (docs/post-training-evaluation.md): when the job completes, deploy the
    # tuned model, answer the test split with it and the base model, score both, mail the verdict.
    "rft:evaluateOnCompletion": True,
    "rft:evalSamplesPerPrompt": 1,
    "rft:evalConcurrency": 8,
    "rft:evalMaxPrompts": 0,
}
# `rft:vpc`: the job's vpcConfig (CreateModelCustomizationJob allows 1-16 subnets, 1-5 security groups).
VPC_KEYS = ("subnetIds", "securityGroupIds", "rewardInVpc")
VPC_SUBNETS_RANGE, VPC_SECURITY_GROUPS_RANGE = (1, 16), (1, 5)
# Bedrock's customModelKmsKeyId pattern for a key ARN (botocore's `bedrock` model); IAM needs the ARN.
_KMS_KEY_ARN = re.compile(r"arn:aws(-[a-z]+)*:kms:(?P<region>[a-z0-9-]+):\d{12}:key/[a-zA-Z0-9-]{36}")

# The evaluation settings' ranges: responses per prompt (RFT's own trainingSamplePerPrompt tops out
# at 16), Converse calls in flight per model (`rft evaluate --concurrency` allows 1-256), and the
# cap on prompts (0: the whole test split).
EVAL_SETTINGS: Mapping[str, tuple[str, int, float]] = {
    "rft:evalSamplesPerPrompt": ("samples_per_prompt", 1, 16),
    "rft:evalConcurrency": ("concurrency", 1, 256),
    "rft:evalMaxPrompts": ("max_prompts", 0, math.inf),
}

# -- per-task settings -----------------------------------------------------------------------------
# data_prep options settable from context (camelCase there, snake_case in data_prep.PrepOptions).
DATA_OPTIONS: dict[str, tuple[str, type]] = {
    "source": ("source", str),
    "path": ("path", str),
    "seed": ("seed", int),
    "validationSize": ("validation_size", int),
    "maxTrainRecords": ("max_train_records", int),
    "onOverlong": ("on_overlong", str),
    "charsPerToken": ("chars_per_token", float),
}
# The judge's settings (RLAIF tasks only): context key -> JudgeSpec field.
JUDGE_SETTINGS: Mapping[str, str] = {
    "judgeModelId": "model_id",
    "verdictWeight": "verdict_weight",
    "judgeMaxConcurrency": "max_concurrency",
    "judgeTimeoutS": "timeout_s",
}
TASK_SETTINGS = (*JUDGE_SETTINGS, "rewardReservedConcurrency")
BLOCK_KEYS = ("hyperParameters", "data", *TASK_SETTINGS)
# What the reward Lambda accepts (rft_reward.judge.client, pandalm_reward.scoring); beyond these it
# would fall back to its default at run time. tests/stacks/test_config_judge.py pins them to it.
VERDICT_WEIGHT_RANGE = (0.0, 1.0)
JUDGE_MAX_CONCURRENCY_RANGE = (1, 256)
JUDGE_TIMEOUT_S_RANGE = (0.1, 900.0)

DEFAULT_SOURCE = "default"


class ConfigError(ValueError):
    """A configuration mistake, worded as the fix; the app prints it without a traceback."""


class TaskConfigError(ConfigError):
    """A mistake that concerns one task only: its stack fails, the other stacks still synthesize."""


@dataclass(frozen=True)
class Setting:
    """One effective value and where it came from: `default`, `cdk.json` or `-c`."""

    key: str
    value: Any
    source: str


@dataclass(frozen=True)
class Context:
    """The app's `rft:` context keys, and for each whether it came from cdk.json or `-c`."""

    values: Mapping[str, Any]
    origins: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def origin(self, key: str) -> str:
        return self.origins.get(key, "context")

    @classmethod
    def from_layers(cls, cdk_json: Mapping[str, Any], overrides: Mapping[str, Any]) -> Context:
        """cdk.json's context under `-c` overrides, the way the CDK CLI merges them."""
        values = {k: v for k, v in {**cdk_json, **overrides}.items() if k.startswith("rft:")}
        origins = {k: "-c" if k in overrides else "cdk.json" for k in values}
        return cls(values, origins)

    @classmethod
    def from_node(cls, node: Any, cdk_json: Path = CDK_JSON) -> Context:
        """The `rft:` keys of an app's context (`node.get_all_context()`; the CLI adds its own keys).

        The CLI merges cdk.json and `-c` before the app starts, so a value equal to cdk.json's is
        taken to come from there; that labels the provenance only, never a value.
        """
        values = {k: v for k, v in node.get_all_context().items() if k.startswith("rft:")}
        file_context = cdk_json_context(cdk_json)
        origins = {k: "cdk.json" if file_context.get(k, _MISSING) == v else "-c" for k, v in values.items()}
        return cls(values, origins)


_MISSING = object()


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """cdk.json's `context` object; empty when the file is absent or unreadable."""
    try:
        context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return context if isinstance(context, dict) else {}


@dataclass(frozen=True)
class VpcSettings:
    """`rft:vpc`, validated: where the job (and optionally the reward function) runs."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    # The reward (and judge) function in the same subnets; a judge then needs a bedrock-runtime endpoint.
    reward_in_vpc: bool = False


@dataclass(frozen=True)
class EvalSettings:
    """`rft:evaluateOnCompletion` and its settings, validated."""

    enabled: bool = True
    samples_per_prompt: int = 1
    # Converse calls in flight per model.
    concurrency: int = 8
    # Prompts of the test split to use; 0: all of them.
    max_prompts: int = 0


@dataclass(frozen=True)
class AppConfig:
    """The settings every stack shares, already validated.

    `base_model` is the model as configured; `model` its `RFT_MODELS` entry, which says which job
    backend trains it (`is_open_weight`) and the id its API takes (`api_model_id`).
    """

    region: str
    base_model: str
    launch_job: bool
    destroy_data_on_delete: bool
    log_retention_days: int
    notification_email: str
    alarms: AlarmThresholds
    # Governed accounts: the customer-managed key ("": AWS-managed), the bootstrap bucket's key,
    # the job's VPC, and the output bucket's versioning and lifecycle.
    kms_key_arn: str
    assets_kms_key_arn: str
    vpc: VpcSettings | None
    bucket_versioning: bool
    noncurrent_version_days: int
    output_expiration_days: int
    provenance: tuple[Setting, ...]
    # The post-training evaluation workflow (off: none of its resources are deployed).
    evaluation: EvalSettings

    @property
    def model(self) -> RftModel:
        found = rft_model(self.base_model)
        assert found is not None, "load_app_config accepts only models in RFT_MODELS"
        return found

    @property
    def is_open_weight(self) -> bool:
        """Trained through Bedrock's OpenAI-compatible fine-tuning API, not CreateModelCustomizationJob."""
        return self.model.is_open_weight

    @property
    def api_model_id(self) -> str:
        """The id the job API is sent: the docs' id for an open-weight model, the Nova id otherwise."""
        return self.model.api_model_id

    @property
    def backend(self) -> str:
        return self.model.backend


@dataclass(frozen=True)
class RftConfig(AppConfig):
    """Everything one task's stack needs to know, already validated: the app's settings and the task's.

    `provenance` lists the app's settings, then the task's.
    """

    task: TaskSpec
    hyperparameters: dict[str, Any]
    data_options: dict[str, Any]
    # Judge and concurrency values a user overrode, validated (keys as in cdk.json).
    settings: dict[str, Any]
    # The task's judge with every override applied (None for RLVR tasks).
    judge: JudgeSpec | None = None

    @property
    def max_prompt_tokens(self) -> int | None:
        """data_prep's prompt-length limit: Nova's `maxPromptLength`. The fine-tuning API takes no such
        hyperparameter, so an open-weight stack keeps the task's default limit as a data check."""
        if self.is_open_weight:
            limit = self.task.hyperparameters.get("maxPromptLength")
            return int(limit) if limit is not None else None
        return int(self.hyperparameters["maxPromptLength"])

    @property
    def inference_max_tokens(self) -> int:
        """The response-length cap of a rollout: Nova's `inferenceMaxTokens`. The fine-tuning API takes
        none, so tools that call an open-weight model (evaluate, rehearse) use the task's default."""
        source = self.task.hyperparameters if self.is_open_weight else self.hyperparameters
        return int(source["inferenceMaxTokens"])

    @property
    def samples_per_prompt(self) -> int:
        """Responses per prompt GRPO compares: Nova's `trainingSamplePerPrompt`; the fine-tuning API
        sets its own, unpublished, so open-weight tools use the task's default."""
        source = self.task.hyperparameters if self.is_open_weight else self.hyperparameters
        return int(source["trainingSamplePerPrompt"])

    @property
    def judge_model_id(self) -> str | None:
        return self.judge.model_id if self.judge else None

    @property
    def reward_reserved_concurrency(self) -> int | None:
        """Unset: the task's default. `0` or `none`: unreserved (accounts with a low concurrency limit
        cannot reserve any, because Lambda keeps 100 unreserved)."""
        if "rewardReservedConcurrency" not in self.settings:
            return self.task.reward_reserved_concurrency
        return self.settings["rewardReservedConcurrency"] or None


ContextLike = Context | Mapping[str, Any] | Callable[[str], Any]


# -- loading ---------------------------------------------------------------------------------------
def load_app_config(context: ContextLike, tasks: Iterable[TaskSpec] | None = None) -> AppConfig:
    """The app-wide settings; also rejects unknown top-level keys and unknown task names.

    `tasks` defaults to `tasks.TASKS`, so a task a user registered is known here too.
    """
    ctx = _context(context, tasks)
    check_app_keys(ctx, _tasks(tasks))
    settings = {key: _setting(ctx, key, APP_DEFAULTS[key]) for key in APP_DEFAULTS}
    base_model, model = _base_model(settings["rft:baseModel"].value)
    if settings["rft:region"].value is None:  # unset: the region follows the model
        settings["rft:region"] = Setting("rft:region", model.regions[0], DEFAULT_SOURCE)
    provenance = tuple(settings.values())
    value = {s.key: s.value for s in provenance}
    region = _region(value["rft:region"], model)
    _check_model_region(base_model, model, region)
    return AppConfig(
        region=region,
        base_model=base_model,
        launch_job=_as_bool(value["rft:launchJob"], "rft:launchJob"),
        destroy_data_on_delete=_as_bool(value["rft:destroyDataOnDelete"], "rft:destroyDataOnDelete"),
        log_retention_days=_as_int(value["rft:logRetentionDays"], "rft:logRetentionDays"),
        notification_email=_email(value["rft:notificationEmail"]),
        alarms=_alarm_thresholds(value),
        kms_key_arn=_kms_key_arn(value["rft:kmsKeyArn"], "rft:kmsKeyArn", region),
        assets_kms_key_arn=_kms_key_arn(value["rft:assetsKmsKeyArn"], "rft:assetsKmsKeyArn", region),
        vpc=_open_weight_vpc(_vpc(value["rft:vpc"]), model),
        bucket_versioning=_as_bool(value["rft:bucketVersioning"], "rft:bucketVersioning"),
        noncurrent_version_days=_days(value["rft:noncurrentVersionDays"], "rft:noncurrentVersionDays", 1),
        output_expiration_days=_days(value["rft:outputExpirationDays"], "rft:outputExpirationDays", 0),
        provenance=provenance,
        evaluation=_eval_settings(value),
    )


def _open_weight_vpc(vpc: VpcSettings | None, model: RftModel) -> VpcSettings | None:
    """The fine-tuning API takes no network settings: on open weight, rft:vpc places only the reward."""
    if vpc is not None and model.is_open_weight and not vpc.reward_in_vpc:
        raise ConfigError(
            f"rft:vpc sets the network of a Nova job, but {model.model_id} is trained through the fine-tuning "
            'API, which takes none; add "rewardInVpc": true to run the reward function in those subnets, '
            "or remove rft:vpc."
        )
    return vpc


def _eval_settings(value: Mapping[str, Any]) -> EvalSettings:
    checked: dict[str, int] = {}
    for key, (name, low, high) in EVAL_SETTINGS.items():
        number = _number_in(value[key], low, high, integer=True)
        if number is None:
            rule = (
                f"a whole number from {low} to {high:g}"
                if math.isfinite(high)
                else f"a whole number >= {low}"
            )
            raise ConfigError(
                f"{key} is {value[key]!r}, but it must be {rule}; set it in cdk.json or with -c {key}=<value>."
            )
        checked[name] = int(number)
    enabled = _as_bool(value["rft:evaluateOnCompletion"], "rft:evaluateOnCompletion")
    return EvalSettings(enabled=enabled, **checked)


def _alarm_thresholds(value: Mapping[str, Any]) -> AlarmThresholds:
    checked: dict[str, float] = {}
    for key, (name, kind, low, high) in ALARM_SETTINGS.items():
        number = _number_in(value[key], low, high, integer=kind is int)
        if number is None:
            rule = f"a {'whole number' if kind is int else 'number'} from {low:g} to {high:g}"
            raise ConfigError(
                f"{key} is {value[key]!r}, but it must be {rule}; set it in cdk.json or with -c {key}=<value>."
            )
        checked[name] = int(number) if kind is int else number
    return AlarmThresholds(**checked)


def load_config(task: TaskSpec, context: ContextLike, app: AppConfig | None = None) -> RftConfig:
    """The validated configuration of `task`: its TaskSpec defaults under the context's overrides.

    `context` is a `Context` (synth: `Context.from_node(app.node)`), a mapping of context keys, or a
    `get(key)` callable such as `node.try_get_context`. Raises `TaskConfigError` for a mistake in
    this task's keys, `ConfigError` for an app-wide one (when `app` is not given).
    """
    ctx = _context(context, [task])
    app = app if app is not None else load_app_config(ctx, _tasks_with(task))
    prefix = f"rft:{task.name}"
    block = ctx.get(prefix)
    if block is None:
        block = {}
    if not isinstance(block, Mapping):
        raise TaskConfigError(
            f'`{prefix}` must be an object such as {{"hyperParameters": {{...}}}}, got '
            f"{type(block).__name__}; fix it in cdk.json (or use `-c {prefix}:<name>=<value>`)."
        )
    check_task_keys(task, ctx, open_weight=app.is_open_weight)

    # (value, source) per flattened key, lowest precedence first.
    layers: dict[str, Setting] = {}

    def put(name: str, value: Any, source: str) -> None:
        layers[name] = Setting(f"{prefix}:{name}", value, source)

    # An open-weight job is sent the API's own names, with their one set of defaults; a task's
    # defaults are Nova's names and values (its batch size is below nothing the docs show, 4).
    for name, value in (OPEN_WEIGHT_DEFAULTS if app.is_open_weight else task.hyperparameters).items():
        put(name, value, DEFAULT_SOURCE)
    for name, value in task.data.items():
        put(name, value, DEFAULT_SOURCE)
    if task.judge is not None:
        for key, attribute in JUDGE_SETTINGS.items():
            put(key, getattr(task.judge, attribute), DEFAULT_SOURCE)
    put("rewardReservedConcurrency", task.reward_reserved_concurrency, DEFAULT_SOURCE)
    block_source = ctx.origin(prefix)
    for section in ("hyperParameters", "data"):
        for name, value in (block.get(section) or {}).items():
            put(name, value, block_source)
    for name in TASK_SETTINGS:
        if name in block:
            put(name, block[name], block_source)
    for name in (*ALL_HYPERPARAMETERS, *DATA_OPTIONS, *TASK_SETTINGS):
        key = f"{prefix}:{name}"
        if ctx.get(key) is not None:
            put(name, ctx.get(key), ctx.origin(key))

    value = {name: s.value for name, s in layers.items()}
    hyper = {k: value[k] for k in value if k in ALL_HYPERPARAMETERS}
    if app.is_open_weight:
        hyperparameters = validate_open_weight_hyperparameters(hyper, task.name, app.model)
    else:
        hyperparameters = validate_hyperparameters(hyper, task.name)
    data_options = _data_options({k: value[k] for k in value if k in DATA_OPTIONS}, task.name)
    settings: dict[str, Any] = {}
    judge = _judge(task, value, settings, layers)
    reserved = layers["rewardReservedConcurrency"]
    if reserved.source != DEFAULT_SOURCE:
        settings["rewardReservedConcurrency"] = _reserved_concurrency(reserved.value, task.name)

    shared = {f.name: getattr(app, f.name) for f in fields(AppConfig)}
    return RftConfig(
        **{**shared, "provenance": (*app.provenance, *layers.values())},
        task=task,
        hyperparameters=hyperparameters,
        data_options=data_options,
        settings=settings,
        judge=judge,
    )


# -- unknown keys ----------------------------------------------------------------------------------
def check_app_keys(context: Context, tasks: Iterable[TaskSpec]) -> None:
    """Every `rft:` key must be an app setting, a known task's block, or `rft:<task>:<name>`."""
    names = [t.name for t in tasks]
    task_blocks = [f"rft:{n}" for n in names]
    for key in sorted(context.values):
        if key in APP_DEFAULTS or key in task_blocks:
            continue
        rest = key.removeprefix("rft:")
        task_name, sep, name = rest.partition(":")
        if sep and task_name in names:
            continue  # a task's own key: checked with that task
        where = _where(context, key)
        if sep:
            guess = did_you_mean(task_name, names)
            hint = f"did you mean `rft:{guess}:{name}`?" if guess else f"the tasks are {', '.join(names)}."
            raise ConfigError(f"Unknown task {task_name!r} in `{key}` {where}; {hint}")
        guess = did_you_mean(key, [*APP_DEFAULTS, *task_blocks])
        if guess:
            raise ConfigError(f"Unknown key `{key}` {where}; did you mean `{guess}`?")
        raise ConfigError(
            f"Unknown key `{key}` {where}: not an app setting ({', '.join(APP_DEFAULTS)}) and not a task "
            f"({', '.join(names)}); register a task in tasks/registry.py (`rft new-task`)."
        )


def check_task_keys(task: TaskSpec, context: Context, *, open_weight: bool = False) -> None:
    """Keys inside `rft:<task>` (and its hyperParameters/data) and `rft:<task>:<name>` must exist.

    A hyperparameter of either API passes (the model's own check names the other API's equivalent);
    a typo is matched against the names of the model's API (`open_weight`) only.
    """
    prefix = f"rft:{task.name}"
    own, other = (
        (OPEN_WEIGHT_HYPERPARAMETERS, HYPERPARAMETERS)
        if open_weight
        else (HYPERPARAMETERS, OPEN_WEIGHT_HYPERPARAMETERS)
    )
    judge_keys = set(JUDGE_SETTINGS)
    settings = [
        k for k in TASK_SETTINGS if task.judge is not None or task.kind == "rlaif" or k not in judge_keys
    ]
    block = context.get(prefix) or {}
    where = _where(context, prefix)
    _check_names(task, block, [*BLOCK_KEYS], f"`{prefix}` {where}", settings_allowed=settings)
    for section, known in (("hyperParameters", own), ("data", tuple(DATA_OPTIONS))):
        sub = block.get(section)
        if sub is None:
            continue
        if not isinstance(sub, Mapping):
            raise TaskConfigError(
                f"`{prefix}` → {section} {where} must be an object, got {type(sub).__name__}."
            )
        _check_names(task, sub, list(known), f"`{prefix}` → {section} {where}", also_accepted=other)
    flat = [*own, *DATA_OPTIONS, *settings]
    for key in sorted(context.values):
        if not key.startswith(prefix + ":"):
            continue
        name = key[len(prefix) + 1 :]
        if name in flat or name in other:
            continue
        if name in judge_keys:
            raise TaskConfigError(_no_judge(task, key))
        guess = did_you_mean(name, flat)
        hint = f"did you mean `{prefix}:{guess}`?" if guess else f"known names: {', '.join(flat)}."
        raise TaskConfigError(f"Unknown setting `{key}` {_where(context, key)}; {hint}")


def _check_names(
    task: TaskSpec,
    values: Mapping[str, Any],
    known: list[str],
    where: str,
    *,
    settings_allowed: list[str] | None = None,
    also_accepted: Iterable[str] = (),
) -> None:
    allowed = (
        known
        if settings_allowed is None
        else [k for k in known if k not in TASK_SETTINGS or k in settings_allowed]
    )
    for name in values:
        if name in allowed or name in also_accepted:
            continue
        if name in JUDGE_SETTINGS:
            raise TaskConfigError(_no_judge(task, f"{where} → {name}"))
        guess = did_you_mean(str(name), allowed)
        hint = f"did you mean {guess!r}?" if guess else f"known keys: {', '.join(allowed)}."
        raise TaskConfigError(f"Unknown key {name!r} in {where}; {hint}")


def _no_judge(task: TaskSpec, key: str) -> str:
    return f"{key}: task {task.name} is {task.kind.upper()} and has no judge; remove the setting."


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known key `name` most likely meant: same letters in another case first, then difflib's."""
    candidates = list(known)
    by_lower = {k.lower(): k for k in candidates}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def _where(context: Context, key: str) -> str:
    origin = context.origin(key)
    return {"cdk.json": "(in cdk.json)", "-c": "(from -c)"}.get(origin, "(in cdk.json or -c)")


# -- values ----------------------------------------------------------------------------------------
def validate_hyperparameters(values: Mapping[str, Any], task_name: str) -> dict[str, Any]:
    """Coerce and range-check Nova RFT hyperparameters, naming the key to fix."""
    where = f"`rft:{task_name}` → hyperParameters in cdk.json (or `-c rft:{task_name}:<name>=<value>`)"
    open_weight_names = {ow: nova for nova, ow in NOVA_TO_OPEN_WEIGHT.items() if ow is not None}
    for name in values:
        if name in OPEN_WEIGHT_HYPERPARAMETER_SPECS:
            nova = open_weight_names.get(name)
            fix = f"set rft:{task_name}:{nova} instead" if nova else f"Nova has no equivalent: remove {name}"
            raise TaskConfigError(
                f"{name} is a hyperparameter of the open-weight models (OpenAI-compatible API), but "
                f"rft:baseModel is Nova; {fix}."
            )
    unknown = sorted(set(values) - set(HYPERPARAMETERS))
    if unknown:
        raise TaskConfigError(
            f"Unknown hyperparameter(s) {unknown}; Bedrock RFT accepts {list(HYPERPARAMETERS)}."
        )
    missing = [k for k in ("maxPromptLength", "inferenceMaxTokens") if k not in values]
    if missing:
        raise TaskConfigError(f"Hyperparameter(s) {missing} must be set in {where}.")

    checked: dict[str, Any] = {}
    for name, raw in values.items():
        spec = HYPERPARAMETER_SPECS[name]
        if spec.kind is str:
            choice = str(raw).lower()
            if choice not in spec.choices:
                raise TaskConfigError(f"{name} {raw!r} must be one of {spec.choices}; set it in {where}.")
            checked[name] = choice
            continue
        try:
            value = _as_int(raw, name) if spec.kind is int else _as_float(raw, name)
        except ConfigError as error:
            raise TaskConfigError(f"{error} Set it in {where}.") from None
        if spec.minimum is not None and value < spec.minimum:
            raise TaskConfigError(
                f"{name} {raw} is below Bedrock's minimum of {spec.minimum:g}; set {name} in {where}."
            )
        if spec.maximum is not None and value > spec.maximum:
            raise TaskConfigError(
                f"{name} {raw} is above Bedrock's maximum of {spec.maximum:g}; set {name} in {where}."
            )
        checked[name] = value
    return checked


def validate_open_weight_hyperparameters(
    values: Mapping[str, Any], task_name: str, model: RftModel
) -> dict[str, Any]:
    """Coerce and check an open-weight job's hyperparameters (the OpenAI names), naming the fix.

    Bedrock publishes no ranges for them, so a value must only be what the name implies: a positive
    number, a whole one where it counts, or one of the listed words. A Nova name is refused with
    the OpenAI name of the same knob: the API would reject it after the deploy.
    """
    for name in values:
        if name in NOVA_TO_OPEN_WEIGHT:
            equivalent = NOVA_TO_OPEN_WEIGHT[name]
            fix = (
                f"set rft:{task_name}:{equivalent} instead"
                + (
                    " (it scales the model's default learning rate)"
                    if equivalent == "learning_rate_multiplier"
                    else ""
                )
                if equivalent
                else "the OpenAI-compatible API has no equivalent: remove it"
            )
            raise TaskConfigError(
                f"{name} is a Nova hyperparameter, but rft:baseModel {model.model_id} is trained through "
                f"Bedrock's OpenAI-compatible fine-tuning API; {fix}."
            )
    checked: dict[str, Any] = {}
    for name, raw in values.items():
        spec = OPEN_WEIGHT_HYPERPARAMETER_SPECS[name]
        where = f"`rft:{task_name}` → hyperParameters in cdk.json (or -c rft:{task_name}:{name}=<value>)"
        if spec.kind is str:
            choice = str(raw).strip().lower()
            if choice not in spec.choices:
                raise TaskConfigError(f"{name} {raw!r} must be one of {spec.choices}; set it in {where}.")
            checked[name] = choice
            continue
        if spec.auto and str(raw).strip().lower() == "auto":
            checked[name] = "auto"
            continue
        rule = _open_weight_rule(spec)
        try:
            value = _as_int(raw, name) if spec.kind is int else _as_float(raw, name)
        except ConfigError:
            raise TaskConfigError(f"{name} {raw!r} must be {rule}; set it in {where}.") from None
        low = spec.minimum
        if low is not None and (value <= low if spec.exclusive_minimum else value < low):
            raise TaskConfigError(f"{name} {raw} must be {rule}; set {name} in {where}.")
        checked[name] = value
    return checked


def _open_weight_rule(spec: Any) -> str:
    """`a whole number >= 1`, `a number > 0`, `a number > 0 or "auto"`."""
    kind = "a whole number" if spec.kind is int else "a number"
    bound = f" {'>' if spec.exclusive_minimum else '>='} {spec.minimum:g}" if spec.minimum is not None else ""
    auto = ' or "auto"' if spec.auto else ""
    return f"{kind}{bound}{auto}"


def _judge(
    task: TaskSpec, value: Mapping[str, Any], settings: dict[str, Any], layers: Mapping[str, Setting]
) -> JudgeSpec | None:
    """The task's JudgeSpec with overrides applied; overridden values also go to `settings`."""
    if task.kind != "rlaif" and task.judge is None:
        return None

    def fix(key: str, rule: str) -> TaskConfigError:
        return TaskConfigError(
            f"rft:{task.name}:{key} is {value.get(key)!r}, but it must be {rule}; set `rft:{task.name}` → "
            f"{key} in cdk.json or `-c rft:{task.name}:{key}=<value>`."
        )

    model = str(value.get("judgeModelId") or "").strip()
    if not model:
        raise fix(
            "judgeModelId", "a Bedrock model id, inference profile id or ARN (e.g. us.amazon.nova-pro-v1:0)"
        )
    if not (_MODEL_ID.fullmatch(model) or _MODEL_ARN.fullmatch(model)):
        raise fix(
            "judgeModelId",
            "a Bedrock model id (amazon.nova-pro-v1:0), inference profile id (us.amazon.nova-pro-v1:0) or ARN",
        )
    low, high = VERDICT_WEIGHT_RANGE
    weight = _number_in(value.get("verdictWeight"), low, high)
    if weight is None:
        raise fix(
            "verdictWeight", f"a number from {low:g} to {high:g} (the share of the score from the verdict)"
        )
    low_c, high_c = JUDGE_MAX_CONCURRENCY_RANGE
    concurrency = _number_in(value.get("judgeMaxConcurrency"), low_c, high_c, integer=True)
    if concurrency is None:
        raise fix(
            "judgeMaxConcurrency",
            f"a whole number from {low_c} to {high_c} (judge calls in flight per batch)",
        )
    low_t, high_t = JUDGE_TIMEOUT_S_RANGE
    timeout = _number_in(value.get("judgeTimeoutS"), low_t, high_t)
    if timeout is None:
        raise fix("judgeTimeoutS", f"a number of seconds from {low_t:g} to {high_t:g}")
    checked = {
        "judgeModelId": model,
        "verdictWeight": weight,
        "judgeMaxConcurrency": int(concurrency),
        "judgeTimeoutS": int(timeout) if float(timeout).is_integer() else timeout,
    }
    for key, checked_value in checked.items():
        if layers[key].source != DEFAULT_SOURCE:
            settings[key] = checked_value
    base = task.judge or JudgeSpec(model_id=model)
    return replace(base, **{JUDGE_SETTINGS[k]: v for k, v in checked.items()})


def _number_in(raw: Any, low: float, high: float, *, integer: bool = False) -> float | None:
    """`raw` as a number within [low, high] (whole when `integer`), or None."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        number = float(str(raw).strip())
    except ValueError:
        return None
    if not math.isfinite(number) or not low <= number <= high or (integer and not number.is_integer()):
        return None
    return number


def _reserved_concurrency(raw: Any, task_name: str) -> int:
    if raw is None or str(raw).strip().lower() == "none":
        return 0
    number = _number_in(raw, 0, math.inf, integer=True)
    if number is None:
        raise TaskConfigError(
            f"rft:{task_name}:rewardReservedConcurrency is {raw!r}, but it must be a whole number >= 0 "
            "(0 or none: unreserved); set it in cdk.json or with -c."
        )
    return int(number)


def _data_options(values: Mapping[str, Any], task_name: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, raw in values.items():
        name, kind = DATA_OPTIONS[key]
        if raw is None:
            continue
        try:
            options[name] = (
                _as_int(raw, key) if kind is int else _as_float(raw, key) if kind is float else str(raw)
            )
        except ConfigError as error:
            raise TaskConfigError(
                f"{error} Set `rft:{task_name}` → data → {key} (or -c rft:{task_name}:{key})."
            ) from None
    return options


def _region(raw: Any, model: RftModel) -> str:
    region = str(raw or "").strip()
    if not REGION_PATTERN.fullmatch(region):
        raise ConfigError(
            f"rft:region {raw!r} is not an AWS region name (like us-east-1); Bedrock RFT runs "
            f"{model.model_id} in {', '.join(model.regions)}: set -c rft:region={model.regions[0]}, or leave "
            "rft:region unset (it follows rft:baseModel)."
        )
    return region


def _supported_models() -> str:
    return "; ".join(f"{m.model_id} ({', '.join(m.regions)})" for m in RFT_MODELS)


def _base_model(raw: Any) -> tuple[str, RftModel]:
    """The base model as given, with its `RFT_MODELS` entry, once it is one Bedrock RFT trains."""
    model = str(raw or "").strip()
    arn = _MODEL_ARN.fullmatch(model)
    if model.startswith("arn:") and not arn:
        raise ConfigError(
            f"rft:baseModel {model!r} is not a Bedrock model ARN; use a model id: {_supported_models()}."
        )
    if arn and arn.group("kind") != "foundation-model":
        raise ConfigError(
            f"rft:baseModel {model!r} is a {arn.group('kind')} ARN; bedrock-rft fine-tunes a foundation model: "
            f"use a model id: {_supported_models()}."
        )
    model_id = arn.group("id") if arn else model
    entry = _MODELS_BY_ID.get(model_id)
    if entry is None:
        raise ConfigError(
            f"rft:baseModel {model_id!r} is not a base model Bedrock RFT trains; use one of: "
            f"{_supported_models()}. If Bedrock has added one, add it to RFT_MODELS in stacks/config.py."
        )
    if arn and entry.is_open_weight:
        raise ConfigError(
            f"rft:baseModel {model!r}: the OpenAI-compatible fine-tuning API names {entry.name} by its id; "
            f"set -c rft:baseModel={entry.model_id}."
        )
    return model, entry


def _check_model_region(model: str, entry: RftModel, region: str) -> None:
    """One region for the stack, the job and the model: one the RFT pages list for the model."""
    if region not in entry.regions:
        raise ConfigError(
            f"Bedrock RFT trains {entry.model_id} in {', '.join(entry.regions)} only, but rft:region is "
            f"{region}; set -c rft:region={entry.regions[0]} (or leave rft:region unset: it follows the model)."
        )
    arn = _MODEL_ARN.fullmatch(model)
    if arn and arn.group("region") and arn.group("region") != region:
        raise ConfigError(
            f"rft:baseModel names region {arn.group('region')} but rft:region is {region}; the job and its "
            f"IAM grant must name one region: use arn:aws:bedrock:{region}::foundation-model/{entry.model_id} "
            f"or the model id {entry.model_id} alone."
        )


def _email(raw: Any) -> str:
    email = str(raw or "").strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ConfigError(
            f"rft:notificationEmail {email!r} is not an email address; set it in cdk.json or leave it empty."
        )
    return email


def _kms_key_arn(raw: Any, key: str, region: str) -> str:
    """A KMS key ARN in the stack's region, or "" (unset). IAM grants name keys by ARN, so an alias
    or a bare key id is refused here rather than granted as something else."""
    arn = str(raw or "").strip()
    if not arn:
        return ""
    match = _KMS_KEY_ARN.fullmatch(arn)
    if not match:
        raise ConfigError(
            f"{key} {arn!r} is not a KMS key ARN; use arn:aws:kms:{region}:<account>:key/<key-id> "
            "(not an alias or a bare key id), or leave it empty."
        )
    if match.group("region") != region:
        raise ConfigError(
            f"{key} is a key in {match.group('region')}, but rft:region is {region}; Bedrock, S3 and "
            f"CloudWatch use a key only in their own region: create or replicate the key in {region}."
        )
    return arn


def _vpc(raw: Any) -> VpcSettings | None:
    """`rft:vpc` as an object (`-c` passes it as JSON text), or None (unset)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    example = '{"subnetIds": ["subnet-0abc..."], "securityGroupIds": ["sg-0abc..."]}'
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ConfigError(f"rft:vpc is not valid JSON; set it to an object such as {example}.") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"rft:vpc must be an object such as {example}, got {type(raw).__name__}.")
    for name in raw:
        if name not in VPC_KEYS:
            guess = did_you_mean(str(name), VPC_KEYS)
            hint = f"did you mean {guess!r}?" if guess else f"known keys: {', '.join(VPC_KEYS)}."
            raise ConfigError(f"Unknown key {name!r} in rft:vpc; {hint}")
    subnets = _ids(raw.get("subnetIds"), "subnetIds", "subnet-", VPC_SUBNETS_RANGE, example)
    groups = _ids(raw.get("securityGroupIds"), "securityGroupIds", "sg-", VPC_SECURITY_GROUPS_RANGE, example)
    reward_in_vpc = _as_bool(raw.get("rewardInVpc", False), "rft:vpc → rewardInVpc")
    return VpcSettings(subnets, groups, reward_in_vpc)


def _ids(raw: Any, name: str, prefix: str, size: tuple[int, int], example: str) -> tuple[str, ...]:
    low, high = size
    if not isinstance(raw, list) or not low <= len(raw) <= high:
        raise ConfigError(f"rft:vpc → {name} must be a list of {low} to {high} ids; e.g. {example}.")
    ids = tuple(str(i).strip() for i in raw)
    bad = [i for i in ids if not re.fullmatch(rf"{prefix}[0-9a-f]{{8,17}}", i)]
    if bad:
        raise ConfigError(
            f"rft:vpc → {name} has {bad[0]!r}, which is not an id like {prefix}0123456789abcdef0."
        )
    if len(set(ids)) != len(ids):
        raise ConfigError(f"rft:vpc → {name} lists an id twice; list each once.")
    return ids


def _days(raw: Any, key: str, minimum: int) -> int:
    days = _as_int(raw, key)
    if days < minimum:
        raise ConfigError(f"{key} must be a whole number of days >= {minimum}, got {raw!r}.")
    return days


def _as_bool(raw: Any, key: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}.")


def _number(raw: Any, key: str, what: str) -> float:
    """`raw` as a finite float; a bool (JSON `true`) is not a number, whatever Python says."""
    if isinstance(raw, bool):
        raise ConfigError(f"{key} must be {what}, got {raw!r}.")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be {what}, got {raw!r}.") from None
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {raw!r}.")
    return value


def _as_int(raw: Any, key: str) -> int:
    value = _number(raw, key, "a whole number")
    if not value.is_integer():
        raise ConfigError(f"{key} must be a whole number, got {raw!r}.")
    return int(value)


def _as_float(raw: Any, key: str) -> float:
    return _number(raw, key, "a number")


# -- helpers ---------------------------------------------------------------------------------------
def _setting(context: Context, key: str, default: Any) -> Setting:
    raw = context.get(key)
    if raw is None:
        return Setting(key, default, DEFAULT_SOURCE)
    return Setting(key, raw, context.origin(key))


def _tasks(tasks: Iterable[TaskSpec] | None) -> list[TaskSpec]:
    if tasks is not None:
        return list(tasks)
    from tasks import TASKS

    return list(TASKS)


def _tasks_with(task: TaskSpec) -> list[TaskSpec]:
    known = _tasks(None)
    return known if any(t.name == task.name for t in known) else [*known, task]


def _context(context: ContextLike, tasks: Iterable[TaskSpec] | None) -> Context:
    """A `Context` from any of the forms callers have (a `get` callable is probed key by key)."""
    if isinstance(context, Context):
        return context
    if isinstance(context, Mapping):
        return Context({k: v for k, v in context.items() if str(k).startswith("rft:")})
    keys = list(APP_DEFAULTS)
    for task in _tasks(tasks):
        keys.append(f"rft:{task.name}")
        keys.extend(
            f"rft:{task.name}:{name}" for name in (*ALL_HYPERPARAMETERS, *DATA_OPTIONS, *TASK_SETTINGS)
        )
    return Context({k: v for k in keys if (v := context(k)) is not None})
