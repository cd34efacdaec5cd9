"""The post-training evaluation workflow's six Lambda handlers, one function (and role) each.

The Step Functions state machine (stacks/evaluation_workflow.py) calls them in order; each takes the
state's payload and returns the next one (LambdaInvoke with the payload as the result):

* `find_model`: the EventBridge "Model Customization Job State Change" event -> `{jobArn, jobName,
  outputModelArn}`, read back with GetModelCustomizationJob (the job must be Completed with a model).
* `start_deployment`: reuses an Active or Creating on-demand deployment of that model
  (ListCustomModelDeployments, `modelArnEquals`), else CreateCustomModelDeployment with the name and
  clientRequestToken `rft deploy-model` would use -> `+ {deploymentArn}`.
* `deployment_status`: one GetCustomModelDeployment, never a sleep (the state machine's Wait state
  waits) -> `+ {status}` as Creating, Active or Failed.
* `plan_shards`: the test split's prompts (MAX_PROMPTS caps them) cut into SHARD_SIZE slices, one list
  for the base model and one for the deployment -> `{prompts, shards: [{index, label, modelId, start,
  end}]}`. It also imports the reward handler, so a bad REWARD_HANDLER fails the run before any call.
* `answer_shard`: one shard: Converse for each prompt (SAMPLES each, SHARD_CONCURRENCY in flight),
  every answer scored with the task's reward handler in Bedrock-shaped batches, the lines written to
  `rft-eval/<job>/shards/<label>/<index>.jsonl`. A failed call is recorded as an error and never scored.
* `write_report`: reads the shard files and writes `report.json`, `report.md`, `chart.svg` and
  `summary.txt` under `rft-eval/<job>/`, the same files `rft evaluate` writes. A shard that failed
  for good is listed as failed; its prompts are left out of that model's figures and of the paired
  comparison, and counted in the summary.

**Shard size and the time limit.** One shard makes `SHARD_SIZE × SAMPLES` calls, `SHARD_CONCURRENCY` at
a time, so it takes about `ceil(SHARD_SIZE × SAMPLES / SHARD_CONCURRENCY) × t` where `t` is one call's
time (generation of up to MAX_TOKENS). At the slowest decode speed planned for (25 tokens/s; on-demand
models are several times faster) and MAX_TOKENS 2048, `t` is 92 s, so 25 prompts × 1 sample at 8 in
flight is 4 waves, about 6 minutes in the worst case and under a minute typically, inside a 15-minute
function timeout. The budget is also enforced: no attempt starts with less than `reserve` left (two
SDK attempts at the read timeout, plus 30 s to score and write); the calls not made are recorded as
`OutOfTime` errors, so a shard never runs into the Lambda timeout and nothing it answered is lost.
A function whose timeout is shorter than the reserve is refused at the start with the fix.

Logs hold counts, ids and ARNs only: no prompt, response or reference text, and no event payload.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from rft_eval import deployments
from rft_eval.chart import evaluation_svg
from rft_eval.converse import OUT_OF_TIME, FatalError, Inference, Sampler, bedrock_runtime_factory, calls_for
from rft_eval.input_errors import EvalInputError
from rft_eval.model_ids import on_demand_id
from rft_eval.prompts import Prompt, parse_prompts
from rft_eval.report_text import json_text, markdown, summary
from rft_eval.responses import Response, response_from_json
from rft_eval.results import Evaluation, ModelResult
from rft_eval.scoring import Handler, Scored, load_handler, score
from rft_eval.stats import PAYS_AT

from rft_eval_workflow import settings as settings_module
from rft_eval_workflow.settings import Settings, parse_s3_uri

logger = Logger(service="rft-eval")

BASE, TUNED = "base", "tuned"
LABELS = (BASE, TUNED)
COMPLETED = "Completed"
ERROR_CHARS = 300
FIRST_CALL_S = 5.0  # beyond the reserve, a shard needs time for at least its first wave of calls


class JobNotReady(Exception):
    """The job the event names has no model to evaluate (not Completed, or no outputModelArn)."""


class DeploymentFailed(Exception):
    """The model's only deployments are Failed: a new one would collide with their name."""


class ModelCallsFailed(Exception):
    """Every call of the shard would fail the same way (no access, unknown model, credentials)."""


class _Clients:
    """One client per service per container, made on first use (tests attach a Stubber to them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[str, Any] = {}

    def _get(self, service: str) -> Any:
        with self._lock:
            if service not in self._made:
                config = Config(
                    retries={"mode": "standard", "max_attempts": 5},
                    connect_timeout=5,
                    read_timeout=30,
                    user_agent_extra="bedrock-rft/rft-eval",
                )
                self._made[service] = boto3.client(service, config=config)
            return self._made[service]

    @property
    def bedrock(self) -> Any:
        return self._get("bedrock")

    @property
    def s3(self) -> Any:
        return self._get("s3")

    def reset(self) -> None:
        with self._lock:
            self._made.clear()


clients = _Clients()
_prompt_cache: dict[str, list[Prompt]] = {}  # test-data URI -> its prompts (assets are immutable)
_handler_cache: dict[str, Handler] = {}


def _short(text: Any) -> str:
    return str(text).replace("\n", " ")[:ERROR_CHARS]


# --- find_model ---------------------------------------------------------------------------------


@logger.inject_lambda_context(log_event=False, clear_state=True)
def find_model(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The job of the event, read back from Bedrock: it must be Completed with an output model."""
    detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else event
    identifier = detail.get("jobArn") or detail.get("jobName")
    if not identifier:
        raise EvalInputError(
            "the event has no detail.jobArn or detail.jobName; expected Bedrock's job state change"
        )
    job = clients.bedrock.get_model_customization_job(jobIdentifier=str(identifier))
    status, model_arn = job.get("status"), job.get("outputModelArn")
    logger.info("Read the job", extra={"job_arn": job.get("jobArn"), "status": status})
    if status != COMPLETED:
        raise JobNotReady(
            f"job {job.get('jobName')} is {status}, not Completed: there is no model to evaluate"
        )
    if not model_arn:
        raise JobNotReady(f"job {job.get('jobName')} is Completed but reports no outputModelArn")
    return {"jobArn": job["jobArn"], "jobName": job["jobName"], "outputModelArn": model_arn}


# --- start_deployment / deployment_status ---------------------------------------------------------


def _tags(settings: Settings, job_name: str) -> list[dict[str, str]]:
    merged = {t["key"]: t["value"] for t in settings.tags}
    if settings.stack_name:
        merged[deployments.TAG_STACK] = settings.stack_name
    merged[deployments.TAG_JOB] = job_name
    return [{"key": k, "value": v} for k, v in merged.items()]


@logger.inject_lambda_context(log_event=False, clear_state=True)
def start_deployment(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Reuse the model's Active or Creating deployment, or create one; never waits."""
    settings = settings_module.load()
    job_name, model_arn = str(event["jobName"]), str(event["outputModelArn"])
    existing = deployments.deployments_of(clients.bedrock, model_arn)
    usable = deployments.reusable(existing)
    if usable is not None:
        arn = str(usable["customModelDeploymentArn"])
        logger.info(
            "Reusing the model's deployment", extra={"deployment_arn": arn, "status": usable.get("status")}
        )
        return {**event, "deploymentArn": arn, "deploymentName": deployments.name_of(usable), "reused": True}
    if existing:
        failed = existing[0]
        raise DeploymentFailed(
            f"deployment {deployments.name_of(failed)} ({failed.get('customModelDeploymentArn')}) of {model_arn} "
            f"Failed: {_short(failed.get('failureMessage') or 'no failureMessage given')}; delete it "
            f"(`rft deploy-model {settings.stack_name or '<stack>'} --delete`) and start the evaluation again"
        )
    name = deployments.deployment_name(job_name, model_arn)
    arn = clients.bedrock.create_custom_model_deployment(
        modelDeploymentName=name,
        modelArn=model_arn,
        description=f"bedrock-rft: the model of job {job_name}, deployed by the post-training evaluation",
        tags=_tags(settings, job_name),
        clientRequestToken=deployments.request_token(model_arn),
    )["customModelDeploymentArn"]
    logger.info("Created a deployment", extra={"deployment_arn": arn})
    return {**event, "deploymentArn": arn, "deploymentName": name, "reused": False}


@logger.inject_lambda_context(log_event=False, clear_state=True)
def deployment_status(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """One GetCustomModelDeployment: status as Creating, Active or Failed (an unknown one is Failed)."""
    deployment = clients.bedrock.get_custom_model_deployment(
        customModelDeploymentIdentifier=str(event["deploymentArn"])
    )
    raw = deployment.get("status")
    status = deployments.normalized_status(raw)
    out: dict[str, Any] = {**event, "status": status or deployments.FAILED}
    if status is None:
        out["failureMessage"] = (
            f"GetCustomModelDeployment answered status {raw!r}, which this version does not know"
        )
    elif status == deployments.FAILED:
        out["failureMessage"] = _short(deployment.get("failureMessage") or "no failureMessage given")
    logger.info(
        "Deployment status", extra={"deployment_arn": event["deploymentArn"], "status": out["status"]}
    )
    return out


# --- plan_shards / answer_shard -----------------------------------------------------------------


def _prompts(settings: Settings) -> list[Prompt]:
    """The test split's prompts (cached per container: the asset's key is its content hash)."""
    uri = settings.test_data_uri
    if uri not in _prompt_cache:
        bucket, key = parse_s3_uri(uri, "TEST_DATA_URI")
        body = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        _prompt_cache[uri] = parse_prompts(body.splitlines(), uri)
    prompts = _prompt_cache[uri]
    return prompts[: settings.max_prompts] if settings.max_prompts else prompts


def _reward(settings: Settings) -> Handler:
    if settings.reward_handler not in _handler_cache:
        _handler_cache[settings.reward_handler] = load_handler(
            settings.reward_handler, where=" from the asset"
        )
    return _handler_cache[settings.reward_handler]


def base_model_id(settings: Settings) -> str:
    """The id Converse accepts on demand for BASE_MODEL_ID (Nova 2 Lite: its inference profile)."""
    return on_demand_id(settings.base_model_id, settings.region)


@logger.inject_lambda_context(log_event=False, clear_state=True)
def plan_shards(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Cut the prompts into shards for both models; fail now if the reward handler does not import."""
    settings = settings_module.load()
    _reward(settings)
    job_name, deployment_arn = str(event["jobName"]), str(event["deploymentArn"])
    count = len(_prompts(settings))
    models = {BASE: base_model_id(settings), TUNED: deployment_arn}
    shards = [
        {
            "index": index,
            "label": label,
            "modelId": models[label],
            "start": start,
            "end": min(start + settings.shard_size, count),
            "jobName": job_name,
        }
        for label in LABELS
        for index, start in enumerate(range(0, count, settings.shard_size))
    ]
    logger.info(
        "Planned shards", extra={"prompts": count, "shards": len(shards), "shard_size": settings.shard_size}
    )
    return {"jobName": job_name, "deploymentArn": deployment_arn, "prompts": count, "shards": shards}


def _shard(event: Mapping[str, Any]) -> dict[str, Any]:
    """The shard item, whether the Map passed it as is or under `shard` beside `jobName`."""
    inner = event.get("shard")
    item = (
        {**inner, **{k: v for k, v in event.items() if k != "shard"}}
        if isinstance(inner, Mapping)
        else dict(event)
    )
    missing = [k for k in ("index", "label", "modelId", "start", "end", "jobName") if k not in item]
    if missing:
        raise EvalInputError(f"the shard item lacks {', '.join(missing)}; plan_shards makes these")
    if item["label"] not in LABELS:
        raise EvalInputError(f"shard label {item['label']!r} is neither base nor tuned")
    return item


def _line(response: Response, scored: Scored | None) -> str:
    entry = response.to_json()
    entry["score"] = scored.score if scored is not None else None
    entry["format_ok"] = scored.format_ok if scored is not None else None
    return json.dumps(entry, ensure_ascii=False)


def _remaining_s(context: Any) -> float | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return getter() / 1000.0 if callable(getter) else None


@logger.inject_lambda_context(log_event=False, clear_state=True)
def answer_shard(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Answer and score one shard; write its JSONL; return its counts."""
    settings = settings_module.load()
    item = _shard(event)
    left = _remaining_s(context)
    if left is not None and left < settings.reserve_s + FIRST_CALL_S:
        raise EvalInputError(
            f"the function has {left:.0f} s left at the start, less than the {settings.reserve_s + FIRST_CALL_S:.0f} s "
            f"one shard needs at MAX_TOKENS {settings.max_tokens}; raise the answer function's timeout"
        )
    handler = _reward(settings)
    prompts = _prompts(settings)[int(item["start"]) : int(item["end"])]
    inference = Inference(max_tokens=settings.max_tokens, temperature=settings.temperature)
    policy = settings.retry_policy
    sampler = Sampler(
        bedrock_runtime_factory(settings.region, policy=policy, user_agent="bedrock-rft/rft-eval"),
        inference,
        concurrency=settings.shard_concurrency,
        policy=policy,
        time_left=(lambda: context.get_remaining_time_in_millis() / 1000.0) if left is not None else None,
        reserve_s=settings.reserve_s,
    )
    responses: list[Response] = []
    try:
        tally = sampler.run(calls_for(str(item["modelId"]), prompts, settings.samples), responses)
    except FatalError as error:
        raise ModelCallsFailed(f"{item['label']} shard {item['index']}: {error.reason}") from None
    scored = score(handler, {p.id: p for p in prompts}, responses)
    by_key = {s.response.key: s for s in scored}
    order = {p.id: i for i, p in enumerate(prompts)}
    responses.sort(key=lambda r: (order.get(r.prompt_id, 0), r.sample))
    body = "".join(_line(r, by_key.get(r.key)) + "\n" for r in responses)
    key = settings.shard_key(str(item["jobName"]), str(item["label"]), int(item["index"]))
    clients.s3.put_object(
        Bucket=settings.bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/x-ndjson"
    )
    outcome = {
        "index": item["index"],
        "label": item["label"],
        "modelId": item["modelId"],
        "start": item["start"],
        "end": item["end"],
        "answered": tally.done - tally.errors,
        "errors": tally.errors,
        "outOfTime": sum(1 for r in responses if r.error == OUT_OF_TIME),
        "correct": sum(1 for s in scored if s.score >= PAYS_AT),
        "uri": f"s3://{settings.bucket}/{key}",
    }
    if outcome["outOfTime"]:
        logger.warning(
            "The shard ran out of time; lower SHARD_SIZE", extra={"out_of_time": outcome["outOfTime"]}
        )
    logger.info("Answered a shard", extra={k: v for k, v in outcome.items() if k != "modelId"})
    return outcome


def _cause(raw: Any) -> str:
    """A Step Functions Cause, which for a Lambda error is JSON {errorType, errorMessage, stackTrace}."""
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            return _short(raw)
        if isinstance(parsed, Mapping) and parsed.get("errorMessage"):
            kind = parsed.get("errorType")
            return _short(f"{kind}: {parsed['errorMessage']}" if kind else parsed["errorMessage"])
        return _short(raw)
    return _short(raw) if raw else ""


def _failure(result: Mapping[str, Any]) -> tuple[dict[str, Any], str] | None:
    """(shard, why) when a Map result is a failed shard; None for a shard outcome.

    Accepted shapes: `{failed: true, shard: {...}, error, cause}`, the shard's own fields with
    `failed`/`error`/`cause`, and a Catch's `{..., Error, Cause}` at the top or under `failure`/`error`.
    """
    nested = next((result[k] for k in ("failure", "error") if isinstance(result.get(k), Mapping)), None)
    if nested is not None:
        error, cause = nested.get("Error"), nested.get("Cause")
    else:
        error, cause = (
            (result.get("Error") or result.get("error")),
            (result.get("Cause") or result.get("cause")),
        )
    failed = bool(result.get("failed")) or nested is not None or error is not None
    if not failed and result.get("uri"):
        return None
    if not failed:
        return (dict(result), "the shard returned no file (no uri)")
    shard = dict(result["shard"]) if isinstance(result.get("shard"), Mapping) else dict(result)
    why = ": ".join(part for part in (_short(error) if error else "", _cause(cause)) if part) or "failed"
    return (shard, why)


def _read_shard(settings: Settings, uri: str) -> tuple[list[Scored], list[Response]]:
    bucket, key = parse_s3_uri(uri, "shard uri")
    body = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    scored: list[Scored] = []
    errors: list[Response] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        response = response_from_json(entry)
        if response is None:
            continue
        if not response.ok:
            errors.append(response)
            continue
        value = entry.get("score")
        scored.append(
            Scored(response, float(value) if value is not None else 0.0, bool(entry.get("format_ok")))
        )
    return scored, errors


@logger.inject_lambda_context(log_event=False, clear_state=True)
def write_report(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The shards' files -> report.json, report.md, chart.svg, summary.txt under rft-eval/<job>/."""
    settings = settings_module.load()
    job_name = str(event["jobName"])
    results = event.get("results") or []
    prompts = int(event["prompts"]) if event.get("prompts") is not None else len(_prompts(settings))
    models: dict[str, str] = {BASE: base_model_id(settings), TUNED: str(event.get("deploymentArn") or TUNED)}
    collected: dict[str, tuple[list[Scored], list[Response]]] = {label: ([], []) for label in LABELS}
    failed: list[dict[str, Any]] = []
    for result in sorted(
        results, key=lambda r: (str(_shard_of(r).get("label")), int(_shard_of(r).get("index") or 0))
    ):
        problem = _failure(result)
        shard = problem[0] if problem is not None else dict(result)
        label = str(shard.get("label"))
        if shard.get("modelId"):
            models[label] = str(shard["modelId"])
        if problem is None:
            try:
                scored, errors = _read_shard(settings, str(result["uri"]))
            except clients.s3.exceptions.NoSuchKey:
                problem = (shard, f"its file {result['uri']} is missing")
            else:
                collected.setdefault(label, ([], []))[0].extend(scored)
                collected[label][1].extend(errors)
        if problem is not None:
            start, end = int(shard.get("start", 0)), int(shard.get("end", 0))
            failed.append(
                {
                    "label": label,
                    "model": models.get(label, ""),
                    "index": shard.get("index"),
                    "start": start,
                    "end": end,
                    "prompts": max(0, end - start),
                    "error": problem[1],
                }
            )
    evaluation = Evaluation(
        task=settings.task,
        data=settings.test_data_uri,
        prompts=prompts,
        samples_per_prompt=settings.samples,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        handler=settings.reward_handler,
        results=[ModelResult(models[label], *collected[label], label=label) for label in LABELS],
        notes=[
            f"answered and scored by the post-training evaluation workflow for job {job_name}: the base model "
            f"as {models[BASE]}, the tuned model through its on-demand deployment {models[TUNED]}"
        ],
        failed_shards=failed,
    )
    text = summary(evaluation)
    prefix = settings.job_prefix(job_name)
    files = {
        "report.json": (json_text(evaluation), "application/json"),
        "report.md": (markdown(evaluation), "text/markdown; charset=utf-8"),
        "chart.svg": (evaluation_svg(evaluation), "image/svg+xml"),
        "summary.txt": (text + "\n", "text/plain; charset=utf-8"),
    }
    for name, (body, content_type) in files.items():
        clients.s3.put_object(
            Bucket=settings.bucket, Key=prefix + name, Body=body.encode("utf-8"), ContentType=content_type
        )
    report_uri = f"s3://{settings.bucket}/{prefix}report.json"
    logger.info("Wrote the report", extra={"report_uri": report_uri, "failed_shards": len(failed)})
    return {
        "jobName": job_name,
        "summary": text,
        "message": f"{text}\n\nReport: {report_uri} (Markdown: s3://{settings.bucket}/{prefix}report.md)",
        "reportUri": report_uri,
        "reportPrefix": f"s3://{settings.bucket}/{prefix}",
        "failedShards": len(failed),
    }


def _shard_of(result: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = result.get("shard")
    return inner if isinstance(inner, Mapping) else result
