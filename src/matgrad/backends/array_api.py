"""The array API backend: standard functions only (the Python array API standard, 2023.12, with
its linalg extension), the namespace taken from the inputs at entry by
`array_api_compat.array_namespace`, so the one module runs on any conforming library — NumPy,
CuPy, PyTorch, JAX, Dask through array_api_compat; tested under `array-api-strict`.

No in-place updates and no methods beyond the standard's (`.T`, `.shape`, `.ndim`, `.dtype`):
reductions are `xp.sum(x, axis=…, keepdims=True)`, numbers passed to functions become arrays
first, relu′ is a comparison cast to the dtype (nan kept, as NumPy keeps it), arctan is
`xp.atan`.
"""

from __future__ import annotations

from matgrad.backends.numpy_spellings import NUMPY_SPELLINGS
from matgrad.codegen.backend import Backend

# Where the standard spells a function differently from NumPy, or takes arrays only.
_RENAMED: dict[str, tuple[str, str]] = {
    # A comparison is False at nan: nan is kept, as NumPy's heaviside keeps it.
    "relu": ("xp.maximum({x}, xp.zeros_like({x}))",
             "xp.where(xp.isnan({x}), {x}, xp.astype({x} > 0, {x}.dtype))"),
    "softplus": ("xp.logaddexp(xp.zeros_like({x}), {x})", "0.5 * (1 + xp.tanh(0.5 * {x}))"),
    "arctan": ("xp.atan({x})", "1 / (1 + {x} ** 2)"),
}
ARRAY_API_SPELLINGS: dict[str, tuple[str, str]] = {
    name: _RENAMED.get(name, (value.replace("np.", "xp."), derivative.replace("np.", "xp.")))
    for name, (value, derivative) in NUMPY_SPELLINGS.items()
}

ARRAY_API_HELPERS = {
    "_logsumexp": '''def _logsumexp(x):
    """log Σⱼ exp(xᵢⱼ) for every row i, without overflow."""
    xp = array_namespace(x)
    peak = xp.max(x, axis=1, keepdims=True)
    peak = xp.where(xp.isfinite(peak), peak, xp.zeros_like(peak))
    return peak + xp.log(xp.sum(xp.exp(x - peak), axis=1, keepdims=True))
''',
    "_softmax": '''def _softmax(x):
    """Row-wise softmax, the gradient of _logsumexp."""
    xp = array_namespace(x)
    peak = xp.max(x, axis=1, keepdims=True)
    shifted = xp.exp(x - xp.where(xp.isfinite(peak), peak, xp.zeros_like(peak)))
    return shifted / xp.sum(shifted, axis=1, keepdims=True)
''',
    "_norm": '''def _norm(x):
    """The Frobenius norm, scaled by the largest entry (no overflow at 1e±200); a zero or
    non-finite largest entry leaves x unscaled, so 0, inf and nan come out as they are."""
    xp = array_namespace(x)
    scale = xp.max(xp.abs(x))
    scale = xp.where((scale == 0) | ~xp.isfinite(scale), xp.ones_like(scale), scale)
    scaled = x / scale
    return scale * xp.sqrt(xp.sum(scaled * scaled))
''',
    "_logdet": '''def _logdet(x):
    """log |det x| (slogdet's), whose gradient is x^-T wherever det x != 0."""
    return array_namespace(x).linalg.slogdet(x)[1]
''',
    "_onehot_dot": '''def _onehot_dot(y, a):
    """<y, a> over the entries where the one-hot y is not 0 (a masked logit -inf adds 0)."""
    xp = array_namespace(y, a)
    return xp.sum(y * xp.where(y != 0, a, xp.zeros_like(a)))
''',
    "_divide_by_norm": '''def _divide_by_norm(x, norm):
    """x / norm, and 0 where the norm is 0: the subgradient 0 of |x| at x = 0."""
    if norm == 0:
        return array_namespace(x).zeros_like(x)
    return x / norm
''',
    "_inv": '''def _inv(x):
    """The inverse of x."""
    return array_namespace(x).linalg.inv(x)
''',
    "_solve": '''def _solve(a, b):
    """a⁻¹ b without forming a⁻¹."""
    return array_namespace(a, b).linalg.solve(a, b)
''',
}


def _result_type(alias: str, arrays: list[str]) -> list[str]:
    return [f"float_type = {alias}.result_type({', '.join(arrays)})" if arrays
            else f"float_type = {alias}.float64"]


ARRAY_API = Backend(
    name="array-api",
    library="array_api_compat",
    alias="xp",
    import_lines=("from array_api_compat import array_namespace",),
    spellings=ARRAY_API_SPELLINGS,
    helpers=ARRAY_API_HELPERS,
    singular_message=False,
    in_place=False,
    to_float_array=(
        "{a} = xp.asarray({a})",
        "if not xp.isdtype({a}.dtype, ('real floating', 'complex floating')):",
        "    {a} = xp.astype({a}, xp.float64)",
    ),
    scalar_argument="float(xp.reshape({a}, ()))",
    # A Python number as a double: the library's default dtype may be float32 (PyTorch's).
    scalar_array="xp.asarray({a}, dtype=xp.float64) if isinstance({a}, (int, float)) "
                 "else xp.asarray({a})",
    typed_scalar="xp.asarray({a}, dtype=float_type)",
    returned_scalar="float(xp.reshape(xp.asarray({x}), ()))",
    returned_objective="float(xp.reshape({x}, ()))",
    scalar_note="A scalar may be a float, a 0-d or a 1x1 array; its gradient is a float.",
    install='pip install "matgrad[array-api]"',
    # Where both are 1×1 one may be a number (‖2‖²): an array of the arrays' type first.
    vdot="xp.sum(xp.asarray({a}, dtype=float_type) * {b})",
    vdot_of_arrays="xp.sum({a} * {b})",
    copy="xp.asarray({x}, copy=True)",
    broadcast="xp.broadcast_to(xp.asarray({x}, dtype=float_type), {shape})",
    scalar_function_argument="xp.asarray({x}, dtype=float_type)",
    # The standard's x.size is PyTorch's method x.size(): the size from the shape instead.
    size_of="xp.reshape({a}, (-1,)).shape[0]",
    zeros="xp.zeros(({r}, {c}), dtype=float_type)",
    eye="xp.eye({n}, dtype=float_type)",
    full_1x1="xp.full((1, 1), {x}, dtype=float_type)",
    result_type=_result_type,
    typed_size="xp.asarray({n}, dtype=float_type)",
    prologue=("xp = array_namespace({arrays})",),
    column_sum="xp.sum({x}, axis=0, keepdims=True)",
    row_sum="xp.sum({x}, axis=1, keepdims=True)",
    total_sum="xp.sum({x})",
    row_dot="xp.sum({a} * {b}, axis=1, keepdims=True)",
    trace="xp.linalg.trace({x})",
)
