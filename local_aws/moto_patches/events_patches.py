"""EventBridge in moto: rules deliver to Step Functions, SNS and Lambda targets, as EventBridge does.

moto 5.2.5's `Rule.send_to_targets` delivers only to log groups, archives, SQS queues, other buses
and API destinations; for any other target PutEvents raises NotImplementedError (an HTTP 500). The
product's rules target an SNS topic (JobNotifications) and a state machine (the post-training
evaluation), so a Bedrock job's state change event could not be delivered at all. This adds:

- `states`: StartExecution of the target state machine, the event as its input;
- `sns`: Publish of the event JSON to the topic;
- `lambda`: an asynchronous invocation with the event (as EventBridge invokes functions).

Each gets the event as EventBridge sends it: `time` as an ISO-8601 string (moto keeps epoch
seconds), the target's `Input` (a constant) or `InputPath` or `InputTransformer` applied. Other
target kinds are left to moto, one target at a time, so one kind it lacks no longer stops the rest.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
from typing import Any

from moto.events.models import EventTemplateParser, Rule
from moto.utilities.arns import parse_arn

from local_aws.moto_patches.registry import replace

log = logging.getLogger("local_aws.moto")

HANDLED = ("states", "sns", "lambda")


def as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a target: `time` is an ISO-8601 string, internals removed."""
    delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
    when = delivered.get("time")
    if isinstance(when, (int, float)):
        moment = datetime.datetime.fromtimestamp(when, tz=datetime.UTC)
        delivered["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    """What the target receives: Input, InputPath ($ or $.a.b), InputTransformer, or the whole event."""
    if target.get("Input"):
        return str(target["Input"])
    if target.get("InputPath"):
        value: Any = event
        for part in str(target["InputPath"]).removeprefix("$").strip(".").split("."):
            if part:
                value = value.get(part) if isinstance(value, dict) else None
        return json.dumps(value)
    transformer = target.get("InputTransformer")
    if transformer:
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
        return rendered if isinstance(rendered, str) else json.dumps(rendered)
    return json.dumps(event)


def _deliver(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = parse_arn(target["Arn"])
    body = target_input(target, event)
    account, region = arn.account or rule.account_id, arn.region or rule.region_name
    if arn.service == "states":
        from moto.stepfunctions.responses import get_backend

        execution = get_backend(account, region).start_execution(target["Arn"], None, body)
        log.info("rule %s started %s", rule.name, execution.execution_arn)
    elif arn.service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(body, arn=target["Arn"])
    elif arn.service == "lambda":
        from moto.awslambda.utils import get_backend as lambda_backend

        fn = lambda_backend(account, region).get_function(target["Arn"])
        fn.invoke(body, {"x-amz-invocation-type": "Event"}, {})  # returns at once; the code runs beside


def patch() -> None:
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        others = []
        for target in self.targets:
            if parse_arn(target["Arn"]).service not in HANDLED:
                others.append(target)
                continue
            try:
                _deliver(self, target, as_delivered(original_event))
            except Exception as error:  # EventBridge retries and then drops; PutEvents itself succeeds
                log.warning("rule %s could not deliver to %s: %s", self.name, target["Arn"], error)
        if others:
            rest = copy.copy(self)
            rest.targets = others
            original(rest, original_event, transform_input)

    replace(Rule, "send_to_targets", send_to_targets)
