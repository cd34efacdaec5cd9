"""CloudWatch alarms from a template: moto 5.2.5 models `AWS::CloudWatch::Dashboard` in CloudFormation
but not `AWS::CloudWatch::Alarm`, so a stack's alarms became inert placeholders and DescribeAlarms
never listed them. This model creates each one through moto's own PutMetricAlarm (metric or metric
math alarms) and deletes it with the stack. moto does not evaluate alarms: their state changes only
with SetAlarmState.
"""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends
from moto.core.common_models import CloudFormationModel

from local_aws.moto_patches.registry import replace

ALARM_TYPE = "AWS::CloudWatch::Alarm"


class LocalAlarm(CloudFormationModel):
    """One CloudWatch alarm of a stack (registered for ALARM_TYPE only while the emulator runs)."""

    def __init__(self, name: str, account_id: str, region: str) -> None:
        self.name = name
        self.account_id = account_id
        self.region = region

    @staticmethod
    def cloudformation_type() -> str:
        return "LocalAws::CloudWatchAlarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{self.name}"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc, override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LocalAlarm:
        p = cloudformation_json["Properties"]
        name = p.get("AlarmName") or resource_name
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace", ""),
            metric_name=p.get("MetricName", ""),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=p.get("Period"),  # a metric math alarm has none
            threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic", ""),
            extended_statistic=p.get("ExtendedStatistic"),
            description=p.get("AlarmDescription", ""),
            dimensions=list(p.get("Dimensions", [])),
            alarm_actions=list(p.get("AlarmActions", [])),
            ok_actions=list(p.get("OKActions", [])),
            insufficient_data_actions=list(p.get("InsufficientDataActions", [])),
            metric_data_queries=[_query(q) for q in p.get("Metrics", [])] or None,
            treat_missing_data=p.get("TreatMissingData"),
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
        )
        return cls(name, account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        cloudwatch_backends[account_id][region].delete_alarms([self.name])

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        name = cloudformation_json.get("Properties", {}).get("AlarmName") or resource_name
        cloudwatch_backends[account_id][region_name].delete_alarms([name])


def _query(query: dict[str, Any]) -> MetricDataQuery:
    stat = query.get("MetricStat")
    metric_stat = None
    if stat:
        metric = stat["Metric"]
        metric_stat = MetricStat(
            Metric(
                metric["MetricName"],
                metric["Namespace"],
                [Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])],
            ),
            str(stat["Period"]),
            stat["Stat"],
            stat.get("Unit"),
        )
    return MetricDataQuery(
        query_id=query["Id"],
        label=query.get("Label", ""),
        period=query.get("Period"),
        return_data=str(query.get("ReturnData", True)).lower(),
        expression=query.get("Expression"),
        metric_stat=metric_stat,
    )


def patch() -> None:
    replace(LocalAlarm, "cloudformation_type", staticmethod(lambda: ALARM_TYPE))
