"""The assembly half of a generated Hessian module: `_assemble_hessian(parts, shapes, …)`,
generated straight-line for the blocks at hand, and the helpers it calls.

Each block is one statement written for its own form (codegen/hessian_module.py reads the forms
into specs): a block-diagonal Kronecker block (Iₘ ⊗ A₁) diag(vec K) (Iₘ ⊗ A₂) as its m blocks
A₁ diag(K[:, s]) A₂ in one batched product, a column or a row of them as one product, a
diagonal as `np.diag`, a Kronecker product by `_kron`, a block with a matrix form as it is;
any other form is handed to `_kronecker_block`, which applies its factors right to left to
the source's unit directions, a batch of transposed matrices (`_units`, `_on_stack`), never a
Kronecker product or a diagonal multiplied in as a matrix.  Blocks left to the product come
from `_product_columns` (every block column needed, in one pass over unit directions).

Invariants: the statement written for a form computes what `_kronecker_block` computes from
it (both are checked against autograd and the operators of linear_maps.py); of H_ab and H_ba
only one is computed — a formula before the product, then the one whose column parameter is
no larger (fewer unit directions to carry through its chain), then the first — and the other
is its transpose, so the whole Hessian is exactly symmetric.  Only parameter names from
validated identifiers and part names the module made reach the text, each as a Python
literal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from matgrad.codegen.layout import laid_out
from matgrad.ir.dims import SCALAR, Shape

BlockKey = tuple[str, str]
BlockSpec = tuple[str, object]  # ("matrix", part) | ("product", None) | ("kronecker", terms)
# A factor: ("kron", outer part or None, inner part or None), ("mask", part, divide),
# ("flip", None, None), ("inner", part, None) or ("spread", part, None).
FactorSpec = tuple[str, str | None, str | bool | None]
TermSpec = tuple[str | None, list[FactorSpec]]  # (coefficient part or None, factors)

# The helpers every Hessian module carries (its generated `_assemble_hessian` calls them).
# The helpers a generated `_assemble_hessian` may call, each the text of its definition: a
# module carries those its statements call, with those they call (HELPER_NEEDS).
HELPERS: dict[str, str] = {
    "_kron": '''def _kron(outer, inner, source):
    """B ⊗ A, an absent one an identity, written into one new matrix: B's entries on the
    diagonals of its blocks (B ⊗ I), or A on the block diagonal (I ⊗ A)."""
    rows, cols = source
    if outer is not None and inner is not None:
        return np.kron(outer, inner)
    if outer is None and inner is None:
        return np.eye(rows * cols)
    if inner is None:
        total = np.zeros((outer.shape[0], rows, cols, rows))
        index = np.arange(rows)
        total[:, index, :, index] = outer
        return total.reshape(outer.shape[0] * rows, cols * rows)
    total = np.zeros((cols, inner.shape[0], cols, rows))
    index = np.arange(cols)
    total[index, :, index, :] = inner
    return total.reshape(cols * inner.shape[0], cols * rows)
''',
    "_block_diagonal": '''def _block_diagonal(blocks):
    """The matrix with the `size` blocks of a size × height × width stack on its diagonal."""
    size, height, width = blocks.shape
    total = np.zeros((size * height, size * width))
    index = np.arange(size)
    total.reshape(size, height, size, width)[index, :, index, :] = blocks
    return total
''',
    "_structured": '''def _structured(factors, part, source):
    """A one-factor chain B ⊗ A (`_kron`), or (B1 ⊗ A1) diag(vec K) (B2 ⊗ A2), an absent B an
    identity, without the diagonal or an identity's Kronecker product as a matrix: the blocks
    A1 diag(K[:, s]) A2 of a block-diagonal result when both B are identities, else one
    einsum.  None for any other chain."""
    kinds = [kind for kind, _, _ in factors]
    if kinds == ["kron"]:
        _, outer, inner = factors[0]
        return _kron(None if outer is None else part(outer),
                     None if inner is None else part(inner), source)
    if kinds != ["kron", "mask", "kron"] or factors[1][2]:
        return None
    (_, b1, a1), (_, k, _), (_, b2, a2) = factors
    rows, cols = source
    right = np.eye(rows) if a2 is None else part(a2)
    middle_cols = cols if b2 is None else part(b2).shape[0]
    mask = np.broadcast_to(part(k), (right.shape[0], middle_cols))
    left = np.eye(right.shape[0]) if a1 is None else part(a1)
    if b1 is None and b2 is None:
        # A factor of ones (a bias's broadcast, a sum) weighs nothing: K itself, never K ⊙ 𝟏.
        if right.shape[1] == 1:  # the blocks are columns: A1 (K ⊙ a2𝟏ᵀ), one product
            weighted = mask if a2 in _ONES else mask * right
            summed = weighted.sum(axis=0, keepdims=True) if a1 in _ONES else left @ weighted
            return _block_diagonal(summed.T[:, :, None])
        if left.shape[0] == 1:  # rows: (K ⊙ a1ᵀ𝟏ᵀ)ᵀ A2
            weighted = mask if a1 in _ONES else mask * left.T
            summed = weighted.sum(axis=0)[:, None] if a2 in _ONES else weighted.T @ right
            return _block_diagonal(summed[:, None, :])
        # a C-ordered batch: a strided one slows the batched product 2×
        return _block_diagonal(np.matmul(
            np.multiply(left[None, :, :], mask.T[:, None, :], order="C"), right))
    outer_label = "s" if b1 is None else "j"
    column_label = "s" if b2 is None else "l"
    operands = [left, mask, right]
    labels = ["it", "ts", "tk"]
    for name, spec in ((b1, "js"), (b2, "sl")):
        if name is not None:
            operands.append(part(name))
            labels.append(spec)
    product = np.einsum(",".join(labels) + "->" + outer_label + "i" + column_label + "k",
                        *operands, optimize=True)
    first, second, third, fourth = product.shape
    return product.reshape(first * second, third * fourth)
''',
    "_units": '''def _units(kind, first, second, part, rows, cols):
    """The first factor applied to every unit direction Eᵢⱼ of a rows × cols source, in vec
    order, as a stack of the results' transposes (the k-th matrix of the stack is the k-th
    result transposed, so that the stack read row-major is the block's columns), with the
    results' shape — never a Kronecker product or a diagonal as a matrix."""
    count = rows * cols
    if kind == "kron":  # A Eᵢⱼ Bᵀ = A[:, i] B[:, j]ᵀ, transposed B[:, j] A[:, i]ᵀ
        if first is None and second is None:
            return np.eye(count).reshape(count, cols, rows), rows, cols
        if first is None:
            inner = part(second)
            stack = np.zeros((cols, rows, cols, inner.shape[0]))
            index = np.arange(cols)
            stack[index, :, index, :] = inner.T
            return stack.reshape(count, cols, inner.shape[0]), inner.shape[0], cols
        outer = part(first)
        if second is None:
            stack = np.zeros((cols, rows, outer.shape[0], rows))
            index = np.arange(rows)
            stack[:, index, :, index] = outer.T
            return stack.reshape(count, outer.shape[0], rows), rows, outer.shape[0]
        inner = part(second)
        stack = outer.T[:, None, :, None] * inner.T[None, :, None, :]
        return (stack.reshape(count, outer.shape[0], inner.shape[0]), inner.shape[0],
                outer.shape[0])
    if kind == "flip":
        return np.eye(count).reshape(count, cols, rows).transpose(0, 2, 1), cols, rows
    if kind == "spread":  # a 1×1 source times K
        spread = part(first)
        return spread.T[None, :, :].copy(), spread.shape[0], spread.shape[1]
    entries = np.broadcast_to(part(first), (rows, cols)).reshape(-1, order="F")
    if kind == "mask":
        return (np.diag(1.0 / entries if second else entries).reshape(count, cols, rows),
                rows, cols)
    return entries.reshape(count, 1, 1).copy(), 1, 1  # inner: ⟨K, Eᵢⱼ⟩
    return spread.T[None, :, :].copy(), spread.shape[0], spread.shape[1]
''',
    "_on_stack": '''def _on_stack(kind, first, second, part, stack, rows, cols):
    """A factor applied to every matrix of `stack`, each the transpose of a rows × cols V:
    diag(vec K) as K ⊙ V, the transposition as a swap of axes, ⟨K, V⟩ as a sum, B ⊗ A as
    A V Bᵀ — Vᵀ ↦ B Vᵀ Aᵀ, one product for every matrix at once."""
    count = stack.shape[0]
    if kind == "mask":
        entries = np.broadcast_to(part(first), (rows, cols)).T
        return (stack / entries if second else stack * entries), rows, cols
    if kind == "flip":
        return stack.transpose(0, 2, 1), cols, rows
    if kind == "inner":
        entries = np.broadcast_to(part(first), (rows, cols)).T
        return (stack * entries).sum(axis=(1, 2)).reshape(count, 1, 1), 1, 1
    if kind == "spread":  # a 1×1 V times K
        spread = part(first)
        return stack.reshape(count, 1, 1) * spread.T[None, :, :], *spread.shape
    if second is not None:  # Vᵀ Aᵀ: one product of the stack's rows
        inner = part(second)
        stack = (stack.reshape(-1, rows) @ inner.T).reshape(count, cols, inner.shape[0])
        rows = inner.shape[0]
    if first is not None:  # B Vᵀ, a batched product
        outer = part(first)
        stack = np.matmul(outer, stack)
        cols = outer.shape[0]
    return stack, rows, cols
''',
    "_kronecker_block": '''def _kronecker_block(terms, parts, source, target):
    """A block from its factors (B ⊗ A, diag(vec K), the commutation matrix, vec(K)ᵀ, vec(K)),
    applied right to left to the unit directions of a parameter of shape `source`: a term of
    the shape `_structured` knows is built as it is, any other carried as a stack."""
    def part(name):  # a 1×1 part comes back a float
        return np.atleast_2d(np.asarray(parts[name], dtype=float))

    size = source[0] * source[1]
    total = None  # the first term's matrix, once it is one of its own
    for coefficient, factors in terms:
        scale = 1.0 if coefficient is None else float(parts[coefficient])
        structured = _structured(factors, part, source) if factors else np.eye(size)
        if structured is None:
            *rest, (kind, first, second) = factors
            stack, rows, cols = _units(kind, first, second, part, *source)
            for kind, first, second in reversed(rest):
                stack, rows, cols = _on_stack(kind, first, second, part, stack, rows, cols)
            structured = stack.reshape(size, rows * cols).T.copy()
        if scale != 1.0:
            structured *= scale
        if total is None:
            total = structured
        else:
            total += structured
    return np.zeros((target[0] * target[1], size)) if total is None else total
''',
    "_product_columns": '''# Unit directions a batched call of the product takes at most: measured
# (one thread, 2- to 8-layer MLPs), 32 keeps the stacked values in cache; 512 was up to 1.6×
# slower.
_BATCH = 32


def _product_columns(product, shapes, columns, batched=None, symmetric=()):
    """The block columns {b: {a: H_ab}} of `columns` from the Hessian-vector product at the
    unit directions Eᵢⱼ of each b (vec stacks columns; (Eᵢⱼ + Eⱼᵢ)/2 for a `symmetric` b,
    the only directions that reach it), every other direction zero: up to _BATCH of them, over
    all the columns, in one call of the batched product where there is one, else one a call."""
    sizes = {column: shapes[column][0] * shapes[column][1] for column in columns}
    blocks = {column: {name: np.empty((r * c, sizes[column])) for name, (r, c) in shapes.items()}
              for column in columns}
    # The unit directions of all the columns, in order, `step` a call: a call's directions are
    # runs of one column each, (column, indices in it, slots in the batch).
    starts = np.cumsum([0, *sizes.values()])
    total, step = int(starts[-1]), _BATCH if batched is not None else 1
    for first in range(0, total, step):
        count = min(step, total - first)
        # A parameter no direction of this call moves is a batch of one zero matrix: the
        # tangents that read only such zeros stay one matrix, broadcast where they meet a
        # batch (the layers before the column's, in a network).
        directions = {name: np.zeros((1, *shape)) for name, shape in shapes.items()}
        runs = []
        for column, offset in zip(columns, starts[:-1], strict=True):
            low, high = max(first, offset), min(first + count, offset + sizes[column])
            if low >= high:
                continue
            if batched is not None:
                directions[column] = np.zeros((count, *shapes[column]))
            rows, slots = shapes[column][0], np.arange(low - first, high - first)
            index = np.arange(low - offset, high - offset)
            weight = 0.5 if column in symmetric else 1.0
            directions[column][slots, index % rows, index // rows] += weight
            if column in symmetric:
                directions[column][slots, index // rows, index % rows] += weight
            runs.append((column, index, slots))
        if batched is not None:
            result = batched(directions)
        else:
            result = product({name: direction[0] for name, direction in directions.items()})
        for name, shape in shapes.items():
            # each direction's component, vec'd: the last two axes swapped, then rows
            stack = np.broadcast_to(result[name], (count, *shape))
            vecs = np.swapaxes(stack, -1, -2).reshape(count, -1)
            for column, index, slots in runs:
                blocks[column][name][:, index[0]:index[-1] + 1] = vecs[slots].T
    return blocks
''',
}
HELPER_NEEDS: dict[str, tuple[str, ...]] = {
    "_structured": ("_kron", "_block_diagonal"),
    "_kronecker_block": ("_structured", "_units", "_on_stack"),
}

HELPER_NAMES = frozenset({"_kron", "_block_diagonal", "_structured", "_units", "_on_stack",
                          "_kronecker_block", "_BATCH", "_product_columns",
                          "_assemble_hessian"})


def _no_larger(small: Shape, large: Shape) -> bool:
    """Whether a parameter of shape `small` has provably no more entries than one of shape
    `large` for every value of their named sizes (each at least 1): its sizes other than 1 are
    among the other's."""
    return not (Counter(d for d in small if d != 1) - Counter(d for d in large if d != 1))


def computed_blocks(specs: Mapping[BlockKey, BlockSpec],
                    shapes: Mapping[str, Shape]) -> dict[BlockKey, BlockKey | None]:
    """For each block, None where it is computed, else the block it is the transpose of: of
    H_ab and H_ba a formula before the product, then the one whose column parameter is no
    larger, then the first."""
    mirrors: dict[BlockKey, BlockKey | None] = {}
    for key in specs:
        other = (key[1], key[0])
        if key in mirrors:
            continue
        if other == key or other not in specs:
            mirrors[key] = None
            continue
        first_product = specs[key][0] == "product"
        other_product = specs[other][0] == "product"
        if first_product != other_product:
            chosen = other if first_product else key
        elif (not first_product and _no_larger(shapes[other[1]], shapes[key[1]])
              and not _no_larger(shapes[key[1]], shapes[other[1]])):
            chosen = other
        else:
            chosen = key
        mirrored = other if chosen == key else key
        mirrors[chosen], mirrors[mirrored] = None, chosen
    return mirrors


def _grouped(expression: str) -> str:
    """`expression` ready for a method call or a subscript: a product in parentheses."""
    return f"({expression})" if " @ " in expression or " * " in expression else expression


class _Writer:
    """The statements of `_assemble_hessian`, one a block, and the parts they read."""

    def __init__(self, shapes: Mapping[str, Shape], part_shapes: Mapping[str, Shape],
                 ones: frozenset[str], parameters: Sequence[str]) -> None:
        self.shapes, self.part_shapes, self.ones = shapes, part_shapes, ones
        self.index = {name: position for position, name in enumerate(parameters)}
        self.read: dict[str, None] = {}  # the parts the statements read, in order
        self.handed: dict[str, None] = {}  # … and those read from `parts` by a helper
        self.sized: dict[str, None] = {}  # the parameters whose shape they read
        self.counted: dict[str, None] = {}  # … and whose size
        self.called: dict[str, None] = {}  # the helpers they call

    def part(self, name: str) -> str:
        self.read[name] = None
        return name

    def shape(self, parameter: str) -> str:
        self.sized[parameter] = None
        return f"shape_{self.index[parameter]}"

    def size(self, parameter: str) -> str:
        self.counted[parameter] = None
        return f"size_{self.index[parameter]}"

    def statement(self, key: BlockKey, spec: BlockSpec) -> str:
        """The right side computing block `key` of form `spec`."""
        a, b = key
        kind, detail = spec
        if kind == "matrix":
            assert isinstance(detail, str)
            self.handed[detail] = None
            return (f"np.asarray(parts[{detail!r}], dtype=float)"
                    f".reshape({self.size(a)}, {self.size(b)})")
        if kind == "product":
            return f"columns[{b!r}][{a!r}]"
        assert isinstance(detail, list)
        if not detail:
            return f"np.zeros(({self.size(a)}, {self.size(b)}))"
        terms: list[TermSpec] = detail
        written = self._term(key, terms[0][1]) if len(terms) == 1 and \
            terms[0][0] is None else None
        if written is not None:
            return written
        for coefficient, factors in terms:  # the helper reads every part of the form
            names = [coefficient, *(factor[1] for factor in factors),
                     *(factor[2] for factor in factors if factor[0] == "kron")]
            self.handed.update(dict.fromkeys(name for name in names if isinstance(name, str)))
        self.called["_kronecker_block"] = None
        return f"_kronecker_block(_BLOCKS[{key!r}][1], parts, {self.shape(b)}, {self.shape(a)})"

    def _term(self, key: BlockKey, factors: list[FactorSpec]) -> str | None:
        """One term's statement for the forms written out here; None for the others."""
        kinds = [kind for kind, _, _ in factors]
        names = [[name if isinstance(name, str) else None for name in factor[1:]]
                 for factor in factors]
        if kinds == ["kron"]:
            outer, inner = (None if name is None else self.part(name) for name in names[0])
            self.called["_kron"] = None
            return f"_kron({outer}, {inner}, {self.shape(key[1])})"
        if kinds == ["mask"] and not factors[0][2]:
            mask = self.part(str(factors[0][1]))
            entries = mask if self.part_shapes[mask] == self.shapes[key[1]] else \
                f"np.broadcast_to({mask}, {self.shape(key[1])})"
            return f"np.diag({entries}.reshape(-1, order='F'))"
        if kinds == ["kron", "mask", "kron"] and not factors[1][2] and \
                names[0][0] is None and names[2][0] is None:
            left, weights, right = names[0][1], names[1][0], names[2][1]
            if left is not None and weights is not None and right is not None:
                return self._block_diagonal(key, left, weights, right)
        return None

    def _block_diagonal(self, key: BlockKey, left: str, mask: str, right: str) -> str:
        """(I ⊗ A₁) diag(vec K) (I ⊗ A₂): its blocks A₁ diag(K[:, s]) A₂ on the diagonal — a
        row or a column of them one product, a factor of ones weighing nothing."""
        source, target = self.shapes[key[1]], self.shapes[key[0]]
        needed = (self.part_shapes[right][0], source[1])
        weights = self.part(mask) if self.part_shapes[mask] == needed else (
            f"np.broadcast_to({self.part(mask)}, ({self.part(right)}.shape[0], "
            f"{self.shape(key[1])}[1]))")
        left_ones, right_ones = left in self.ones, right in self.ones
        if source[0] == 1:  # columns: A₁ (K ⊙ a₂𝟏ᵀ)
            weighted = weights if right_ones else f"{weights} * {self.part(right)}"
            summed = f"{_grouped(weighted)}.sum(axis=0, keepdims=True)" if left_ones else \
                f"{self.part(left)} @ {_grouped(weighted)}"
            stack = f"{_grouped(summed)}.T[:, :, None]"
        elif target[0] == 1:  # rows: (K ⊙ a₁ᵀ𝟏ᵀ)ᵀ A₂
            weighted = weights if left_ones else f"{weights} * {self.part(left)}.T"
            summed = f"{_grouped(weighted)}.sum(axis=0)[:, None]" if right_ones else \
                f"{_grouped(weighted)}.T @ {self.part(right)}"
            stack = f"{_grouped(summed)}[:, None, :]"
        else:  # a C-ordered batch: a strided one slows the batched product 2×
            stack = (f"np.matmul(np.multiply({self.part(left)}[None, :, :], "
                     f"{weights}.T[:, None, :], order='C'), {self.part(right)})")
        self.called["_block_diagonal"] = None
        return f"_block_diagonal({stack})"


@dataclass(frozen=True)
class Assembly:
    """`_assemble_hessian` as text (`function`), the helpers it calls with those they call, in
    HELPERS' order, and the parts it reads (a part of ones a statement does without is not
    among them)."""

    function: str
    helpers: tuple[str, ...]
    parts: frozenset[str]

    @property
    def helper_text(self) -> str:
        return "\n\n".join(HELPERS[name] for name in self.helpers)


def _with_needs(called: Iterable[str]) -> tuple[str, ...]:
    """`called` and every helper they call (HELPER_NEEDS), in HELPERS' order."""
    wanted: set[str] = set()
    pending = list(called)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending += HELPER_NEEDS.get(name, ())
    return tuple(name for name in HELPERS if name in wanted)


def assembly_function(specs: Mapping[BlockKey, BlockSpec], parameters: Sequence[str],
                      shapes: Mapping[str, Shape], part_shapes: Mapping[str, Shape],
                      ones: frozenset[str]) -> Assembly:
    """`_assemble_hessian(parts, shapes, product=None, batched=None, symmetric=())`: the
    blocks of `specs`, in their order, each computed once (see Assembly)."""
    writer = _Writer(shapes, part_shapes, ones, parameters)
    mirrors = computed_blocks(specs, shapes)
    local = {key: f"block_{position}" for position, key in enumerate(specs)}
    body: list[str] = []
    needed = list(dict.fromkeys(key[1] for key, mirror in mirrors.items()
                                if mirror is None and specs[key][0] == "product"))
    if needed:
        writer.called["_product_columns"] = None
        body.append(f"columns = _product_columns(product, shapes, {needed!r}, batched, "
                    "symmetric)")
    for key, mirror in mirrors.items():
        if mirror is None:
            body.append(f"{local[key]} = {writer.statement(key, specs[key])}")
    for key, mirror in mirrors.items():
        if mirror is not None:
            body.append(f"{local[key]} = {local[mirror]}.T.copy()")
    header = []
    for name in parameters:
        shape = f"shape_{writer.index[name]}"
        if name in writer.sized or name in writer.counted:
            header.append(f"{shape} = shapes[{name!r}]")
        if name in writer.counted:
            header.append(f"size_{writer.index[name]} = {shape}[0] * {shape}[1]")
    header += [f"{name} = np.atleast_2d(np.asarray(parts[{name!r}], dtype=float))"
               if part_shapes[name] == SCALAR else
               f"{name} = np.asarray(parts[{name!r}], dtype=float)" for name in writer.read]
    returned = ", ".join(f"{key!r}: {local[key]}" for key in specs)
    text = "\n".join([
        "def _assemble_hessian(parts, shapes, product=None, batched=None, symmetric=()):",
        '    """Every block of _BLOCKS from the parts (and the product\'s columns, where a '
        'block is\n    left to it), each pair H_ab, H_ba computed once."""',
        *laid_out(["    " + line for line in [*header, *body, f"return {{{returned}}}"]])])
    return Assembly(text, _with_needs(writer.called),
                    frozenset(writer.read) | frozenset(writer.handed))


__all__ = ["HELPERS", "HELPER_NAMES", "HELPER_NEEDS", "Assembly", "FactorSpec", "TermSpec",
           "assembly_function", "computed_blocks"]
