"""What a backend is: a table of spellings plus capability flags, read by the one generator
(codegen/emit.py) for every array library.

A backend names its array module (`np`, `jnp`), the lines that import it, how it spells each
elementwise function and its derivative, the helpers a module may define, whether a fresh
buffer may be updated in place (ufunc outputs, augmented assignment), how an argument becomes
a float array of the library at entry, and how a 1×1 value is returned as a number.

Invariant: the generated module imports only the backend's library; every identifier it uses
besides the user's (validated) ones is the backend's alias or a name in
`codegen.names.MODULE_NAMES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


def _numpy_result_type(alias: str, arrays: list[str]) -> list[str]:
    return [f"float_type = {alias}.result_type({', '.join(arrays) if arrays else 'float'})"]


@dataclass(frozen=True)
class Backend:
    name: str                      # as the user names it: numpy, jax
    library: str                   # the module to import (numpy, jax)
    alias: str                     # the module's name in generated code: np, jnp
    import_lines: tuple[str, ...]
    spellings: Mapping[str, tuple[str, str]]   # function → (f, f′) as expressions in {x}
    helpers: Mapping[str, str]     # helper name → its definition
    singular_message: bool         # whether the helpers read the module constant SINGULAR
    in_place: bool                 # fresh buffers updated in place (out=, +=)
    # An argument {a} made a float array of the library (statements, in {a}): the fast path
    # first, as the entry checks run on every call.
    to_float_array: tuple[str, ...]
    # A scalar argument {a} (a float, 0-d or 1×1 array) made a number of the arrays' type.
    scalar_argument: str
    # A scalar {a} converted to the arrays' floating type `float_type`.
    typed_scalar: str
    # A 1×1 or 0-d value {x} returned as a scalar (a Python float, or a 0-d array under jit).
    returned_scalar: str
    # The objective {x} (a scalar of the library or a 1×1 array) as the returned number.
    returned_objective: str
    # The docstring's promise about scalars, as this backend returns them.
    scalar_note: str
    install: str                   # how to install the library, for the error when it is missing
    # Idioms whose spelling differs between libraries, in {a}, {b}, {x}, {r}, {c}, {n}; None
    # where this backend has none yet (the generator then refuses the program, naming it).
    vdot: str = "{ns}.vdot({a}, {b})"
    # A scalar argument {a} as an array of the library before its size is checked, keeping a
    # Python float's double precision.
    scalar_array: str = "{ns}.asarray({a})"
    # ⟨a, b⟩ where one operand at least is an array (not a number); None: `vdot` always.
    vdot_of_arrays: str | None = None
    copy: str = "{x}.copy()"
    broadcast: str = "{ns}.broadcast_to({x}, {shape})"
    # A number given to an elementwise function, where the library's functions take arrays
    # only (in {x}); None where numbers are accepted.
    scalar_function_argument: str | None = None
    size_of: str = "{a}.size"
    zeros: str | None = "{ns}.zeros(({r}, {c}))"
    eye: str | None = "{ns}.eye({n})"
    full_1x1: str | None = "{ns}.full((1, 1), {x})"
    # The statements defining float_type, the floating type of the arrays, from their names.
    result_type: Callable[[str, list[str]], list[str]] = _numpy_result_type
    # The device of the arrays, from their names, for spellings that create an array on it
    # (PyTorch's zeros read float_device, defined wherever float_type is); None: no devices.
    device_of: Callable[[list[str]], str] | None = None
    # Whether a size read as a number is converted to the arrays' type, and how ({n}): NumPy
    # and JAX promote a Python float to float64 in some operations, and a Python number
    # divided by a size of 0 (1/t over no rows) raises ZeroDivisionError where the arrays'
    # numbers give inf, so every backend reads a size as a number of the arrays' type.
    typed_sizes: bool = True
    typed_size: str = "float_type.type({n})"
    # Imports a module has only where its code reads the name (SciPy for the matrix functions).
    optional_imports: tuple[str, ...] = ()
    # Lines before the function's def (PyTorch: no autograd tape, whatever the inputs).
    decorators: tuple[str, ...] = ()
    # Lines that open the function's body, in {arrays} (the matrix arguments): the array API
    # backend takes its namespace from the inputs there.
    prologue: tuple[str, ...] = ()
    # Reductions and products written as methods in NumPy, in {x} (and {a}, {b}).
    # Xᵀ, {x} an atom (a batch of matrices needs the last two axes swapped instead).
    transpose: str = "{x}.T"
    column_sum: str = "{x}.sum(axis=0, keepdims=True)"
    row_sum: str = "{x}.sum(axis=1, keepdims=True)"
    total_sum: str = "{x}.sum()"
    row_dot: str = '{ns}.einsum("ij,ij->i", {a}, {b})[:, None]'
    # xᵀ((w𝟏ᵀ) ⊙ x) for a column w, in {x} and {w}, where the library has a symmetric product
    # (a helper); None: spelled as the product xᵀ(w ⊙ x).
    weighted_gram: str | None = None
    trace: str = "{ns}.trace({x})"
    # In-place updates of a fresh buffer {t} (when in_place): {t} = {x} − {t}, {t} = −{t},
    # and {t} = f({t}) for an elementwise function {f} spelled as one call of the library.
    subtract_from: str = "{ns}.subtract({x}, {t}, {t})"
    negate: str = "{ns}.negative({t}, {t})"
    apply_into: str = "{f}({t}, {t})"
    # g ⊙ f′(x) in one call from the forward value y = f(x), in {g} and {y}, for the functions
    # the library has such a kernel for (PyTorch's tanh_backward): one pass instead of four.
    derivative_products: Mapping[str, str] = field(default_factory=dict)
    # An array {a} converted to float_type, where the library's products take one dtype only
    # (the checked entry then promotes mixed dtypes); None: the library promotes by itself.
    one_dtype: str | None = None
    # c + a @ b in one call (BLAS's C ← AB + C), in {c}, {a}, {b}, for a fresh product whose
    # first update adds an array (PyTorch's addmm); None: the product, then `+=`.
    affine_product: str | None = None
