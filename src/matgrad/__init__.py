"""matgrad: gradients of matrix objectives, derived step by step with the identities of
Delong's "Practical Guide to Matrix Calculus for Deep Learning", printed as text and LaTeX and
generated as vectorized NumPy code."""

from matgrad.api import Derivation, check, derive, parse
from matgrad.check import CheckReport
from matgrad.errors import (
    CodegenError,
    MatgradError,
    MatgradSyntaxError,
    RuleError,
    ShapeError,
    UnsupportedError,
    UsageError,
)
from matgrad.version import VERSION

__all__ = [
    "CheckReport", "CodegenError", "Derivation", "MatgradError", "MatgradSyntaxError", "RuleError",
    "ShapeError", "UnsupportedError", "UsageError", "check", "derive", "parse",
]
__version__ = VERSION
