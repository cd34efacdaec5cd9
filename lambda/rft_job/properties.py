"""The custom resource's properties: validated once, before any AWS call.

CloudFormation passes every property as a string, so structured values (hyperparameters, tags)
arrive as JSON text; an already-parsed mapping is accepted too, for callers that invoke the
handler directly. Every problem is reported in one message naming the property and the fix, because
the only place a user sees it is a CloudFormation event line.

The patterns are the ones Bedrock's API enforces (botocore's `bedrock` model, pinned by a test), so
a value rejected here would have been rejected by the service, only later and less clearly.
"""

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rft_job.hyperparameters import HyperParameterError, HyperParameterValue, parse_hyperparameters

S3_URI_PATTERN = (
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
)
ROLE_ARN_PATTERN = r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+"
LAMBDA_ARN_PATTERN = (
    r"arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_\.]+"
    r"(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
TAG_PATTERN = r"[a-zA-Z0-9\s._:/=+@-]*"
KMS_KEY_PATTERN = (
    r"(arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)))"
    r"|([a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)"
)
VPC_ID_PATTERN = r"[-0-9a-zA-Z]{1,32}"
VPC_SUBNETS_MAX, VPC_SECURITY_GROUPS_MAX = 16, 5
TAG_KEY_MAX, TAG_VALUE_MAX, TAGS_MAX = 128, 256, 200

# The job carries a fingerprint of its definition in this tag so an Update can tell whether the
# running job already matches the requested properties (see handler.on_update).
DEFINITION_TAG_KEY = "rft:job-definition"

# `Backend` picks the API that runs the job: Bedrock's CreateModelCustomizationJob (Nova; the default,
# so templates from before open-weight support mean what they meant) or the OpenAI-compatible
# fine-tuning API on bedrock-mantle (open-weight models).
BACKEND_BEDROCK, BACKEND_MANTLE = "bedrock", "mantle"
BACKENDS = (BACKEND_BEDROCK, BACKEND_MANTLE)

REQUIRED = (
    "JobNamePrefix",
    "BaseModelIdentifier",
    "RoleArn",
    "TrainingDataUri",
    "OutputDataUri",
    "GraderLambdaArn",
)
OPTIONAL = ("ValidationDataUri", "HyperParameters", "Tags", "CustomModelKmsKeyId", "VpcConfig", "Backend")
# A mantle job is not passed a role, writes no output to S3 and has no key or network settings.
NOT_FOR_MANTLE = ("RoleArn", "OutputDataUri", "CustomModelKmsKeyId", "VpcConfig")
REQUIRED_FOR_MANTLE = tuple(name for name in REQUIRED if name not in NOT_FOR_MANTLE)
# The fine-tuning API's model ids (`openai.gpt-oss-20b`, `qwen.qwen3-32b`): no ARN.
API_MODEL_ID_PATTERN = r"[a-z0-9][a-z0-9._:-]{0,127}"
OPEN_WEIGHT_HYPERPARAMETER_PATTERN = r"[a-z][a-z0-9_]{0,63}"
# Added by CloudFormation / the Provider framework, not by the user.
IGNORED = ("ServiceToken",)


class PropertyError(ValueError):
    """The resource properties cannot launch a job; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid RFT job properties: " + "; ".join(problems))


@dataclass(frozen=True)
class JobProperties:
    """Everything needed to launch one RFT job, already converted to the API's types."""

    job_name_prefix: str
    base_model_identifier: str
    role_arn: str
    training_data_uri: str
    validation_data_uri: str | None
    output_data_uri: str
    grader_lambda_arn: str
    hyper_parameters: dict[str, HyperParameterValue] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # Encrypts the custom model; None: an AWS-owned key.
    custom_model_kms_key_id: str | None = None
    # `{"subnetIds": [...], "securityGroupIds": [...]}`; None: Bedrock's own network.
    vpc_config: dict[str, list[str]] | None = None
    backend: str = BACKEND_BEDROCK

    @property
    def is_mantle(self) -> bool:
        return self.backend == BACKEND_MANTLE

    def definition(self) -> dict[str, Any]:
        """The properties whose change needs a new job. Role, tags and name prefix are not among
        them: they do not change what is trained, and restarting hours of training for them would
        waste it. The key and the VPC are, because a running job keeps the ones it started with;
        they appear only when set, so the fingerprint of a job launched without them is unchanged.
        A mantle job's definition names its backend; a Nova job's has no such key, so the
        fingerprints of jobs launched before open-weight support are unchanged."""
        if self.is_mantle:
            return {
                "backend": self.backend,
                "baseModelIdentifier": self.base_model_identifier,
                "trainingDataUri": self.training_data_uri,
                "validationDataUri": self.validation_data_uri,
                "graderLambdaArn": self.grader_lambda_arn,
                "hyperParameters": self.hyper_parameters,
            }
        definition: dict[str, Any] = {
            "baseModelIdentifier": self.base_model_identifier,
            "trainingDataUri": self.training_data_uri,
            "validationDataUri": self.validation_data_uri,
            "outputDataUri": self.output_data_uri,
            "graderLambdaArn": self.grader_lambda_arn,
            "hyperParameters": self.hyper_parameters,
        }
        if self.custom_model_kms_key_id:
            definition["customModelKmsKeyId"] = self.custom_model_kms_key_id
        if self.vpc_config:
            definition["vpcConfig"] = self.vpc_config
        return definition

    def fingerprint(self) -> str:
        """A short, order-independent digest of `definition()`, small enough for a tag value."""
        canonical = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def parse_properties(raw: Mapping[str, Any] | None) -> JobProperties:
    """Validate and convert CloudFormation's `ResourceProperties`, raising `PropertyError`."""
    raw = raw or {}
    problems: list[str] = []

    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL) - set(IGNORED))
    if unknown:
        problems.append(
            f"unknown properties {', '.join(unknown)}; valid ones are {', '.join(REQUIRED + OPTIONAL)}"
        )

    text = {
        name: _text(raw.get(name))
        for name in (*REQUIRED, "ValidationDataUri", "CustomModelKmsKeyId", "Backend")
    }
    backend = text["Backend"] or BACKEND_BEDROCK
    if backend not in BACKENDS:
        problems.append(f"Backend {backend!r} is not one of {', '.join(BACKENDS)}")
    mantle = backend == BACKEND_MANTLE
    missing = [name for name in (REQUIRED_FOR_MANTLE if mantle else REQUIRED) if not text[name]]
    if missing:
        problems.append(f"missing required properties {', '.join(missing)}")
    if mantle:
        given = [name for name in NOT_FOR_MANTLE if _text(raw.get(name)) not in ("", "{}")]
        if given:
            problems.append(
                f"{', '.join(given)} do not apply to Backend mantle (open-weight jobs take no role, "
                "output location, key or network); remove them"
            )
        _check_pattern(
            problems,
            "BaseModelIdentifier",
            text["BaseModelIdentifier"],
            API_MODEL_ID_PATTERN,
            "a fine-tuning API model id such as openai.gpt-oss-20b",
        )

    _check_pattern(
        problems, "TrainingDataUri", text["TrainingDataUri"], S3_URI_PATTERN, "an s3://bucket/key URI"
    )
    _check_pattern(
        problems, "OutputDataUri", text["OutputDataUri"], S3_URI_PATTERN, "an s3://bucket/prefix/ URI"
    )
    _check_pattern(
        problems, "ValidationDataUri", text["ValidationDataUri"], S3_URI_PATTERN, "an s3:// URI or ''"
    )
    _check_pattern(problems, "RoleArn", text["RoleArn"], ROLE_ARN_PATTERN, "an IAM role ARN")
    _check_pattern(
        problems, "GraderLambdaArn", text["GraderLambdaArn"], LAMBDA_ARN_PATTERN, "a Lambda function ARN"
    )

    _check_pattern(
        problems,
        "CustomModelKmsKeyId",
        text["CustomModelKmsKeyId"],
        KMS_KEY_PATTERN,
        "a KMS key ARN, key id, alias or alias ARN",
    )
    vpc_config = None if mantle else _parse_vpc_config(raw.get("VpcConfig"), problems)
    hyper_parameters = (
        _parse_open_weight_hyperparameters(raw.get("HyperParameters"), problems)
        if mantle
        else _parse_hyperparameters(raw.get("HyperParameters"), problems)
    )
    tags = _parse_tags(raw.get("Tags"), problems)

    if problems:
        raise PropertyError(problems)
    return JobProperties(
        job_name_prefix=text["JobNamePrefix"],
        base_model_identifier=text["BaseModelIdentifier"],
        role_arn=text["RoleArn"],
        training_data_uri=text["TrainingDataUri"],
        validation_data_uri=text["ValidationDataUri"] or None,
        output_data_uri=text["OutputDataUri"],
        grader_lambda_arn=text["GraderLambdaArn"],
        hyper_parameters=hyper_parameters,
        tags=tags,
        custom_model_kms_key_id=None if mantle else text["CustomModelKmsKeyId"] or None,
        vpc_config=vpc_config,
        backend=backend,
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else "" if value is None else str(value).strip()


def _check_pattern(problems: list[str], name: str, value: str, pattern: str, expected: str) -> None:
    if value and not re.fullmatch(pattern, value):
        problems.append(f"{name} {value!r} is not {expected}")


def _json_object(name: str, value: Any, problems: list[str]) -> Mapping[str, Any]:
    """Parse a JSON-object property; an absent or empty value means `{}`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, Mapping):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError) as error:
        problems.append(f"{name} is not valid JSON ({error}); pass a JSON object such as '{{}}'")
        return {}
    if not isinstance(parsed, dict):
        problems.append(f"{name} must be a JSON object, not {type(parsed).__name__}")
        return {}
    return parsed


def _parse_vpc_config(value: Any, problems: list[str]) -> dict[str, list[str]] | None:
    """`VpcConfig` as Bedrock's `vpcConfig`; absent or `{}` means no VPC."""
    parsed = _json_object("VpcConfig", value, problems)
    if not parsed:
        return None
    unknown = sorted(set(parsed) - {"subnetIds", "securityGroupIds"})
    if unknown:
        problems.append(
            f"VpcConfig has unknown keys {', '.join(unknown)}; use subnetIds and securityGroupIds"
        )
    config: dict[str, list[str]] = {}
    for name, most in (("subnetIds", VPC_SUBNETS_MAX), ("securityGroupIds", VPC_SECURITY_GROUPS_MAX)):
        ids = parsed.get(name)
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= most
            or not all(isinstance(i, str) and re.fullmatch(VPC_ID_PATTERN, i) for i in ids)
        ):
            problems.append(f"VpcConfig.{name} must be a list of 1-{most} ids such as subnet-0abc or sg-0abc")
        else:
            config[name] = list(ids)
    return config


def _parse_hyperparameters(value: Any, problems: list[str]) -> dict[str, HyperParameterValue]:
    try:
        return parse_hyperparameters(_json_object("HyperParameters", value, problems))
    except HyperParameterError as error:
        problems.extend(f"HyperParameters: {problem}" for problem in error.problems)
        return {}


def _parse_open_weight_hyperparameters(value: Any, problems: list[str]) -> dict[str, HyperParameterValue]:
    """The OpenAI-named hyperparameters of a mantle job, as JSON scalars.

    Their names and ranges are checked at synth (the one table in `hyperparameter_ranges`); here
    only what any value must be: a finite number or a word such as "auto", under a snake_case name.
    """
    parsed: dict[str, HyperParameterValue] = {}
    for name, item in _json_object("HyperParameters", value, problems).items():
        if not re.fullmatch(OPEN_WEIGHT_HYPERPARAMETER_PATTERN, str(name)):
            problems.append(f"HyperParameters: {name!r} is not a fine-tuning API name such as n_epochs")
        elif isinstance(item, bool) or not isinstance(item, int | float | str):
            problems.append(f"HyperParameters: {name} must be a number or a word, not {item!r}")
        elif isinstance(item, float) and not math.isfinite(item):
            problems.append(f"HyperParameters: {name} must be a finite number, not {item!r}")
        elif isinstance(item, str) and not item.strip():
            problems.append(f"HyperParameters: {name} is empty")
        else:
            parsed[str(name)] = item.strip() if isinstance(item, str) else item
    return parsed


def _parse_tags(value: Any, problems: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, tag_value in _json_object("Tags", value, problems).items():
        if not isinstance(tag_value, str):
            problems.append(f"Tags value for {key!r} must be a string, not {tag_value!r}")
        elif not 1 <= len(key) <= TAG_KEY_MAX or not re.fullmatch(TAG_PATTERN, key):
            problems.append(f"Tags key {key!r} must be 1-{TAG_KEY_MAX} letters, digits, spaces or ._:/=+@-")
        elif key.lower().startswith("aws:") or key == DEFINITION_TAG_KEY:
            problems.append(f"Tags key {key!r} is reserved; choose another key")
        elif len(tag_value) > TAG_VALUE_MAX or not re.fullmatch(TAG_PATTERN, tag_value):
            problems.append(
                f"Tags value for {key!r} must be at most {TAG_VALUE_MAX} letters, digits, spaces or ._:/=+@-"
            )
        else:
            tags[key] = tag_value
    # One slot is taken by the definition tag.
    if len(tags) >= TAGS_MAX:
        problems.append(f"Tags has {len(tags)} entries; Bedrock allows at most {TAGS_MAX - 1} here")
    return tags
