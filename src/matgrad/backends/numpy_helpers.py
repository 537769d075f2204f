"""Module-level helpers a generated NumPy module may define: stable logsumexp and softmax, a
scaled Frobenius norm, logdet without |det|, inverses and solves that say what went wrong, the
matrix functions through SciPy (backends/scipy_helpers.py), and 1ᵀX and X𝟏 as the guide writes
them, a product with ones (BLAS's matrix-vector product sums
1.6–8× faster than NumPy's reduction at every size measured, 64×16 to 5000×10; the ones are
made once per size and dtype and kept, read-only, in the module).

Invariant: each helper's name is one of `codegen.names.MODULE_NAMES` (so no user identifier
can shadow it; a test checks), and a module defines only the helpers its function calls.
"""

from __future__ import annotations

from matgrad.backends.scipy_helpers import MATRIX_FUNCTION_HELPERS

HELPERS = {
    "_logsumexp": '''def _logsumexp(x):
    """log Σⱼ exp(xᵢⱼ) for every row i, without overflow; a row holding +inf gives +inf and a
    row of -inf gives -inf (the shift is the row's maximum where that is finite)."""
    peak = x.max(axis=1, keepdims=True)
    peak[~np.isfinite(peak)] = 0
    return peak + np.log(np.exp(x - peak).sum(axis=1, keepdims=True))
''',
    "_softmax": '''def _softmax(x):
    """Row-wise softmax, the gradient of _logsumexp (nan in a row holding ±inf only where
    the limit does not exist, as in PyTorch)."""
    peak = x.max(axis=1, keepdims=True)
    peak[~np.isfinite(peak)] = 0
    shifted = np.exp(x - peak)
    return shifted / shifted.sum(axis=1, keepdims=True)
''',
    "_norm": '''def _norm(x):
    """The Frobenius norm, scaled by the largest entry: entries of 1e±200 neither overflow
    nor underflow (0, inf and nan come out as NumPy gives them).  x may be a number."""
    x = np.asarray(x)
    scale = np.abs(x).max() if x.size else 0.0
    if scale == 0 or not np.isfinite(scale):
        return np.sqrt(np.vdot(x, x))
    scaled = x / scale
    return scale * np.sqrt(np.vdot(scaled, scaled))
''',
    "_logdet": '''def _logdet(x):
    """log |det x| (slogdet's, without overflow): the value whose gradient is x^-T wherever
    det x != 0, so that value and gradient agree; -inf at det x = 0."""
    return np.linalg.slogdet(x)[1]
''',
    "_onehot_dot": '''def _onehot_dot(y, a):
    """<y, a> over the entries where the one-hot y is not 0: a masked logit a = -inf where
    y = 0 adds nothing (0 * -inf would be nan)."""
    return np.multiply(y, a, out=np.zeros(a.shape, np.result_type(y, a)), where=y != 0).sum()
''',
    "_divide_by_norm": '''def _divide_by_norm(x, norm):
    """x / norm, and 0 where the norm is 0: the subgradient 0 of |x| at x = 0."""
    if norm == 0:
        return np.zeros_like(x)
    return x / norm
''',
    "_inv": '''def _inv(x):
    """The inverse of x; a singular x is an error that says what went wrong."""
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(SINGULAR) from None
''',
    "_column_sum": '''_COLUMN_ONES = {}


def _column_sum(x):
    """1ᵀx, the column sums of x as a row: one product with a row of ones of x's size and
    dtype, made once (at most 32 kept)."""
    key = (x.shape[0], x.dtype)
    ones = _COLUMN_ONES.get(key)
    if ones is None:
        if len(_COLUMN_ONES) >= 32:
            _COLUMN_ONES.clear()
        ones = _COLUMN_ONES[key] = np.ones((1, x.shape[0]), x.dtype)
        ones.flags.writeable = False
    return ones @ x
''',
    "_weighted_gram": '''def _weighted_gram(x, weights):
    """xᵀ((w𝟏ᵀ) ⊙ x) for a column w: where every weight is at least 0 (a GLM's curvature,
    σ′ or a softplus″) as RᵀR with R = √w ⊙ x, which NumPy computes by BLAS syrk — half a
    general product's work, and symmetric to the last bit; else (a negative or a nan weight)
    as xᵀ(w ⊙ x).  (Splitting the rows by sign, R₊ᵀR₊ − R₋ᵀR₋, was measured slower below
    n ≈ 300: the copies of the rows cost more than the halved product saves.)"""
    if (weights >= 0).all():
        root = np.sqrt(weights) * x
        return root.T @ root
    return x.T @ (weights * x)
''',
    "_row_sum": '''_ROW_ONES = {}


def _row_sum(x):
    """x𝟏, the row sums of x as a column: one product with a column of ones of x's size and
    dtype, made once (at most 32 kept)."""
    key = (x.shape[1], x.dtype)
    ones = _ROW_ONES.get(key)
    if ones is None:
        if len(_ROW_ONES) >= 32:
            _ROW_ONES.clear()
        ones = _ROW_ONES[key] = np.ones((x.shape[1], 1), x.dtype)
        ones.flags.writeable = False
    return x @ ones
''',
    "_solve": '''def _solve(a, b):
    """a⁻¹ b without forming a⁻¹; a singular a is an error that says what went wrong."""
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(SINGULAR) from None
''',
    **MATRIX_FUNCTION_HELPERS,
}

# The helpers of the product on a batch of directions (backends/numpy.py NUMPY_BATCHED): every
# axis counted from the end.
BATCH_HELPERS = {
    "_batch_broadcast": '''def _batch_broadcast(x, shape):
    """x broadcast to the matrix shape `shape`, under its leading batch axes (if any)."""
    return np.broadcast_to(x, np.shape(x)[:-2] + shape)
''',
    "_batch_column_sum": '''_BATCH_COLUMN_ONES = {}


def _batch_column_sum(x):
    """1ᵀx of each matrix of a batch (or of one matrix), a row each: one batched product with
    a row of ones of the matrices' height and x's dtype, made once (at most 32 kept)."""
    key = (x.shape[-2], x.dtype)
    ones = _BATCH_COLUMN_ONES.get(key)
    if ones is None:
        if len(_BATCH_COLUMN_ONES) >= 32:
            _BATCH_COLUMN_ONES.clear()
        ones = _BATCH_COLUMN_ONES[key] = np.ones((1, x.shape[-2]), x.dtype)
        ones.flags.writeable = False
    return ones @ x
''',
    "_batch_row_sum": '''_BATCH_ROW_ONES = {}


def _batch_row_sum(x):
    """x𝟏 of each matrix of a batch (or of one matrix), a column each: one batched product
    with a column of ones of the matrices' width and x's dtype, made once (at most 32
    kept)."""
    key = (x.shape[-1], x.dtype)
    ones = _BATCH_ROW_ONES.get(key)
    if ones is None:
        if len(_BATCH_ROW_ONES) >= 32:
            _BATCH_ROW_ONES.clear()
        ones = _BATCH_ROW_ONES[key] = np.ones((x.shape[-1], 1), x.dtype)
        ones.flags.writeable = False
    return x @ ones
''',
}
