"""The user's cache of work that every run would otherwise repeat: the grammar's LALR tables
(built by Lark) and the loaded rules of rules/.

Invariants: entries live in the user's own cache folder ($XDG_CACHE_HOME/matgrad or
~/.cache/matgrad), never in a shared temporary folder; every key hashes all that the entry was
made from (the rule texts, the grammar and matgrad's own source), so a changed rule or a changed
matgrad never reads a stale entry; a folder that cannot be written, a missing or unreadable
entry, or MATGRAD_CACHE=0 simply means no cache.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def folder() -> Path | None:
    """The cache folder, created if needed; None when caching is off or impossible."""
    if os.environ.get("MATGRAD_CACHE") == "0":
        return None
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(home) / "matgrad"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


@cache
def source_digest() -> str:
    """A hash of matgrad's own code: what built an entry is part of its key."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()


def key(*parts: str) -> str:
    digest = hashlib.sha256(source_digest().encode("ascii"))
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def load(name: str) -> object | None:
    """The entry `name` (from `key`), or None."""
    where = folder()
    if where is None:
        return None
    try:
        with (where / f"{name}.pickle").open("rb") as handle:
            value: object = pickle.load(handle)  # the user's own cache, written by store()
            return value
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        return None


def store(name: str, value: object) -> None:
    where = folder()
    if where is None:
        return
    target = where / f"{name}.pickle"
    partial = where / f"{name}.{os.getpid()}.partial"
    try:
        with partial.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(target)  # atomic: a concurrent reader sees all of it or nothing
    except OSError:
        partial.unlink(missing_ok=True)
        return
    prune(where, name.split("-", maxsplit=1)[0], f"{name}.pickle")


def prune(where: Path, prefix: str, keep: str) -> None:
    """Remove the entries of `prefix` made by other versions (only `keep` is current)."""
    for old in where.glob(f"{prefix}-*"):
        if old.name != keep and not old.name.endswith(".partial"):
            old.unlink(missing_ok=True)
