"""What the build hands the writer: placed figures, each model's pages, comparisons."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmreport.glue.types import ClaimCount, Resolved
from lmreport.result import Result
from lmreport.source.lessons import Lesson
from lmreport.views.figure import Figure


@dataclass
class PlacedFigure:
    """A computed result, its drawing, where it goes, and how it is captioned."""

    lesson: Lesson
    index: int
    line: int
    title: str
    result: Result
    figure: Figure
    block_id: str | None = None
    folder: str = ""  # of its model's pages in a model matrix ('' for the site's root)

    @property
    def figure_id(self) -> str:
        return figure_id(self.index)

    @property
    def data_name(self) -> str:
        """Its numbers' file, from its model's folder."""
        return f"data/{self.lesson.slug}-{self.index + 1}-{self.result.analysis}.json"

    @property
    def csv_name(self) -> str:
        """Its numbers as a table, for analyses whose numbers are one (tables.TABLES)."""
        return self.data_name.removesuffix(".json") + ".csv"


def figure_id(index: int) -> str:
    """The id of the index-th figure of a page (unique on its page)."""
    return f"fig-{index + 1}"


@dataclass
class ModelSite:
    """The course's pages on one model: in the site's root, or in a folder of a model matrix."""

    label: str
    folder: str
    model: dict[str, str]
    figures: dict[str, list[PlacedFigure]] = field(default_factory=dict)
    references: dict[str, list[Resolved]] = field(default_factory=dict)

    @property
    def counts(self) -> ClaimCount:
        """How many of the course's claims hold, fail or are n/a on this model."""
        return ClaimCount.of(item for items in self.references.values() for item in items)


@dataclass
class Comparison:
    """One block of a lesson drawn on every model of the matrix (figures in the matrix's order)."""

    lesson: Lesson
    index: int
    figures: list[PlacedFigure]

    @property
    def page(self) -> str:
        return f"{self.lesson.slug}-{self.index + 1}.html"


@dataclass
class SiteInfo:
    course: dict[str, Any]
    versions: dict[str, str]
    build_date: str
    sites: list[ModelSite]  # one per model of the matrix, the first at the site's root
    comparisons: list[Comparison] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # site path -> a file lessons link to
    extra: Path | None = None  # a folder copied as it is into the site's top
    playground: tuple[Path, dict[str, Any]] | None = None  # the exported model's folder and its summary
