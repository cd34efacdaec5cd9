"""Datasets in, validated Amazon Bedrock RFT JSONL out. Pure Python, no AWS.

The CDK stacks call `prepare` at synth time; `python -m data_prep <task>` does the same from a
shell. See `converter.py` to add a task.
"""

from data_prep.converter import Converter
from data_prep.errors import DataPrepError, Problem, RowError
from data_prep.options import PrepOptions, PrepResult
from data_prep.pipeline import prepare
from data_prep.registry import TASKS, get_task
from data_prep.rows import RawRow

__all__ = [
    "TASKS",
    "Converter",
    "DataPrepError",
    "PrepOptions",
    "PrepResult",
    "Problem",
    "RawRow",
    "RowError",
    "get_task",
    "prepare",
]
