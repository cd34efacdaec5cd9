"""Built-in tasks. Importing this package registers them; add one import per new task."""

from data_prep.registry import register
from data_prep.tasks.finqa import Finqa
from data_prep.tasks.gsm8k import Gsm8k
from data_prep.tasks.pandalm import Pandalm

register(Gsm8k())
register(Finqa())
register(Pandalm())

__all__ = ["Finqa", "Gsm8k", "Pandalm"]
