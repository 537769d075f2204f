"""The CuPy backend: NumPy's table through `cupy` on a CUDA device — the same spellings with the
namespace renamed (every function matgrad's table names has the same name and semantics in
CuPy), in-place updates and ufunc outputs as in NumPy, and the branch-free helpers of the JAX
backend (a Python branch on a device value would copy it to the host).

Arrays stay on the device of the inputs; J and a scalar's gradient come back as Python floats
(one transfer each).  A singular matrix gives inf or nan entries, as CuPy's inverse does.
"""

from __future__ import annotations

from matgrad.backends.jax import JAX_HELPERS
from matgrad.backends.numpy_spellings import NUMPY_SPELLINGS
from matgrad.codegen.backend import Backend

CUPY_SPELLINGS: dict[str, tuple[str, str]] = {
    name: (value.replace("np.", "cp."), derivative.replace("np.", "cp."))
    for name, (value, derivative) in NUMPY_SPELLINGS.items()
}
CUPY_HELPERS = {name: helper.replace("jnp.", "cp.").replace("JAX", "CuPy")
                for name, helper in JAX_HELPERS.items()}

CUPY = Backend(
    name="cupy",
    library="cupy",
    alias="cp",
    import_lines=("import cupy as cp",),
    spellings=CUPY_SPELLINGS,
    helpers=CUPY_HELPERS,
    singular_message=False,
    in_place=True,
    to_float_array=(
        "if type({a}) is not cp.ndarray or {a}.dtype.kind not in 'fc':",
        "    {a} = cp.asarray({a})",
        "    if {a}.dtype.kind not in 'fc':",
        "        {a} = {a}.astype(cp.float64)",
    ),
    scalar_argument="{a}.item()",
    typed_scalar="float_type.type({a})",
    returned_scalar="cp.asarray({x}).item()",
    returned_objective="{x}.item()",
    scalar_note="A scalar may be a float, a 0-d or a 1x1 array; its gradient is a float.",
    install='pip install "matgrad[cupy]" (a CUDA 12 build: cupy-cuda12x)',
    vdot="cp.vdot({a}, {b})",
)
