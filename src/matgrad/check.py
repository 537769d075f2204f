"""The numerical check of a derivation: compiled gradient vs central differences.

This is the guide's `eval_grad_numeric`: every entry of every parameter is moved by ±h and the
objective re-evaluated (by the same compiled function, in float64).  Inputs are random normal,
except `positive` (uniform in [0.5, 2]), `spd` (AᵀA + nI), `symmetric` (A + Aᵀ) and `onehot`
(one 1 per row) declarations, and symbols that a function's domain needs positive (the argument
of log or sqrt, the base of a power with a varying or fractional exponent), which are sampled as
`positive`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from matgrad.backends.registry import compiled
from matgrad.codegen.signature import gradient_of, signature_of
from matgrad.dense import hessian_function, unvec, vec
from matgrad.engine.hessian import Hessian
from matgrad.engine.results import Derivation, Jacobian, LoopDerivation, LoopProduct, Product
from matgrad.engine.second_order import DIRECTION_PREFIX
from matgrad.errors import UsageError
from matgrad.front.program import Program
from matgrad.front.read import written_out
from matgrad.functions import ELEMENTWISE
from matgrad.ir.dims import Dim
from matgrad.ir.expr import (
    Apply,
    Const,
    Det,
    Expr,
    HadPower,
    Inv,
    LogDet,
    MatFun,
    MatMul,
    Power,
    Sym,
    Transpose,
)
from matgrad.ir.text import to_text
from matgrad.limits import MAX_CHECK_ENTRIES, MAX_CHECK_SIZE, exceeded
from matgrad.matrix_functions import MATRIX_FUNCTIONS

DEFAULT_SIZE = 4
DEFAULT_DEPTH = 3  # a loop's code is checked with its layers written out at this depth
# Keyword options the check gives a backend's function: the Dask module splits the NumPy data
# into blocks of two rows, so that the check adds several blocks, not one.
CHECK_OPTIONS: dict[str, dict[str, Any]] = {"dask": {"block_rows": 2}}


@dataclass(frozen=True)
class ParameterReport:
    """`noise` is the rounding error central differences themselves make (≈ ε|J|/h): an error
    below tolerance × the gradient's size plus that noise is no error of the gradient, so
    vanishing gradients do not fail while a wrong one still does."""

    name: str
    max_abs_error: float
    max_rel_error: float
    noise: float = 0.0
    scale: float = 1.0

    def passed(self, tolerance: float) -> bool:
        return self.max_abs_error <= tolerance * self.scale + self.noise


def parameter_report(name: str, derived: np.ndarray, numeric: np.ndarray, value: float,
                     step: float) -> ParameterReport:
    """Compare one parameter's derived gradient with its central differences."""
    error = float(np.max(np.abs(derived - numeric))) if numeric.size else 0.0
    scale = max(float(np.max(np.abs(numeric))) if numeric.size else 0.0, 1e-6)
    # 100 × the rounding of (J(x + h) − J(x − h)) / 2h in float64.
    noise = 100 * float(np.finfo(float).eps) * max(abs(value), 1.0) / step
    return ParameterReport(name, error, error / scale, noise, scale)


@dataclass(frozen=True)
class CheckReport:
    parameters: tuple[ParameterReport, ...]
    tolerance: float
    sizes: dict[str, int]
    # Why the check could not judge the gradient (J or a gradient not finite), and hints.
    notes: tuple[str, ...] = ()
    # What was compared, and how each line names its parameter ({} is the parameter).
    title: str = "central-difference check"
    label: str = "d/d{}"

    @property
    def passed(self) -> bool:
        return all(p.passed(self.tolerance) for p in self.parameters)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_markdown_(self) -> str:
        return f"```\n{self}\n```"

    def __str__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        lines = [f"{self.title} ({sizes}; tolerance {self.tolerance:g}):"]
        for p in self.parameters:
            verdict = "ok" if p.passed(self.tolerance) else "FAILED"
            lines.append(f"  {self.label.format(p.name)}: max relative error {p.max_rel_error:.2e} "
                         f"(absolute {p.max_abs_error:.2e})  {verdict}")
        lines += [f"  note: {note}" for note in self.notes]
        lines.append("passed" if self.passed else "FAILED")
        return "\n".join(lines)


def _positive_operand(node: Expr) -> Expr | None:
    """The operand that `node` needs positive, if any."""
    if isinstance(node, Apply) and node.order == 0 and node.fn in ELEMENTWISE \
            and ELEMENTWISE[node.fn].domain[0] > 0 and node.fn not in ("relu", "abs", "sign"):
        return node.arg
    if isinstance(node, (Power, HadPower)):
        exponent = node.exponent
        whole = isinstance(exponent, Const) and exponent.value.denominator == 1
        return None if whole else node.base
    return None


def needs_positive(program: Program) -> frozenset[str]:
    """Symbols used directly where a function's domain needs them positive (log x, x .^ p)."""
    names: set[str] = set()
    for definition in program.definitions.values():
        for node in definition.walk():
            operand = _positive_operand(node)
            if isinstance(operand, Sym):
                names.add(operand.name)
    return frozenset(names)


def needs_positive_determinant(program: Program) -> frozenset[str]:
    """Square symbols that logdet, det or an inverse takes directly: sampled as N + nI (well
    conditioned, determinant > 0), so that the check does not land on a point where logdet is
    undefined (det < 0) or the inverse nearly singular."""
    return frozenset(node.x.name for definition in program.definitions.values()
                     for node in definition.walk()
                     if isinstance(node, (LogDet, Det, Inv)) and isinstance(node.x, Sym))


def needs_principal_branch(program: Program) -> frozenset[str]:
    """Square symbols a principal matrix logarithm or square root takes directly: sampled
    symmetric positive definite, inside the functions' domain whatever the seed."""
    return frozenset(node.x.name for definition in program.definitions.values()
                     for node in definition.walk()
                     if isinstance(node, MatFun) and isinstance(node.x, Sym)
                     and MATRIX_FUNCTIONS[node.fn].sample_spd)


def random_arguments(program: Program, sizes: Mapping[str, int],
                     rng: np.random.Generator) -> dict[str, Any]:
    values: dict[str, Any] = {}
    positive = needs_positive(program)
    invertible = needs_positive_determinant(program)
    principal = needs_principal_branch(program)
    for name in program.parameters:
        rows, cols = (_size(dim, sizes) for dim in program.shapes[name])
        attributes = program.attributes.get(name, frozenset())
        if "positive" in attributes or name in positive:
            values[name] = rng.uniform(0.5, 2.0, size=(rows, cols))
        elif "spd" in attributes or name in principal:
            base = rng.normal(size=(rows, cols))
            values[name] = base.T @ base + rows * np.eye(rows)
        elif "symmetric" in attributes:
            base = rng.normal(size=(rows, cols))
            values[name] = base + base.T
        elif "onehot" in attributes:
            values[name] = one_hot_rows(rows, cols, rng)
        elif name in invertible:
            values[name] = rng.normal(size=(rows, cols)) + rows * np.eye(rows)
        else:
            values[name] = rng.normal(size=(rows, cols))
    return values


def one_hot_rows(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A rows×cols matrix whose every row has a single 1 at a random column."""
    matrix = np.zeros((rows, cols))
    matrix[np.arange(rows), rng.integers(0, cols, size=rows)] = 1.0
    return matrix


def _size(dim: Dim, sizes: Mapping[str, int]) -> int:
    if isinstance(dim, int):
        return dim
    assert isinstance(dim, str), "a resolved program has no unknown dimensions"
    return sizes[dim]


def check(derivation: Derivation, sizes: Mapping[str, int] | None = None,
          seed: int = 0, bind: Mapping[str, str] | None = None, step: float = 1e-6,
          tolerance: float = 1e-6, depth: int | None = None,
          backend: str = "numpy") -> CheckReport:
    """Compare the compiled result with central differences at random inputs: a gradient
    entry by entry of every parameter, a Hessian-vector product along random directions (a
    loop's code at a concrete `depth`, 3 by default: every layer's parameters).  The function
    is called through its signature, worked out once; `backend` chooses the generated code
    that is checked."""
    sizes = _valid_sizes(sizes or {})
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UsageError(f"the seed must be a whole number 0 or more, got {seed!r}.")
    if isinstance(derivation, LoopDerivation):  # checked written out
        depth = DEFAULT_DEPTH if depth is None else depth
        program = written_out(derivation.layers.layered, depth)
        where = f" at depth {depth} the dimensions are"
    else:  # a product's random inputs are those of J's program, its directions drawn apart
        depth, program = None, derivation.first_order.program
        where = " the program's dimensions are"
    chosen = {dim: DEFAULT_SIZE + index for index, dim in enumerate(program.dims)}
    chosen.update(sizes)
    unknown = set(chosen) - set(program.dims)
    if unknown:
        raise UsageError(f"unknown dimension(s) {', '.join(sorted(unknown))};{where} "
                         f"{', '.join(program.dims) or '(none)'}.")
    input_entries(program, chosen)
    return CHECKS[type(derivation)](derivation, program, depth, chosen, seed, bind, step,
                                    tolerance, backend)


def check_gradient(derivation: Derivation, program: Program, depth: int | None,
                   chosen: Mapping[str, int], seed: int, bind: Mapping[str, str] | None,
                   step: float, tolerance: float, backend: str) -> CheckReport:
    """A gradient (flat, or a loop's `program` written out at `depth`) against central
    differences of J, entry by entry (a sample and random directions for a large one)."""
    signature = signature_of(derivation)
    function = partial(compiled(derivation, bind=bind, signature=signature, backend=backend),
                       **CHECK_OPTIONS.get(backend, {}))
    values = random_arguments(program, chosen, np.random.default_rng(seed))

    def evaluate(current: Mapping[str, Any]) -> tuple[float, dict[str, Any]]:
        try:
            result: tuple[float, dict[str, Any]] = function(
                **signature.keywords(current, chosen, depth))
        except np.linalg.LinAlgError as exc:
            raise UsageError("the check cannot evaluate the objective at its random inputs: "
                             + " ".join(domain_hints(program, chosen) or [
                                 _out_of_domain(exc)]) + " Try other --sizes or --seed.") from None
        return result

    value, gradients = evaluate(values)
    # Every parameter with a gradient: each member of a layer list (W1, W2, …) on its own.
    candidates = derivation.wrt if depth is None else program.parameters
    found = [(name, gradient_of(gradients, signature, name, depth)) for name in candidates]
    checked = [(name, gradient) for name, gradient in found if gradient is not None]
    notes = _non_finite_notes(program.objective, value, checked)
    reports = []
    rng = np.random.default_rng([seed, 1])
    for name, gradient in checked:
        derived_full = np.broadcast_to(np.asarray(gradient, dtype=float), values[name].shape)

        def along(direction: np.ndarray, name: str = name) -> float:
            """The central difference of J along `direction` in the parameter `name`."""
            total = 0.0
            for sign in (1.0, -1.0):
                total += sign * evaluate({**values, name: values[name] + sign * step
                                          * direction})[0]
            return total / (2 * step)

        if name in program.symmetric:
            derived, numeric = _compared_symmetric(derived_full, along, rng,
                                                   program.symmetric_gradient)
        else:
            derived, numeric = _compared(derived_full, along, rng)
        reports.append(parameter_report(name, derived, numeric, float(value), step))
    shown_sizes = dict(chosen)
    if isinstance(derivation, LoopDerivation) and depth is not None:
        shown_sizes[derivation.layers.layered.depth_symbol] = depth
    report = CheckReport(tuple(reports), tolerance, shown_sizes, notes)
    if report.passed:
        return report
    # A failure where logdet, det or an inverse meets a singular matrix is no verdict on the
    # gradient: say why (sizes that make a Gram matrix singular), as well as that it failed.
    hints = tuple(hint for hint in domain_hints(program, chosen) if hint not in notes)
    return replace(report, notes=notes + hints)


def check_hvp(derivation: Product | LoopProduct, program: Program, depth: int | None,
              sizes: Mapping[str, int], seed: int = 0, bind: Mapping[str, str] | None = None,
              step: float = 1e-6, tolerance: float = 1e-6,
              backend: str = "numpy") -> CheckReport:
    """A Hessian-vector product against central differences of the compiled gradient along
    random directions V: (∇J(x + hV) − ∇J(x − hV)) / 2h, each component on its own.  A loop's
    product is checked at a `depth` (its `program` written out there), each layer's member
    (W1, W2, …) on its own."""
    first = derivation.first
    written = depth is not None
    rng = np.random.default_rng(seed)
    values = random_arguments(program, sizes, rng)
    first_signature, signature = signature_of(first), signature_of(derivation)
    gradient = compiled(first, bind=bind, signature=first_signature)
    wrt = first.wrt
    if written:  # each member of a layer list (W1, W2, …) that has a gradient
        returned = gradient(**first_signature.keywords(values, sizes, depth))[1]
        wrt = tuple(name for name in program.parameters
                    if gradient_of(returned, first_signature, name, depth) is not None)
    directions = {name: rng.normal(size=np.shape(values[name])) for name in wrt}
    for name in set(wrt) & program.symmetric:  # S + hV stays symmetric
        directions[name] = directions[name] + directions[name].T
    direction_names = (derivation.directions if not written else
                       {name: DIRECTION_PREFIX + name for name in wrt})
    product = partial(compiled(derivation, bind=bind, signature=signature, backend=backend),
                      **CHECK_OPTIONS.get(backend, {}))

    def gradients_at(sign: float) -> dict[str, Any]:
        moved = {name: value + sign * step * directions[name] if name in directions else value
                 for name, value in values.items()}
        result = gradient(**first_signature.keywords(moved, sizes, depth))[1]
        return {name: gradient_of(result, first_signature, name, depth) for name in wrt}

    try:
        arguments = {**values, **{direction_names[name]: direction
                                  for name, direction in directions.items()}}
        returned = product(**signature.keywords(arguments, sizes, depth))
        derived = {name: gradient_of(returned, signature, name, depth) for name in wrt}
        plus, minus = gradients_at(1.0), gradients_at(-1.0)
        at = gradients_at(0.0)
    except np.linalg.LinAlgError as exc:
        raise UsageError("the check cannot evaluate the gradient at its random inputs: "
                         f"{_out_of_domain(exc)} Try other --sizes or --seed.") from None
    reports = []
    for name in wrt:
        shape = np.shape(values[name])
        numeric = (np.asarray(plus[name], dtype=float) - np.asarray(minus[name], dtype=float)) \
            / (2 * step)
        numeric = np.broadcast_to(numeric, shape)
        size = float(np.max(np.abs(np.asarray(at[name], dtype=float)), initial=0.0))
        reports.append(parameter_report(
            name, np.broadcast_to(np.asarray(derived[name], dtype=float), shape), numeric,
            size, step))
    notes = _non_finite_notes(f"∇{program.objective}", 0.0,
                              [(name, derived[name]) for name in wrt])
    objective = first.objective
    shown = dict(sizes)
    if isinstance(first, LoopDerivation) and depth is not None:
        shown[first.layers.layered.depth_symbol] = depth
    return CheckReport(tuple(reports), tolerance, shown, notes,
                       title=f"Hessian-vector product vs central differences of ∇{objective} "
                             "along random directions V",
                       label=f"(∇²{objective} V)_{{}}")


# The check of each kind of result (every kind has an entry: tests/test_kinds.py).
CHECKS: dict[type[Derivation], Callable[..., CheckReport]] = {
    Derivation: check_gradient, Product: check_hvp, LoopDerivation: check_gradient,
    LoopProduct: check_hvp,
    # The vector-Jacobian product at a random U against central differences of U · F: the
    # Jacobian in a random direction, every entry of ∇(U · F) = Jᵀ vec(U).
    Jacobian: check_gradient}


def check_hessian(hessian: Hessian, sizes: Mapping[str, int] | None = None, seed: int = 0,
                  bind: Mapping[str, str] | None = None, step: float = 1e-6,
                  tolerance: float = 1e-6) -> CheckReport:
    """Every block against central differences of the compiled gradient, column by column:
    column j of H_ab is (∇_a J(x + h e_j) − ∇_a J(x − h e_j)) / 2h for the j-th entry of b
    (in vec order)."""
    first = hessian.first
    program = first.program
    chosen = {dim: DEFAULT_SIZE + index for index, dim in enumerate(program.dims)}
    chosen.update(_valid_sizes(sizes or {}))
    input_entries(program, chosen)
    order = sum(_size(program.shapes[name][0], chosen) * _size(program.shapes[name][1], chosen)
                for name in first.wrt)
    if order * order > MAX_CHECK_ENTRIES:
        raise UsageError(f"the Hessian has {order:,} × {order:,} entries, more than the "
                         f"{MAX_CHECK_ENTRIES:,} its check builds densely: check it with "
                         "smaller sizes, or check the Hessian-vector product (--hvp --check), "
                         "which costs the same at any size.")
    rng = np.random.default_rng(seed)
    values = random_arguments(program, chosen, rng)
    first_signature = signature_of(first)
    gradient = compiled(first, bind=bind, signature=first_signature)
    blocks = hessian_function(hessian, bind)(**first_signature.keywords(values, chosen))
    parameters = first.wrt
    reports = []
    at = gradient(**first_signature.keywords(values, chosen))[1]
    for b in parameters:
        shape = np.shape(values[b])
        numeric = {a: np.zeros((int(np.size(values[a])), int(np.prod(shape))))
                   for a in parameters}
        for j in range(int(np.prod(shape))):
            moved = []
            unit = np.zeros(int(np.prod(shape)))
            unit[j] = 1.0
            direction = unvec(unit, shape)
            if b in program.symmetric:  # S + hV stays symmetric: V = (Eⱼ + Eⱼᵀ)/2
                direction = (direction + direction.T) / 2
            for sign in (1.0, -1.0):
                point = {**values, b: values[b] + sign * step * direction}
                moved.append(gradient(**first_signature.keywords(point, chosen))[1])
            for a in parameters:
                difference = (np.asarray(moved[0][a], dtype=float)
                              - np.asarray(moved[1][a], dtype=float)) / (2 * step)
                column = np.broadcast_to(difference, np.shape(values[a]))
                numeric[a][:, j] = vec(column)
        for a in parameters:
            size = float(np.max(np.abs(np.asarray(at[a], dtype=float)), initial=0.0))
            reports.append(parameter_report(f"{a}∂{b}", blocks[(a, b)], numeric[a], size, step))
    objective = first.objective
    return CheckReport(tuple(reports), tolerance, chosen,
                       title=f"Hessian blocks vs central differences of ∇{objective}, column by "
                             "column",
                       label=f"∂²{objective}/∂{{}}")


def _gram_factor(expr: Expr) -> tuple[Sym, bool] | None:
    """(A, transposed_first) when expr is AᵀA (True) or AAᵀ (False) of a symbol A."""
    if isinstance(expr, MatMul):
        a, b = expr.a, expr.b
        if isinstance(a, Transpose) and isinstance(a.x, Sym) and a.x == b:
            return a.x, True
        if isinstance(b, Transpose) and isinstance(b.x, Sym) and b.x == a:
            return a, False
    return None


def _out_of_domain(error: np.linalg.LinAlgError) -> str:
    """What failed: a singular matrix, or a matrix function outside its domain (the generated
    helpers say which)."""
    if "principal" in str(error):
        return (f"{error}. A matrix symbol that logm or sqrtm takes directly is sampled "
                "symmetric positive definite; an expression there is not: declare its symbols "
                "spd (`A: n x n, spd`) or write the argument so that it stays in the domain.")
    return "a matrix that it inverts is singular there."


def domain_hints(program: Program, sizes: Mapping[str, int]) -> list[str]:
    """Why logdet, det or an inverse may be undefined at random inputs of these sizes: a Gram
    matrix AᵀA (AAᵀ) is singular when A has fewer rows (columns) than columns (rows)."""
    hints: list[str] = []
    for definition in program.definitions.values():
        for node in definition.walk():
            if not isinstance(node, (LogDet, Det, Inv)):
                continue
            gram = _gram_factor(node.x)
            if gram is None:
                continue
            factor, transposed_first = gram
            rows, cols = program.shapes[factor.name]
            small, large = (rows, cols) if transposed_first else (cols, rows)
            small_size, large_size = _size(small, sizes), _size(large, sizes)
            if small_size < large_size and isinstance(small, str):
                hint = (f"{to_text(node.x)} is singular when {small} = {small_size} < "
                        f"{large} = {large_size}; pass --sizes {small}={large_size + 1}.")
                if hint not in hints:
                    hints.append(hint)
    return hints


def _non_finite_notes(objective: str, value: float,
                      gradients: list[tuple[str, Any]]) -> tuple[str, ...]:
    broken = [name for name, gradient in gradients
              if not np.all(np.isfinite(np.asarray(gradient, dtype=float)))]
    if np.isfinite(value) and not broken:
        return ()
    what = (f"{objective} = {value}" if not np.isfinite(value)
            else f"the gradient of {', '.join(broken)} is not finite")
    return (f"{what} at the random inputs, so the differences cannot be compared.",)


# MAX_CHECK_ENTRIES (limits.py) counts the random inputs' numbers, literal sizes such as
# `W: 1000000000 x 1` included: checked before anything is allocated.
# A parameter with at most this many entries is checked entry by entry; a larger one at a
# random sample of its entries and along random directions (as jax.test_util.check_grads and
# PyTorch's fast gradcheck do), so the check costs the same at any size.
EXHAUSTIVE_ENTRIES = 64
SAMPLED_ENTRIES = 32
DIRECTIONS = 3


def _compared(derived: np.ndarray, along: Callable[[np.ndarray], float],
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The derived and the numeric values compared for one parameter: every entry of a small
    one; else SAMPLED_ENTRIES entries and DIRECTIONS derivatives along random unit directions
    (⟨G, V⟩ against the central difference along V), each 2 evaluations of J."""
    size = derived.size
    if size <= EXHAUSTIVE_ENTRIES:
        indices = list(np.ndindex(derived.shape))
        directions: list[np.ndarray] = []
    else:
        chosen = rng.choice(size, size=SAMPLED_ENTRIES, replace=False)
        indices = [np.unravel_index(int(flat), derived.shape) for flat in chosen]
        directions = [rng.normal(size=derived.shape) for _ in range(DIRECTIONS)]
        directions = [v / np.linalg.norm(v) for v in directions]
    got, expected = [], []
    for index in indices:
        unit = np.zeros(derived.shape)
        unit[index] = 1.0
        got.append(float(derived[index]))
        expected.append(along(unit))
    for direction in directions:
        got.append(float(np.vdot(derived, direction)))
        expected.append(along(direction))
    return np.asarray(got), np.asarray(expected)


def _compared_symmetric(derived: np.ndarray, along: Callable[[np.ndarray], float],
                        rng: np.random.Generator, convention: str
                        ) -> tuple[np.ndarray, np.ndarray]:
    """A symmetric parameter's gradient against symmetric directions only (S + hV stays
    symmetric): entry (i, j) against the central difference along Eᵢⱼ + Eⱼᵢ (Eᵢᵢ on the
    diagonal) — half of it in the Frobenius convention, all of it by entry — so that every
    entry is checked, its symmetry included; a large one on a sample and random symmetric
    directions V (⟨sym-gradient, V⟩)."""
    size = derived.size
    indices = list(np.ndindex(derived.shape))
    if size > EXHAUSTIVE_ENTRIES:
        chosen = rng.choice(size, size=SAMPLED_ENTRIES, replace=False)
        indices = [np.unravel_index(int(flat), derived.shape) for flat in chosen]
    per_entry = 0.5 if convention == "frobenius" else 1.0
    got, expected = [], []
    for i, j in indices:
        direction = np.zeros(derived.shape)
        direction[i, j] = direction[j, i] = 1.0
        got.append(float(derived[i, j]))
        expected.append(along(direction) * (per_entry if i != j else 1.0))
    if size > EXHAUSTIVE_ENTRIES:
        # The Frobenius gradient from the entry-wise one: G_e = 2G − I ⊙ G.
        frobenius = derived if convention == "frobenius" else (
            derived + np.diag(np.diag(derived))) / 2
        for _ in range(DIRECTIONS):
            base = rng.normal(size=derived.shape)
            direction = (base + base.T) / np.linalg.norm(base + base.T)
            got.append(float(np.vdot(frobenius, direction)))
            expected.append(along(direction))
    return np.asarray(got), np.asarray(expected)


def input_entries(program: Program, sizes: Mapping[str, int]) -> int:
    """How many numbers the check's random inputs hold (refused past MAX_CHECK_ENTRIES)."""
    total = 0
    for name in program.parameters:
        rows, cols = (_size(dim, sizes) for dim in program.shapes[name])
        total += rows * cols
    if total > MAX_CHECK_ENTRIES:
        shapes = ", ".join(f"{name}: {_size(program.shapes[name][0], sizes):,} × "
                           f"{_size(program.shapes[name][1], sizes):,}"
                           for name in program.parameters)
        raise UsageError(f"the check's random inputs would hold {total:,} numbers ({shapes}); "
                         f"the limit is {MAX_CHECK_ENTRIES:,}: check with smaller sizes "
                         "(--sizes, or sizes written as names in the declarations) "
                         f"{exceeded('MAX_CHECK_ENTRIES', total)}.")
    return total


def _valid_sizes(sizes: Mapping[str, object]) -> dict[str, int]:
    valid: dict[str, int] = {}
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or not \
                1 <= value <= MAX_CHECK_SIZE:
            raise UsageError(f"the size {name} = {value!r} cannot be checked: sizes are whole "
                             f"numbers from 1 to {MAX_CHECK_SIZE:,} (central differences "
                             "evaluate the objective twice for every entry) "
                             f"{exceeded('MAX_CHECK_SIZE')}.")
        valid[name] = value
    return valid
