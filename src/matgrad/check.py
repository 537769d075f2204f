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
from typing import TYPE_CHECKING, Any

import numpy as np

from matgrad.errors import UsageError
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
    MatMul,
    Power,
    Sym,
    Transpose,
)
from matgrad.ir.text import to_text

if TYPE_CHECKING:
    from matgrad.api import Derivation
    from matgrad.engine.layers import LoopDerivation
    from matgrad.front.resolve import Program

DEFAULT_SIZE = 4


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

    @property
    def passed(self) -> bool:
        return all(p.passed(self.tolerance) for p in self.parameters)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_markdown_(self) -> str:
        return f"```\n{self}\n```"

    def __str__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        lines = [f"central-difference check ({sizes}; tolerance {self.tolerance:g}):"]
        for p in self.parameters:
            verdict = "ok" if p.passed(self.tolerance) else "FAILED"
            lines.append(f"  d/d{p.name}: max relative error {p.max_rel_error:.2e} "
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


def random_arguments(program: Program, sizes: Mapping[str, int],
                     rng: np.random.Generator) -> dict[str, Any]:
    values: dict[str, Any] = {}
    positive = needs_positive(program)
    invertible = needs_positive_determinant(program)
    for name in program.parameters:
        rows, cols = (_size(dim, sizes) for dim in program.shapes[name])
        attributes = program.attributes.get(name, frozenset())
        if "positive" in attributes or name in positive:
            values[name] = rng.uniform(0.5, 2.0, size=(rows, cols))
        elif "spd" in attributes:
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


def check(derivation: Derivation | LoopDerivation, sizes: Mapping[str, int] | None = None,
          seed: int = 0, bind: Mapping[str, str] | None = None, step: float = 1e-6,
          tolerance: float = 1e-6, depth: int | None = None) -> CheckReport:
    """Compare the compiled gradient with central differences at random inputs (a loop's code
    at a concrete `depth`, 3 by default)."""
    from matgrad.engine.layers import LoopDerivation

    sizes = _valid_sizes(sizes or {})
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UsageError(f"the seed must be a whole number 0 or more, got {seed!r}.")

    if isinstance(derivation, LoopDerivation):
        from matgrad.loop_check import DEFAULT_DEPTH, check_loop

        return check_loop(derivation, sizes, seed, bind, step, tolerance,
                          DEFAULT_DEPTH if depth is None else depth)
    chosen = {dim: DEFAULT_SIZE + index for index, dim in enumerate(derivation.program.dims)}
    chosen.update(sizes)
    unknown = set(chosen) - set(derivation.program.dims)
    if unknown:
        raise UsageError(f"unknown dimension(s) {', '.join(sorted(unknown))}; the program's "
                         f"dimensions are {', '.join(derivation.program.dims) or '(none)'}.")
    function: Callable[..., Any] = derivation.compile(bind=dict(bind or {}))
    rng = np.random.default_rng(seed)
    values = random_arguments(derivation.program, chosen, rng)
    # The module's argument names, worked out once: every evaluation below reuses them.
    python_names = derivation.python_names
    size_keywords = {name: chosen[dim] for dim, name in derivation.size_arguments.items()}

    def evaluate(current: Mapping[str, Any]) -> tuple[float, dict[str, Any]]:
        try:
            result: tuple[float, dict[str, Any]] = function(
                **({python_names[name]: value for name, value in current.items()}
                   | size_keywords))
        except np.linalg.LinAlgError:
            raise UsageError("the check cannot evaluate the objective at its random inputs: "
                             + " ".join(domain_hints(derivation.program, chosen) or [
                                 "a matrix that it inverts is singular there."])
                             + " Try other --sizes or --seed.") from None
        return result

    value, gradients = evaluate(values)
    notes = _non_finite_notes(derivation, value, gradients)
    reports = []
    for name in derivation.wrt:
        numeric = np.zeros_like(values[name])
        for index in np.ndindex(numeric.shape):
            shifted = dict(values)
            plus = values[name].copy()
            plus[index] += step
            shifted[name] = plus
            up, _ = evaluate(shifted)
            minus = values[name].copy()
            minus[index] -= step
            shifted[name] = minus
            down, _ = evaluate(shifted)
            numeric[index] = (up - down) / (2 * step)
        derived = np.broadcast_to(np.asarray(gradients[name], dtype=float), numeric.shape)
        reports.append(parameter_report(name, derived, numeric, float(value), step))
    report = CheckReport(tuple(reports), tolerance, dict(chosen), notes)
    if report.passed:
        return report
    # A failure where logdet, det or an inverse meets a singular matrix is no verdict on the
    # gradient: say why (sizes that make a Gram matrix singular), as well as that it failed.
    hints = tuple(hint for hint in domain_hints(derivation.program, chosen) if hint not in notes)
    return replace(report, notes=notes + hints)


def _gram_factor(expr: Expr) -> tuple[Sym, bool] | None:
    """(A, transposed_first) when expr is AᵀA (True) or AAᵀ (False) of a symbol A."""
    if isinstance(expr, MatMul):
        a, b = expr.a, expr.b
        if isinstance(a, Transpose) and isinstance(a.x, Sym) and a.x == b:
            return a.x, True
        if isinstance(b, Transpose) and isinstance(b.x, Sym) and b.x == a:
            return a, False
    return None


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


def _non_finite_notes(derivation: Derivation, value: float,
                      gradients: Mapping[str, Any]) -> tuple[str, ...]:
    broken = [name for name in derivation.wrt
              if not np.all(np.isfinite(np.asarray(gradients[name], dtype=float)))]
    if np.isfinite(value) and not broken:
        return ()
    what = (f"{derivation.program.objective} = {value}" if not np.isfinite(value)
            else f"the gradient of {', '.join(broken)} is not finite")
    return (f"{what} at the random inputs, so the differences cannot be compared.",)


MAX_CHECK_SIZE = 2_000  # central differences evaluate J twice per entry


def _valid_sizes(sizes: Mapping[str, object]) -> dict[str, int]:
    valid: dict[str, int] = {}
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or not \
                1 <= value <= MAX_CHECK_SIZE:
            raise UsageError(f"the size {name} = {value!r} cannot be checked: sizes are whole "
                             f"numbers from 1 to {MAX_CHECK_SIZE:,} (central differences "
                             "evaluate the objective twice for every entry).")
        valid[name] = value
    return valid
