"""Patch bookkeeping: every attribute the emulator replaces in moto, so it can be put back.

The emulator patches moto while it runs and restores it when it stops; the rest of a test session
(plain `mock_aws` tests) then sees stock moto again.
"""

from __future__ import annotations

import threading
from typing import Any

_MISSING = object()
_originals: list[tuple[Any, str, Any]] = []
lock = threading.Lock()


def replace(owner: Any, name: str, value: Any) -> None:
    """setattr, remembering the original so `restore_all()` can put moto back exactly as it was."""
    _originals.append((owner, name, vars(owner).get(name, _MISSING)))
    setattr(owner, name, value)


def restore_all() -> None:
    while _originals:
        owner, name, original = _originals.pop()
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
