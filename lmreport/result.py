"""The plain-data result of one analysis, as cached, written to JSON and rendered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_FIELDS = ("analysis", "options", "model", "data")


_MODEL_FIELDS = ("name", "kind", "revision")  # the model's identity, as the site's footer reads it


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages: object, array, string, number, boolean, null."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


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
    def from_dict(cls, d: Any) -> Result:
        """The inverse of to_dict; TypeError or ValueError, saying what is wrong, for any other shape."""
        if not isinstance(d, dict):
            raise TypeError(f"a result must be an object, not {json_type(d)}")
        missing = [name for name in _FIELDS if name not in d]
        if missing:
            raise ValueError(f"the result has no {', '.join(repr(m) for m in missing)}")
        extra = sorted(str(k) for k in d if k not in _FIELDS)
        if extra:
            raise ValueError(f"the result has unknown fields {', '.join(repr(e) for e in extra)}")
        analysis, options, model, data = (d[name] for name in _FIELDS)
        if not isinstance(analysis, str):
            raise TypeError(f"the result's 'analysis' must be a string, not {json_type(analysis)}")
        for name, value in (("options", options), ("model", model), ("data", data)):
            if not isinstance(value, dict):
                raise TypeError(f"the result's '{name}' must be an object, not {json_type(value)}")
        for key, value in model.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"the result's 'model' must map names to strings; '{key}' is {json_type(value)}")
        missing = [name for name in _MODEL_FIELDS if name not in model]
        if missing:
            raise ValueError(f"the result's 'model' has no {', '.join(repr(m) for m in missing)}")
        return cls(analysis=analysis, options=options, model=model, data=data)
