"""BUILD: the pipeline (pipeline.py, read top to bottom), planning the jobs (plan), computing them or taking them
from the cache (compute, cache, exchange), drawing them (draw), a model matrix (matrix) and the prose's numbers and
claims (claims)."""

from __future__ import annotations

from lmreport.build.pipeline import build, build_date, check_paths, configure
from lmreport.build.plan import Job, plan
from lmreport.build.types import BuildOptions, BuildSummary

__all__ = ["BuildOptions", "BuildSummary", "Job", "build", "build_date", "check_paths", "configure", "plan"]
