"""Built-in tasks. Importing this package registers them; `rft new-task` adds its import and `register` line."""

from data_prep.registry import register
from data_prep.tasks.finqa import Finqa
from data_prep.tasks.gsm8k import Gsm8k
from data_prep.tasks.pandalm import Pandalm

register(Gsm8k())
register(Finqa())
register(Pandalm())
# rft new-task: generated converters are registered above this line.

__all__ = ["Finqa", "Gsm8k", "Pandalm"]
