"""Programs with a layer loop: their structure, checked, and their unrolling at a concrete depth.

A layered program is a prologue (declarations and the start values of the carried matrices,
`Z[0] = X`), one loop `for j in lo..hi: … end` whose body declares the layer's parameters
(`W[j]: n[j-1] x n[j]`) and binds the layer's matrices (`A[j] = Z[j-1]*W[j] + b[j]`), and an
epilogue that reads the loop's result (`J = … Z[k] …`).  A family defined in the body and read at
j−1 is *carried* from layer to layer (Z).

Invariants: `analyse` accepts only what the symbolic derivation handles exactly — the body reads
its own layer (index j), the carried families at j−1 and names without an index; the epilogue
reads the loop only through the carried families at hi — and says what to change otherwise.
`expand` writes the layers out (W[2] → W2) into an ordinary program with the same meaning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from matgrad.errors import UnsupportedError, UsageError
from matgrad.front.syntax import (
    Decl,
    Let,
    Loop,
    Objective,
    SBinary,
    SCall,
    SExpr,
    SName,
    SNumber,
    SSum,
    Statement,
    SUnary,
    Wrt,
)
from matgrad.ir import indexing
from matgrad.ir.indexing import Index
from matgrad.limits import MAX_UNROLLED_DEPTH, exceeded

# Unrolling is for checks and small depths; a larger depth is what the loop itself is for.


def surface_names(node: SExpr) -> Iterator[SName]:
    """Every name in a surface expression, function names (f[j]) included."""
    if isinstance(node, SName):
        yield node
    elif isinstance(node, SBinary):
        yield from surface_names(node.a)
        yield from surface_names(node.b)
    elif isinstance(node, SUnary):
        yield from surface_names(node.x)
    elif isinstance(node, SSum):
        for _, term in node.terms:
            yield from surface_names(term)
    elif isinstance(node, SCall):
        yield from surface_names(node.callee)
        for arg in node.args:
            yield from surface_names(arg)


def rename_surface(node: SExpr, mapping: Mapping[str, str]) -> SExpr:
    if isinstance(node, SName):
        return replace(node, name=mapping.get(node.name, node.name))
    if isinstance(node, SBinary):
        return replace(node, a=rename_surface(node.a, mapping), b=rename_surface(node.b, mapping))
    if isinstance(node, SUnary):
        return replace(node, x=rename_surface(node.x, mapping))
    if isinstance(node, SSum):
        return replace(node, terms=tuple((neg, rename_surface(term, mapping))
                                         for neg, term in node.terms))
    if isinstance(node, SCall):
        return replace(node, callee=rename_surface(node.callee, mapping),
                       args=tuple(rename_surface(arg, mapping) for arg in node.args))
    return node


def statement_names(statement: Statement) -> Iterator[str]:
    """Names a statement mentions: bound or declared names, sizes, names read."""
    if isinstance(statement, Decl):
        yield statement.name
        if isinstance(statement.shape, tuple):
            yield from (dim for dim in statement.shape if isinstance(dim, str))
    elif isinstance(statement, Let):
        yield statement.name
        yield from (node.name for node in surface_names(statement.value))
    elif isinstance(statement, Wrt):
        yield from statement.names
    elif isinstance(statement, Objective):
        yield statement.name
    else:
        for inner in statement.body:
            yield from statement_names(inner)


def has_layers(statements: list[Statement]) -> bool:
    return any(isinstance(statement, Loop) or any(indexing.split(name) is not None
                                                  for name in statement_names(statement))
               for statement in statements)


# ---- unrolling ----------------------------------------------------------------------------


def _concrete_statement(statement: Decl | Let | Wrt | Objective, values: Mapping[str, int],
                        names: dict[str, str]) -> Decl | Let | Wrt | Objective:
    mapping: dict[str, str] = {}
    for name in statement_names(statement):
        parts = indexing.split(name)
        if parts is None:
            continue
        index = parts[1]
        symbol = index.symbol
        if symbol is not None and symbol not in values:
            raise UsageError(f"'{name}' at line {statement.pos.line}: its index {symbol} is "
                             "neither a loop variable nor a depth given (e.g. --depth "
                             f"{symbol}=4).")
        made = indexing.concrete(name, values)
        assert made is not None
        if index.value(values) < 0:
            raise UsageError(f"'{name}' at line {statement.pos.line} has a negative index when "
                             f"{', '.join(f'{k} = {v}' for k, v in values.items())}.")
        earlier = names.setdefault(made, name)
        if indexing.split(earlier) is None:
            raise UsageError(f"'{name}' unrolls to '{made}', a name the program also uses for "
                             "something else; rename one of them.")
        mapping[name] = made
    if isinstance(statement, Decl):
        shape = statement.shape
        if isinstance(shape, tuple):
            shape = tuple(mapping.get(dim, dim) if isinstance(dim, str) else dim
                          for dim in shape)  # type: ignore[assignment]
        return replace(statement, name=mapping.get(statement.name, statement.name), shape=shape)
    if isinstance(statement, Let):
        return replace(statement, name=mapping.get(statement.name, statement.name),
                       value=rename_surface(statement.value, mapping))
    if isinstance(statement, Objective):
        return replace(statement, name=mapping.get(statement.name, statement.name))
    return statement


def stop_value(loop: Loop, depth: Mapping[str, int]) -> int:
    symbol, offset = loop.stop
    if symbol is None:
        return offset
    if symbol not in depth:
        raise UsageError(f"the loop at line {loop.pos.line} runs to {symbol}; give its value to "
                         f"unroll it (--depth {symbol}=4, or depth={{'{symbol}': 4}}).")
    return depth[symbol] + offset


def expand(statements: list[Statement], depth: Mapping[str, int]) -> list[Statement]:
    """The program with every loop written out and every index made concrete."""
    for name, value in depth.items():
        if not 0 <= value <= MAX_UNROLLED_DEPTH:
            raise UsageError(f"depth {name} = {value}: unrolling takes 0…{MAX_UNROLLED_DEPTH} "
                             "layers; derive without --depth for the loop itself "
                             f"{exceeded('MAX_UNROLLED_DEPTH', value)}.")
    plain = {name for statement in statements for name in statement_names(statement)
             if indexing.split(name) is None}
    names: dict[str, str] = {name: name for name in plain}
    families = {indexing.base_of(name) for statement in statements
                for name in statement_names(statement) if indexing.split(name) is not None}
    result: list[Statement] = []
    for statement in statements:
        if isinstance(statement, Loop):
            if statement.var in depth:
                raise UsageError(f"the loop variable {statement.var} is also given a depth.")
            stop = stop_value(statement, depth)
            if stop < statement.start:
                # 3..1 is not a loop that counts down: an empty loop is surely a slip.
                raise UsageError(f"the loop at line {statement.pos.line} runs from "
                                 f"{statement.start} to {stop}, which is empty: a loop counts "
                                 "up (for j in 1..3).")
            if stop - statement.start + 1 > MAX_UNROLLED_DEPTH:
                raise UsageError(f"the loop at line {statement.pos.line} has "
                                 f"{stop - statement.start + 1:,} layers; written out, a "
                                 f"program takes at most {MAX_UNROLLED_DEPTH} (write it to a "
                                 "depth k and derive it once for every depth) "
                                 f"{exceeded('MAX_UNROLLED_DEPTH')}.")
            for layer in range(statement.start, stop + 1):
                values = {**depth, statement.var: layer}
                result += [_concrete_statement(inner, values, names) for inner in statement.body]
        elif isinstance(statement, Wrt):
            # `wrt W, b` names whole families: every layer's W and b.
            expanded: list[str] = []
            for name in statement.names:
                if name in families:
                    expanded += [made for made, original in names.items()
                                 if indexing.split(original) is not None
                                 and indexing.base_of(original) == name]
                else:
                    expanded.append(_concrete_statement(Objective(name, statement.pos), depth,
                                                        names).name)  # type: ignore[union-attr]
            result.append(Wrt(tuple(expanded), statement.pos))
        else:
            result.append(_concrete_statement(statement, depth, names))
    return result


# ---- structure of a symbolic loop ---------------------------------------------------------


Part = Literal["prologue", "body", "epilogue"]
ADJOINT_PREFIX = "Δ"


@dataclass(frozen=True)
class Declaration:
    """A matrix or scalar a layered program declares, as the layers below read it."""

    name: str
    shape: tuple[str | int, str | int] | None  # None: a scalar
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class StartValue:
    """A carried family's start value (`Z[0] = X`, `r[0] = 0`): the name it copies or the
    number it is, every name it reads, and its text as written."""

    name: str | None
    number: Fraction | None
    reads: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class LayeredProgram:
    source: str
    prologue: tuple[Statement, ...]
    loop: Loop
    epilogue: tuple[Statement, ...]
    depth_symbol: str
    carried: tuple[str, ...]           # families read at j−1: Z
    body_lets: tuple[str, ...]         # families bound in the body, in order: A, Z
    body_declared: tuple[str, ...]     # families declared in the body: W, b
    start_values: dict[str, Let]       # Z → the prologue's `Z[0] = X`

    @property
    def var(self) -> str:
        return self.loop.var

    def at(self, base: str, offset: int) -> str:
        """The family member at j + offset: at("Z", -1) = "Z[j-1]"."""
        return indexing.make(base, Index(self.var, offset))

    def final(self, base: str) -> str:
        """The family member the loop ends on: Z[k] for `1..k`, Z[k-1] for `1..k-1`."""
        return indexing.make(base, Index(self.depth_symbol, self.loop.stop[1]))

    def initial(self, base: str) -> str:
        return indexing.make(base, Index(None, self.loop.start - 1))

    # ---- what the layers below read, without surface syntax ---------------------------------

    def _part(self, part: Part) -> tuple[Statement, ...]:
        return {"prologue": self.prologue, "body": self.loop.body,
                "epilogue": self.epilogue}[part]

    def declarations(self, *parts: Part) -> list[Declaration]:
        """The matrices and scalars declared in `parts` (all three by default), in order."""
        found = []
        for part in parts or ("prologue", "body", "epilogue"):
            for statement in self._part(part):
                if isinstance(statement, Decl) and not isinstance(statement.shape, str):
                    found.append(Declaration(statement.name, statement.shape,
                                             statement.attributes))
        return found

    def bindings(self, part: Part) -> tuple[str, ...]:
        """The names `part` binds (`A[j] = …`), in order."""
        return tuple(s.name for s in self._part(part) if isinstance(s, Let))

    def body_entries(self) -> tuple[tuple[str, bool], ...]:
        """The body's names in order, each with whether it is declared (a parameter)."""
        return tuple((s.name, isinstance(s, Decl)) for s in self.loop.body)

    def named(self, part: Part) -> tuple[str, ...]:
        """The names `part` declares or binds, in order."""
        return tuple(s.name for s in self._part(part) if isinstance(s, (Decl, Let)))

    def start(self, base: str) -> StartValue:
        value = self.start_values[base].value
        reads = tuple(node.name for node in surface_names(value))
        return StartValue(value.name if isinstance(value, SName) else None,
                          value.value if isinstance(value, SNumber) else None,
                          reads, value.pos.text(self.source))

    def with_directions(self, directions: Mapping[str, str],
                        forward: Mapping[str, str]) -> LayeredProgram:
        """The program of a loop's Hessian-vector product: each direction declared as data
        where its parameter is (V_W[j] in the body, V_c after the loop) and each forward
        tangent bound in the body (Ż[j] = Z[j], for the signature)."""
        loop = self.loop
        declared = {s.name: s for s in (*loop.body, *self.epilogue, *self.prologue)
                    if isinstance(s, Decl)}
        in_body = {s.name for s in loop.body if isinstance(s, Decl)}
        body_extra: list[Decl | Let] = []
        epilogue_extra: list[Decl] = []
        for parameter, direction in directions.items():
            decl = declared.get(parameter)
            if decl is None:
                raise UnsupportedError(f"the product needs the declared shape of {parameter}.")
            made = Decl(direction, decl.shape, ("data",), decl.pos)
            (body_extra if parameter in in_body else epilogue_extra).append(made)
        for base, tangent in forward.items():
            body_extra.append(Let(self.at(tangent, 0), SName(loop.pos, self.at(base, 0)),
                                  loop.pos))
        return replace(self, loop=replace(loop, body=(*loop.body, *body_extra)),
                       epilogue=(*epilogue_extra, *self.epilogue))


def carried_adjoint(base: str, layered: LayeredProgram) -> str:
    """ΔZ[j], the input of a loop body's derivation: ∂J/∂Z[j]."""
    return indexing.make(ADJOINT_PREFIX + base, Index(layered.var, 0))


def _body_reads(loop: Loop) -> Iterator[tuple[str, Let]]:
    for statement in loop.body:
        if isinstance(statement, Let):
            for node in surface_names(statement.value):
                yield node.name, statement


def analyse(source: str, statements: list[Statement]) -> LayeredProgram:
    loops = [index for index, statement in enumerate(statements) if isinstance(statement, Loop)]
    if not loops:
        raise UsageError("indexed names such as W[k] need a depth: give one (--depth k=3) or "
                         "write the layers in a loop (for j in 1..k: … end).")
    if len(loops) > 1:
        second = statements[loops[1]]
        raise UnsupportedError(f"a second loop at line {second.pos.line}: matgrad derives one "
                               "layer loop per program for now; write the other layers out.")
    position = loops[0]
    loop = statements[position]
    assert isinstance(loop, Loop)
    symbol, _ = loop.stop
    if symbol is None:
        raise UsageError("internal: a loop of fixed length is unrolled, not analysed")
    var = loop.var
    here = Index(var, 0)
    body_lets = tuple(indexing.base_of(s.name) for s in loop.body if isinstance(s, Let))
    body_declared = tuple(indexing.base_of(s.name) for s in loop.body if isinstance(s, Decl))
    for statement in loop.body:
        parts = indexing.split(statement.name)
        if parts is None or parts[1] != here:
            kind = "binds" if isinstance(statement, Let) else "declares"
            raise UsageError(f"line {statement.pos.line}: a loop body {kind} its own layer's "
                             f"matrices, indexed [{var}] (as W[{var}], A[{var}]); "
                             f"'{statement.name}' is not one.")
    carried: list[str] = []
    for name, statement in _body_reads(loop):
        parts = indexing.split(name)
        if parts is None:
            continue
        base, index = parts
        if index == here:
            continue
        if index == Index(var, -1) and base in body_lets:
            if base not in carried:
                carried.append(base)
            continue
        raise UnsupportedError(
            f"line {statement.pos.line}: '{name}' reaches another layer than {var} and {var}-1 "
            f"of a matrix the loop binds; matgrad derives loops whose layer j reads layer j-1 "
            "only (write such a network out, or with --depth).")
    prologue = tuple(statements[:position])
    epilogue = tuple(statements[position + 1:])
    start_values: dict[str, Let] = {}
    for before in prologue:
        if isinstance(before, Let):
            start = indexing.split(before.name)
            if start is None or start[0] not in carried or start[1] != Index(None,
                                                                             loop.start - 1):
                raise UsageError(
                    f"line {before.pos.line}: before the loop, only the start values of the "
                    f"carried matrices ({', '.join(f'{c}[{loop.start - 1}]' for c in carried)}"
                    f") are bound; move '{before.name}' after the loop.")
            start_values[start[0]] = before
    for base in carried:
        if base not in start_values:
            raise UsageError(f"the loop reads {base}[{var}-1], so {base}[{loop.start - 1}] needs "
                             f"a value before the loop, e.g. {base}[{loop.start - 1}] = X.")
    layered = LayeredProgram(source, prologue, loop, epilogue, symbol, tuple(carried),
                             body_lets, body_declared, start_values)
    finals = {layered.final(base) for base in carried}
    for after in epilogue:
        for name in statement_names(after):
            parts = indexing.split(name)
            if parts is None or name in finals:
                continue
            beyond = parts[1].symbol == symbol and parts[1].offset > loop.stop[1]
            if (parts[0] in body_lets or parts[0] in body_declared) and not beyond:
                raise UnsupportedError(
                    f"line {after.pos.line}: after the loop, '{name}' reads a layer of the "
                    f"loop; only {', '.join(sorted(finals))} (its result) may be read there.")
    return layered
