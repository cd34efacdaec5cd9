import json

import botocore.session
import pytest
from rft_job.properties import (
    DEFINITION_TAG_KEY,
    LAMBDA_ARN_PATTERN,
    ROLE_ARN_PATTERN,
    S3_URI_PATTERN,
    TAG_PATTERN,
    PropertyError,
    parse_properties,
)

from tests.job.events import GRADER_ARN, HYPER, NOVA, ROLE_ARN, properties


def test_parses_cloudformation_strings():
    props = parse_properties(properties(ValidationDataUri="", Tags="{}"))
    assert props.job_name_prefix == "gsmrftstack"
    assert props.base_model_identifier == NOVA
    assert props.role_arn == ROLE_ARN
    assert props.grader_lambda_arn == GRADER_ARN
    assert props.validation_data_uri is None
    assert props.hyper_parameters == HYPER
    assert props.tags == {}


def test_optional_properties_may_be_absent_and_mappings_are_accepted():
    props = parse_properties(properties(ValidationDataUri=None, HyperParameters=None, Tags={"team": "ml"}))
    assert props.validation_data_uri is None
    assert props.hyper_parameters == {}
    assert props.tags == {"team": "ml"}


def test_every_problem_is_reported_at_once():
    with pytest.raises(PropertyError) as raised:
        parse_properties(
            properties(
                RoleArn=None,
                GraderLambdaArn="",
                TrainingDataUri="https://bucket/train.jsonl",
                HyperParameters='{"batchSize": 8, "epochz": 1}',
                Tags='["not", "an object"]',
                ValidationDataURI="s3://typo/",
            )
        )
    message = str(raised.value)
    assert message.startswith("Invalid RFT job properties: ")
    assert "unknown properties ValidationDataURI" in message
    assert "missing required properties RoleArn, GraderLambdaArn" in message
    assert "TrainingDataUri 'https://bucket/train.jsonl' is not an s3://bucket/key URI" in message
    assert "HyperParameters: batchSize is 8, below Bedrock's minimum of 16" in message
    assert "HyperParameters: unknown hyperparameter 'epochz' (did you mean 'epochCount'?)" in message
    assert "Tags must be a JSON object, not list" in message
    assert len(raised.value.problems) == 6


def test_bad_json_is_reported_with_the_property_name():
    with pytest.raises(PropertyError, match=r"HyperParameters is not valid JSON \(Expecting"):
        parse_properties(properties(HyperParameters="{batchSize: 32}"))


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"aws:cloudformation:stack-name": "x"}, "is reserved"),
        ({DEFINITION_TAG_KEY: "x"}, "is reserved"),
        ({"owner": 7}, "must be a string"),
        ({"bad#key": "x"}, "letters, digits"),
        ({"k": "v" * 257}, "at most 256"),
    ],
)
def test_bad_tags_are_rejected(tags, message):
    with pytest.raises(PropertyError, match=message):
        parse_properties(properties(Tags=json.dumps(tags)))


def test_definition_ignores_json_order_whitespace_and_number_spelling():
    plain = parse_properties(properties(HyperParameters=json.dumps(HYPER, sort_keys=True)))
    respelled = {**HYPER, "batchSize": "32", "learningRate": "0.00005", "reasoningEffort": "HIGH"}
    reordered = parse_properties(
        properties(HyperParameters=json.dumps(dict(reversed(list(respelled.items()))), indent=4))
    )
    assert reordered.definition() == plain.definition()
    assert reordered.fingerprint() == plain.fingerprint()


def test_definition_covers_the_job_defining_properties_only():
    base = parse_properties(properties())
    for name, value in {
        "TrainingDataUri": "s3://gsm-rft-data/rft-data/train-v2.jsonl",
        "ValidationDataUri": "",
        "OutputDataUri": "s3://gsm-rft-data/other-output/",
        "BaseModelIdentifier": "amazon.nova-2-lite-v1:0:256k",
        "GraderLambdaArn": GRADER_ARN + "-v2",
        "HyperParameters": json.dumps({**HYPER, "epochCount": 2}),
    }.items():
        changed = parse_properties(properties(**{name: value}))
        assert changed.definition() != base.definition(), name
        assert changed.fingerprint() != base.fingerprint(), name
    for name, value in {
        "RoleArn": ROLE_ARN + "2",
        "Tags": "{}",
        "JobNamePrefix": "renamed",
    }.items():
        assert parse_properties(properties(**{name: value})).definition() == base.definition(), name


def test_patterns_match_the_installed_botocore_model():
    model = botocore.session.get_session().get_service_model("bedrock")
    shape = model.operation_model("CreateModelCustomizationJob").input_shape
    assert shape.members["trainingDataConfig"].members["s3Uri"].metadata["pattern"] == S3_URI_PATTERN
    assert shape.members["outputDataConfig"].members["s3Uri"].metadata["pattern"] == S3_URI_PATTERN
    assert shape.members["roleArn"].metadata["pattern"] == ROLE_ARN_PATTERN
    assert model.shape_for("LambdaArn").metadata["pattern"] == LAMBDA_ARN_PATTERN
    assert model.shape_for("TagKey").metadata["pattern"] == TAG_PATTERN
    assert model.shape_for("TagValue").metadata["pattern"] == TAG_PATTERN
