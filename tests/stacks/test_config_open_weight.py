"""Open-weight models in the configuration: the model table, the region rule, the OpenAI-named
hyperparameters and the data limit. One test per user mistake, each a one-line error naming the fix.

In-process (the loader and `build_task_stack` with a fake context); the real CDK CLI's side (every
stack synthesizes, a wrong region prints one line) is in test_cdk_cli.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from typer.testing import CliRunner

from data_prep.validation import MAX_RECORDS, MIN_RECORDS, count_problems
from rft.cli import app as rft_app
from stacks.bedrock_model import BedrockModel, OpenWeightModel
from stacks.config import (
    BACKEND_BEDROCK,
    BACKEND_MANTLE,
    HYPERPARAMETERS,
    NOVA_2_LITE,
    NOVA_TO_OPEN_WEIGHT,
    OPEN_WEIGHT_DEFAULTS,
    OPEN_WEIGHT_HYPERPARAMETER_SPECS,
    RFT_MODELS,
    ConfigError,
    Context,
    TaskConfigError,
    load_app_config,
    load_config,
    rft_model,
)
from stacks.rft_stack import RftStack, base_model, build_task_stack
from tasks import TASKS, task_by_name

GSM8K = task_by_name("gsm8k")
GPT_OSS = "openai.gpt-oss-20b"
QWEN = "qwen.qwen3-32b-v1:0"
OPEN_WEIGHT_IDS = [GPT_OSS, QWEN, "qwen.qwen3-32b"]


def load(task=GSM8K, *, cdk_json: dict[str, Any] | None = None, **overrides: Any):
    return load_config(task, Context.from_layers(cdk_json or {}, overrides))


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text, text
    return text


# -- the model table ---------------------------------------------------------------------------------
def test_the_table_has_nova_and_the_two_open_weight_models_with_their_backend_api_id_and_region():
    rows = {m.model_id: (m.backend, m.api_model_id, m.regions) for m in RFT_MODELS}
    assert rows == {
        "amazon.nova-2-lite-v1:0:256k": (BACKEND_BEDROCK, "amazon.nova-2-lite-v1:0:256k", ("us-east-1",)),
        GPT_OSS: (BACKEND_MANTLE, GPT_OSS, ("us-west-2",)),
        # The notebook's id is accepted; the API is sent the docs' id.
        QWEN: (BACKEND_MANTLE, "qwen.qwen3-32b", ("us-west-2",)),
    }
    assert rft_model("qwen.qwen3-32b") is rft_model(QWEN)
    assert rft_model(NOVA_2_LITE) is rft_model("amazon.nova-2-lite-v1:0:256k")
    assert rft_model("openai.gpt-oss-120b") is None


@pytest.mark.parametrize("model", OPEN_WEIGHT_IDS)
def test_an_open_weight_model_is_accepted_and_its_region_follows_it(model):
    config = load(**{"rft:baseModel": model})
    assert config.is_open_weight and config.backend == BACKEND_MANTLE
    assert config.base_model == model
    assert config.api_model_id == rft_model(model).api_model_id
    region = next(s for s in config.provenance if s.key == "rft:region")
    assert (region.value, region.source) == ("us-west-2", "default") and config.region == "us-west-2"


def test_nova_stays_in_us_east_1_and_an_explicit_serving_region_is_kept():
    nova = load()
    assert (
        not nova.is_open_weight
        and nova.region == "us-east-1"
        and nova.api_model_id == "amazon.nova-2-lite-v1:0:256k"
    )
    explicit = load(**{"rft:baseModel": GPT_OSS, "rft:region": "us-west-2"})
    assert explicit.region == "us-west-2"
    assert next(s for s in explicit.provenance if s.key == "rft:region").source == "-c"


@pytest.mark.parametrize("model", OPEN_WEIGHT_IDS)
def test_base_model_builds_the_open_weight_value_object_for_the_job_backend(model):
    config = load(**{"rft:baseModel": model})
    assert base_model(config) == OpenWeightModel(rft_model(model).model_id, config.api_model_id, "us-west-2")
    assert base_model(load()) == BedrockModel(NOVA_2_LITE, region="us-east-1")


# -- mistake: a region the model is not served in ------------------------------------------------------
@pytest.mark.parametrize("model", OPEN_WEIGHT_IDS)
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_wrong_region_fails_the_app_with_one_line_naming_the_fix(model, region):
    with pytest.raises(ConfigError) as raised:
        load_app_config(Context.from_layers({"rft:region": region}, {"rft:baseModel": model}))
    message = one_line(raised.value)
    assert f"but rft:region is {region}" in message and "set -c rft:region=us-west-2" in message


def test_an_open_weight_model_named_by_arn_is_told_to_use_its_id():
    with pytest.raises(ConfigError, match=r"set -c rft:baseModel=openai.gpt-oss-20b\.$") as raised:
        load(**{"rft:baseModel": "arn:aws:bedrock:us-west-2::foundation-model/openai.gpt-oss-20b"})
    one_line(raised.value)


_VPC = {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": ["sg-0123456789abcdef0"]}


def test_a_job_network_on_an_open_weight_model_is_refused_with_the_fix():
    """The fine-tuning API takes no vpcConfig: rft:vpc alone would be silently ignored."""
    with pytest.raises(ConfigError) as raised:
        load(**{"rft:baseModel": "openai.gpt-oss-20b", "rft:vpc": json.dumps(_VPC)})
    assert '"rewardInVpc": true' in one_line(raised.value)


def test_the_reward_may_still_run_in_the_subnets_of_an_open_weight_stack():
    app = load(
        **{"rft:baseModel": "openai.gpt-oss-20b", "rft:vpc": json.dumps({**_VPC, "rewardInVpc": True})}
    )
    assert app.vpc is not None and app.vpc.reward_in_vpc


# -- the open-weight hyperparameters --------------------------------------------------------------------
@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_every_task_gets_the_one_set_of_open_weight_defaults_with_their_source(task):
    config = load(task, **{"rft:baseModel": GPT_OSS})
    assert config.hyperparameters == dict(OPEN_WEIGHT_DEFAULTS)
    shown = {
        s.key.rsplit(":", 1)[1]: s.source for s in config.provenance if s.key.startswith(f"rft:{task.name}:")
    }
    assert {name: shown[name] for name in OPEN_WEIGHT_DEFAULTS} == dict.fromkeys(
        OPEN_WEIGHT_DEFAULTS, "default"
    )
    assert not set(shown) & set(HYPERPARAMETERS)  # no Nova name is shown, or sent
    # Nova's prompt limit stays a data_prep check; the task's own values serve the tools.
    assert config.max_prompt_tokens == task.hyperparameters["maxPromptLength"]
    assert config.inference_max_tokens == task.hyperparameters["inferenceMaxTokens"]


def test_values_are_coerced_from_cdk_json_and_dash_c():
    config = load(
        cdk_json={"rft:gsm8k": {"hyperParameters": {"n_epochs": 3, "reasoning_effort": "HIGH"}}},
        **{
            "rft:baseModel": GPT_OSS,
            "rft:gsm8k:batch_size": "8",
            "rft:gsm8k:learning_rate_multiplier": "0.5",
            "rft:gsm8k:compute_multiplier": "auto",
            "rft:gsm8k:eval_interval": "5",
            "rft:gsm8k:eval_samples": "2",
        },
    )
    assert config.hyperparameters == {
        "n_epochs": 3,
        "batch_size": 8,
        "learning_rate_multiplier": 0.5,
        "compute_multiplier": "auto",
        "eval_interval": 5,
        "eval_samples": 2,
        "reasoning_effort": "high",
    }
    sources = {s.key: s.source for s in config.provenance}
    assert sources["rft:gsm8k:n_epochs"] == "cdk.json" and sources["rft:gsm8k:batch_size"] == "-c"


# -- mistake: a Nova hyperparameter on an open-weight model -----------------------------------------------
@pytest.mark.parametrize(("nova", "openai"), list(NOVA_TO_OPEN_WEIGHT.items()))
def test_a_nova_name_on_an_open_weight_model_names_the_openai_equivalent(nova, openai):
    with pytest.raises(TaskConfigError) as raised:
        load(**{"rft:baseModel": QWEN, f"rft:gsm8k:{nova}": "2"})
    message = one_line(raised.value)
    assert message.startswith(f"{nova} is a Nova hyperparameter, but rft:baseModel {QWEN}")
    if openai is None:
        assert "has no equivalent: remove it" in message
    else:
        assert f"set rft:gsm8k:{openai} instead" in message


def test_a_nova_name_in_the_cdk_json_block_fails_only_that_tasks_stack(tmp_path):
    context = {"rft:baseModel": GPT_OSS, "rft:gsm8k": {"hyperParameters": {"epochCount": 2}}}
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context=context)
    stack = build_task_stack(app, GSM8K)
    assert not isinstance(stack, RftStack)
    Annotations.from_stack(stack).has_error(
        "/GsmRftStack",
        Match.string_like_regexp(
            r"GsmRftStack \(gsm8k\): epochCount is a Nova hyperparameter.*rft:gsm8k:n_epochs"
        ),
    )


def test_an_openai_name_on_nova_names_novas():
    with pytest.raises(TaskConfigError, match=r"set rft:gsm8k:epochCount instead\.$") as raised:
        load(**{"rft:gsm8k:n_epochs": "2"})
    one_line(raised.value)
    with pytest.raises(TaskConfigError, match=r"Nova has no equivalent: remove compute_multiplier\.$"):
        load(**{"rft:gsm8k:compute_multiplier": "auto"})


def test_a_misspelled_name_is_matched_against_the_models_own_api():
    with pytest.raises(TaskConfigError, match=r"did you mean 'n_epochs'"):
        load(cdk_json={"rft:gsm8k": {"hyperParameters": {"epochs": 1}}}, **{"rft:baseModel": GPT_OSS})
    with pytest.raises(TaskConfigError, match=r"did you mean 'epochCount'"):
        load(cdk_json={"rft:gsm8k": {"hyperParameters": {"epochs": 1}}})
    with pytest.raises(TaskConfigError, match=r"did you mean `rft:gsm8k:batch_size`"):
        load(**{"rft:baseModel": GPT_OSS, "rft:gsm8k:batchsize": "4"})


# -- mistake: a bad value ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("n_epochs", "0", "a whole number >= 1"),
        ("n_epochs", "1.5", "a whole number >= 1"),
        ("n_epochs", "auto", "a whole number >= 1"),
        ("batch_size", "-4", "a whole number >= 1"),
        ("batch_size", "many", "a whole number >= 1"),
        ("learning_rate_multiplier", "0", "a number > 0"),
        ("learning_rate_multiplier", "nan", "a number > 0"),
        ("eval_interval", "0", "a whole number >= 1"),
        ("eval_samples", "true", "a whole number >= 1"),
        ("compute_multiplier", "0", 'a number > 0 or "auto"'),
        ("compute_multiplier", "fast", 'a number > 0 or "auto"'),
    ],
)
def test_a_bad_value_names_the_rule_and_the_key_to_set(name, value, rule):
    with pytest.raises(TaskConfigError) as raised:
        load(**{"rft:baseModel": GPT_OSS, f"rft:gsm8k:{name}": value})
    message = one_line(raised.value)
    assert message.startswith(f"{name} ") and f"must be {rule}" in message
    assert f"-c rft:gsm8k:{name}=<value>" in message


def test_a_bad_choice_lists_the_choices():
    with pytest.raises(TaskConfigError, match=r"reasoning_effort 'extreme' must be one of .*'default'"):
        load(**{"rft:baseModel": GPT_OSS, "rft:gsm8k:reasoning_effort": "extreme"})


def test_every_open_weight_name_has_a_rule_the_check_enforces():
    """Each spec rejects something: a name the table lists but the check ignored would go to the API."""
    for name, spec in OPEN_WEIGHT_HYPERPARAMETER_SPECS.items():
        bad = "not-a-choice" if spec.choices else str(spec.minimum - 1 if spec.kind is int else -math.inf)
        with pytest.raises(TaskConfigError, match=rf"^{name} "):
            load(**{"rft:baseModel": GPT_OSS, f"rft:gsm8k:{name}": bad})


# -- mistake: too few (or too many) training rows -------------------------------------------------------
def test_too_few_training_rows_fail_the_open_weight_stack_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr("stacks.rft_stack.DATA_DIR", tmp_path / "data")  # leave build/data alone
    context = {"rft:baseModel": GPT_OSS, "rft:gsm8k:maxTrainRecords": str(MIN_RECORDS - 1)}
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context=context)
    stack = build_task_stack(app, GSM8K)
    assert not isinstance(stack, RftStack)
    (error,) = Annotations.from_stack(stack).find_error("/GsmRftStack", Match.any_value())
    text = error.entry.data
    assert "\n" not in text
    assert text.startswith(
        f"GsmRftStack (gsm8k): the training set has {MIN_RECORDS:,}-{MAX_RECORDS:,} records"
    )
    assert f"train would have {MIN_RECORDS - 1} records" in text and "Fix: " in text


def test_the_row_limits_are_the_open_weight_pages_100_to_20000():
    """page rft-prepare-data-open-weight: "100-20K examples"; the same limit as Nova's, checked once."""
    assert (MIN_RECORDS, MAX_RECORDS) == (100, 20_000)
    assert count_problems({"train": MIN_RECORDS}) == [] and count_problems({"train": MAX_RECORDS}) == []
    (too_many,) = count_problems({"train": MAX_RECORDS + 1})
    assert "max_train_records" in too_many.fix


# -- rft config -------------------------------------------------------------------------------------
def test_rft_config_shows_the_open_weight_defaults_and_their_source(tmp_path, monkeypatch):
    monkeypatch.setattr("rft.config_view.CDK_JSON", tmp_path / "absent.json")
    result = CliRunner().invoke(
        rft_app, ["config", "gsm8k", "-c", f"rft:baseModel={GPT_OSS}", "-c", "rft:gsm8k:batch_size=8"]
    )
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()[1:]}
    assert rows["rft:region"] == ["default", "us-west-2"]
    assert rows["rft:gsm8k:n_epochs"] == ["default", "1"]
    assert rows["rft:gsm8k:batch_size"] == ["-c", "8"]
    assert rows["rft:gsm8k:learning_rate_multiplier"] == ["default", "1.0"]
    assert "rft:gsm8k:epochCount" not in rows
    bad = CliRunner().invoke(
        rft_app, ["config", "gsm8k", "-c", f"rft:baseModel={GPT_OSS}", "-c", "rft:gsm8k:epochCount=2"]
    )
    assert (
        bad.exit_code == 1
        and "set rft:gsm8k:n_epochs instead" in bad.output
        and "Traceback" not in bad.output
    )


@pytest.mark.parametrize(
    ("context", "region"),
    [
        ({"rft:baseModel": QWEN}, "us-west-2"),
        ({}, "us-east-1"),
        ({"rft:baseModel": QWEN, "rft:region": "eu-west-1"}, "eu-west-1"),
    ],
)
def test_the_cli_default_region_follows_cdk_jsons_model(context, region, monkeypatch):
    from rft import project

    monkeypatch.setattr(project, "cdk_context", lambda: context)
    assert project.default_region() == region


# -- in-process synth: each task's stack on the open-weight backend ----------------------------------------
@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_each_stack_synthesizes_on_the_mantle_backend(task, synth):
    template = synth(task.name, **{"rft:baseModel": GPT_OSS})
    (job,) = template.find_resources("Custom::BedrockRftJob").values()
    props = job["Properties"]
    assert props["Backend"] == BACKEND_MANTLE and props["BaseModelIdentifier"] == GPT_OSS
    assert json.loads(props["HyperParameters"]) == dict(OPEN_WEIGHT_DEFAULTS)
    assert "-us-west-2/" in json.dumps(props["TrainingDataUri"])
    assert template.to_json()["Outputs"]["JobBackend"]["Value"] == BACKEND_MANTLE
