"""JobNotifications: nobody watches a multi-hour job, so EventBridge tells a topic when its state changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

# Bedrock user guide, "How EventBridge for Amazon Bedrock works": the source, the detail-type, and the
# sample event's `detail.jobName` and `detail.jobStatus`.
JOB_EVENT_SOURCE = "aws.bedrock"
JOB_STATE_CHANGE = "Model Customization Job State Change"


def job_state_change_pattern(
    job_name_prefix: str, statuses: Sequence[str] | None = None
) -> events.EventPattern:
    """State changes of the jobs named `<prefix>-<hash>`; with `statuses`, only those (`jobStatus`)."""
    detail: dict[str, object] = {"jobName": [{"prefix": f"{job_name_prefix}-"}]}
    if statuses:
        detail["jobStatus"] = list(statuses)
    return events.EventPattern(source=[JOB_EVENT_SOURCE], detail_type=[JOB_STATE_CHANGE], detail=detail)


@dataclass(frozen=True)
class JobNotificationsProps:
    """Which jobs to report (by name prefix) and who else hears about them."""

    # Jobs named `<prefix>-<hash>` (see `naming.job_names`) are reported.
    job_name_prefix: str
    # Also send each state change to this inbox (the address confirms the subscription first).
    email: str | None = None
    # Used in the descriptions: the task or stack whose jobs these are.
    label: str = "RFT"
    # Encrypt the topic with this customer-managed key instead of one of its own; its key policy must
    # then let events.amazonaws.com use it (docs/governed-account.md).
    key: kms.IKey | None = None


class JobNotifications(Construct):
    """A customer-managed key, the topic it encrypts, and the rule matching the jobs' state changes."""

    def __init__(self, scope: Construct, construct_id: str, *, props: JobNotificationsProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # EventBridge can only publish to a topic encrypted with a customer managed key it may use.
        self.key: kms.IKey = props.key or self._own_key(props.label)
        self.topic = sns.Topic(
            self,
            "JobEvents",
            display_name=f"Bedrock RFT job events ({stack.stack_name})",
            master_key=self.key,
            enforce_ssl=True,
        )
        if props.email:
            self.topic.add_subscription(subscriptions.EmailSubscription(props.email))
        self.rule = events.Rule(
            self,
            "JobStateChange",
            description=f"State changes of the RFT jobs launched by {stack.stack_name}",
            event_pattern=job_state_change_pattern(props.job_name_prefix),
            targets=[targets.SnsTopic(self.topic)],
        )

    def _own_key(self, label: str) -> kms.Key:
        key = kms.Key(
            self,
            "NotificationsKey",
            description=f"Encrypts the {label} RFT job-event topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        return key
