"""Evaluating models on a held-out split with the task's own reward: the parts `rft evaluate` and the
post-training evaluation workflow (`rft_eval_workflow`) share, written once.

Pure Python and boto3 only, because it ships in a Lambda asset: it never imports `rft`, rich, typer,
matplotlib or CDK (a test holds it to that).

* `prompts`: a data_prep JSONL record as the prompt to send and the reference to score against;
* `responses`: one Converse call's outcome (`Response`) and its JSON line;
* `converse`: the Converse harness (bounded concurrency, retries, error classification, fatal errors);
* `reward_contract`: reading a reward handler's answer against the Lambda contract;
* `scoring`: a reward handler, loaded by its handler string, run over responses in Bedrock-shaped batches;
* `stats`: Wilson intervals, exact McNemar, the paired difference's interval, pass@k, signal;
* `results`: per-model figures and the paired comparison, the JSON report's interface;
* `report_text`: the table rows, Markdown, JSON text and the one-paragraph summary;
* `chart`: the accuracy chart as a dependency-free SVG;
* `model_ids`: the on-demand id Converse accepts for a configured base model;
* `deployments`: naming, reusing and reading on-demand custom model deployments;
* `input_errors`: `EvalInputError`, a problem with the caller's input, worded as its fix.

No module shares a name with one under `rft/` (a test holds the two trees apart).
"""
