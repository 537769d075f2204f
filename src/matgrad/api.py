"""The Python API: `derive(source, wrt)` → `Derivation`.

A `Derivation` holds the resolved program, the gradients read off by (17), the named adjoints Δ,
every step of the derivation and the shapes; `str(derivation)` is exactly what the CLI prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

from matgrad.backends.numpy import (
    argument_names,
    load_function,
    numpy_source,
    size_arguments,
)
from matgrad.engine.derive import Step, run_engine
from matgrad.engine.layers import LoopDerivation, derive_layers
from matgrad.errors import UsageError
from matgrad.front.loops import expand, has_layers, statement_names
from matgrad.front.naming import name_layer_arguments
from matgrad.front.resolve import Program, resolve_program
from matgrad.front.syntax import Loop, Statement, parse_program
from matgrad.ir import indexing
from matgrad.ir.dims import Shape
from matgrad.ir.expr import Diff, Expr, Frob, Sym
from matgrad.printing.latex import derivation_lines, latex_document, latex_fragment
from matgrad.printing.report import format_gradients, format_steps
from matgrad.rewrite.rules import RuleSet, load_rules

Names = Literal["guide", "inline"]


@dataclass
class Derivation:
    program: Program
    wrt: tuple[str, ...]
    gradients: dict[str, Expr]
    adjoints: dict[str, Expr]
    adjoint_nodes: dict[str, str]
    steps: list[Step]
    shapes: dict[str, Shape]
    node_adjoints: dict[str, Expr]

    @property
    def objective(self) -> str:
        return self.program.objective

    @property
    def notes(self) -> list[str]:
        """How the program was read, for the user to confirm: shapes inferred rather than
        declared (`inferred: w: n×1`), declarations the objective never uses."""
        return self.program.notes()

    def __str__(self) -> str:
        return format_gradients(self)

    def steps_text(self) -> str:
        return format_steps(self)

    def numpy_source(self, name: str = "value_and_grad",
                     bind: Mapping[str, str] | None = None) -> str:
        """A self-contained module (importing only numpy) defining `name(...)` that returns
        (J, {parameter: gradient}); abstract functions are bound to built-ins by `bind`."""
        return numpy_source(self, name, dict(bind or {}))

    def compile(self, name: str = "value_and_grad",
                bind: Mapping[str, str] | None = None) -> Callable[..., Any]:
        """The generated function, executed in a fresh namespace."""
        return load_function(self.numpy_source(name, bind), name)

    def latex(self, style: str = "align", standalone: bool = False) -> str:
        """The derivation as LaTeX: an `align*` fragment, or a complete document that
        compiles with pdflatex (shapes, the identities used, the derivation)."""
        if style != "align":
            raise UsageError(f"unknown LaTeX style '{style}'; the supported style is 'align'.")
        if not standalone:
            return latex_fragment(self)
        rules = load_rules()
        used = list(dict.fromkeys(step.rule for step in self.steps))
        return latex_document(self, [rules.by_name(name) for name in used])

    def reads_parameter(self, term: Expr) -> bool:
        """Whether a term of dJ is a finished G · dW for a parameter W."""
        return isinstance(term, Frob) and isinstance(term.b, Diff) and isinstance(
            term.b.x, Sym) and term.b.x.name in self.wrt

    def _repr_latex_(self) -> str:
        lines = derivation_lines(self)
        return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's text/plain: the printed result, not the dataclass fields.  No markdown or
        # HTML representation, so Jupyter (which ranks those above text/latex) shows the LaTeX.
        printer.text(str(self))

    @property
    def size_arguments(self) -> dict[str, str]:
        """Sizes that no argument's shape determines: dimension → keyword-only argument."""
        return size_arguments(self)

    @property
    def python_names(self) -> dict[str, str]:
        """The generated function's argument name for each free symbol, in order."""
        return argument_names(self)


TOO_DEEP = "the program is nested too deeply to derive; split it into let-bindings such as `A = …`."


def parse(source: str, depth: Mapping[str, int] | None = None) -> Program:
    """Parse and resolve a program (shapes inferred, broadcasting made explicit); a layered
    program is unrolled at `depth` first (W[j] of layer 2 becomes W2)."""
    try:
        statements = parse_program(source)
        if has_layers(statements):
            statements = expand(statements, depth or {})
        return resolve_program(source, statements)
    except RecursionError:
        raise UsageError(TOO_DEEP) from None


def _is_symbolic(statements: list[Statement]) -> bool:
    """A loop to a size name (`1..k`) or an index in a name that only a depth would fix."""
    if any(isinstance(s, Loop) and s.stop[0] is not None for s in statements):
        return True
    loop_vars = {s.var for s in statements if isinstance(s, Loop)}
    return any((parts := indexing.split(name)) is not None and parts[1].symbol is not None
               and parts[1].symbol not in loop_vars
               for s in statements for name in statement_names(s))


def _choose_wrt(program: Program, wrt: Sequence[str] | None) -> tuple[str, ...]:
    if wrt is None:
        if program.wrt is not None:
            wrt = program.wrt
        else:
            wrt = [name for name in program.parameters
                   if not program.attributes.get(name, frozenset()) & {"data", "const"}]
    chosen = tuple(dict.fromkeys(wrt))
    known = set(program.parameters)
    for name in chosen:
        if name in program.definitions:
            raise UsageError(f"'{name}' is defined by a let-binding; gradients are taken with "
                             "respect to free symbols such as "
                             f"{', '.join(program.parameters) or 'W'}.")
        if name not in known:
            candidates = ", ".join(program.parameters) or "(none)"
            raise UsageError(f"cannot differentiate with respect to '{name}': the objective "
                             f"{program.objective} does not use it. Its free symbols are: "
                             f"{candidates}.")
    if not chosen:
        raise UsageError(f"there is nothing to differentiate: the objective {program.objective} "
                         "has no free symbols (or all are marked data/const).")
    return chosen


def derivation_of(program: Program, wrt: tuple[str, ...], rules: RuleSet,
                  outer_nodes: frozenset[str] = frozenset()) -> Derivation:
    """Run the engine on a resolved program (`outer_nodes`: see derive.Engine)."""
    result = run_engine(program, wrt, rules, outer_nodes)
    return Derivation(result.program, wrt, result.gradients, result.adjoints, result.adjoint_nodes,
                      result.steps, result.shapes, result.node_adjoints)


@overload
def derive(source: str, wrt: Sequence[str] | None = None, *, rules: RuleSet | None = None,
           depth: Mapping[str, int], names: Names = "guide") -> Derivation: ...


@overload
def derive(source: str, wrt: Sequence[str] | None = None, *, rules: RuleSet | None = None,
           depth: None = None, names: Names = "guide") -> Derivation | LoopDerivation: ...


def derive(source: str, wrt: Sequence[str] | None = None, *, rules: RuleSet | None = None,
           depth: Mapping[str, int] | None = None,
           names: Names = "guide") -> Derivation | LoopDerivation:
    """Derive ∂J/∂X for every X in `wrt` (default: the program's `wrt` line, else every free
    symbol of the objective not marked `data`/`const`).

    A program with a layer loop `for j in 1..k: … end` is derived at symbolic depth (a
    `LoopDerivation`: the recursion (23) once, code that loops over lists of weights) unless
    `depth` (e.g. {"k": 4}) asks for the layers written out.

    `names="guide"` (the default) names the intermediates of an inline objective as the guide
    does (A = XW + b, Z = f(A)), so that it derives like its let-bound form; `names="inline"`
    derives the expressions as written, substituted into each other."""
    if names not in ("guide", "inline"):
        raise UsageError(f"unknown names='{names}'; use 'guide' or 'inline'.")
    try:
        statements = parse_program(source)
        if has_layers(statements):
            if names == "guide":
                statements = name_layer_arguments(statements)
            if depth is None and _is_symbolic(statements):
                return derive_layers(source, statements, wrt, rules or load_rules())
            statements = expand(statements, depth or {})
        program = resolve_program(source, statements, names)
        chosen = _choose_wrt(program, wrt)
        return derivation_of(program, chosen, rules or load_rules())
    except RecursionError:
        raise UsageError(TOO_DEEP) from None
