"""Workloads that measure Voltlane; results go to docs/benchmarks.md, never into tests."""
