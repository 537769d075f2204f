"""Derivation of a layered program at symbolic depth: the recursion (23) derived once, for any k.

The loop body is derived once, for a generic layer j, as the program `J = ΔZ[j] · Z[j]` in which
ΔZ[j] = ∂J/∂Z[j] is an input: the engine gives ∂J/∂W[j], ∂J/∂b[j], the layer's adjoints (Δ[j])
and ∂J/∂Z[j-1].  The code after the loop (the epilogue) is derived once with the loop's result
Z[k] as a parameter, which gives ∂J/∂Z[k].  The adjoint recursion joins the two, as the guide's
(20)–(22) unroll:
    ΔZ[k] = ∂J/∂Z[k] (epilogue),     ΔZ[j] = (∂J/∂Z[j-1] of the body) at layer j+1, for j < k.

Shapes of the carried matrices come from a probe: the program unrolled at three layers is
resolved as an ordinary one, and the middle layer's shapes are written back with indices.

Invariants: both parts are ordinary derivations by the rules (every step cited); nothing is
specialised to a network shape; a loop the derivation cannot handle exactly raises a
MatgradError (loops.analyse) and never yields a wrong recursion — the tests check this result
against the unrolled programs for k = 1…8.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matgrad.errors import ShapeError, UnsupportedError, UsageError
from matgrad.front.loops import LayeredProgram, analyse, expand, statement_names, stop_value
from matgrad.front.resolve import Program, resolve_program
from matgrad.front.syntax import Decl, Let, Loop, Objective, SBinary, SName, SSum, Statement, Wrt
from matgrad.ir import indexing
from matgrad.ir.dims import Dim
from matgrad.ir.expr import Expr, Sym, substitute
from matgrad.ir.indexing import Index
from matgrad.ir.text import Style, pretty_name, to_text
from matgrad.rewrite.rules import RuleSet

if TYPE_CHECKING:
    from matgrad.api import Derivation
    from matgrad.engine.derive import Step

PROBE_LAYERS = 3
ADJOINT_PREFIX = "Δ"


def carried_adjoint(base: str, layered: LayeredProgram) -> str:
    """ΔZ[j], the input of the body derivation: ∂J/∂Z[j]."""
    return indexing.make(ADJOINT_PREFIX + base, Index(layered.var, 0))


# ---- shapes by probing -------------------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    program: Program
    depth: int
    layer: int                                       # the probed generic layer j₀
    origins: dict[str, list[tuple[str, dict[str, int]]]]  # concrete name → (indexed, values)

    def symbolic_dim(self, dim: Dim, layered: LayeredProgram, relative_to: str) -> Dim:
        """A probed size written back with an index: n2 at j₀ = 2 → n[j] (body) or, after the
        loop, relative to the depth: n3 at k = 3 → n[k]."""
        if not isinstance(dim, str) or dim not in self.origins:
            return dim
        candidates = self.origins[dim]
        order = ([layered.var, layered.depth_symbol] if relative_to == layered.var
                 else [layered.depth_symbol, layered.var])
        for symbol in order:
            for name, values in candidates:
                base, index = indexing.split(name)  # type: ignore[misc]
                if index.symbol != symbol:
                    continue
                value = index.value(values)
                anchor = self.layer if relative_to == layered.var else self.depth
                return indexing.make(base, Index(relative_to, value - anchor))
        name, values = candidates[0]
        base, index = indexing.split(name)  # type: ignore[misc]
        return indexing.make(base, Index(None, index.value(values)))

    def shape(self, concrete_name: str, layered: LayeredProgram,
              relative_to: str) -> tuple[str | int, str | int]:
        rows, cols = self.program.shapes[concrete_name]
        symbolic = (self.symbolic_dim(rows, layered, relative_to),
                    self.symbolic_dim(cols, layered, relative_to))
        assert all(isinstance(dim, (str, int)) for dim in symbolic), "resolved shapes are named"
        return symbolic  # type: ignore[return-value]


def _probe(layered: LayeredProgram, statements: list[Statement]) -> _Probe:
    loop = layered.loop
    depth = loop.start + PROBE_LAYERS - 1 - loop.stop[1]
    values = {layered.depth_symbol: depth}
    origins: dict[str, list[tuple[str, dict[str, int]]]] = {}

    def record(statement: Statement, at: dict[str, int]) -> None:
        for name in statement_names(statement):
            made = indexing.concrete(name, at)
            if made is not None:
                origins.setdefault(made, []).append((name, dict(at)))

    for statement in statements:
        if isinstance(statement, Loop):
            for layer in range(loop.start, stop_value(loop, values) + 1):
                for inner in statement.body:
                    record(inner, {**values, loop.var: layer})
        else:
            record(statement, values)
    try:
        program = resolve_program(layered.source, expand(statements, values))
    except ShapeError as error:
        raise ShapeError(f"{error} (in the layers written out for {layered.depth_symbol} = "
                         f"{depth})") from None
    return _Probe(program, depth, loop.start + 1, origins)


# ---- the two derivations -------------------------------------------------------------------


def _top_declarations(layered: LayeredProgram) -> list[Decl]:
    return [s for s in (*layered.prologue, *layered.epilogue) if isinstance(s, Decl)]


def _wanted(wrt: Sequence[str] | None, attributes: frozenset[str]) -> Callable[[str], bool]:
    def wanted(name: str) -> bool:
        if wrt is None:
            return not attributes & {"data", "const"}
        return name in wrt or indexing.base_of(name) in wrt
    return wanted


def _derive_part(source: str, statements: list[Statement], wrt_of: Callable[[Program], list[str]],
                 rules: RuleSet, outer_nodes: list[str]) -> Derivation:
    from matgrad.api import derivation_of  # the API module builds derivations for both paths

    program = resolve_program(source, statements)
    return derivation_of(program, tuple(wrt_of(program)), rules, frozenset(outer_nodes))


def _body_statements(layered: LayeredProgram, probe: _Probe, objective: str) -> list[Statement]:
    loop = layered.loop
    statements: list[Statement] = list(_top_declarations(layered))
    statements += [s for s in loop.body if isinstance(s, Decl)]
    frob_terms: list[tuple[bool, SBinary]] = []
    for base in layered.carried:
        before = indexing.make(base, Index(None, probe.layer - 1))
        made_before = indexing.concrete(before, {}) or before
        made_here = indexing.concrete(indexing.make(base, Index(None, probe.layer)), {}) or base
        statements.append(Decl(layered.at(base, -1), probe.shape(made_before, layered, loop.var),
                               (), loop.pos))
        adjoint = carried_adjoint(base, layered)
        statements.append(Decl(adjoint, probe.shape(made_here, layered, loop.var), ("data",),
                               loop.pos))
        frob_terms.append((False, SBinary(loop.pos, "frob", SName(loop.pos, adjoint),
                                          SName(loop.pos, layered.at(base, 0)))))
    statements += [s for s in loop.body if isinstance(s, Let)]
    total = frob_terms[0][1] if len(frob_terms) == 1 else SSum(loop.pos, tuple(frob_terms))
    statements.append(Let(objective, total, loop.pos))
    return statements


def _epilogue_statements(layered: LayeredProgram, probe: _Probe) -> list[Statement]:
    statements: list[Statement] = list(_top_declarations(layered))
    for base in layered.carried:
        final = layered.final(base)
        made = indexing.concrete(final, {layered.depth_symbol: probe.depth}) or final
        statements.append(Decl(final, probe.shape(made, layered, layered.depth_symbol), (),
                               layered.loop.pos))
    statements += [s for s in layered.epilogue if not isinstance(s, (Decl, Wrt))]
    return statements


def _objective_name(layered: LayeredProgram) -> str:
    named = [s.name for s in layered.epilogue if isinstance(s, Objective)]
    lets = [s.name for s in layered.epilogue if isinstance(s, Let)]
    if named:
        return named[-1]
    if not lets:
        raise UsageError("after the loop, bind the objective, e.g. J = 1/(2*t) * ||Z[k] - Y||^2.")
    return lets[-1]


@dataclass
class LoopDerivation:
    """The result for a layered program at symbolic depth."""

    layered: LayeredProgram
    body: Derivation
    epilogue: Derivation
    parameters: tuple[str, ...]  # layer parameters (W[j], b[j]), then the epilogue's

    @property
    def objective(self) -> str:
        return self.epilogue.objective

    @property
    def notes(self) -> list[str]:
        """Inferred shapes are not reported for loops: a layer's program infers Z[j-1] by
        design (declare each layer's parameters to have them checked)."""
        return []

    @property
    def steps(self) -> list[Step]:
        """Every step of both derivations: a generic layer's, then the epilogue's."""
        return [*self.body.steps, *self.epilogue.steps]

    @property
    def gradients(self) -> dict[str, Expr]:
        """∂J/∂P for each layer parameter P[j] (symbolic in j) and each epilogue parameter."""
        carried = {self.layered.at(base, -1) for base in self.layered.carried}
        finals = {self.layered.final(base) for base in self.layered.carried}
        result = {name: g for name, g in self.body.gradients.items() if name not in carried}
        result.update((name, g) for name, g in self.epilogue.gradients.items()
                      if name not in finals)
        return result

    def carried_cases(self, base: str) -> tuple[Expr, Expr]:
        """ΔZ[j] for j = hi (from the epilogue) and for j < hi (the body's ∂J/∂Z[j-1] one layer
        up): the two cases of the guide's (23)."""
        layered = self.layered
        last = self.epilogue.gradients[layered.final(base)]
        up = Index(layered.var, 1)
        below = self.body.gradients[layered.at(base, -1)]
        return last, indexing.rename(below, lambda n: indexing.substitute_symbol(
            n, layered.var, up))

    def adjoint_cases(self) -> list[tuple[str, Expr, Expr | None]]:
        """Each named adjoint of the body with ΔZ[j] replaced by its two cases: (name, value at
        j = hi written in the depth symbol, value for j < hi); for adjoints that do not read
        ΔZ[j], (name, value, None)."""
        layered = self.layered
        at_last = Index(layered.depth_symbol, layered.loop.stop[1])
        cases: list[tuple[str, Expr, Expr | None]] = []
        mappings_last: dict[Expr, Expr] = {}
        mappings_below: dict[Expr, Expr] = {}
        for base in layered.carried:
            last, below = self.carried_cases(base)
            mappings_last[Sym(carried_adjoint(base, layered))] = last
            mappings_below[Sym(carried_adjoint(base, layered))] = below
        for name, value in self.body.adjoints.items():
            if not (set(mappings_last) & {node for node in value.walk() if isinstance(node, Sym)}):
                cases.append((name, value, None))
                continue
            # ΔZ[j] is replaced first, then j → k (the epilogue's value has no j in it).
            last_value = indexing.rename(substitute(value, mappings_last),
                                         lambda n: indexing.substitute_symbol(n, layered.var,
                                                                              at_last))
            cases.append((name, last_value, substitute(value, mappings_below)))
        return cases

    def reads_carried_adjoint_directly(self) -> bool:
        names = {carried_adjoint(base, self.layered) for base in self.layered.carried}
        return any(isinstance(node, Sym) and node.name in names
                   for gradient in self.gradients.values() for node in gradient.walk())

    def text(self, style: Style = "unicode") -> str:
        return format_loop(self, style)

    def __str__(self) -> str:
        return format_loop(self, "unicode")

    def numpy_source(self, name: str = "value_and_grad",
                     bind: Mapping[str, str] | None = None) -> str:
        from matgrad.backends.numpy_loop import loop_numpy_source

        return loop_numpy_source(self, name, dict(bind or {}))

    @property
    def python_names(self) -> dict[str, str]:
        """The generated function's argument for each input (a layer family is one list)."""
        from matgrad.backends.numpy_loop import loop_argument_names

        return loop_argument_names(self)

    def compile(self, name: str = "value_and_grad",
                bind: Mapping[str, str] | None = None) -> Callable[..., Any]:
        from matgrad.backends.numpy import load_function

        return load_function(self.numpy_source(name, bind), name)

    def latex(self, style: str = "align", standalone: bool = False) -> str:
        """The result as (23) in LaTeX; standalone: a document with both derivations."""
        from matgrad.printing.loop_latex import loop_latex

        if style != "align":
            raise UsageError(f"unknown LaTeX style '{style}'; the supported style is 'align'.")
        return loop_latex(self, standalone)

    def _repr_latex_(self) -> str:
        # Jupyter's MathJax renders display math; align* becomes aligned inside $$ … $$.
        body = self.latex().replace("\\begin{align*}", "$$\\begin{aligned}")
        return body.replace("\\end{align*}", "\\end{aligned}$$").strip()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def steps_text(self) -> str:
        from matgrad.printing.report import format_steps

        layer = pretty_name(self.layered.var, "unicode")
        return (f"Layer {layer}, given ΔZ = ∂J/∂Z of the layer's output:\n"
                f"{format_steps(self.body)}\n\nAfter the loop:\n{format_steps(self.epilogue)}")


def format_loop(derivation: LoopDerivation, style: Style = "unicode") -> str:
    layered = derivation.layered
    partial = "∂" if style == "unicode" else "d"
    objective = pretty_name(derivation.objective, style)
    var, depth = layered.var, layered.depth_symbol
    last = Index(depth, layered.loop.stop[1]).text()
    if style == "unicode":
        last = last.replace("-", " − ").replace("+", " + ")
    first = layered.loop.start
    dots = "…" if style == "unicode" else "..."
    lines = [f"for {var} = {first}, {dots}, {last}:"]
    in_loop = set(derivation.body.wrt)
    for name, gradient in derivation.gradients.items():
        indent = "  " if name in in_loop else ""
        lines.append(f"{indent}{partial}{objective}/{partial}{pretty_name(name, style)} = "
                     f"{to_text(gradient, style)}")
    lines.append("where")
    width_cases = []
    for name, at_last, below in derivation.adjoint_cases():
        shown = pretty_name(name, style)
        if below is None:
            width_cases.append((f"  {shown} = {to_text(at_last, style)}", ""))
            continue
        width_cases.append((f"  {shown} = {to_text(at_last, style)}", f"if {var} = {last}"))
        width_cases.append((f"  {shown} = {to_text(below, style)}", f"if {var} < {last}"))
    if derivation.reads_carried_adjoint_directly():
        for base in layered.carried:
            at_last, below = derivation.carried_cases(base)
            shown = pretty_name(carried_adjoint(base, layered), style)
            width_cases.append((f"  {shown} = {to_text(at_last, style)}", f"if {var} = {last}"))
            width_cases.append((f"  {shown} = {to_text(below, style)}", f"if {var} < {last}"))
    width = max((len(text) for text, case in width_cases if case), default=0)
    lines += [f"{text.ljust(width)}   {case}".rstrip() for text, case in width_cases]
    for name, adjoint in derivation.epilogue.adjoints.items():
        lines.append(f"  {pretty_name(name, style)} = {to_text(adjoint, style)}")
    for statement in layered.loop.body:
        if isinstance(statement, Let):
            value = derivation.body.program.definitions[statement.name]
            lines.append(f"  {pretty_name(statement.name, style)} = {to_text(value, style)}")
    for name, value in derivation.epilogue.program.definitions.items():
        if name != derivation.objective:
            lines.append(f"  {pretty_name(name, style)} = {to_text(value, style)}")
    for base, start in layered.start_values.items():
        shown = start.value.pos.text(layered.source)
        lines.append(f"  {pretty_name(layered.initial(base), style)} = {shown}")
    return "\n".join(lines)


def derive_layers(source: str, statements: list[Statement], wrt: Sequence[str] | None,
                  rules: RuleSet) -> LoopDerivation:
    layered = analyse(source, statements)
    chosen_wrt = wrt
    if chosen_wrt is None:
        named = [s for s in statements if isinstance(s, Wrt)]
        chosen_wrt = named[-1].names if named else None
    probe = _probe(layered, statements)
    objective = _objective_name(layered)
    declared = {s.name: frozenset(s.attributes) for s in statements if isinstance(s, Decl)}
    declared.update((s.name, frozenset(s.attributes)) for s in layered.loop.body
                    if isinstance(s, Decl))

    def wants(name: str) -> bool:
        return _wanted(chosen_wrt, declared.get(name, frozenset()))(name)

    # The start values must not depend on what is differentiated: they are inputs of the loop.
    for start in layered.start_values.values():
        for name in statement_names(start):
            if name != start.name and name in declared and wants(name):
                raise UnsupportedError(
                    f"line {start.pos.line}: the start value {start.name} reads '{name}', which "
                    "is differentiated; matgrad derives loops whose start values are data "
                    f"(mark {name} as data, or write the layers out with --depth).")
    body_reads = {name for s in layered.loop.body if isinstance(s, Let)
                  for name in statement_names(s) if indexing.split(name) is None}
    for name in sorted(body_reads):
        if name in probe.program.parameters and wants(name):
            raise UnsupportedError(
                f"the loop body reads '{name}', a parameter shared by every layer: its gradient "
                "would be a sum over the layers, which matgrad does not derive in a loop yet; "
                f"give it an index ({name}[{layered.var}]) or write the layers out (--depth).")

    carried_inputs = [layered.at(base, -1) for base in layered.carried]
    body = _derive_part(
        source, _body_statements(layered, probe, objective),
        lambda program: carried_inputs + [name for name in program.parameters
                                          if name not in carried_inputs and wants(name)
                                          and not indexing.base_of(name).startswith(
                                              ADJOINT_PREFIX)],
        rules, carried_inputs)
    finals = [layered.final(base) for base in layered.carried]
    epilogue = _derive_part(
        source, _epilogue_statements(layered, probe),
        lambda program: finals + [name for name in program.parameters
                                  if name not in finals and wants(name)],
        rules, finals)
    # Every name the recursion shifts (j → j+1) must be an indexed name, or the shift would
    # silently miss it and print a wrong recursion: refuse instead.
    names = list(body.adjoints) + [node.name for expr in (*body.gradients.values(),
                                                          *body.adjoints.values())
                                   for node in expr.walk() if isinstance(node, Sym)]
    for name in names:
        if "[" in name and indexing.split(name) is None:
            raise UnsupportedError(f"internal: the layer's result names '{name}', which is "
                                   "not an indexed name; write the layers out (--depth).")
    parameters = tuple(name for name in (*body.wrt, *epilogue.wrt)
                       if name not in carried_inputs and name not in finals)
    if not parameters:
        raise UsageError("there is nothing to differentiate: no layer or epilogue parameter is "
                         "free (all are marked data/const, or wrt names none).")
    return LoopDerivation(layered, body, epilogue, parameters)
