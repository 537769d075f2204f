"""The numerical check of a loop derivation: the generated loop code, run at a concrete depth,
against central differences of its own value, entry by entry of every layer's parameters.

Inputs are drawn as for the written-out program (`check.random_arguments` on the layers unrolled
at that depth), so `positive`, `spd` and `onehot` declarations are honoured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from matgrad.check import DEFAULT_SIZE, CheckReport, parameter_report, random_arguments
from matgrad.errors import UsageError
from matgrad.ir import indexing

if TYPE_CHECKING:
    from matgrad.engine.layers import LoopDerivation

DEFAULT_DEPTH = 3


def check_loop(derivation: LoopDerivation, sizes: Mapping[str, int] | None = None,
               seed: int = 0, bind: Mapping[str, str] | None = None, step: float = 1e-6,
               tolerance: float = 1e-6, depth: int = DEFAULT_DEPTH) -> CheckReport:
    from matgrad.api import parse
    from matgrad.backends.numpy_loop import LoopCodegen

    layered = derivation.layered
    unrolled = parse(layered.source, depth={layered.depth_symbol: depth})
    chosen = {dim: DEFAULT_SIZE + index for index, dim in enumerate(unrolled.dims)}
    chosen.update(sizes or {})
    unknown = set(chosen) - set(unrolled.dims)
    if unknown:
        raise UsageError(f"unknown dimension(s) {', '.join(sorted(unknown))}; at depth "
                         f"{depth} the dimensions are {', '.join(unrolled.dims)}.")
    rng = np.random.default_rng(seed)
    values = random_arguments(unrolled, chosen, rng)
    function: Callable[..., Any] = derivation.compile(bind=dict(bind or {}))
    # The module's signature, worked out once (it took a code generation per evaluation).
    codegen = LoopCodegen(derivation, "value_and_grad", {})
    order = codegen.arguments()
    families = {name: codegen.members(name, depth) for name in order
                if name in codegen.families}

    def arguments(current: Mapping[str, np.ndarray]) -> list[Any]:
        result: list[Any] = []
        for name in order:
            if name in families:
                result.append([current[member] for member in families[name]])
            else:
                result.append(current[name])
        return result

    objective, gradients = function(*arguments(values))
    reports = []
    for base_or_name, members in [*families.items(), *((n, [n]) for n in _plain_wrt(
            derivation))]:
        if base_or_name not in gradients:
            continue
        for position, member in enumerate(members):
            derived = gradients[base_or_name]
            derived = derived[position] if base_or_name in families else derived
            numeric = np.zeros_like(values[member])
            for index in np.ndindex(numeric.shape):
                moved = dict(values)
                for sign in (1.0, -1.0):
                    shifted = values[member].copy()
                    shifted[index] += sign * step
                    moved[member] = shifted
                    value, _ = function(*arguments(moved))
                    numeric[index] += sign * value / (2 * step)
            derived = np.broadcast_to(np.asarray(derived, dtype=float), numeric.shape)
            reports.append(parameter_report(member, derived, numeric, float(objective), step))
    return CheckReport(tuple(reports), tolerance, dict(chosen) | {layered.depth_symbol: depth})


def _plain_wrt(derivation: LoopDerivation) -> list[str]:
    return [p for p in derivation.parameters if indexing.split(p) is None]
