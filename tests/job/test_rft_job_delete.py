import pytest
from rft_job import handler

from tests.job.events import create_event, delete_event, get_job_response

PLACEHOLDER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


def test_delete_stops_a_running_job(bedrock, context):
    name = handler.on_event(create_event(), context)["PhysicalResourceId"]
    assert handler.on_event(delete_event(name), context) == {"PhysicalResourceId": name}
    assert bedrock.get_model_customization_job(jobIdentifier=name)["status"] == "Stopped"


def test_delete_of_a_missing_job_succeeds(bedrock, context, bedrock_calls):
    gone = "gsmrftstack-0123456789ab"
    assert handler.on_event(delete_event(gone), context) == {"PhysicalResourceId": gone}
    assert bedrock_calls == ["GetModelCustomizationJob"]


@pytest.mark.parametrize("physical_id", [PLACEHOLDER, "", "not-one-of-ours"])
def test_delete_of_an_id_that_is_not_our_job_makes_no_call(stubbed, context, bedrock_calls, physical_id):
    assert handler.on_event(delete_event(physical_id, props={}), context) == {
        "PhysicalResourceId": physical_id
    }
    assert bedrock_calls == []


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_delete_leaves_a_finished_job_alone(stubbed, context, bedrock_calls, status):
    name = "gsmrftstack-0123456789ab"
    stubbed.add_response(
        "get_model_customization_job", get_job_response(name, status=status), {"jobIdentifier": name}
    )
    handler.on_event(delete_event(name), context)
    assert bedrock_calls == ["GetModelCustomizationJob"]


def test_job_finishing_between_check_and_stop_is_not_an_error(stubbed, context, log_lines):
    name = "gsmrftstack-0123456789ab"
    stubbed.add_response("get_model_customization_job", get_job_response(name))
    stubbed.add_client_error("stop_model_customization_job", service_error_code="ValidationException")
    assert handler.on_event(delete_event(name), context) == {"PhysicalResourceId": name}
    assert not [line for line in log_lines() if line["level"] == "ERROR"]
    assert [line["outcome"] for line in log_lines() if "outcome" in line] == ["not-running"]


@pytest.mark.parametrize("failing", ["get_model_customization_job", "stop_model_customization_job"])
def test_delete_never_fails_the_stack_but_says_how_to_stop_the_job(stubbed, context, log_lines, failing):
    name = "gsmrftstack-0123456789ab"
    if failing == "stop_model_customization_job":
        stubbed.add_response("get_model_customization_job", get_job_response(name))
    stubbed.add_client_error(failing, service_error_code="AccessDeniedException", http_status_code=403)

    assert handler.on_event(delete_event(name), context) == {"PhysicalResourceId": name}

    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert f"aws bedrock stop-model-customization-job --job-identifier {name}" in errors[0]["message"]
    assert "AccessDeniedException" in errors[0]["error"]
