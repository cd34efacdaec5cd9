"""TrainingMonitor: a dashboard and alarms built from the reward function's own metrics.

Bedrock calls the reward function for every batch it scores, and the function's EMF metrics
(lambda/rft_reward/metric_names.py) are the live training signal: `MeanReward` over time is the
training-reward curve from the first minute, while Bedrock's own CSV appears only after the job ends.
The alarms catch the failures that start quietly: a throttled or failing reward (Bedrock retries,
then fails the job), a batch close to the timeout, a scorer that raises, a failing judge, and
batches that stop coming. They publish to the job-events topic.

Missing data never raises an alarm: before the job starts there is none, and a quiet minute is not
an error. The one alarm about missing data, BatchesStalled, uses CloudWatch's heartbeat pattern: it
treats missing data as missing, so it leaves OK for INSUFFICIENT_DATA when no batch came for N
minutes, and that transition is what notifies. It starts in INSUFFICIENT_DATA, so nothing fires
before the first batch; it does fire once when a job ends (its batches stop), just after the job's
own state-change event. CloudWatch cannot see the job's state without a poller, so that is as close
to "while the job is InProgress" as an alarm gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.alarm_thresholds import AlarmThresholds
from stacks.metric_names import names

ONE_MINUTE = Duration.minutes(1)


@dataclass(frozen=True)
class TrainingMonitorProps:
    """The reward function to watch, where its alarms go, and when they fire."""

    function: lambda_.IFunction
    # The function's timeout: the duration widget's line and the duration alarm's base.
    timeout: Duration
    # The `service` dimension of its metrics (its POWERTOOLS_SERVICE_NAME).
    service_name: str
    # Alarms publish here (the job-events topic).
    topic: sns.ITopic
    # The topic's customer managed key: CloudWatch may use it for this stack's alarms only.
    topic_key: kms.IKey | None = None
    # An RLAIF reward: adds the judge's widgets and its error-rate alarm.
    judged: bool = False
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    # Used in descriptions: the task whose training this is.
    label: str = "RFT"


class TrainingMonitor(Construct):
    """A dashboard (`dashboard`) and the alarms (`alarms`, by short name) of one training run."""

    def __init__(self, scope: Construct, construct_id: str, *, props: TrainingMonitorProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        stack = Stack.of(self)
        self.dashboard_name = names.dashboard_name(stack.stack_name)
        self.alarm_name_prefix = names.alarm_name_prefix(stack.stack_name)
        self._allow_cloudwatch_to_publish(stack)
        self.alarms: dict[str, cw.Alarm] = {}
        self._alarms()
        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.dashboard_name,
            default_interval=Duration.hours(6),
            widgets=self._widgets(),
        )

    # -- metrics ---------------------------------------------------------------------------------
    def reward_metric(
        self, name: str, statistic: str, period: Duration, label: str | None = None
    ) -> cw.Metric:
        return cw.Metric(
            namespace=names.NAMESPACE,
            metric_name=name,
            dimensions_map={names.SERVICE_DIMENSION: self.props.service_name},
            statistic=statistic,
            period=period,
            label=label,
        )

    @property
    def _window(self) -> Duration:
        return Duration.minutes(self.props.thresholds.evaluation_minutes)

    @property
    def _timeout_ms(self) -> float:
        return self.props.timeout.to_milliseconds()

    # -- alarms ----------------------------------------------------------------------------------
    def _alarms(self) -> None:
        t, fn, window = self.props.thresholds, self.props.function, self._window
        minutes = t.evaluation_minutes
        self._alarm(
            "reward-errors",
            cw.MathExpression(
                expression="FILL(errors, 0) + FILL(throttles, 0)",
                using_metrics={
                    "errors": fn.metric_errors(period=window, statistic="Sum"),
                    "throttles": fn.metric_throttles(period=window, statistic="Sum"),
                },
                period=window,
                label="errors + throttles",
            ),
            t.reward_errors,
            f"The {self.props.label} reward function errored or was throttled more than {t.reward_errors:g} "
            f"times in {minutes} min: Bedrock retries such batches and fails the job after repeats.",
        )
        limit = t.duration_share_of_timeout * self._timeout_ms
        self._alarm(
            "reward-duration",
            fn.metric_duration(period=window, statistic="p95"),
            limit,
            f"The {self.props.label} reward's p95 duration is above {t.duration_share_of_timeout:.0%} of its "
            f"{self.props.timeout.to_seconds()} s timeout ({limit:g} ms) over {minutes} min: batches are "
            "close to being cut off.",
        )
        self._alarm(
            "scorer-errors",
            self.reward_metric(names.SCORER_ERRORS, "Sum", window),
            t.scorer_errors,
            f"The {self.props.label} scorer raised on more than {t.scorer_errors:g} samples in {minutes} min "
            "(they score 0; the reward's log has the exception's type and location).",
        )
        if self.props.judged:
            self._alarm(
                "judge-error-rate",
                cw.MathExpression(
                    expression="errors / calls",
                    using_metrics={
                        "errors": self.reward_metric(names.JUDGE_ERRORS, "Sum", window),
                        "calls": self.reward_metric(names.JUDGE_CALLS, "Sum", window),
                    },
                    period=window,
                    label="judge error rate",
                ),
                t.judge_error_rate,
                f"More than {t.judge_error_rate:.0%} of the {self.props.label} judge's calls failed in "
                f"{minutes} min (judge_error: access, throttling or timeouts).",
            )
        if t.stalled_minutes:
            stalled = cw.Alarm(
                self,
                "BatchesStalled",
                alarm_name=f"{self.alarm_name_prefix}batches-stalled",
                alarm_description=(
                    f"No {self.props.label} batch was scored for {t.stalled_minutes} min after batches came "
                    "(notifies on INSUFFICIENT_DATA; also once when the job ends)."
                ),
                metric=self.reward_metric(names.BATCH_SIZE, "SampleCount", ONE_MINUTE),
                threshold=1,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=t.stalled_minutes,
                treat_missing_data=cw.TreatMissingData.MISSING,
            )
            stalled.add_insufficient_data_action(cw_actions.SnsAction(self.props.topic))
            self.alarms["batches-stalled"] = stalled

    def _alarm(self, name: str, metric: cw.IMetric, threshold: float, description: str) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            "".join(part.capitalize() for part in name.split("-")),
            alarm_name=f"{self.alarm_name_prefix}{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.props.topic))
        self.alarms[name] = alarm
        return alarm

    def _allow_cloudwatch_to_publish(self, stack: Stack) -> None:
        """CloudWatch publishes alarm notifications as its service principal: the topic must let it, and
        an encrypted topic's key must let it encrypt (SNS developer guide, "Enable compatibility between
        event sources from AWS services and encrypted topics"). Only for this stack's alarms."""
        alarms = (
            f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{self.alarm_name_prefix}*"
        )
        conditions = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": alarms},
        }
        principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        self.props.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[principal],
                actions=["sns:Publish"],
                resources=[self.props.topic.topic_arn],
                conditions=conditions,
            )
        )
        if self.props.topic_key is not None:
            self.props.topic_key.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[principal],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],  # in a key policy, "*" means this key
                    conditions=conditions,
                )
            )

    # -- dashboard -------------------------------------------------------------------------------
    def _widgets(self) -> list[list[cw.IWidget]]:
        fn, five = self.props.function, Duration.minutes(5)
        rows: list[list[cw.IWidget]] = [
            [
                cw.GraphWidget(
                    title="Mean reward (the live training-reward curve)",
                    left=[self.reward_metric(names.MEAN_REWARD, "Average", five, "mean reward (5 min)")],
                    left_y_axis=cw.YAxisProps(min=0, max=1, show_units=False),
                    width=12,
                ),
                cw.GraphWidget(
                    title="Batches scored per minute",
                    left=[self.reward_metric(names.BATCH_SIZE, "SampleCount", ONE_MINUTE, "batches")],
                    right=[self.reward_metric(names.BATCH_SIZE, "Sum", ONE_MINUTE, "samples")],
                    width=12,
                ),
            ],
            [
                cw.GraphWidget(
                    title="Format failures, bad samples, scorer errors (per 5 min)",
                    left=[
                        self.reward_metric(name, "Sum", five)
                        for name in (
                            names.FORMAT_FAILURES,
                            names.BAD_SAMPLES,
                            names.SCORER_ERRORS,
                            names.INTERNAL_ERRORS,
                        )
                    ],
                    width=12,
                ),
                cw.AlarmStatusWidget(title="Training alarms", alarms=list(self.alarms.values()), width=12),
            ],
        ]
        if self.props.judged:
            rows.append(
                [
                    cw.GraphWidget(
                        title="Judge calls and errors (per 5 min)",
                        left=[
                            self.reward_metric(names.JUDGE_CALLS, "Sum", five),
                            self.reward_metric(names.JUDGE_ERRORS, "Sum", five),
                            self.reward_metric(names.JUDGE_THROTTLES_RETRIED, "Sum", five),
                        ],
                        width=12,
                    ),
                    cw.GraphWidget(
                        title="Judge latency (ms)",
                        left=[
                            self.reward_metric(names.JUDGE_LATENCY_MEAN, "Average", five, "mean"),
                            self.reward_metric(names.JUDGE_LATENCY_MAX, "Maximum", five, "max"),
                        ],
                        width=12,
                    ),
                ]
            )
        share = self.props.thresholds.duration_share_of_timeout
        rows.append(
            [
                cw.GraphWidget(
                    title="Reward function invocations, errors, throttles",
                    left=[
                        fn.metric_invocations(period=ONE_MINUTE, statistic="Sum"),
                        fn.metric_errors(period=ONE_MINUTE, statistic="Sum"),
                        fn.metric_throttles(period=ONE_MINUTE, statistic="Sum"),
                    ],
                    width=8,
                ),
                cw.GraphWidget(
                    title="Reward function concurrency",
                    left=[fn.metric("ConcurrentExecutions", period=ONE_MINUTE, statistic="Maximum")],
                    width=8,
                ),
                cw.GraphWidget(
                    title="Reward function duration (ms) against its timeout",
                    left=[
                        fn.metric_duration(period=ONE_MINUTE, statistic="p95", label="p95"),
                        fn.metric_duration(period=ONE_MINUTE, statistic="Maximum", label="max"),
                    ],
                    left_annotations=[
                        cw.HorizontalAnnotation(value=self._timeout_ms, label="timeout", color=cw.Color.RED),
                        cw.HorizontalAnnotation(
                            value=share * self._timeout_ms, label=f"alarm: {share:.0%} of timeout"
                        ),
                    ],
                    width=8,
                ),
            ]
        )
        return rows
