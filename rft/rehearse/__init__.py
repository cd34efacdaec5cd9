"""Rehearsing a reward before paying for a job: in-process scoring of real or user rollouts.

`rehearsal.rehearse` is the command; `sources` holds each task's bundled rollouts (and is where a new
task registers its own); `runner`, `analysis` and `report` run, measure and present.
"""
