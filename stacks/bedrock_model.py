"""A Bedrock model as a value object: its ARNs and the permission to invoke it, in one place.

A model is named by a foundation-model id (`amazon.nova-lite-v1:0`), a cross-region inference profile
id (`us.amazon.nova-pro-v1:0`: the same model, routed to several regions) or a full ARN. IAM needs
ARNs, and an inference profile needs the profile *and* the model behind it in every region it may
route to, so the object renders all of them from the id.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import REPO_ROOT, lambda_module
from stacks.nag import acknowledge, nag_partition

# Cross-region inference profiles are ids like `us.anthropic.claude-...`.
INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")
# Which base models Converse serves on demand only through an inference profile, and which profile:
# one table, `lambda/rft_eval/model_ids.py`, that `rft evaluate` and the workflow's shards also use.
_MODEL_IDS = lambda_module(REPO_ROOT / "lambda" / "rft_eval" / "model_ids.py", "_bedrock_rft_eval_model_ids")


@dataclass(frozen=True)
class BedrockModel:
    """A foundation model or inference profile, by the id (or ARN) users write in configuration."""

    model_id: str
    # The region of the foundation-model ARN (and of the profile); None: the stack's region.
    region: str | None = None

    @property
    def is_arn(self) -> bool:
        return self.model_id.startswith("arn:")

    @property
    def is_inference_profile(self) -> bool:
        return not self.is_arn and self.model_id.startswith(INFERENCE_PROFILE_PREFIXES)

    @property
    def foundation_model_id(self) -> str:
        """The model an inference profile routes to (`us.amazon.nova-pro-v1:0` → `amazon.nova-pro-v1:0`)."""
        return self.model_id.split(".", 1)[1] if self.is_inference_profile else self.model_id

    def on_demand(self) -> BedrockModel:
        """The model Converse accepts on demand for this one: a fine-tuned base model such as
        `...foundation-model/amazon.nova-2-lite-v1:0:256k` answers only through its inference profile
        (`us.amazon.nova-2-lite-v1:0` in a `us-*` region, `global.` elsewhere); any other model as is."""
        model_id = _MODEL_IDS.on_demand_id(self.model_id, self.region or "")
        return self if model_id == self.model_id else BedrockModel(model_id, region=self.region)

    def arn(self, scope: Construct) -> str:
        """The ARN a job's base model or a single grant names: the ARN as given, or the foundation model's."""
        if self.is_arn:
            return self.model_id
        stack = Stack.of(scope)
        return (
            f"arn:{stack.partition}:bedrock:{self.region or stack.region}::foundation-model/{self.model_id}"
        )

    def invoke_arns(self, scope: Construct) -> list[str]:
        """Everything `bedrock:InvokeModel` needs: the model, or the profile and its model in any region."""
        if not self.is_inference_profile:
            return [self.arn(scope)]
        stack = Stack.of(scope)
        return [
            f"arn:{stack.partition}:bedrock:{self.region or stack.region}:{stack.account}"
            f":inference-profile/{self.model_id}",
            f"arn:{stack.partition}:bedrock:*::foundation-model/{self.foundation_model_id}",
        ]

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow `grantee` to call this model (Converse is authorised by bedrock:InvokeModel), only it."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:InvokeModel"], resource_arns=self.invoke_arns(grantee)
        )
        if self.is_inference_profile and isinstance(grantee, Construct):
            acknowledge(
                grantee,
                "An inference profile routes to the same model in several regions; only that model.",
                "AwsSolutions::AwsSolutions-IAM5[Resource::arn:"
                f"{nag_partition(grantee)}:bedrock:*::foundation-model/{self.foundation_model_id}]",
            )
        return grant


@dataclass(frozen=True)
class OpenWeightModel:
    """An open-weight model (gpt-oss, Qwen3) that Bedrock fine-tunes through its OpenAI-compatible API
    (`bedrock-mantle`), not through CreateModelCustomizationJob.

    `model_id` is what users configure (`qwen.qwen3-32b-v1:0`), `api_model_id` what the fine-tuning API
    is sent and what IAM's `bedrock-mantle:Model` condition names (`qwen.qwen3-32b`, the docs' id), and
    `region` the region that serves its fine-tuning (us-west-2: docs/open-weight.md).
    """

    model_id: str
    api_model_id: str
    region: str

    # The files and jobs of requests without an `OpenAI-Project` header belong to the account's default
    # project (page `projects`); IAM authorizes every file and job action on that project.
    PROJECT = "default"

    def project_arn(self, scope: Construct) -> str:
        """The project the job's files and jobs live in: the IAM resource of every mantle action."""
        stack = Stack.of(scope)
        return f"arn:{stack.partition}:bedrock-mantle:{self.region}:{stack.account}:project/{self.PROJECT}"


# What `RftPipelineProps.base_model` accepts: the job backend follows the type.
BaseModel = BedrockModel | OpenWeightModel
