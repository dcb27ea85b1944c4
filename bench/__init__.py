"""Benchmarks (`make bench`): figures in bench/results/ and docs/performance.md."""
