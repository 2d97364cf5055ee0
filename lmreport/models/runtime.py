"""Where a model runs and in which precision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lmreport.errors import LmreportError
from lmreport.models.sources import ModelSource

if TYPE_CHECKING:
    pass


DTYPES = ("float32", "bfloat16", "float16")


DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Runtime:
    """Where a model runs and in which precision. Results are read back to the CPU in float32 either way."""

    device: str = "auto"
    dtype: str = "float32"

    def resolved_device(self) -> str:
        """auto: CUDA if there is a GPU, else Apple's MPS, else the CPU; a device asked for must exist."""
        import torch

        mps = getattr(torch.backends, "mps", None)
        has = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available())}
        if self.device == "auto":
            return "cuda" if has["cuda"] else "mps" if has["mps"] else "cpu"
        if self.device not in has:
            raise LmreportError(f"device '{self.device}' is not one of {', '.join(DEVICES)}")
        if not has[self.device]:
            raise LmreportError(f"device '{self.device}' was asked for, but torch finds none on this machine")
        return self.device

    def key(self, source: ModelSource) -> str:
        return f"{source.key}|{self.device}|{self.dtype}"
