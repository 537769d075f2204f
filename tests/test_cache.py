"""The user's cache (src/matgrad/cache.py): a second run reads the grammar tables and rules
from it, a change of rules or of matgrad's code uses a new entry, a damaged entry or
MATGRAD_CACHE=0 just means no cache — the results never differ."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from matgrad import cache

PROGRAM = "W: n x m; J = sum(W .* W)"


def run(cache_home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    for item in extra:
        name, _, value = item.partition("=")
        env[name] = value
    return subprocess.run([sys.executable, "-m", "matgrad.cli", "-e", PROGRAM], env=env,
                          capture_output=True, text=True, check=False, encoding="utf-8")


def test_a_second_run_uses_the_cache(tmp_path: Path) -> None:
    first = run(tmp_path)
    assert first.returncode == 0 and first.stdout == "∂J/∂W = 2W\n"
    entries = sorted(path.name for path in (tmp_path / "matgrad").iterdir())
    assert [name.split("-")[0] for name in entries] == ["grammar", "rules"]
    second = run(tmp_path)
    assert second.stdout == first.stdout
    assert sorted(path.name for path in (tmp_path / "matgrad").iterdir()) == entries


def test_a_damaged_entry_is_ignored(tmp_path: Path) -> None:
    run(tmp_path)
    for entry in (tmp_path / "matgrad").iterdir():
        entry.write_bytes(b"not a pickle")
    result = run(tmp_path)
    assert result.returncode == 0 and result.stdout == "∂J/∂W = 2W\n"


def test_caching_can_be_switched_off(tmp_path: Path) -> None:
    result = run(tmp_path, "MATGRAD_CACHE=0")
    assert result.returncode == 0 and result.stdout == "∂J/∂W = 2W\n"
    assert not (tmp_path / "matgrad").exists()


def test_an_unwritable_cache_folder_means_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    result = run(blocker)
    assert result.returncode == 0 and result.stdout == "∂J/∂W = 2W\n"


def test_keys_depend_on_the_content_and_on_matgrad(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache.key("a", "b") != cache.key("ab")
    assert cache.key("rules") == cache.key("rules")
    before = cache.key("rules")
    monkeypatch.setattr(cache, "source_digest", lambda: "another version of matgrad")
    assert cache.key("rules") != before
