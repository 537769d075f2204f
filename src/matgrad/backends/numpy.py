"""The NumPy backend: NumPy's spellings, helpers and capabilities (in place, `out`)."""

from __future__ import annotations

from dataclasses import replace

from matgrad.backends.numpy_helpers import BATCH_HELPERS, HELPERS
from matgrad.backends.numpy_spellings import NUMPY_SPELLINGS
from matgrad.codegen.backend import Backend

NUMPY = Backend(
    name="numpy",
    library="numpy",
    alias="np",
    import_lines=("import numpy as np",),
    optional_imports=("import scipy.linalg",),
    spellings=NUMPY_SPELLINGS,
    helpers=HELPERS,
    singular_message=True,
    in_place=True,
    to_float_array=(
        "if type({a}) is not np.ndarray or {a}.dtype.kind not in 'fc':",
        "    {a} = np.asarray({a})",
        "    if {a}.dtype.kind not in 'fc':",
        "        {a} = {a}.astype(np.float64)",
    ),
    scalar_argument="{a}.item()",
    typed_scalar="float_type.type({a})",
    returned_scalar="np.asarray({x}).item()",
    returned_objective="{x}.item()",
    scalar_note="A scalar may be a float, a 0-d or a 1x1 array; its gradient is a float.",
    install="pip install numpy",
    # 1ᵀX and X𝟏 as products with ones (numpy_helpers.py): faster than x.sum(axis=…).
    column_sum="_column_sum({x})",
    row_sum="_row_sum({x})",
    weighted_gram="_weighted_gram({x}, {w})",
)

# NumPy on a batch of directions (a leading axis), for a Hessian's columns assembled from its
# Hessian-vector product in one call: every axis counted from the end, no in-place updates (a
# buffer of one matrix cannot take a batch).  Only for products whose operations on the
# directions are all batch-safe (engine/hessian_plan.py `batch_safe` decides).
NUMPY_BATCHED = replace(
    NUMPY,
    in_place=False,
    helpers={**HELPERS, **BATCH_HELPERS},
    broadcast="_batch_broadcast({x}, {shape})",
    transpose="{ns}.swapaxes({x}, -1, -2)",
    # 1ᵀX and X𝟏 of every matrix as one batched product with ones: measured 6–9× faster than
    # a sum over the middle axis (a batch of 32 matrices of 128 × 8 or 16).
    column_sum="_batch_column_sum({x})",
    row_sum="_batch_row_sum({x})",
    weighted_gram=None,
)
