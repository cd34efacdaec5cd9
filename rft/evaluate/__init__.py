"""`rft evaluate`: sample models through Bedrock Converse and score them with the task's own reward.

* `sampling`: the harness (bounded concurrency, retries, a resumable cache) any command can reuse;
* `stats`: Wilson intervals, exact McNemar, pass@k and the share of prompt groups with signal;
* `scoring`: the task's reward handler run in-process over the responses, in Bedrock-shaped batches;
* `report`, `html`: the terminal table, JSON, Markdown, PNG and the self-contained HTML page;
* `command`: `rft evaluate` itself (resolving `base`/`tuned`, the test split, confirmation).
"""
