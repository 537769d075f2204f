"""Locating the grammar and the rule files, in a source checkout and in an installed wheel.

The top-level `grammar/` and `rules/` folders are the single source of truth; the wheel carries
copies under `matgrad/_data/` (see pyproject.toml).  `grammar/matgrad.tables.json` is made from
the grammar (`python -m matgrad.front.tables`) and shipped beside it.  Invariant: both layouts
give the same text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    checkout = PACKAGE_DIR.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"matgrad's {name}/ folder is missing from the installation")


@cache
def grammar_text() -> str:
    return (_data_dir("grammar") / "matgrad.lark").read_text(encoding="utf-8")


def rule_files() -> list[Path]:
    return sorted(_data_dir("rules").glob("*.rules"))


def tables_path() -> Path:
    """The grammar's LALR tables as data (front/tables.py), beside the grammar."""
    return _data_dir("grammar") / "matgrad.tables.json"
