"""RFT hyperparameters: turn loosely typed input into the exact types and ranges Bedrock accepts.

CloudFormation delivers every property as a string, and people write `"32"`, `32` or `32.0` for
the same batch size, so values are converted here rather than trusted. The ranges are the one table
in `rft_job.hyperparameter_ranges`, which synth checks against too; a test pins it to botocore.
Checking them before calling AWS turns a late, vague `ValidationException` into a message that
names the key and the allowed range.
"""

import difflib
import math
from collections.abc import Mapping
from typing import Any

from rft_job.hyperparameter_ranges import HYPERPARAMETER_SPECS, HyperParameterSpec

HyperParameterValue = int | float | str


class HyperParameterError(ValueError):
    """One or more hyperparameters are unusable; the message lists every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_hyperparameters(raw: Mapping[str, Any]) -> dict[str, HyperParameterValue]:
    """Return `raw` with each value converted to Bedrock's type, or raise listing every bad entry.

    All problems are reported together so one failed deployment is enough to fix them all.
    """
    parsed: dict[str, HyperParameterValue] = {}
    problems: list[str] = []
    for name, value in raw.items():
        spec = HYPERPARAMETER_SPECS.get(name)
        if spec is None:
            problems.append(_unknown_key_message(str(name)))
            continue
        try:
            parsed[name] = _convert(name, value, spec)
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise HyperParameterError(problems)
    return parsed


def _unknown_key_message(name: str) -> str:
    valid = sorted(HYPERPARAMETER_SPECS)
    guess = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean '{guess[0]}'?)" if guess else ""
    return f"unknown hyperparameter '{name}'{hint}; valid keys are {', '.join(valid)}"


def _convert(name: str, value: Any, spec: HyperParameterSpec) -> HyperParameterValue:
    if spec.kind is str:
        return _convert_choice(name, value, spec.choices)
    number = _convert_int(name, value) if spec.kind is int else _convert_float(name, value)
    _check_range(name, number, spec)
    return number


def _convert_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in choices:
        raise ValueError(f"{name} is {value!r}; use one of {', '.join(choices)}")
    return text


def _convert_int(name: str, value: Any) -> int:
    # bool is an int subclass; `true` for a batch size is a mistake, not 1.
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value.strip())
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
    raise ValueError(f"{name} must be a whole number, not {value!r}")


def _convert_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, not {value!r}")
    number = math.nan
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return number


def _check_range(name: str, number: float, spec: HyperParameterSpec) -> None:
    if spec.minimum is not None and number < spec.minimum:
        raise ValueError(f"{name} is {number:g}, below Bedrock's minimum of {spec.minimum:g}{_range(spec)}")
    if spec.maximum is not None and number > spec.maximum:
        raise ValueError(f"{name} is {number:g}, above Bedrock's maximum of {spec.maximum:g}{_range(spec)}")


def _range(spec: HyperParameterSpec) -> str:
    if spec.minimum is not None and spec.maximum is not None:
        return f"; use a value from {spec.minimum:g} to {spec.maximum:g}"
    return ""
