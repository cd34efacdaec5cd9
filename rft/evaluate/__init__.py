"""`rft evaluate`: sample models through Bedrock Converse and score them with the task's own reward.

* `sampling`: the harness (bounded concurrency, retries, fatal errors) any command can reuse;
* `cache`: the resumable JSONL of responses, keyed by (model, prompt id, sample index);
* `models`: what `--model` accepts, and how `base` and `tuned` resolve;
* `stats`: Wilson intervals, exact McNemar, pass@k and whether a prompt group carries signal;
* `grading`: the task's reward handler run in-process over the responses, in Bedrock-shaped batches;
* `results`: per-model figures and the paired comparison, the JSON report's interface;
* `report`, `html`: the terminal table, JSON, Markdown, PNG and the self-contained HTML page;
* `command`, `cli`: `rft evaluate` itself and its options.
"""
