"""Numbers and claims in lesson prose (`=id.value`, `?claim`): their types, their grammar, their evaluation."""

from __future__ import annotations



