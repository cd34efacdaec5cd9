"""`rft evaluate`: sample models through Bedrock Converse and score them with the task's own reward.

The pieces the post-training evaluation workflow shares live once in `lambda/rft_eval/` (statistics,
results and their JSON, Markdown, the summary, the SVG chart, the Converse harness, scoring in
Bedrock-shaped batches); this package is what only the CLI has:

* `sampling`: the harness with the resumable cache and the CLI's messages;
* `cache`: the resumable JSONL of responses, keyed by (model, prompt id, sample index);
* `models`: what `--model` accepts, and how `base` and `tuned` resolve;
* `grading`: which reward handler scores (as `rft rehearse` chooses it);
* `report`, `html`: the terminal table, the files on disk (JSON, Markdown, SVG, PNG), the HTML page;
* `command`, `cli`: `rft evaluate` itself and its options.
"""
