"""The grammar's LALR tables, shipped with matgrad as data (grammar/matgrad.tables.json), so
that a run loads them instead of building them (building takes longer than a small derivation).

The file holds Lark's serialised parser (`Lark.memo_serialize`: dicts, lists, tuples, strings,
numbers) in JSON, with the SHA-256 of the grammar it was built from and the Lark version that
built it.  Invariants: nothing but JSON is ever read (no pickle, no user cache: nothing another
user can plant is loaded); tables whose grammar hash or Lark version differ from the running
ones are never used (the parser is built from the grammar instead, as correct and slower); the
shipped file is kept current by `python -m matgrad.front.tables` and a test.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark.grammar import Rule
from lark.lark import PostLex
from lark.lexer import TerminalDef

from matgrad.front.postlex import PostLexer
from matgrad.resources import grammar_text, tables_path

# Lark's options that are objects rather than data: given again when the tables are loaded.
_OBJECT_OPTIONS = ("postlex",)


def grammar_digest() -> str:
    return hashlib.sha256(grammar_text().encode("utf-8")).hexdigest()


def _encode(value: Any) -> Any:
    """JSON for Lark's serialised parser, keeping what JSON lacks: tuples, non-string keys."""
    if isinstance(value, dict):
        return {"dict": [[_encode(key), _encode(item)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"tuple": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"the parser tables hold a {type(value).__name__}, which is no data")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(_decode(item) for item in value["tuple"])
        return {_decode(key): _decode(item) for key, item in value["dict"]}
    return value


def tables_text(parser: Lark) -> str:
    """The shipped file's text for `parser` (built from the current grammar)."""
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data = dict(data, options={key: value for key, value in data["options"].items()
                               if key not in _OBJECT_OPTIONS})
    document = {"grammar_sha256": grammar_digest(), "lark": lark.__version__,
                "data": _encode(data), "memo": _encode(memo)}
    return json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n"


def load_tables(path: Path, postlex: PostLex) -> Lark | None:
    """The parser from the shipped tables, or None when they are missing, unreadable, or made
    from another grammar or by another Lark."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("grammar_sha256") != grammar_digest() \
            or document.get("lark") != lark.__version__:
        return None
    # Lark's loader of a serialised parser (what its standalone parsers call), untyped.
    loaded: Lark = Lark._load_from_dict(  # type: ignore[no-untyped-call]
        _decode(document["data"]), _decode(document["memo"]), postlex=postlex)
    return loaded


def build_parser(postlex: PostLex) -> Lark:
    return Lark(grammar_text(), parser="lalr", lexer="contextual", start=["program", "rulefile"],
                propagate_positions=True, maybe_placeholders=False, postlex=postlex)


def parser() -> Lark:
    """The parser: from the shipped tables when they are current, else built."""
    return load_tables(tables_path(), PostLexer()) or build_parser(PostLexer())


def main() -> None:
    """Write the shipped tables for the current grammar (after changing grammar/)."""
    path = tables_path()
    path.write_text(tables_text(build_parser(PostLexer())), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
