"""A progress bar for long work: shown on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


@contextmanager
def progress_bar(total: int, unit: str, enabled: bool | None) -> Iterator[tqdm]:
    show = sys.stderr.isatty() if enabled is None else enabled
    bar = tqdm(total=total, unit=f" {unit}", desc="computing", disable=not show or total == 0, file=sys.stderr)
    try:
        with logging_redirect_tqdm():  # log lines go above the bar, not through it
            yield bar
    finally:
        bar.close()


def library_progress(show: bool | None) -> None:
    """Let transformers draw its own bars (GGUF conversion, weight loading) only when ours are shown."""
    from transformers.utils import logging as hf_logging

    if sys.stderr.isatty() if show is None else show:
        hf_logging.enable_progress_bar()
    else:
        hf_logging.disable_progress_bar()
