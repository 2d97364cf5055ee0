"""WRITE: pages, figures, data and assets into a staging folder, swapped in whole."""

from __future__ import annotations



