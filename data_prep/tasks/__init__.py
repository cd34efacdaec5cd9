"""Built-in tasks. Importing this package registers them; add one import per new task."""

from data_prep.registry import register
from data_prep.tasks.gsm8k import Gsm8k

register(Gsm8k())

__all__ = ["Gsm8k"]
