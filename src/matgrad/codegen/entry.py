"""The entry checks of a generated NumPy function: each array argument converted to floats
when it is not a float ndarray and its shape checked against the sizes read so far; sizes bound
to locals as the first argument that has them gives them; scalars as NumPy numbers of the
arrays' type.

Invariant: every error names the argument, the expected shape and the sizes it was checked
against, in words; with `checks=False` only the size bindings and scalar conversions remain.
"""

from __future__ import annotations

from dataclasses import dataclass

from matgrad.codegen.backend import Backend
from matgrad.front.program import Program
from matgrad.ir.dims import SCALAR


@dataclass(frozen=True)
class EntryPoint:
    """What the checks need to know about the function being generated."""

    program: Program
    parameters: list[str]
    identifiers: dict[str, str]
    dims: dict[str, str]
    checks: bool
    sizes_as_numbers: bool  # whether the code reads a size as a number (1/t)
    backend: Backend
    reads_device: bool = False  # whether the code reads float_device (PyTorch's zeros)


def entry_checks(entry: EntryPoint, used: set[str]) -> list[str]:
    """Entry checks; a dimension is bound to a local only if code or a later check uses it."""
    parameters = entry.parameters
    lines: list[str] = []
    bound: set[str] = set()
    scalars: list[str] = []
    arrays: list[str] = []
    for position, name in enumerate(parameters):
        later = {dim for other in parameters[position + 1:]
                 for dim in entry.program.shapes[other] if isinstance(dim, str)}
        ident = entry.identifiers[name]
        rows, cols = entry.program.shapes[name]
        expected = f"{rows} x {cols}"
        if (rows, cols) == SCALAR and not entry.checks:
            lines.append(f"{ident} = " + entry.backend.scalar_argument.format(
                a=entry.backend.scalar_array.format(ns=entry.backend.alias, a=ident)))
            scalars.append(ident)
            continue
        if (rows, cols) == SCALAR:
            lines += [
                f"{ident} = " + entry.backend.scalar_array.format(ns=entry.backend.alias,
                                                                  a=ident),
                f"if {entry.backend.size_of.format(a=ident)} != 1:",
                f'    raise ValueError(f"{name} must be a scalar (a float, a 0-d or a 1x1 '
                f'array), got shape {{{ident}.shape}}")',
                f"{ident} = " + entry.backend.scalar_argument.format(a=ident),
            ]
            scalars.append(ident)
            continue
        arrays.append(ident)
        checks, described = [f"{ident}.ndim != 2"], []
        binds: list[tuple[int, str]] = []
        known: list[str] = []  # each axis's expected size, while all are known
        for axis, dim in enumerate((rows, cols)):
            if isinstance(dim, int):
                checks.append(f"{ident}.shape[{axis}] != {dim}")
                known.append(str(dim))
            elif dim in bound:
                checks.append(f"{ident}.shape[{axis}] != {entry.dims[dim]}")
                described.append(f"{dim} = {{{entry.dims[dim]}}}")
                known.append(entry.dims[dim])
            else:
                assert isinstance(dim, str), "a resolved program has no unknown dimensions"
                # n x n: both axes, so that the second is checked against the first; without
                # checks, only the sizes the code reads.
                if dim in used or (entry.checks and (dim in later or rows == cols)):
                    binds.append((axis, dim))
        described = list(dict.fromkeys(described))
        detail = f" with {', '.join(described)}" if described else ""
        if len(known) == 2:
            # Every size known: one comparison of the shape tuple (a 1-d or 3-d array fails
            # it too) instead of three tests, as the entry checks run on every call.
            checks = [f"{ident}.shape != ({known[0]}, {known[1]})"]
        # One test on the common call (a float ndarray); anything else is converted.
        if entry.checks:
            lines += [
                *(line.format(a=ident) for line in entry.backend.to_float_array),
                f"if {' or '.join(checks)}:",
                f'    raise ValueError(f"{name} must be {expected}{detail}, got shape '
                f'{{{ident}.shape}}")',
            ]
        pair = [dim for _, dim in binds]
        if len(pair) == 2 and pair[0] != pair[1]:
            lines.append(f"{entry.dims[pair[0]]}, {entry.dims[pair[1]]} = {ident}.shape")
            bound.update(pair)
            continue
        for axis, dim in binds:
            if dim in bound and not entry.checks:
                continue
            if dim in bound:  # n x n: the second axis must equal the first
                lines += [f"if {ident}.shape[{axis}] != {entry.dims[dim]}:",
                          f'    raise ValueError(f"{name} must be {expected}, got shape '
                          f'{{{ident}.shape}}")']
            else:
                lines.append(f"{entry.dims[dim]} = {ident}.shape[{axis}]")
                bound.add(dim)
    if entry.checks and entry.backend.one_dtype is not None and len(arrays) >= 2:
        # Arrays of mixed dtypes in the dtype they promote to, as NumPy computes them: the
        # library's products (and its fused kernels) take one dtype.
        lines += [f"if len({{{', '.join(f'{array}.dtype' for array in arrays)}}}) != 1:",
                  *(f"    {line}" for line in entry.backend.result_type(entry.backend.alias,
                                                                         arrays)),
                  f"    {', '.join(arrays)} = ("
                  + entry.backend.one_dtype.format(a="_array")
                  + f" for _array in ({', '.join(arrays)}))"]
    if scalars or entry.sizes_as_numbers:
        # Scalars as NumPy numbers of the arrays' type (float32 data stays float32): 1/s at
        # s = 0 and s ** 400 give inf with NumPy's warning, not Python's exceptions.
        lines += array_type_lines(entry.backend, arrays, entry.reads_device)
        lines += [f"{ident} = " + entry.backend.typed_scalar.format(a=ident)
                  for ident in scalars]
    return lines


def array_type_lines(backend: Backend, arrays: list[str], device: bool = True) -> list[str]:
    """`float_type` (and, for a library with devices where `device`, `float_device`) from the
    arrays."""
    lines = backend.result_type(backend.alias, arrays)
    if device and backend.device_of is not None:
        lines.append("float_device = " + backend.device_of(arrays))
    return lines
