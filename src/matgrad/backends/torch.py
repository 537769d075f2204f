"""The PyTorch backend: `torch` spellings, no autograd tape (plain tensor arithmetic), the
inputs' dtype and device kept (float32 stays float32, CUDA tensors stay on their device).

PyTorch names a few functions differently from NumPy (relu′ is a comparison, softplus is
logaddexp against a zero tensor, vdot is 1-D only) and copies with `clone()`; sizes read as
numbers stay Python numbers, which PyTorch treats as weak scalars.  A buffer the statement
itself allocated is updated in place as in NumPy (`+=`, `*=`), with PyTorch's spellings where
NumPy passes a positional output: `t.neg_().add_(x)` for x − t, `t.neg_()`, `torch.tanh(t,
out=t)`.  An array the code creates (a zero matrix, an identity, a broadcast number) takes the
inputs' dtype and device: `float_type` and `float_device`, read from the inputs at entry.
"""

from __future__ import annotations

from matgrad.codegen.backend import Backend


def _promote(alias: str, arrays: list[str]) -> list[str]:
    """float_type as PyTorch promotes the arrays' dtypes (float32 with float64 is float64), in a
    loop where a nested promote_types(promote_types(…)) would grow with every argument."""
    if not arrays:
        # Numbers alone: Python floats are doubles (NumPy's result_type(float)); torch's default
        # dtype would round a float64 scalar to float32.
        return [f"float_type = {alias}.float64"]
    if len(arrays) <= 2:
        dtypes = [f"{array}.dtype" for array in arrays]
        return [f"float_type = {alias}.promote_types({', '.join(dtypes)})" if len(arrays) == 2
                else f"float_type = {dtypes[0]}"]
    return [f"float_type = {arrays[0]}.dtype",
            f"for _array in ({', '.join(arrays[1:])}):",
            f"    float_type = {alias}.promote_types(float_type, _array.dtype)"]


def _device(arrays: list[str]) -> str:
    return f"{arrays[0]}.device" if arrays else 'torch.device("cpu")'


TORCH_SPELLINGS: dict[str, tuple[str, str]] = {
    "tanh": ("torch.tanh({x})", "1 - torch.tanh({x}) ** 2"),
    "sigmoid": ("torch.sigmoid({x})", "torch.sigmoid({x}) * (1 - torch.sigmoid({x}))"),
    # torch.sign and a comparison give 0 at nan where NumPy's sign and heaviside give nan:
    # nan is kept, so that a nan input shows in the gradient in every backend.
    "relu": ("torch.relu({x})", "torch.where(torch.isnan({x}), {x}, ({x} > 0).to({x}.dtype))"),
    "exp": ("torch.exp({x})", "torch.exp({x})"),
    "log": ("torch.log({x})", "1 / {x}"),
    "sqrt": ("torch.sqrt({x})", "0.5 / torch.sqrt({x})"),
    "square": ("torch.square({x})", "2 * {x}"),
    "abs": ("torch.abs({x})", "torch.where(torch.isnan({x}), {x}, torch.sign({x}))"),
    "sign": ("torch.where(torch.isnan({x}), {x}, torch.sign({x}))", "torch.zeros_like({x})"),
    "sin": ("torch.sin({x})", "torch.cos({x})"),
    "cos": ("torch.cos({x})", "-torch.sin({x})"),
    "softplus": ("torch.logaddexp(torch.zeros_like({x}), {x})", "torch.sigmoid({x})"),
    "identity": ("{x}", "torch.ones_like({x})"),
    "log1p": ("torch.log1p({x})", "1 / (1 + {x})"),
    "expm1": ("torch.expm1({x})", "torch.exp({x})"),
    "sinh": ("torch.sinh({x})", "torch.cosh({x})"),
    "cosh": ("torch.cosh({x})", "torch.sinh({x})"),
    "arctan": ("torch.arctan({x})", "1 / (1 + {x} ** 2)"),
}

TORCH_HELPERS = {
    "_logsumexp": '''def _logsumexp(x):
    """log Σⱼ exp(xᵢⱼ) for every row i, without overflow."""
    return torch.logsumexp(x, dim=1, keepdim=True)
''',
    "_softmax": '''def _softmax(x):
    """Row-wise softmax, the gradient of _logsumexp."""
    return torch.softmax(x, dim=1)
''',
    "_norm": '''def _norm(x):
    """The Frobenius norm, scaled by the largest entry (no overflow at 1e±200)."""
    x = torch.as_tensor(x)
    scale = x.abs().max()
    if scale == 0 or not torch.isfinite(scale):
        return torch.sqrt((x * x).sum())
    scaled = x / scale
    return scale * torch.sqrt((scaled * scaled).sum())
''',
    "_logdet": '''def _logdet(x):
    """log |det x| (slogdet's), whose gradient is x^-T wherever det x != 0."""
    return torch.linalg.slogdet(x)[1]
''',
    "_onehot_dot": '''def _onehot_dot(y, a):
    """<y, a> over the entries where the one-hot y is not 0 (a masked logit -inf adds 0)."""
    return (y * torch.where(y != 0, a, torch.zeros_like(a))).sum()
''',
    "_divide_by_norm": '''def _divide_by_norm(x, norm):
    """x / norm, and 0 where the norm is 0: the subgradient 0 of |x| at x = 0."""
    if norm == 0:
        return torch.zeros_like(x)
    return x / norm
''',
    "_inv": '''def _inv(x):
    """The inverse of x; a singular x is an error that says what went wrong (as NumPy's)."""
    try:
        return torch.linalg.inv(x)
    except torch.linalg.LinAlgError:
        raise torch.linalg.LinAlgError(SINGULAR) from None
''',
    "_solve": '''def _solve(a, b):
    """a⁻¹ b without forming a⁻¹; a singular a is an error that says what went wrong."""
    try:
        return torch.linalg.solve(a, b)
    except torch.linalg.LinAlgError:
        raise torch.linalg.LinAlgError(SINGULAR) from None
''',
}

# PyTorch has the matrix exponential only; its Fréchet derivative is the upper right block of
# exp([[X, E], [0, X]]) (Higham 2008, Theorem 3.6).
TORCH_HELPERS.update({
    "_expm": '''def _expm(x):
    """The matrix exponential of x."""
    return torch.linalg.matrix_exp(x)
''',
    "_expm_frechet": '''def _expm_frechet(x, e):
    """L_exp(x, e): the upper right block of exp([[x, e], [0, x]])."""
    n = x.shape[0]
    block = torch.cat([torch.cat([x, e], 1), torch.cat([torch.zeros_like(x), x], 1)], 0)
    return torch.linalg.matrix_exp(block)[:n, n:]
''',
    "_expm_frechet2": '''def _expm_frechet2(x, e1, e2):
    """L2_expm(x; e1, e2): the upper right block of exp of a 4n x 4n block matrix."""
    n = x.shape[0]
    z = torch.zeros_like(x)
    rows = [[x, e1, e2, z], [z, x, z, e2], [z, z, x, e1], [z, z, z, x]]
    block = torch.cat([torch.cat(row, 1) for row in rows], 0)
    return torch.linalg.matrix_exp(block)[:n, 3 * n:]
''',
})

TORCH = Backend(
    name="torch",
    library="torch",
    alias="torch",
    import_lines=("import torch",),
    spellings=TORCH_SPELLINGS,
    helpers=TORCH_HELPERS,
    singular_message=True,
    in_place=True,
    subtract_from="{t}.neg_().add_({x})",
    negate="{t}.neg_()",
    apply_into="{f}({t}, out={t})",
    # Autograd's own kernels for g ⊙ tanh′ and g ⊙ σ′ from the forward value: one pass.
    derivative_products={"tanh": "torch.ops.aten.tanh_backward({g}, {y})",
                         "sigmoid": "torch.ops.aten.sigmoid_backward({g}, {y})"},
    to_float_array=(
        "if type({a}) is not torch.Tensor or not {a}.is_floating_point():",
        "    {a} = torch.as_tensor({a})",
        "    if not {a}.is_floating_point():",
        "        {a} = {a}.to(torch.float64)",
    ),
    scalar_argument="{a}.item()",
    # torch.asarray(0.8924) is float32 (the default dtype): a Python float would lose 8 digits.
    scalar_array="torch.as_tensor({a}, dtype=torch.float64)",
    typed_scalar="torch.as_tensor({a}, dtype=float_type)",
    returned_scalar="torch.as_tensor({x}).item()",
    returned_objective="{x}.item()",
    scalar_note="A scalar may be a float, a 0-d or a 1x1 tensor; its gradient is a float.",
    install='pip install "matgrad[torch]"',
    # vdot is 1-D only in PyTorch; a constant operand (<2, 2>) becomes a tensor first, where
    # both are 1×1 (one may be a number).
    vdot="torch.sum(torch.as_tensor({a}, dtype=float_type) * {b})",
    # Arrays: one pass of BLAS's dot, no product array (3.8× faster at 512×256).
    vdot_of_arrays="torch.dot({a}.reshape(-1), {b}.reshape(-1))",
    copy="{x}.clone()",
    # A number standing for a matrix becomes a tensor of the arrays' type first.
    broadcast=("torch.broadcast_to(torch.as_tensor({x}, dtype=float_type, device=float_device),"
               " {shape})"),
    scalar_function_argument="torch.as_tensor({x}, dtype=float_type)",
    size_of="{a}.numel()",
    # Arrays made here take the inputs' dtype and device (CPU or CUDA).
    zeros="torch.zeros(({r}, {c}), dtype=float_type, device=float_device)",
    eye="torch.eye({n}, dtype=float_type, device=float_device)",
    full_1x1="torch.as_tensor({x}, dtype=float_type, device=float_device).reshape(1, 1)",
    result_type=_promote,
    device_of=_device,
    typed_size="torch.as_tensor({n}, dtype=float_type, device=float_device)",
    decorators=("@torch.no_grad()",),
    # torch's matmul takes one dtype: mixed arguments are promoted at entry (checked modules),
    # which lets A = XW + b be addmm, one call (the bias is the product's starting value).
    one_dtype="{a}.to(float_type)",
    affine_product="torch.addmm({c}, {a}, {b})",
    # Positional arguments: PyTorch parses keywords (axis=, keepdims=) more slowly.
    column_sum="{x}.sum(0, True)",
    row_sum="{x}.sum(1, True)",
)
