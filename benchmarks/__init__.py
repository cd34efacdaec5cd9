"""Benchmarks run by `make bench` (benchmarks/run.py); a package so they share benchmarks.harness."""
