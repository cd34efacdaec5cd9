from pathlib import Path

import botocore.session
import pytest
from rft_job import hyperparameter_ranges
from rft_job.hyperparameters import HYPERPARAMETER_SPECS, HyperParameterError, parse_hyperparameters


def test_converts_cloudformation_strings_to_bedrock_types():
    parsed = parse_hyperparameters(
        {
            "epochCount": "2",
            "batchSize": 32.0,
            "learningRate": "5e-5",
            "maxPromptLength": " 310 ",
            "reasoningEffort": "High",
            "evalInterval": 10,
        }
    )
    assert parsed == {
        "epochCount": 2,
        "batchSize": 32,
        "learningRate": 5e-5,
        "maxPromptLength": 310,
        "reasoningEffort": "high",
        "evalInterval": 10,
    }
    assert type(parsed["batchSize"]) is int and type(parsed["learningRate"]) is float


def test_unknown_key_is_named_with_a_suggestion():
    with pytest.raises(
        HyperParameterError, match=r"unknown hyperparameter 'epochs' \(did you mean 'epochCount'\?\)"
    ):
        parse_hyperparameters({"epochs": 1})


def test_out_of_range_names_the_limit_and_the_range():
    with pytest.raises(HyperParameterError) as raised:
        parse_hyperparameters({"batchSize": 8, "learningRate": 0.01})
    assert raised.value.problems == [
        "batchSize is 8, below Bedrock's minimum of 16; use a value from 16 to 512",
        "learningRate is 0.01, above Bedrock's maximum of 0.001; use a value from 1e-07 to 0.001",
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("batchSize", True, "whole number"),
        ("batchSize", 32.5, "whole number"),
        ("batchSize", "thirty-two", "whole number"),
        ("learningRate", "nan", "finite number"),
        ("learningRate", False, "must be a number"),
        ("reasoningEffort", "extreme", "use one of low, medium, high"),
        ("reasoningEffort", 3, "use one of low, medium, high"),
        ("maxPromptLength", 0, "below Bedrock's minimum of 1"),
    ],
)
def test_rejects_values_of_the_wrong_kind(name, value, message):
    with pytest.raises(HyperParameterError, match=message):
        parse_hyperparameters({name: value})


def test_specs_match_the_installed_botocore_model():
    """If botocore's ranges or key set change, this fails rather than letting the check drift."""
    model = botocore.session.get_session().get_service_model("bedrock")
    shape = model.shape_for("RFTHyperParameters")
    assert set(shape.members) == set(HYPERPARAMETER_SPECS)
    kinds = {"integer": int, "float": float, "string": str}
    for name, member in shape.members.items():
        spec = HYPERPARAMETER_SPECS[name]
        assert spec.kind is kinds[member.type_name], name
        assert tuple(member.metadata.get("enum", ())) == spec.choices, name
        if "min" in member.metadata:
            assert spec.minimum == member.metadata["min"], name
        if "max" in member.metadata:
            assert spec.maximum == member.metadata["max"], name


def test_synth_and_the_job_function_read_the_same_one_table():
    """stacks/config.py loads lambda/rft_job/hyperparameter_ranges.py by path: one table, not two copies."""
    from stacks import config

    assert HYPERPARAMETER_SPECS is hyperparameter_ranges.HYPERPARAMETER_SPECS
    assert config.RANGES_FILE.resolve() == Path(hyperparameter_ranges.__file__).resolve()
    as_tuples = {k: (s.kind, s.minimum, s.maximum, s.choices) for k, s in HYPERPARAMETER_SPECS.items()}
    assert {
        k: (s.kind, s.minimum, s.maximum, s.choices) for k, s in config.HYPERPARAMETER_SPECS.items()
    } == as_tuples


def test_the_range_table_is_standard_library_only():
    """It ships in the job function's asset and is loaded by the CDK app: nothing beyond the stdlib."""
    import ast
    import sys

    tree = ast.parse(Path(hyperparameter_ranges.__file__).read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
