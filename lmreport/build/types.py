"""What a build is asked to do (BuildOptions) and what it reports when done (BuildSummary)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BuildOptions:
    lessons_dir: Path = Path("lessons")
    site_dir: Path | None = None  # None: course.yml's 'output', else site/
    model: str | None = None  # one model for the whole site (course.yml's 'model' or 'models' otherwise)
    models: tuple[str, ...] = ()  # a model matrix: the first at the site's root, each other in its folder
    strict: bool = False
    lint_claims: bool = False  # list the prose's numbers that no claim checks, each with a claim to check it
    use_cache: bool = True
    cache_dir: Path = Path(".lmreport-cache")
    progress: bool | None = None  # None: only on a terminal
    device: str = "auto"  # auto, cpu, cuda, mps
    dtype: str = "float32"  # float32, bfloat16, float16
    results_only: Path | None = None  # compute and write the results there; no site
    from_results: tuple[Path, ...] = ()  # render from these results folders; no model is loaded
    course: dict[str, str] = field(default_factory=dict)  # course.yml's keys set on the command line


@dataclass
class BuildSummary:
    pages: int = 0
    analyses: int = 0
    computed: int = 0
    cached: int = 0
    model_loads: int = 0
    forward_passes: int = 0
    skipped: int = 0  # blocks whose analysis does not apply to their model
    references: int = 0  # numbers and claims in the prose, taken from this build
    claims_failed: int = 0
    unchecked: int | None = None  # with --lint-claims: numbers of the prose that no claim checks
    seconds: float = 0.0
    site_dir: Path = Path("site")
    warnings: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # of the matrix, in order
    comparisons: int = 0  # comparison pages
    others: list[str] = field(default_factory=list)  # per other model of a matrix: what did not hold
    results_dir: Path | None = None

    def line(self) -> str:
        plural = "s" if self.claims_failed != 1 else ""
        where = (f"wrote the results of {self.analyses} analyses to {self.results_dir}/ (no site)"
                 if self.results_dir is not None else f"wrote {self.pages} pages to {self.site_dir}/")
        matrix = (f" for {len(self.models)} models ({', '.join(self.models)}) with {self.comparisons} comparison "
                  f"pages" if len(self.models) > 1 else "")
        return (
            f"{where}{matrix} in {self.seconds:.1f}s: "
            f"{self.analyses} analyses ({self.computed} computed, {self.cached} from cache"
            + (f", {self.skipped} skipped" if self.skipped else "") + "), "
            f"{self.forward_passes} forward passes, {self.model_loads} model load{'s' if self.model_loads != 1 else ''}"
            + (f"; {self.references} numbers and claims in the prose" if self.references else "")
            + (f", {self.claims_failed} failed claim{plural}" if self.claims_failed else "")
            + "".join(f"; {other}" for other in self.others)
        )
