"""The calling convention of a generated function, computed once from a derivation.

A `Signature` says which arguments the function takes, in which order, under which Python
identifiers; which sizes it takes as keyword-only arguments (those no argument's shape gives);
and, for a loop derivation, which inputs are layer lists and which written-out names (W1, W2, …)
a list holds at a given depth.  Code generation names its arguments from it, and the check and
the CLI call the function through it, so the three cannot disagree.

Invariants: identifiers come from `python_name` and an `IdentifierPool` seeded with the names
the module uses itself; the signature depends only on the derivation and the function's name
(not on a backend or on bindings), so every backend's module is called the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from matgrad.codegen.computation import Computation, computation_of
from matgrad.codegen.names import (
    LOOP_MODULE_NAMES,
    MODULE_NAMES,
    IdentifierPool,
    check_function_name,
    python_name,
    refuse_collisions,
)
from matgrad.engine.results import Derivation, Layers, LoopDerivation
from matgrad.errors import CodegenError
from matgrad.front.program import Program
from matgrad.ir import indexing
from matgrad.ir.dims import Shape
from matgrad.ir.expr import DimSize, Expr, Sym
from matgrad.ir.indexing import Index
from matgrad.ir.shapes import shape_of

# Locals of the loop module besides its helpers: the argument being checked and the matrix.
LOOP_LOCALS = frozenset({"what", "m"})


@dataclass(frozen=True)
class Family:
    """A layer family: W[j] (a list argument) or A[j], Z[j] (lists the function computes)."""

    base: str
    lowest: int         # the first layer's index (W[1] is W[0] in the Python list)
    is_parameter: bool  # passed in as a list (W, b) or computed by the function (A, Z)
    top: int            # the last layer is the depth plus this (b[k-1] of a loop to k−1: −1)


@dataclass(frozen=True)
class Signature:
    function_name: str
    # Each input (a layer family by its base name) → its identifier, in the order of the call.
    arguments: dict[str, str]
    # Sizes the function takes as keyword-only arguments: dimension → keyword.
    size_keywords: dict[str, str]
    # Identifiers the generated code gives the program's other names (definitions, adjoints)
    # and its dimensions; the code claims its temporaries from what is left.
    locals: dict[str, str] = field(default_factory=dict)
    dims: dict[str, str] = field(default_factory=dict)
    taken: frozenset[str] = frozenset()
    # For a loop: the layer families, the loop variable's and the depth's identifiers, and the
    # local that carries ΔZ[j] from layer to layer for each carried family.
    families: dict[str, Family] = field(default_factory=dict)
    loop_identifiers: tuple[str, str] | None = None
    carried_locals: dict[str, str] = field(default_factory=dict)

    def members(self, base: str, depth: int) -> list[str]:
        """The written-out names a list argument holds at a concrete depth (W1, W2, …)."""
        family = self.families[base]
        return [indexing.concrete(indexing.make(base, Index(None, value)), {}) or base
                for value in range(family.lowest, depth + family.top + 1)]

    def keywords(self, values: Mapping[str, Any], sizes: Mapping[str, int],
                 depth: int | None = None) -> dict[str, Any]:
        """The call's keyword arguments for values of the written-out names (W1, X) and sizes;
        a layer list gathers its members at `depth`."""
        call: dict[str, Any] = {}
        for name, identifier in self.arguments.items():
            if name in self.families:
                assert depth is not None, "a loop's function is called at a depth"
                call[identifier] = [values[member] for member in self.members(name, depth)]
            else:
                call[identifier] = values[name]
        call.update((keyword, sizes[dim]) for dim, keyword in self.size_keywords.items())
        return call


# ---- flat programs -------------------------------------------------------------------------


def returned_mapping(results: Mapping[str, str]) -> list[str]:
    """`return {"name": value, …}` — one entry a line where one line would pass 100 columns."""
    entries = [f'"{name}": {value}' for name, value in results.items()]
    if len(", ".join(entries)) <= 80:
        return [f"return {{{', '.join(entries)}}}"]
    return ["return {", *(f"    {entry}," for entry in entries), "}"]


def ordered_parameters(program: Program) -> list[str]:
    """The function's arguments: declared symbols in declaration order, then the rest."""
    positions = program.positions
    declared = [name for name in program.parameters if name in positions]
    declared.sort(key=lambda name: (positions[name].line, positions[name].column))
    return declared + [name for name in program.parameters if name not in positions]


def _dims_in(roots: list[Expr], shapes: dict[str, Shape]) -> set[str]:
    """Every dimension of a value the code computes (a size it may need to build a broadcast)."""
    memo: dict[Expr, Shape] = {}
    seen: set[Expr] = set()
    found: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        found.update(dim for dim in shape_of(node, shapes, memo) if isinstance(dim, str))
        if isinstance(node, DimSize) and isinstance(node.dim, str):
            found.add(node.dim)  # 1/t: a size read as a number
        stack.extend(node.children())
    return found


def _computed(computation: Computation) -> list[Expr]:
    """What the module computes: the objective, the outputs and every definition and named
    value they read (a let-binding J never reads is not computed, so its sizes are not
    needed)."""
    definitions, adjoints = computation.program.definitions, computation.intermediates
    roots: list[Expr] = [definitions[computation.program.objective],
                         *computation.outputs.values()]
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        for node in stack.pop().walk():
            if isinstance(node, Sym) and node.name not in seen:
                value = definitions.get(node.name, adjoints.get(node.name))
                if value is not None:
                    seen.add(node.name)
                    roots.append(value)
                    stack.append(value)
    return roots


def flat_signature(computation: Computation, function_name: str = "value_and_grad"
                   ) -> Signature:
    """The signature of the module generated for a flat computation."""
    check_function_name(function_name, MODULE_NAMES)
    program = computation.program
    pool = IdentifierPool({function_name, *MODULE_NAMES})
    parameters = ordered_parameters(program)
    refuse_collisions([*parameters, *program.dims])
    arguments = {name: pool.claim(python_name(name)) for name in parameters}
    local_names = {name: pool.claim(python_name(name))
                   for name in (*program.definitions, *computation.intermediates)
                   if name not in arguments}
    dims = {dim: pool.claim(python_name(dim)) for dim in program.dims}
    given = {dim for name in parameters for dim in program.shapes[name]}
    needed = _dims_in(_computed(computation), dict(computation.shapes))
    free = {dim: dims[dim] for dim in program.dims if dim in needed and dim not in given}
    return Signature(function_name, arguments, free, local_names, dims, frozenset(pool.taken))


# ---- loop programs -------------------------------------------------------------------------


def _epilogue_offsets(layers: Layers, base: str) -> list[int]:
    offsets = []
    for name in layers.layered.named("epilogue"):
        parts = indexing.split(name)
        if parts is not None and parts[0] == base and parts[1].symbol is not None:
            offsets.append(parts[1].offset)
    return offsets


def loop_families(layers: Layers) -> dict[str, Family]:
    """The layer families of a loop derivation; one the code could not size is refused."""
    layered = layers.layered
    found: dict[str, tuple[int, bool]] = {}
    for name, declared in layered.body_entries():
        found[indexing.base_of(name)] = (layered.loop.start, declared)
    for base in layered.carried:
        found[base] = (layered.loop.start - 1, False)
    for name in layers.body.program.parameters:
        base = indexing.base_of(name)
        if indexing.split(name) is not None and base not in found and not base.startswith("Δ"):
            raise CodegenError(
                f"the generated code needs the shape of every layer's {base}: declare it "
                f"in the loop body, e.g. {base}[{layered.var}]: n[{layered.var}-1] x "
                f"n[{layered.var}].")
    for name in layered.named("epilogue"):
        if indexing.split(name) is not None and indexing.base_of(name) not in found:
            raise CodegenError(
                f"'{name}' is indexed but no layer of the loop has a "
                f"{indexing.base_of(name)}; give it a plain name for the generated code.")
    return {base: Family(base, lowest, is_parameter,
                         max([layered.loop.stop[1], *_epilogue_offsets(layers, base)]))
            for base, (lowest, is_parameter) in found.items()}


def _loop_argument_order(layers: Layers, families: dict[str, Family]) -> list[str]:
    """Plain declared matrices in declaration order, then the layer families."""
    layered = layers.layered
    used = {name for part in (layers.body, layers.epilogue) for name in part.program.parameters}
    used |= {name for base in layered.start_values for name in layered.start(base).reads}
    plain = [decl.name for decl in layered.declarations("prologue", "epilogue")
             if indexing.split(decl.name) is None and decl.name in used]
    plain += sorted(name for name in used - set(plain) if indexing.split(name) is None)
    return plain + [base for base, family in families.items() if family.is_parameter]


def loop_signature(layers: Layers, function_name: str = "value_and_grad") -> Signature:
    """The signature of the loop module: plain arrays, then one list per layer family."""
    check_function_name(function_name, MODULE_NAMES | LOOP_MODULE_NAMES)
    pool = IdentifierPool({function_name, *MODULE_NAMES, *LOOP_MODULE_NAMES, *LOOP_LOCALS})
    loop_identifiers = (pool.claim(python_name(layers.layered.var)),
                        pool.claim(python_name(layers.layered.depth_symbol)))
    families = loop_families(layers)
    refuse_collisions(_loop_argument_order(layers, families))
    lists = {base: pool.claim(python_name(base)) for base in families}
    carried = {base: pool.claim(f"delta_{python_name(base)}") for base in layers.layered.carried}
    arguments = {name: lists[name] if name in families else pool.claim(python_name(name))
                 for name in _loop_argument_order(layers, families)}
    return Signature(function_name, arguments, {}, dict(lists), {}, frozenset(pool.taken),
                     families, loop_identifiers, carried)


def signature_of(derivation: Derivation, function_name: str = "value_and_grad") -> Signature:
    """The calling convention of the module generated for `derivation`, flat or layered."""
    if isinstance(derivation, LoopDerivation):
        return loop_signature(derivation.layers, function_name)
    return flat_signature(computation_of(derivation), function_name)


def gradient_of(gradients: Mapping[str, Any], signature: Signature, name: str,
                depth: int | None = None) -> Any:
    """The returned gradient for a written-out name: grads[W][i] for the member W(i+1) of a
    list, grads[x] otherwise; None where the function returns none for it."""
    for base, family in signature.families.items():
        if family.is_parameter and depth is not None and base in gradients:
            members = signature.members(base, depth)
            if name in members:
                return gradients[base][members.index(name)]
    return gradients.get(name)


__all__ = ["Family", "Signature", "flat_signature", "gradient_of", "loop_signature",
           "ordered_parameters", "signature_of"]
