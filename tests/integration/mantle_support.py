"""Helpers for the mantle endpoint tests: plain botocore-signed HTTP, training files, a grader Lambda."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from data_prep.converters.gsm8k import SYSTEM_PROMPT, USER_TEMPLATE
from local_aws import converse_replay, settings

REGION = "us-west-2"
MODEL = "openai.gpt-oss-20b"
LAMBDA_DIR = settings.PROJECT_ROOT / "lambda"
_http = urllib3.PoolManager(retries=False)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    @property
    def error(self) -> dict[str, Any]:
        return dict(self.body.get("error") or {}) if isinstance(self.body, dict) else {}


class Signed:
    """Plain HTTP to the emulator, each request SigV4-signed with botocore (no project client code)."""

    def __init__(
        self,
        endpoint: str,
        *,
        region: str = REGION,
        service: str = "bedrock-mantle",
        access_key: str = settings.ACCESS_KEY_ID,
        secret: str = settings.SECRET_ACCESS_KEY,
    ) -> None:
        self.endpoint, self.region, self.service = endpoint, region, service
        self.credentials = Credentials(access_key, secret)

    def signed_headers(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        SigV4Auth(self.credentials, self.service, self.region).add_auth(request)
        return dict(request.headers.items())

    def send(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        response = _http.request(method, url, body=body or None, headers=dict(headers))
        try:
            parsed: Any = json.loads(response.data)
        except ValueError:
            parsed = response.data
        return Reply(response.status, parsed)

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Reply:
        url = f"{self.endpoint}{path}"
        headers = {"Content-Type": content_type} if content_type else {}
        if json_body is not None:
            body, headers = json.dumps(json_body).encode(), {"Content-Type": "application/json"}
        return self.send(method, url, body, self.signed_headers(method, url, body, headers))

    def upload(self, data: bytes, *, filename: str = "train.jsonl", purpose: str = "fine-tune") -> Reply:
        body, content_type = urllib3.encode_multipart_formdata(
            {"purpose": purpose, "file": (filename, data, "application/jsonl")}
        )
        return self.call("POST", "/v1/files", body=body, content_type=content_type)


def recorded_rows(count: int) -> list[dict[str, Any]]:
    """GSM8K training rows (data_prep's prompt) for questions the replay has recordings of."""
    seen: dict[str, str] = {}
    for line in converse_replay.SOLUTIONS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        seen.setdefault(row["question"], row["gold"])
    rows = []
    for index, (question, gold) in enumerate(list(seen.items())[:count]):
        rows.append(
            {
                "id": f"q{index}",
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": USER_TEMPLATE.format(question=question)},
                ],
                "reference_answer": {"final_answer": gold},
            }
        )
    return rows


def labels() -> dict[tuple[str, str], bool]:
    """(replayed model id, normalized question) -> GSM8K's authors' is_correct label."""
    out = {}
    for line in converse_replay.SOLUTIONS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[(converse_replay.model_id(row["model"]), converse_replay.normalize(row["question"]))] = row[
            "is_correct"
        ]
    return out


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def package(*folders: str, extra: Mapping[str, str] | None = None) -> bytes:
    """A zip of lambda/<folder> trees (as the stacks package them), plus extra files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in folders:
            for path in sorted((LAMBDA_DIR / folder).rglob("*.py")):
                archive.write(path, str(path.relative_to(LAMBDA_DIR)))
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def lambda_client(endpoint: str, region: str = REGION) -> Any:
    return boto3.session.Session(
        aws_access_key_id=settings.ACCESS_KEY_ID,
        aws_secret_access_key=settings.SECRET_ACCESS_KEY,
        region_name=region,
    ).client("lambda", endpoint_url=endpoint)


def create_function(endpoint: str, role_arn: str, name: str, code: bytes, handler: str) -> str:
    created = lambda_client(endpoint).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler=handler,
        Code={"ZipFile": code},
        Timeout=60,
    )
    return str(created["FunctionArn"])


def gsm8k_reward(endpoint: str, role_arn: str, name: str = "gsm8k-reward") -> str:
    """The project's real GSM8K reward Lambda, deployed in us-west-2; returns its ARN."""
    return create_function(
        endpoint, role_arn, name, package("rft_reward", "gsm8k_reward"), "gsm8k_reward.handler.lambda_handler"
    )


def job_body(training_file: str, grader: str, **hyperparameters: Any) -> dict[str, Any]:
    return {
        "training_file": training_file,
        "model": MODEL,
        "method": {
            "type": "reinforcement",
            "reinforcement": {
                "grader": {"type": "lambda", "lambda": {"function": grader}},
                "hyperparameters": {"n_epochs": 1, "batch_size": 4, **hyperparameters},
            },
        },
    }


def bundled_train_rows(count: int) -> list[dict[str, Any]]:
    """Rows in data_prep's GSM8K format from its bundled train split (no recording answers these)."""
    from data_prep.converters.gsm8k import final_answer

    source = Path(settings.PROJECT_ROOT / "data_prep" / "samples" / "gsm8k" / "train.jsonl")
    rows = []
    for index, line in enumerate(source.read_text(encoding="utf-8").splitlines()[:count]):
        raw = json.loads(line)
        rows.append(
            {
                "id": f"train{index}",
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": USER_TEMPLATE.format(question=raw["question"])},
                ],
                "reference_answer": {"final_answer": final_answer(raw["answer"]), "solution": raw["answer"]},
            }
        )
    return rows
