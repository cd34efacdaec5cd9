"""Logical ids as if some construct levels were not there, so a refactor into child constructs does not
replace deployed resources.

CloudFormation replaces a resource whose logical id changes, and CDK derives the id from the
construct path. Replacing this project's job custom resource would stop a running job, and its
reward function, roles and bucket feed the job's properties, so a stack that moves them into child
constructs keeps their old ids with `flat_logical_id`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

# aws-cdk-lib core/lib/private/uniqueid.ts: the algorithm behind Stack.allocateLogicalId.
_HIDDEN_ID = "Default"
_HIDDEN_FROM_HUMAN_ID = "Resource"
_HASH_LEN = 8
_MAX_HUMAN_LEN = 240
_MAX_ID_LEN = 255


def flat_logical_id(path: Sequence[str]) -> str:
    """The logical id CDK gives a resource at `path` (construct ids below the stack)."""
    components = [c for c in path if c != _HIDDEN_ID]
    if len(components) == 1 and len(_alphanumeric(components[0])) <= _MAX_ID_LEN:
        return _alphanumeric(components[0])
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()
    human: list[str] = []
    for component in components:
        if not human or not human[-1].endswith(component):
            human.append(component)
    readable = "".join(_alphanumeric(c) for c in human if c != _HIDDEN_FROM_HUMAN_ID)
    return readable[:_MAX_HUMAN_LEN] + digest[:_HASH_LEN].upper()


def _alphanumeric(component: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", component)
