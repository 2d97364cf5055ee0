"""The plain-data result of one analysis, as cached, written to JSON and rendered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    """analysis name, its options, the model's identity, and the numbers (JSON-serialisable)."""

    analysis: str
    options: dict[str, Any]
    model: dict[str, str]
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() deep-copies every number of large results.
        return {"analysis": self.analysis, "options": self.options, "model": self.model, "data": self.data}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        return cls(analysis=d["analysis"], options=d["options"], model=d["model"], data=d["data"])

    def _repr_html_(self) -> str:
        """The same view as on the site, with its scripts inlined so it works in a notebook offline."""
        from .render import standalone_html

        return standalone_html(self)
