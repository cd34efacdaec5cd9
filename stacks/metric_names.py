"""lambda/rft_reward/metric_names.py, loaded by path: the CDK app never imports a Lambda package, and
the reward function, its dashboard, its alarms and `rft status` must agree on every metric name."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from stacks.functions import LAMBDA_ROOT

METRIC_NAMES_FILE = LAMBDA_ROOT / "rft_reward" / "metric_names.py"


def _load() -> ModuleType:
    name = "stacks._rft_reward_metric_names"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, METRIC_NAMES_FILE)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


names: ModuleType = _load()
