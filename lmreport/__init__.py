"""lmreport: markdown lessons with analysis directives -> an offline site of what a language model does."""

from .api import analyze, notebook_reset
from .errors import LessonError, LmreportError, LmreportWarning
from .result import Result

__version__ = "0.1.0"
__all__ = ["analyze", "notebook_reset", "LessonError", "LmreportError", "LmreportWarning", "Result", "__version__"]
