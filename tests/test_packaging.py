"""The wheel carries grammar/ and rules/: installed into a fresh venv, `matgrad` runs from
another directory."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_runs_elsewhere(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-w", str(dist), str(ROOT)], check=True, capture_output=True)
    (wheel,) = dist.glob("matgrad-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    # The new venv sees the site-packages of the interpreter running the tests (a venv of its
    # own, often), so lark, sympy and numpy need no download.  A path in a .pth file does not
    # run that directory's own .pth files, so an editable matgrad there stays invisible.
    purelib = subprocess.run([str(bin_dir / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    outer = [*site.getsitepackages(), site.getusersitepackages()]
    (Path(purelib) / "outer_site_packages.pth").write_text("\n".join(outer) + "\n")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True)
    example = tmp_path / "single_layer.mg"
    example.write_text((ROOT / "examples" / "single_layer.mg").read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Without the checkout on the path: only the installed copies of grammar/ and rules/ exist.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([str(bin_dir / "matgrad"), str(example)], cwd=elsewhere, env=env,
                            capture_output=True, text=True, check=False, encoding="utf-8")
    assert result.returncode == 0, result.stderr
    assert "∂J/∂W = Xᵀ((Z − Y) ⊙ f′(A))" in result.stdout
    location = subprocess.run(
        [str(bin_dir / "python"), "-c", "import matgrad.resources as r; print(r.rule_files()[0])"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert "_data" in location.stdout and str(ROOT) not in location.stdout
    # The grammar's tables ship as data and are current: the installed parser is loaded, not
    # built (building takes longer than a small derivation).
    loaded = subprocess.run(
        [str(bin_dir / "python"), "-c", "from matgrad.front import tables, postlex; "
         "from matgrad.resources import tables_path as p; "
         "print(p(), tables.load_tables(p(), postlex.PostLexer()) is not None)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert "_data" in loaded.stdout and loaded.stdout.strip().endswith("True")
