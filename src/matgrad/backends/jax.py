"""The JAX backend: `jax.numpy` spellings, pure code (no in-place update: JAX arrays are
immutable), helpers without Python branches on values, so that the generated function is
traceable by `jax.jit` (and `jax.vmap`), and 0-d arrays (not Python floats) returned.

The spellings are NumPy's with the namespace renamed: every function matgrad's table names has
the same name and semantics in `jax.numpy` (a test checks each against SymPy through JAX).
"""

from __future__ import annotations

from matgrad.backends.numpy_spellings import NUMPY_SPELLINGS
from matgrad.codegen.backend import Backend

JAX_SPELLINGS: dict[str, tuple[str, str]] = {
    name: (value.replace("np.", "jnp."), derivative.replace("np.", "jnp."))
    for name, (value, derivative) in NUMPY_SPELLINGS.items()
}

JAX_HELPERS = {
    "_logsumexp": '''def _logsumexp(x):
    """log Σⱼ exp(xᵢⱼ) for every row i, without overflow; ±inf rows give ±inf (the shift
    is the row's maximum where that is finite)."""
    peak = x.max(axis=1, keepdims=True)
    peak = jnp.where(jnp.isfinite(peak), peak, jnp.zeros_like(peak))
    return peak + jnp.log(jnp.exp(x - peak).sum(axis=1, keepdims=True))
''',
    "_softmax": '''def _softmax(x):
    """Row-wise softmax, the gradient of _logsumexp."""
    peak = x.max(axis=1, keepdims=True)
    shifted = jnp.exp(x - jnp.where(jnp.isfinite(peak), peak, jnp.zeros_like(peak)))
    return shifted / shifted.sum(axis=1, keepdims=True)
''',
    "_norm": '''def _norm(x):
    """The Frobenius norm, scaled by the largest entry (no overflow at 1e±200); a zero or
    non-finite largest entry leaves x unscaled, so 0, inf and nan come out as they are."""
    x = jnp.asarray(x)
    scale = jnp.abs(x).max()
    scale = jnp.where((scale == 0) | ~jnp.isfinite(scale), 1.0, scale)
    scaled = x / scale
    return scale * jnp.sqrt(jnp.vdot(scaled, scaled))
''',
    "_logdet": '''def _logdet(x):
    """log |det x| (slogdet's), whose gradient is x^-T wherever det x != 0."""
    return jnp.linalg.slogdet(x)[1]
''',
    "_onehot_dot": '''def _onehot_dot(y, a):
    """<y, a> over the entries where the one-hot y is not 0 (a masked logit -inf adds 0)."""
    return jnp.sum(y * jnp.where(y != 0, a, jnp.zeros_like(a)))
''',
    "_divide_by_norm": '''def _divide_by_norm(x, norm):
    """x / norm, and 0 where the norm is 0: the subgradient 0 of |x| at x = 0 (traceable)."""
    zero = norm == 0
    return jnp.where(zero, jnp.zeros_like(x), x / jnp.where(zero, jnp.ones_like(norm), norm))
''',
    "_inv": '''def _inv(x):
    """The inverse of x (a singular x gives inf or nan entries, as in JAX)."""
    return jnp.linalg.inv(x)
''',
    "_solve": '''def _solve(a, b):
    """a⁻¹ b without forming a⁻¹."""
    return jnp.linalg.solve(a, b)
''',
}

# The matrix functions JAX has (jax.scipy.linalg: no logm); not CuPy's, which reuses the
# helpers above.  sqrtm answers in complex numbers; a real argument in its domain has a real root.
JAX_MATRIX_FUNCTION_HELPERS = {
    "_expm": '''def _expm(x):
    """The matrix exponential of x (scaling and squaring)."""
    return jsl.expm(x)
''',
    "_expm_frechet": '''def _expm_frechet(x, e):
    """L_exp(x, e): the Fréchet derivative of the matrix exponential at x in direction e."""
    return jsl.expm_frechet(x, e, compute_expm=False)
''',
    "_sqrtm": '''def _sqrtm(x):
    """The principal matrix square root of x (real for x in its domain)."""
    return jsl.sqrtm(x).real.astype(x.dtype)
''',
    "_expm_frechet2": '''def _expm_frechet2(x, e1, e2):
    """L2_expm(x; e1, e2): the upper right block of expm of a 4n x 4n block matrix."""
    n = x.shape[0]
    z = jnp.zeros_like(x)
    block = jnp.block([[x, e1, e2, z], [z, x, z, e2], [z, z, x, e1], [z, z, z, x]])
    return jsl.expm(block)[:n, 3 * n:]
''',
    "_sqrtm_frechet": '''def _sqrtm_frechet(root, e):
    """L_sqrt(x, e) from root = x^(1/2): the solution L of root L + L root = e."""
    return jsl.solve_sylvester(root, root, e).real.astype(root.dtype)
''',
}

JAX = Backend(
    name="jax",
    library="jax",
    alias="jnp",
    import_lines=("import jax.numpy as jnp",),
    optional_imports=("import jax.scipy.linalg as jsl",),
    spellings=JAX_SPELLINGS,
    helpers={**JAX_HELPERS, **JAX_MATRIX_FUNCTION_HELPERS},
    singular_message=False,
    in_place=False,
    to_float_array=(
        "{a} = jnp.asarray({a})",
        "if not jnp.issubdtype({a}.dtype, jnp.inexact):",
        "    {a} = {a}.astype(jnp.result_type(float))",
    ),
    scalar_argument="jnp.reshape({a}, ())",
    typed_scalar="jnp.asarray({a}, dtype=float_type)",
    returned_scalar="jnp.reshape({x}, ())",
    returned_objective="jnp.reshape({x}, ())",
    scalar_note=("A scalar may be a float, a 0-d or a 1x1 array; J and a scalar's gradient "
                 "are 0-d arrays."),
    install='pip install "matgrad[jax]"',
)
