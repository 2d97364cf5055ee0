"""Benchmarks of lmreport builds, printed as ratios measured in one run (see bench/README.md)."""
