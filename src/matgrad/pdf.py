"""Typesetting a standalone LaTeX derivation with pdflatex, when it is installed.

Invariant: pdflatex runs in a temporary directory with `-no-shell-escape`, on text whose user
parts passed `latex_name`; its failure is reported as a `UsageError` with the log's first error.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from matgrad.errors import UsageError

INSTALL_HINT = ("pdflatex is not installed: install it (on Debian/Ubuntu: "
                "`apt-get install texlive-latex-base`), or write the LaTeX with "
                "--latex --standalone -o FILE.tex and typeset it elsewhere.")


def pdflatex_available() -> bool:
    return shutil.which("pdflatex") is not None


def write_pdf(document: str, target: Path, timeout: float = 120.0) -> None:
    if not pdflatex_available():
        raise UsageError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="matgrad-latex-") as folder:
        source = Path(folder) / "derivation.tex"
        source.write_text(document, encoding="utf-8")
        try:
            result = subprocess.run(
                ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                 source.name], cwd=folder, capture_output=True, text=True, timeout=timeout,
                check=False)
        except subprocess.TimeoutExpired:
            raise UsageError(f"pdflatex did not finish within {timeout:.0f} s.") from None
        if result.returncode != 0:
            errors = [line for line in result.stdout.splitlines() if line.startswith("!")]
            raise UsageError("pdflatex failed: " + (errors[0] if errors else "see its log"))
        try:
            shutil.copyfile(Path(folder) / "derivation.pdf", target)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}.") from None
