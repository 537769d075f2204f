"""matgrad's version, read once from the installed package's metadata (pyproject.toml is the
one place it is written); a source tree that is not installed says so."""

from __future__ import annotations

from importlib import metadata

try:
    VERSION = metadata.version("matgrad")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0+unknown"
