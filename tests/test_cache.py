"""Nothing runs but matgrad's own code: no user cache is read or written (the pickled grammar
tables and rules of $XDG_CACHE_HOME/matgrad ran a planted pickle at the next plain run), and
the grammar's tables ship as JSON data (grammar/matgrad.tables.json), used only when made from
the running grammar by the running Lark."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import lark
import pytest

from matgrad.front import tables
from matgrad.front.postlex import PostLexer
from matgrad.resources import rule_files, tables_path

PROGRAM = "W: n x m; J = sum(W .* W)"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class _Planted:
    """Unpickling this creates a file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        return (os.system, (f"touch {self.marker}",))


def run(cache_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    env.pop("MATGRAD_CACHE", None)
    return subprocess.run([sys.executable, "-m", "matgrad.cli", "-e", PROGRAM], env=env,
                          capture_output=True, text=True, check=False, encoding="utf-8")


def _plant(folder: Path, marker: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps(_Planted(marker))
    # Every name the old cache read: its rules and Lark's grammar tables, under any key.
    for name in ("rules-0123456789abcdef01234567.pickle", "grammar-0123456789abcdef0123.lark"):
        (folder / name).write_bytes(payload)


def test_a_planted_pickle_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _plant(tmp_path / "cache" / "matgrad", marker)
    result = run(tmp_path / "cache")
    assert result.returncode == 0 and result.stdout == "∂J/∂W = 2W\n", result.stderr
    assert not marker.exists()


def test_a_foreign_world_writable_folder_is_not_read(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    folder = tmp_path / "shared" / "matgrad"
    _plant(folder, marker)
    folder.chmod(0o777)
    if os.geteuid() == 0:
        os.chown(folder, 65534, 65534)  # another user's folder, as in the report
    result = run(tmp_path / "shared")
    assert result.returncode == 0 and not marker.exists()


def test_nothing_is_written_and_no_link_is_followed(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "matgrad"
    folder.mkdir(parents=True)
    target = tmp_path / "precious"
    target.write_text("untouched")
    for pid in range(2):  # a partial file the old cache wrote through, linked elsewhere
        (folder / f"rules-0123456789abcdef01234567.{pid}.partial").symlink_to(target)
    before = sorted(path.name for path in folder.iterdir())
    result = run(tmp_path / "cache")
    assert result.returncode == 0
    assert target.read_text() == "untouched"
    assert sorted(path.name for path in folder.iterdir()) == before
    result = run(tmp_path / "fresh")
    assert result.returncode == 0 and not (tmp_path / "fresh").exists()


def test_no_pickle_or_marshal_in_matgrad() -> None:
    source = Path(tables.__file__).resolve().parent.parent
    offenders = [str(path.relative_to(source)) for path in source.rglob("*.py")
                 if any(f"import {module}" in path.read_text(encoding="utf-8")
                        or f"from {module}" in path.read_text(encoding="utf-8")
                        for module in ("pickle", "marshal", "shelve", "dill", "cloudpickle"))]
    assert offenders == []


def test_the_shipped_tables_are_made_from_this_grammar() -> None:
    # After a change of grammar/matgrad.lark: python -m matgrad.front.tables
    document = json.loads(tables_path().read_text(encoding="utf-8"))
    assert document["grammar_sha256"] == tables.grammar_digest(), \
        "grammar/matgrad.tables.json is stale: run python -m matgrad.front.tables"
    assert document["lark"] == lark.__version__
    assert tables.load_tables(tables_path(), PostLexer()) is not None


def test_the_shipped_tables_parse_as_the_grammar_does() -> None:
    loaded = tables.load_tables(tables_path(), PostLexer())
    built = tables.build_parser(PostLexer())
    assert loaded is not None
    for path in sorted(EXAMPLES.glob("*.mg")):
        text = path.read_text(encoding="utf-8")
        assert loaded.parse(text, start="program") == built.parse(text, start="program"), path
    for path in rule_files():
        text = path.read_text(encoding="utf-8")
        assert loaded.parse(text, start="rulefile") == built.parse(text, start="rulefile"), path


@pytest.mark.parametrize("change", ["grammar", "lark", "damaged"])
def test_tables_of_another_grammar_or_lark_are_not_used(tmp_path: Path, change: str) -> None:
    document = json.loads(tables_path().read_text(encoding="utf-8"))
    if change == "grammar":
        document["grammar_sha256"] = "0" * 64
    elif change == "lark":
        document["lark"] = "0.0.1"
    path = tmp_path / "tables.json"
    path.write_text("{not json" if change == "damaged" else json.dumps(document))
    assert tables.load_tables(path, PostLexer()) is None


def test_only_data_is_encoded() -> None:
    assert tables._decode(tables._encode({1: (2, "a"), "b": [None, 1.5]})) == \
        {1: (2, "a"), "b": [None, 1.5]}
    with pytest.raises(TypeError, match="no data"):
        tables._encode({"postlex": PostLexer()})
