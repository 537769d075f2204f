"""The `matgrad` command: read a program, print its gradients (or steps, code, checks, LaTeX).

Invariant: bad input never shows a traceback: every `MatgradError`, unreadable file or bad
option is one clear message on stderr and exit status 2.  A bug in matgrad itself is reported as
an internal error with exit status 3.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from matgrad.api import Derivation, check, derive
from matgrad.backends.registry import BACKEND_NAMES
from matgrad.check import check_hessian
from matgrad.errors import MatgradError, UsageError
from matgrad.front.program import SYMMETRIC_CONVENTIONS
from matgrad.ir.text import Style
from matgrad.limits import MAX_SOURCE_CHARS, exceeded
from matgrad.pdf import write_pdf
from matgrad.printing.json_output import error_json
from matgrad.serve.server import serve
from matgrad.version import VERSION

EXAMPLES = """\
examples:
  matgrad examples/single_layer.mg            the guide's eq. (3)-(4)
  matgrad serve --open                        the playground page, on this machine
  matgrad examples/single_layer.mg --steps    the derivation, each step citing its identity
  matgrad examples/single_layer.mg --numpy --bind f=tanh     the NumPy value_and_grad module
  matgrad examples/single_layer.mg --backend jax --bind f=tanh    the same for JAX (jax.jit-able)
  matgrad examples/single_layer.mg --check --bind f=sigmoid  gradient vs central differences
  matgrad examples/single_layer.mg --hvp      the Hessian-vector product, Ȧ and Δ̇ named
  matgrad -e "x: n x 1; A: n x n; J = x'*A*x" --hessian    the Hessian block A + Aᵀ
  matgrad examples/regression_loop.mg         the recursion (23) for any depth k
  matgrad examples/regression_loop.mg --depth k=4            the same network written out
  matgrad -e "x: n x 1; A: n x n; J = x'*A*x" --wrt x
  matgrad -e "X: t x n; W: n x m; Y: t x m; J = 1/2*||X*W - Y||^2" --ascii

input language (see docs/language.md): declarations `X: t x n`, `alpha: scalar`;
let-bindings `A = X*W + b`; the last binding is the objective. Products: `*` (matrix, or scalar
when an operand is 1x1), `.*` or ⊙ (Hadamard), `<A, B>` or · (Frobenius); `'` or ᵀ transpose;
`||E||^2`, `||x||_1`, `||X||_F`; `1'*E` column sums; `sum(E)`, `mean(x)`; `E .^ p`;
elementwise functions tanh, sigmoid, relu, exp, log, sqrt, square, abs, sin, cos, softplus,
log1p, expm1, sinh, cosh, arctan, and abstract ones named f, g, f1, f[j] or declared
`phi: function`; row-wise logsumexp, softmax, and losses declared `ell: rowwise`; tr (trace),
det, logdet, inv, diag; layer loops `for j in 1..k: Z[j] = f[j](Z[j-1]*W[j] + b[j]) end`.
One-line objectives get the guide's names (A = X W + b, Z = f(A)); --inline keeps them inline.
Shapes inferred rather than declared are listed on stderr.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="matgrad",
        description="Derive gradients of matrix objectives step by step, with the identities "
                    "of Delong's Practical Guide to Matrix Calculus for Deep Learning.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"matgrad {VERSION}")
    parser.add_argument("file", nargs="?", help="a program file (.mg); '-' reads stdin")
    parser.add_argument("-e", "--expr", metavar="SOURCE", help="the program as a string")
    parser.add_argument("--wrt", metavar="W,b", help="differentiate with respect to these "
                        "symbols (default: the program's `wrt` line, else every free symbol "
                        "not marked data)")
    parser.add_argument("--depth", metavar="k=4",
                        help="write a layer loop out at this depth (default: derive it once, "
                        "for any depth); --check runs a loop's code at depth 3 unless given")
    parser.add_argument("--hvp", action="store_true",
                        help="the Hessian-vector product ∇²J·V instead of the gradient: the "
                        "gradient of φ = ∇J · V with a direction V_W for each parameter W "
                        "(with --steps, --latex, --numpy, --backend and --check)")
    parser.add_argument("--hessian", action="store_true",
                        help="the Hessian ∇²J in blocks, in matrix form where one is found "
                        "(with --steps, --latex and --check)")
    parser.add_argument("--jacobian", action="store_true",
                        help="the Jacobian ∂vec(F)/∂vec(X)ᵀ of a matrix-valued objective F, "
                        "with its differential dF (with --steps, --latex, --json and --check; "
                        "--numpy and --backend print its vector-Jacobian product)")
    parser.add_argument("--symmetric", choices=sorted(SYMMETRIC_CONVENTIONS),
                        default="frobenius",
                        help="the gradient of a parameter declared symmetric or spd: "
                        "frobenius (default), sym(G) = (G + Gᵀ)/2, the gradient on the "
                        "symmetric matrices; elementwise, G + Gᵀ − I ⊙ G, the derivative by "
                        "each distinct entry")
    parser.add_argument("--steps", action="store_true",
                        help="print the derivation, one numbered step per line")
    parser.add_argument("--ascii", action="store_true", help="print MATLAB-style ASCII")
    parser.add_argument("--inline", action="store_true",
                        help="derive inline expressions as written, without naming their "
                        "intermediates as the guide does (A = X W + b, Z = f(A))")
    parser.add_argument("--numpy", action="store_true",
                        help="print the generated NumPy module (value_and_grad)")
    parser.add_argument("--backend", metavar="LIBRARY", choices=sorted(BACKEND_NAMES),
                        help="print the module generated for this array library "
                        f"({', '.join(BACKEND_NAMES)}): --numpy for any library; dask: the "
                        "gradient on row-chunked Dask arrays (with --check: in blocks of 2 "
                        "rows)")
    parser.add_argument("--rows", metavar="DIM", nargs="?", const="",
                        help="the row-block split J = Σ_b J_b + p of the Dask backend: print "
                        "it before the result (--steps, --latex), or refuse naming the term "
                        "that couples rows; DIM names the size to split (default: the rows "
                        "of the data)")
    parser.add_argument("--name", default="value_and_grad",
                        help="name of the generated function (default: value_and_grad)")
    parser.add_argument("--bind", action="append", default=[], metavar="f=tanh",
                        help="bind an abstract function to a built-in one, for --numpy and "
                        "--check (repeatable, or comma-separated)")
    parser.add_argument("--check", action="store_true",
                        help="compare the compiled gradient with central differences at random "
                        "inputs; exit status 1 if they differ")
    parser.add_argument("--sizes", metavar="t=7,n=5",
                        help="dimension sizes for --check (default: 4, 5, 6, …)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for --check")
    parser.add_argument("--latex", action="store_true",
                        help="print the derivation as a LaTeX align* fragment")
    parser.add_argument("--standalone", action="store_true",
                        help="with --latex: a complete document for pdflatex")
    parser.add_argument("--json", action="store_true",
                        help="print the result (or the error) as one JSON object under the "
                        "schema of docs/json.md: gradients and definitions in text, ASCII "
                        "and LaTeX, the steps; with --numpy/--backend the module too, with "
                        "--check its report")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the output (--latex, --numpy or the gradients) to FILE")
    parser.add_argument("--pdf", metavar="FILE.pdf",
                        help="typeset the standalone derivation with pdflatex into FILE.pdf")
    return parser


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in (part for text in items for part in text.split(",") if part.strip()):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"{what} expects name=value pairs such as f=tanh, got '{item}'.")
        pairs[key.strip()] = value.strip()
    return pairs


def _sizes(text: str | None, option: str = "--sizes") -> dict[str, int]:
    sizes: dict[str, int] = {}
    for key, value in _pairs([text] if text else [], option).items():
        # ASCII digits only: str.isdigit() accepts ³, which int() then refuses.
        if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
            raise UsageError(f"{option}: the value of {key} must be a positive whole number, "
                             f"got '{value}'.")
        sizes[key] = int(value)
    return sizes


def _read_source(args: argparse.Namespace) -> str:
    if args.expr is not None and args.file is not None:
        raise UsageError("give either a FILE or -e SOURCE, not both.")
    if args.expr is not None:
        return str(args.expr)
    if args.file is None:
        raise UsageError("no program given: pass a FILE (e.g. examples/single_layer.mg) or "
                         "-e SOURCE. See matgrad --help.")
    if args.file == "-":
        return _bounded(sys.stdin.read(MAX_SOURCE_CHARS + 1), "standard input")
    path = Path(args.file)
    try:
        # Never more than the parser accepts (UTF-8 takes up to 4 bytes a character):
        # `matgrad /dev/zero` ends at once.
        with path.open("rb") as handle:
            data = handle.read(4 * MAX_SOURCE_CHARS + 1)
    except FileNotFoundError:
        raise UsageError(f"cannot read {args.file}: no such file.") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read {args.file}: it is a directory; give a program file.") \
            from None
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}.") from None
    if len(data) > 4 * MAX_SOURCE_CHARS:  # more bytes than the longest UTF-8 program has
        raise UsageError(f"{args.file} is too long: split it into smaller programs "
                         f"{exceeded('MAX_SOURCE_CHARS')}.")
    try:
        return _bounded(data.decode("utf-8"), args.file)
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {args.file}: it is not UTF-8 text (byte {exc.start} is "
                         f"0x{data[exc.start]:02x}); save it as UTF-8.") from None


def _bounded(text: str, what: str) -> str:
    if len(text) > MAX_SOURCE_CHARS:
        raise UsageError(f"{what} is too long: split it into smaller programs "
                         f"{exceeded('MAX_SOURCE_CHARS', len(text))}.")
    return text


def _serve(argv: Sequence[str]) -> int:
    """`matgrad serve`: the playground page on this machine."""
    parser = argparse.ArgumentParser(prog="matgrad serve",
                                     description="Serve the matgrad playground page locally.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.open)
    except OSError as exc:
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}."
                         ) from None
    return 0


def run(argv: Sequence[str]) -> int:
    if list(argv[:1]) == ["serve"]:  # a program file named serve: ./serve
        return _serve(argv[1:])
    args = _parser().parse_args(argv)
    _check_flags(args)
    source = _read_source(args)
    wrt = [name.strip() for name in args.wrt.split(",") if name.strip()] if args.wrt else None
    depth = _sizes(args.depth, "--depth") if args.depth else None
    derivation = derive(source, wrt, depth=depth, names="inline" if args.inline else "guide",
                        jacobian=args.jacobian, symmetric=args.symmetric)
    if args.hessian:
        return _hessian(derivation, args)
    if args.hvp:
        derivation = derivation.hvp()
    for note in derivation.notes:  # on stderr: stdout stays the result alone
        print(f"matgrad: {note}", file=sys.stderr)
    bind = _pairs(args.bind, "--bind")
    rows = args.rows or None
    status = 0
    report = None
    if args.check:
        report = check(derivation, _sizes(args.sizes), seed=args.seed or 0, bind=bind,
                       backend=args.backend or "numpy")
        status = 0 if report.passed else 1
    if args.json:
        backends = [args.backend or "numpy"] if args.numpy or args.backend else []
        found = derivation.json(backends, bind)
        if report is not None:
            found["check"] = {"passed": report.passed, "text": str(report)}
        _emit(json.dumps(found, ensure_ascii=False, indent=1) + "\n", args.output)
        return status
    if args.pdf:
        write_pdf(derivation.latex(standalone=True), Path(args.pdf))
        print(f"wrote {args.pdf}")
    elif args.numpy or args.backend:
        if args.rows is not None and args.backend != "dask":
            raise UsageError("--rows names the rows the dask backend splits into blocks: add "
                             "--backend dask, or leave out --numpy/--backend to print the "
                             "split.")
        _emit(derivation.source(args.backend or "numpy", args.name, bind, rows=rows),
              args.output)
    elif args.latex:
        if args.rows is not None and args.standalone:
            raise UsageError("--rows prints the split before the fragment; with --standalone "
                             "leave out --rows (or print both without --standalone).")
        split = "" if args.rows is None else derivation.row_blocks(rows).latex()
        _emit(split + derivation.latex(standalone=args.standalone), args.output)
    else:
        split = "" if args.rows is None else \
            derivation.row_blocks(rows).text("ascii" if args.ascii else "unicode") + "\n\n"
        _emit(split + _text(derivation, args), args.output)
    if report is not None and args.output is None and not args.pdf:
        print()
    if report is not None:
        print(report)  # after the output, on stdout also when -o writes the output to a file
    return status


def _hessian(derivation: Derivation, args: argparse.Namespace) -> int:
    """`--hessian`: the blocks (or their LaTeX), the product's steps first with --steps."""
    for flag, given in (("--hvp", args.hvp), ("--pdf", args.pdf)):
        if given:
            raise UsageError(f"--hessian does not take {flag} yet: --hessian prints the "
                             "blocks (--latex, --numpy), --hvp the Hessian-vector product.")
    if args.backend not in (None, "numpy"):
        raise UsageError(f"--hessian generates NumPy code only so far, not {args.backend}: "
                         f"use --hessian --numpy, or --hvp --backend {args.backend} for the "
                         "Hessian-vector product in that library.")
    hessian = derivation.hessian()
    bind = _pairs(args.bind, "--bind")
    style: Style = "ascii" if args.ascii else "unicode"
    if args.numpy or args.backend:
        name = "hessian" if args.name == "value_and_grad" else args.name
        text = hessian.source(name, bind)
    elif args.latex:
        text = hessian.latex(standalone=args.standalone)
    else:
        text = hessian.text(style) + "\n"
        if args.steps:
            text = hessian.steps_text(style) + "\n\n" + text
    _emit(text, args.output)
    if not args.check:
        return 0
    report = check_hessian(hessian, _sizes(args.sizes), seed=args.seed or 0, bind=bind)
    print()
    print(report)
    return 0 if report.passed else 1


def _check_flags(args: argparse.Namespace) -> None:
    """Flags that cannot take effect together are refused, never silently dropped."""
    outputs = [flag for flag, given in (("--numpy", args.numpy), ("--backend", args.backend),
                                        ("--latex", args.latex), ("--pdf", args.pdf)) if given]
    if len(outputs) > 1:
        raise UsageError(f"{' and '.join(outputs)} choose different outputs: give one of them "
                         "(run matgrad once for each).")
    if args.standalone and not args.latex:
        raise UsageError("--standalone belongs to --latex (a complete document): add --latex, "
                         "or use --pdf FILE.pdf to typeset it.")
    text_only = [flag for flag, given in (("--steps", args.steps), ("--ascii", args.ascii))
                 if given]
    if outputs and text_only:
        raise UsageError(f"{' and '.join(text_only)} change the printed gradients, which "
                         f"{outputs[0]} replaces: leave out one of them.")
    if args.json and (args.latex or args.pdf or args.steps or args.ascii or args.hessian):
        given = [flag for flag, on in (("--latex", args.latex), ("--pdf", args.pdf),
                                       ("--steps", args.steps), ("--ascii", args.ascii),
                                       ("--hessian", args.hessian)) if on]
        raise UsageError(f"--json holds the steps, the LaTeX and the ASCII forms itself; "
                         f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} not taken "
                         "with it (the Hessian's blocks have no JSON form yet).")
    if args.pdf and args.output:
        raise UsageError("--pdf names its own output file; leave out -o.")
    if args.jacobian and (args.hvp or args.hessian):
        raise UsageError("--jacobian is first order; the second derivative of a matrix-valued "
                         "F is a third-order tensor: take --hvp or --hessian of a scalar of it "
                         "(sum(F), ||F||^2) instead.")
    check_only = [flag for flag, given in (("--sizes", args.sizes is not None),
                                           ("--seed", args.seed is not None)) if given]
    if check_only and not args.check:
        plural = len(check_only) > 1
        raise UsageError(f"{' and '.join(check_only)} {'are' if plural else 'is'} for --check "
                         f"(its random inputs): add --check, or leave {'them' if plural else 'it'}"
                         " out.")


def _text(derivation: Derivation, args: argparse.Namespace) -> str:
    style: Style = "ascii" if args.ascii else "unicode"
    text = derivation.text(style) + "\n"
    if args.steps:
        text = derivation.steps_text(style) + "\n\n" + text
    return text


def _emit(text: str, output: str | None) -> int:
    if output is None:
        print(text, end="")
        return 0
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}.") from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return run(argv)
    except MatgradError as exc:
        if "--json" in argv:  # the error as the JSON a client reads, on stdout
            print(json.dumps(error_json(exc), ensure_ascii=False, indent=1))
        else:
            print(f"matgrad: error: {exc}", file=sys.stderr)
        return 2
    except RecursionError:
        print("matgrad: error: the program is nested too deeply; split it into let-bindings.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped early; that is not an error of the program.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        print(f"matgrad: internal error: {type(exc).__name__}: {exc}. This is a bug in matgrad;"
              " please report it with the program that caused it.", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
