"""The post-training evaluation workflow's Lambda handlers (`rft_eval_workflow.handler.*`).

Thin: the evaluation itself is `rft_eval` (the same code `rft evaluate` runs), and the task's reward is
imported by its deployed handler string from the same asset root, as the grader runs it.
"""
