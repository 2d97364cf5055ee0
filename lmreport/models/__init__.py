"""MODEL: finding models (sources), loading them (loading, runtime), the single forward pass and the lens
(forward), where each architecture keeps its parts (architecture), and readouts through the final norm
(readouts). Everything torch-related lives here and in the analyses' compute modules."""

from __future__ import annotations

from lmreport.models.forward import EVERYTHING, MAX_PROMPT_TOKENS, ForwardPass, LoadedModel, unbatched
from lmreport.models.kernels import fast_linears
from lmreport.models.loading import _LOADED, converted_folder, is_loaded, load, sizes_and_tokenizer, unload
from lmreport.models.runtime import DEVICES, DTYPES, Runtime
from lmreport.models.sources import (
    DEFAULT_MODEL,
    EMBEDDED,
    ModelSource,
    cache_home,
    file_hash,
    folder_hash,
    refuse_remote_code,
    resolve,
)

__all__ = [
    "DEFAULT_MODEL", "DEVICES", "DTYPES", "EMBEDDED", "EVERYTHING", "MAX_PROMPT_TOKENS", "_LOADED", "ForwardPass",
    "LoadedModel", "ModelSource", "Runtime", "cache_home", "converted_folder", "fast_linears", "file_hash",
    "folder_hash", "is_loaded", "load", "refuse_remote_code", "resolve", "sizes_and_tokenizer", "unbatched", "unload",
]
