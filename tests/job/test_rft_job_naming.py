import re

import botocore.session
from hypothesis import given, settings
from hypothesis import strategies as st
from rft_job.naming import (
    CLIENT_REQUEST_TOKEN_PATTERN,
    CUSTOM_MODEL_NAME_PATTERN,
    JOB_NAME_PATTERN,
    NAME_MAX,
    job_names,
    looks_like_our_job_name,
)


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(max_size=200), stack=st.text(), logical=st.text(), request=st.text())
def test_names_and_token_are_valid_for_any_prefix(prefix, stack, logical, request):
    names = job_names(prefix, stack, logical, request)
    assert 1 <= len(names.job_name) <= NAME_MAX
    assert re.fullmatch(JOB_NAME_PATTERN, names.job_name)
    assert re.fullmatch(CUSTOM_MODEL_NAME_PATTERN, names.custom_model_name)
    assert "--" not in names.custom_model_name
    assert re.fullmatch(CLIENT_REQUEST_TOKEN_PATTERN, names.client_request_token)
    assert looks_like_our_job_name(names.job_name)


def test_readable_prefix_is_kept_and_long_prefix_truncated():
    assert job_names("gsmrftstack", "s", "l", "r").job_name.startswith("gsmrftstack-")
    assert job_names("My_Stack--v2.0", "s", "l", "r").job_name.startswith("my-stack-v2-0-")
    long = job_names("x" * 100, "s", "l", "r").job_name
    assert len(long) == NAME_MAX and long.startswith("x" * 50 + "-")
    assert job_names("___", "s", "l", "r").job_name.startswith("rft-")


def test_same_request_gives_same_names_and_any_other_request_new_ones():
    first = job_names("p", "stack", "Job", "req-1")
    assert job_names("p", "stack", "Job", "req-1") == first
    others = [job_names("p", "stack", "Job", "req-2"), job_names("p", "stack", "Job2", "req-1")]
    others.append(job_names("p", "other-stack", "Job", "req-1"))
    for other in others:
        assert other.job_name != first.job_name
        assert other.client_request_token != first.client_request_token


def test_placeholders_are_not_taken_for_jobs():
    assert not looks_like_our_job_name("AWSCDK::CustomResourceProviderFramework::CREATE_FAILED")
    assert not looks_like_our_job_name("")
    assert not looks_like_our_job_name("gsmrftstack")
    assert not looks_like_our_job_name("a" * 60 + "-0123456789ab")


def test_patterns_match_the_installed_botocore_model():
    shape = (
        botocore.session.get_session()
        .get_service_model("bedrock")
        .operation_model("CreateModelCustomizationJob")
        .input_shape
    )
    assert shape.members["jobName"].metadata["pattern"] == JOB_NAME_PATTERN
    assert shape.members["jobName"].metadata["max"] == NAME_MAX
    assert shape.members["customModelName"].metadata["pattern"] == CUSTOM_MODEL_NAME_PATTERN
    assert shape.members["customModelName"].metadata["max"] == NAME_MAX
    assert shape.members["clientRequestToken"].metadata["pattern"] == CLIENT_REQUEST_TOKEN_PATTERN
