"""LaTeX output: the §1 fragment (golden), standalone documents compiled by real pdflatex,
citations that exist in rules/, safe rendering of names, Jupyter representations."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from corpus import CASES
from hypothesis import HealthCheck, given, settings
from programs import programs

import matgrad
from matgrad.engine.derive import derivation_of
from matgrad.ir.expr import Add, Diff, Expr, Frob, Hadamard, MatMul, Sym, Transpose
from matgrad.pdf import pdflatex_available
from matgrad.printing.latex import LatexPrinter
from matgrad.printing.latex_lines import state_lines
from matgrad.printing.latex_names import GREEK_COMMANDS, latex_name
from matgrad.rewrite.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.mg"))

needs_pdflatex = pytest.mark.skipif(
    not pdflatex_available() and not os.environ.get("CI"),
    reason="pdflatex not installed (CI installs texlive-latex-base; locally: "
           "apt-get install texlive-latex-base)")


def test_section_1_fragment_is_golden() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "single_layer.mg").read_text())
    assert derivation.latex() == (GOLDEN / "single_layer.tex").read_text()


def test_fragment_reads_like_the_guide() -> None:
    fragment = matgrad.derive((ROOT / "examples" / "single_layer.mg").read_text()).latex()
    assert fragment.startswith("\\begin{align*}\ndJ &= ")
    assert "\\text{by (5)}" in fragment and "\\text{by (6)}" in fragment
    assert "\\frac{\\partial J}{\\partial \\mathbf{W}} &= \\mathbf{X}^\\top" in fragment
    assert "\\mathbf{1}^\\top" in fragment and "\\odot" in fragment and "{f}'" in fragment
    lines = fragment.strip().splitlines()
    assert len(lines) <= 12  # trivial steps merged: not a line per rule application


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_step_cites_a_rule_identity(example: Path) -> None:
    derivation = matgrad.derive(example.read_text())
    known = {cite for rule in load_rules().rules for cite in rule.cites}
    for step in derivation.steps:
        assert step.cites and set(step.cites) <= known


@needs_pdflatex
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_standalone_document_compiles(example: Path, tmp_path: Path) -> None:
    derivation = matgrad.derive(example.read_text())
    target = tmp_path / f"{example.stem}.pdf"
    matgrad.pdf.write_pdf(derivation.latex(standalone=True), target)
    assert target.read_bytes().startswith(b"%PDF")


@needs_pdflatex
def test_hostile_names_compile(tmp_path: Path) -> None:
    source = "alpha: scalar; W_out: n x m; x_: n x 1; Delta2: n x m; lambda1: scalar\n" \
             "J = alpha * sum(W_out .* Delta2) + lambda1 * x_'*W_out*ones(m, 1)"
    derivation = matgrad.derive(source)
    document = derivation.latex(standalone=True)
    matgrad.pdf.write_pdf(document, tmp_path / "names.pdf")
    assert "\\alpha" in document and "\\lambda_{1}" in document


@pytest.mark.parametrize(("name", "bold", "latex"), [
    ("W", True, "\\mathbf{W}"),
    ("W1", True, "\\mathbf{W}_{1}"),
    ("W₁", True, "\\mathbf{W}_{1}"),
    ("alpha", False, "\\alpha"),
    ("alpha2", False, "\\alpha_{2}"),
    ("Δ2", True, "\\boldsymbol{\\Delta}_{2}"),
    ("W_out", True, "\\mathbf{W}_{\\mathrm{out}}"),
    ("W_out_2", True, "\\mathbf{W}_{\\mathrm{out\\_2}}"),
    ("tmp", False, "\\mathrm{tmp}"),
    ("Wq", True, "\\mathbf{W}_{q}"),
    ("W_q", True, "\\mathbf{W}_{q}"),
    ("Wqk", True, "\\mathbf{W}_{qk}"),
    ("W1_out", True, "\\mathbf{W}_{\\mathrm{out},1}"),
    ("νll", False, "\\nu\\mathrm{ll}"),  # not \\null, which would swallow the name
    ("μltiply", True, "\\boldsymbol{\\mu}\\mathbf{ltiply}"),  # not \\multiply
    ("ΔZ", True, "\\boldsymbol{\\Delta}\\mathbf{Z}"),
    ("Α", True, "\\mathbf{A}"),  # Greek capital alpha: no command, set as its letter
    ("ς", False, "\\varsigma"),
    ("∇f", False, "\\nabla f"),
    ("W_α", True, "\\mathbf{W}_{\\alpha}"),
])
def test_names(name: str, bold: bool, latex: str) -> None:
    assert latex_name(name.replace("₁", "1"), bold) == latex


def _accepted_names() -> list[str]:
    """Every letter of the Greek block the grammar accepts as a name, alone and as the prefix
    of a longer name (νll must not become \\null), and ℓ, ∇f."""
    names = ["ℓ", "∇f", "ℓ2", "Wα"]
    for code in range(0x370, 0x400):
        letter = chr(code)
        try:
            matgrad.parse(f"{letter}: n x m\nJ = sum({letter})")
        except matgrad.MatgradError:
            continue
        names += [letter, letter + "ll", letter + "ltiply", f"W{letter}1"]
    return names


LATEX_COMMANDS = {"mathbf", "boldsymbol", "mathrm"} | set(GREEK_COMMANDS.values())


def test_every_accepted_name_is_printable_everywhere() -> None:
    names = _accepted_names()
    # 24 capitals and 25 small letters and 5 variants, less the 15 drawn like Latin letters
    # (Α, Β, Ε, …, ο: refused, since they print like A, B, E, …, o).
    assert len(names) > 4 * 38
    for name in names:
        derivation = matgrad.derive(f"{name}: n x m\nJ = sum({name} .* {name})")
        assert str(derivation)  # text
        compile(derivation.numpy_source(), "<generated>", "exec")  # code
        commands = set(re.findall(r"\\\\([A-Za-z]+)", latex_name(name, True)))
        assert commands <= LATEX_COMMANDS, (name, commands)


@needs_pdflatex
def test_every_accepted_name_typesets(tmp_path: Path) -> None:
    body = "".join(f"${latex_name(name, True)} + {latex_name(name, False)}$\n"
                   for name in _accepted_names())
    (tmp_path / "names.tex").write_text(
        "\\documentclass{article}\\usepackage{amsmath,amssymb}\\begin{document}\n"
        + body + "\\end{document}\n", encoding="utf-8")
    result = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                             "-halt-on-error", "names.tex"], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Undefined control sequence" not in result.stdout


@pytest.mark.parametrize("hostile", ["\\input{x}", "a^b", "{x}", "a$b", "x%y", "a&b", "W#1"])
def test_no_latex_can_be_injected(hostile: str) -> None:
    # The grammar rejects such names; latex_name would refuse them too.
    with pytest.raises(matgrad.MatgradSyntaxError):
        matgrad.derive(f"{hostile}: n x m\nJ = sum({hostile})")
    with pytest.raises(ValueError, match="unexpected character"):
        latex_name(hostile, True)


def test_jupyter_representations() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "single_layer.mg").read_text())
    latex = derivation._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    # No markdown representation: Jupyter would rank it above the LaTeX (tests/test_jupyter.py).
    assert not hasattr(derivation, "_repr_markdown_")


def test_cli_latex_outputs(tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "single_layer.mg")
    fragment = subprocess.run([sys.executable, "-m", "matgrad.cli", example, "--latex"],
                              capture_output=True, text=True, check=True, encoding="utf-8")
    assert fragment.stdout == (GOLDEN / "single_layer.tex").read_text()
    out = tmp_path / "d.tex"
    subprocess.run([sys.executable, "-m", "matgrad.cli", example, "--latex", "--standalone",
                    "-o", str(out)], check=True)
    assert out.read_text().startswith("\\documentclass{article}")


def test_cli_pdf_without_pdflatex_says_how_to_install(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no pdflatex on this PATH
    result = subprocess.run([sys.executable, "-m", "matgrad.cli",
                             str(ROOT / "examples" / "single_layer.mg"), "--pdf",
                             str(tmp_path / "x.pdf")], capture_output=True, text=True,
                            check=False, env=env, encoding="utf-8")
    assert result.returncode == 2
    assert "apt-get install texlive-latex-base" in result.stderr


@needs_pdflatex
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs())
def test_latex_of_random_programs_compiles(source: str, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path_factory.mktemp("latex") / "random.pdf"
    matgrad.pdf.write_pdf(matgrad.derive(source).latex(standalone=True), target)
    assert target.read_bytes().startswith(b"%PDF")


@functools.cache
def _corpus_derivations() -> list[tuple[str, matgrad.Derivation]]:

    return [(case.label, matgrad.derive(case.source)) for case in CASES if case.refused is None]


@needs_pdflatex
def test_latex_of_every_corpus_objective_compiles(tmp_path: Path) -> None:
    """Every fragment in one document (one pdflatex run); on failure, the objectives whose
    fragments fail on their own are named."""
    derivations = _corpus_derivations()
    preamble = "\\documentclass{article}\\usepackage{amsmath,amssymb}\\begin{document}\n"

    def compiles(body: str, name: str) -> bool:
        (tmp_path / f"{name}.tex").write_text(preamble + body + "\\end{document}\n",
                                              encoding="utf-8")
        result = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                                 "-halt-on-error", f"{name}.tex"], cwd=tmp_path,
                                capture_output=True, text=True, check=False)
        return result.returncode == 0

    if not compiles("".join(d.latex() for _, d in derivations), "all"):
        failing = [label for index, (label, d) in enumerate(derivations)
                   if not compiles(d.latex(), f"case{index}")]
        pytest.fail(f"LaTeX fails for {len(failing)} corpus objectives: {failing}")


@needs_pdflatex
@pytest.mark.parametrize("label", ["logdet", "gaussian KL", "X⁻¹ᵀ", "attention",
                                   "layer norm (standardised rows)", "softmax regression"])
def test_standalone_documents_of_corpus_objectives_compile(label: str, tmp_path: Path) -> None:
    derivation = dict(_corpus_derivations())[label]
    target = tmp_path / "document.pdf"
    matgrad.pdf.write_pdf(derivation.latex(standalone=True), target)
    assert target.read_bytes().startswith(b"%PDF")


def test_inverse_transpose_is_typeset_without_a_double_superscript() -> None:
    latex = matgrad.derive("X: n x n, spd; J = logdet(X)").latex()
    assert "\\mathbf{X}^{-\\top}" in latex and "^{-1}^" not in latex


def test_the_document_shows_the_program_as_written() -> None:
    # "The program:" showed the internally rewritten one: named intermediates (A = X w, Z = σ(A))
    # and stable forms (softplus) the user never wrote.
    derivation = matgrad.derive(
        "X: t x n, data; y: t x 1, data; w: n x 1\n"
        "J = -sum(y .* log(sigmoid(X*w)) + (1 - y) .* log(1 - sigmoid(X*w)))")
    document = derivation.latex(standalone=True)
    program = document[document.index("The program:"):document.index("Identities used")]
    assert "\\log(\\sigma(\\mathbf{X} \\mathbf{w}))" in program
    assert "softplus" not in program and "\\mathbf{A} &=" not in program
    assert "1 \\mathbf{1}" not in program  # numbers folded


def test_deriving_does_not_change_the_program_it_is_given() -> None:

    program = matgrad.parse("x: n x 1\nJ = sum(log(sigmoid(x)))")
    before = dict(program.definitions)
    derivation = derivation_of(program, ("x",), load_rules())
    assert program.definitions == before  # the engine rewrote log(σ(x)) in the caller's program
    assert derivation.program.definitions != before  # …and derives the stable form


def _typesets_within_the_margins(document: str, tmp_path: Path) -> None:
    (tmp_path / "document.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                             "-halt-on-error", "document.tex"], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Overfull \\hbox" not in result.stdout


@needs_pdflatex
@pytest.mark.parametrize("count", [6, 24])
def test_long_sums_break_over_lines(count: int, tmp_path: Path) -> None:
    # A long objective ran off the right margin on every line of the derivation.
    terms = " + ".join(f"sum(W{k} .* X)" for k in range(count))
    declarations = "; ".join(f"W{k}: n x m" for k in range(count))
    derivation = matgrad.derive(f"X: n x m, data; {declarations}\nJ = {terms}")
    _typesets_within_the_margins(derivation.latex(standalone=True), tmp_path)
    assert "&\\quad +" in derivation.latex()


@needs_pdflatex
@pytest.mark.parametrize("example", [path.stem for path in sorted((ROOT / "examples").glob(
    "*.mg"))])
def test_example_documents_fit_the_page(example: str, tmp_path: Path) -> None:
    # The §1 document was 28 pt too wide, the auto-encoders 19 pt, the classifiers 23 pt.
    derivation = matgrad.derive((ROOT / "examples" / f"{example}.mg").read_text())
    _typesets_within_the_margins(derivation.latex(standalone=True), tmp_path)


@pytest.mark.parametrize("right", ["dW", "dW x"])
def test_a_long_product_of_a_sum_breaks_inside_the_sum(right: str) -> None:
    # (A₁ + … + A₈) · dW was one line however long: a single term was never broken.
    shapes = {f"A{k}": ("n", "m") for k in range(8)} | {"W": ("n", "m"), "x": ("m", "m")}
    total = Add(tuple(Hadamard(Sym(f"A{k}"), Sym(f"A{(k + 1) % 8}")) for k in range(8)))
    differential: Expr = Diff(Sym("W"))
    term: Expr = Frob(total, differential) if right == "dW" else \
        Frob(MatMul(total, Sym("x")), differential)
    lines = state_lines((term,), LatexPrinter(shapes))
    assert len(lines) > 1 and lines[0].startswith("\\bigl(")
    assert lines[-1].endswith("\\cdot d\\mathbf{W}") and "\\bigr)" in lines[-1]
    assert all(line.startswith("+ ") for line in lines[1:])


# Standalone documents of these ran off the right margin (by 4 to 144 pt): the widest
# citation widened every row, and a long product of a sum (Xᵀ((A − B) Y) · dW) was never
# broken.
WIDE = ["tr(X'X)^(1/2)", "softmax of a column (mco)", "layer norm (standardised rows)",
        "gaussian nll", "gaussian nll of data", "gaussian KL", "pca trace",
        "softmax of an inferred column", "attention"]


@needs_pdflatex
@pytest.mark.parametrize("label", WIDE)
def test_wide_corpus_documents_typeset_within_the_margins(label: str, tmp_path: Path) -> None:
    document = dict(_corpus_derivations())[label].latex(standalone=True)
    assert "\\parbox[t]{0.3\\linewidth}" in document or label in ("softmax of a column (mco)",
                                                                  "attention")
    _typesets_within_the_margins(document, tmp_path)


@needs_pdflatex
@pytest.mark.slow
def test_every_corpus_document_typesets_within_the_margins(tmp_path: Path) -> None:
    for index, (_, derivation) in enumerate(_corpus_derivations()):
        folder = tmp_path / str(index)
        folder.mkdir()
        _typesets_within_the_margins(derivation.latex(standalone=True), folder)


def test_a_sum_inside_a_product_breaks_with_the_parentheses_around_it() -> None:
    # Xᵀ((A₁ + … + A₈) Y) · dW: the parentheses that enclose the break become \bigl … \bigr,
    # which may span rows (a \left on one row and its \right on another do not compile).
    shapes = {f"A{k}": ("n", "m") for k in range(8)} | {
        "W": ("n", "m"), "X": ("n", "n"), "Y": ("m", "m")}
    total = Add(tuple(Hadamard(Sym(f"A{k}"), Sym(f"A{(k + 1) % 8}")) for k in range(8)))
    term = Frob(MatMul(Transpose(Sym("X")), MatMul(total, Sym("Y"))), Diff(Sym("W")))
    lines = state_lines((term,), LatexPrinter(shapes))
    assert len(lines) > 2 and lines[0].startswith("\\mathbf{X}^\\top \\bigl(\\bigl(")
    joined = " ".join(lines)
    assert joined.count("\\bigl(") == joined.count("\\bigr)") == 2
    for line in lines:  # every row balances its own \left … \right
        assert line.count("\\left") == line.count("\\right")


def test_a_loop_document_names_the_programs_own_adjoint_and_objective() -> None:
    # The loop document said "given ΔZⱼ = ∂J/∂Zⱼ" whatever the loop's names (issue 30 #7).
    source = ("X: t x n, data\nY: t x n, data\nH[0] = X\nfor j in 1..k:\n    W[j]: n x n\n"
              "    H[j] = tanh(H[j-1]*W[j])\nend\nL = 1/2 * ||H[k] - Y||^2\n")
    derivation = matgrad.derive(source)
    document = derivation.latex(standalone=True)
    (given,) = [line for line in document.splitlines() if line.startswith("\\subsection*{Layer")]
    assert given == ("\\subsection*{Layer $j$, given $\\boldsymbol{\\Delta}\\mathbf{H}_{j} = "
                     "\\partial L / \\partial \\mathbf{H}_{j}$}")
    assert "\\mathbf{Z}" not in document and "\\partial J" not in document
    # The same in the steps and in the loop product's text and LaTeX.
    steps = derivation.steps_text()
    assert steps.startswith("Layer j, given ΔH = ∂L/∂H of the layer's output:")
    product = derivation.hvp()
    assert "its ΔHⱼ component is the forward tangent" in product.steps_text()
    product_document = product.latex(standalone=True)
    assert "its input $\\boldsymbol{\\Delta}\\mathbf{H}_{j}$ differentiated" in product_document
    for text in (steps, product.steps_text()):
        assert "ΔZ" not in text and "∂J" not in text


@needs_pdflatex
@pytest.mark.parametrize(("source", "options", "second"), [
    ("X: n x n; A: n x n, const\nJ = sum(A .* logm(X))", {}, False),
    ("X: n x n; A: n x n, const\nJ = sum(A .* expm(X))", {}, True),   # L2_expm in the steps
    ("S: n x n, spd\nJ = logdet(S)", {"symmetric": "elementwise"}, False),
    ("X: n x n\nF = inv(X)", {"jacobian": True}, False),
    ("X: t x n; W: n x m\nF = softmax(X*W)", {"jacobian": True}, False),
], ids=["logm", "expm second order", "symmetric", "jacobian of inv", "jacobian of softmax"])
def test_documents_of_the_new_kinds_compile(tmp_path: Path, source: str,
                                            options: dict[str, Any], second: bool) -> None:
    """Matrix functions (L_f, L⁽²⁾_f), the symmetric convention's step and a Jacobian's blocks
    typeset by real pdflatex."""
    derivation = matgrad.derive(source, **options)
    document = (derivation.hvp() if second else derivation).latex(standalone=True)
    (tmp_path / "doc.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                             "-halt-on-error", "doc.tex"], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:]
