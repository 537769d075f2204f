"""The Dask backend: the derived gradient on row-chunked Dask arrays, as J = Σ_b J_b + p.

The generated module holds the NumPy functions the one pipeline generates for the parts of a
row-block split (engine/rows.py) — the block's (J_b and ∇J_b on one block of rows, the whole t
given as a number) and the penalty's (p and ∇p, on the parameters only) — and a driver that
applies the block function to every row block where the block lies (one `dask.delayed` task
per block, each parameter sent once), adds the partial results by a tree reduction
(`split_every` per task), adds the penalty and returns J and every gradient from one
`dask.compute` (or the delayed result itself, `compute=False`).  A Hessian-vector product is
split the same way (∇²J V = Σ_b ∇²J_b V + ∇²p V).

Invariants: the module imports numpy and dask only, and nothing in it assumes one machine:
the active Dask scheduler runs it (threads, processes, a distributed `Client`).  It is called
exactly like the NumPy module of the same derivation (the same `Signature`, whose identifiers
avoid `dask` and `da`), plus the keyword options `block_rows`, `split_every` and `compute`.
Only validated identifiers and printed expressions reach the text.
"""

from __future__ import annotations

from collections.abc import Mapping

from matgrad.backends.numpy import NUMPY
from matgrad.codegen.computation import computation_of
from matgrad.codegen.emit import PythonEmitter
from matgrad.codegen.layout import ModuleText
from matgrad.codegen.loop_module import loop_module_text
from matgrad.codegen.names import IdentifierPool
from matgrad.codegen.signature import Signature, signature_of
from matgrad.engine.results import Derivation, LoopDerivation, Product
from matgrad.engine.rows import CITATION, RowBlocks
from matgrad.errors import CodegenError
from matgrad.ir.text import to_text

BLOCK_FUNCTION = "_block_part"
PENALTY_FUNCTION = "_penalty_part"
# The driver's helpers, defined once in every module (module-level names of the Dask module).
DASK_MODULE_NAMES = frozenset({"dask", "da", BLOCK_FUNCTION, PENALTY_FUNCTION, "_dask_add",
                               "_dask_call", "_dask_tree_sum", "_dask_rows",
                               "_dask_row_blocks", "_dask_ordered"})
# The driver's keyword options, the same in every module.
OPTIONS = ("block_rows", "split_every", "compute")

HELPERS = '''
def _dask_call(function, /, **arguments):
    """`function(**arguments)` with every array aligned to its element type: an array that
    arrives from another process may not be, and NumPy's matrix products then skip BLAS."""
    def aligned(value):
        if isinstance(value, list):  # a layer family's matrices
            return [aligned(item) for item in value]
        if isinstance(value, np.ndarray) and not value.flags.aligned:
            return np.require(value, requirements="A")
        return value

    return function(**{name: aligned(value) for name, value in arguments.items()})


def _dask_add(*parts):
    """The sum of partial results of one structure: numbers and arrays, tuples and lists of
    them (a layer family's gradients), or dicts of them (a key missing from a part counts as
    zero)."""
    first = parts[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_dask_add(*items) for items in zip(*parts, strict=True))
    if isinstance(first, dict):
        total = {}
        for part in parts:
            for key, value in part.items():
                total[key] = value if key not in total else _dask_add(total[key], value)
        return total
    total = first
    for part in parts[1:]:
        total = total + part
    return total


def _dask_ordered(result, names, absent):
    """`result` (a dict, or a tuple ending in one) with its dict in the order of `names`; a
    parameter no part reads (`absent`: name → its value) has a zero gradient."""
    if isinstance(result, tuple):
        return (*result[:-1], _dask_ordered(result[-1], names, absent))
    zeros = {name: np.zeros(np.shape(value)) for name, value in absent.items()}
    zeros = {name: zero.item() if zero.ndim == 0 else zero for name, zero in zeros.items()}
    return {name: result[name] if name in result else zeros[name] for name in names}


def _dask_tree_sum(parts, split_every):
    """Σ parts by a tree of delayed additions, `split_every` parts added per task."""
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    add = dask.delayed(_dask_add, pure=False)  # pure=False: no tokenizing on every call
    while len(parts) > 1:
        parts = [add(*parts[i:i + split_every]) if len(parts[i:i + split_every]) > 1
                 else parts[i] for i in range(0, len(parts), split_every)]
    return parts[0]


def _dask_rows(x, block_rows, what):
    """The first data argument as a Dask array (a NumPy array split into blocks of
    `block_rows` rows, one block by default)."""
    if not isinstance(x, da.Array):
        x = np.asarray(x)
        if x.ndim == 2:
            x = da.from_array(x, chunks=(block_rows or max(x.shape[0], 1), -1))
    if x.ndim != 2:
        raise ValueError(f"{what} must be a matrix, got shape {x.shape}")
    return x


def _dask_row_blocks(x, row_chunks, rows, what):
    """The row blocks of a data argument as delayed NumPy arrays: split like `row_chunks`
    along the rows, each block whole along the columns (a NumPy array is chunked here)."""
    if not isinstance(x, da.Array):
        x = np.asarray(x)
        if x.ndim == 2 and x.shape[0] == rows:
            x = da.from_array(x, chunks=(row_chunks, -1))
    if x.ndim != 2 or x.shape[0] != rows:
        raise ValueError(f"{what} must be a matrix with {rows} rows, got shape {x.shape}")
    return list(x.rechunk((row_chunks, -1)).to_delayed()[:, 0])
'''


def _numpy_part(derivation: Derivation, name: str,
                bind: Mapping[str, str]) -> tuple[ModuleText, Signature]:
    # Each part keeps the whole program's abstract functions, so every binding is checked
    # (and an unused one refused) exactly as for the NumPy module.
    signature = signature_of(derivation, name)
    if isinstance(derivation, LoopDerivation):
        return loop_module_text(derivation.layers, NUMPY, name, dict(bind), signature), \
            signature
    return PythonEmitter(computation_of(derivation), NUMPY, name, dict(bind),
                         signature=signature).module(), signature


def _call(opening: str, function: str, part: Signature, given: Mapping[str, str]) -> list[str]:
    """`opening(function, …)`: the delayed call of a part's function by keyword, in lines
    under 100 characters; `given` maps each program name (and each size) to the driver's
    expression for it."""
    keywords = [f"{identifier}={given[name]}" for name, identifier in part.arguments.items()]
    keywords += [f"{keyword}={given[dim]}" for dim, keyword in part.size_keywords.items()]
    indent = " " * (len(opening) - len(opening.lstrip()) + 4)
    lines = [f"{opening}({function}, "]
    for keyword in keywords:
        if len(lines[-1]) + len(keyword) + 2 > 99:
            lines[-1] = lines[-1].rstrip()
            lines.append(indent)
        lines[-1] += keyword + ", "
    lines[-1] = lines[-1].rstrip(", ") + ")"
    return lines


def _docstring(derivation: Derivation, split: RowBlocks) -> list[str]:
    """What the module computes: the split, in ASCII."""
    decomposition, objective = split.decomposition, derivation.first_order.objective
    hvp = isinstance(derivation, Product)
    penalty = "" if decomposition.penalty is None else \
        f" + p,\n    p = {to_text(decomposition.penalty, 'ascii')}"
    title = f"The Hessian-vector product of {objective}" if hvp else \
        f"{objective} and its gradient"
    return [
        f'"""{title} on row-chunked Dask arrays, generated by matgrad.',
        "",
        f"{objective} is a sum over the row blocks b of {decomposition.rows}, the rows of "
        f"{', '.join(decomposition.data)}",
        f"({ascii_citation()}):",
        f"    {objective} = sum_b {objective}_b{penalty},",
        f"    {objective}_b = {to_text(decomposition.data_terms, 'ascii')} on block b,",
        "so every gradient is the sum of the blocks' gradients"
        f"{' and the penalty' + chr(39) + 's' if penalty else ''}.",
        *([] if decomposition.written_out_depth is None else [
            f"(Decided with the loop written out at depth {decomposition.written_out_depth}; "
            "every layer is the same.",
            f"The loop's block function weights the penalty by {split.weight} = 1 on the first "
            f"block and 0 on the others, and reads the whole {decomposition.rows} as "
            f"{split.total_rows}.)"]),
        "Each block is computed where it lies by the NumPy function below; the parts are",
        "added by a tree reduction and returned from one dask.compute.",
        '"""',
    ]


def _driver(derivation: Derivation, split: RowBlocks, name: str, signature: Signature,
            parts: Mapping[str, Signature]) -> list[str]:
    """The lines of the function the user calls: blocks, one task each, the tree, compute."""
    arguments = signature.arguments
    clash = sorted(set(OPTIONS) & {*arguments.values(), *signature.size_keywords.values()})
    if clash:
        raise CodegenError(f"the Dask module's options {', '.join(OPTIONS)} are keywords of "
                           f"its function: rename the program's {', '.join(clash)}.")
    if name in DASK_MODULE_NAMES:
        raise CodegenError(f"the function cannot be called '{name}': the Dask module uses "
                           "that name itself; choose another, e.g. value_and_grad.")
    pool = IdentifierPool(set(signature.taken) | DASK_MODULE_NAMES | set(OPTIONS) | {name})
    rows = split.decomposition.rows
    rows_local = signature.dims.get(rows) or pool.claim(rows)
    chunks, index, partials, result, call, penalty = (
        pool.claim(word) for word in ("row_chunks", "i", "parts", "result", "call", "penalty"))
    data = [program_name for program_name in arguments
            if program_name in split.decomposition.data]
    blocks = {program_name: pool.claim(f"{arguments[program_name]}_blocks")
              for program_name in data}
    shared = {program_name: pool.claim(f"{identifier.rstrip('_')}_shared")
              for program_name, identifier in arguments.items() if program_name not in data}
    given = {program_name: f"{blocks[program_name]}[{index}]" for program_name in data}
    given.update(shared)
    # A part may need a size that its own arguments do not give (a block of constants): read
    # it off the driver's arguments.
    shapes = derivation.program.shapes
    for program_name, identifier in reversed(arguments.items()):
        for axis, dim in enumerate(shapes.get(program_name, ())):
            given[str(dim)] = f"np.shape({identifier})[{axis}]"
    given.update(signature.size_keywords)
    given[rows] = rows_local
    given[split.decomposition.block_rows] = f"{chunks}[{index}]"
    if split.weight is not None and split.total_rows is not None:  # a loop's block program
        given[split.weight] = f"float({index} == 0)"
        given[split.total_rows] = f"float({rows_local})"

    first = arguments[data[0]]
    returned = tuple(derivation.gradients)
    objective = derivation.first_order.objective
    what = ("{P: (d2" + objective + " V)_P}" if isinstance(derivation, Product) else
            f"({objective}, gradients of {objective} with respect to {', '.join(returned)})")
    data_list = ", ".join(arguments[program_name] for program_name in data)
    others = ", ".join(shared_name.removesuffix("_shared") for shared_name in shared.values())
    options = ", ".join([*(f"{keyword}=None" for keyword in signature.size_keywords.values()),
                         "block_rows=None", "split_every=8", "compute=True"])
    lines = [
        f"def {name}({', '.join(arguments.values())}, *, {options}):",
        f'    """Return {what}, summed over the row blocks of {data_list}.',
        "",
        f"    {data_list}: Dask arrays split into blocks of rows (NumPy arrays are split",
        "    into blocks of block_rows rows, one block by default); each is rechunked to",
        f"    {first}'s row blocks, whole along its columns.",
        f"    The others ({others or 'none'}) are NumPy arrays or numbers, sent once to the "
        "workers.",
        "    split_every: partial results each task of the tree reduction adds (at least 2).",
        "    compute=False: the dask.delayed result, not computed.",
        '    """',
        f"    {first} = _dask_rows({first}, block_rows, {first!r})",
        f"    {rows_local} = {first}.shape[0]",
        f"    {chunks} = {first}.chunks[0]",
        *(f"    {blocks[program_name]} = _dask_row_blocks({arguments[program_name]}, {chunks}, "
          f"{rows_local}, {arguments[program_name]!r})" for program_name in data),
        *(f"    {local} = dask.delayed({arguments[program_name]})"
          for program_name, local in shared.items()),
        f"    {call} = dask.delayed(_dask_call, pure=False)",
        f"    {partials} = [",
        *_call(f"        {call}", BLOCK_FUNCTION, parts[BLOCK_FUNCTION], given),
        f"        for {index} in range(len({chunks}))",
        "    ]",
        f"    {result} = _dask_tree_sum({partials}, split_every)",
    ]
    if PENALTY_FUNCTION in parts:
        lines += [*_call(f"    {penalty} = {call}", PENALTY_FUNCTION, parts[PENALTY_FUNCTION],
                         given),
                  f"    {result} = dask.delayed(_dask_add, pure=False)({result}, {penalty})"]
    if not isinstance(derivation, LoopDerivation):  # a loop's module orders its gradients
        read = {name_ for part in parts.values() for name_ in part.arguments}
        absent = ", ".join(f"{name_!r}: {arguments[name_]}" for name_ in returned
                           if name_ not in read)
        lines.append(f"    {result} = dask.delayed(_dask_ordered, pure=False)({result}, "
                     f"{returned!r}, {{{absent}}})")
    return [*lines,
            "    if not compute:",
            f"        return {result}",
            f"    return dask.compute({result})[0]"]


def dask_module_source(derivation: Derivation, split: RowBlocks, name: str,
                       bind: Mapping[str, str], signature: Signature) -> str:
    """The Dask module of `derivation` (a gradient or a Hessian-vector product) from its
    row-block split, called as `signature` says."""
    modules: list[ModuleText] = []
    parts: dict[str, Signature] = {}
    for function, part in ((BLOCK_FUNCTION, split.block), (PENALTY_FUNCTION, split.penalty)):
        if part is not None:
            module, parts[function] = _numpy_part(part, function, bind)
            modules.append(module)
    # The parts' docstrings are left out: the Dask module states what it computes itself; a
    # helper both parts define is defined once.
    imports = {line for module in modules for line in module.imports}
    definitions = list(dict.fromkeys(definition for module in modules
                                     for definition in module.definitions))
    header = "\n".join(_docstring(derivation, split)) + "\n\n" + "\n".join(
        sorted({*imports, "import dask", "import dask.array as da"}))
    driver = "\n".join(_driver(derivation, split, name, signature, parts))
    return "\n\n\n".join([header, *definitions, HELPERS.strip(), driver]) + "\n"


def ascii_citation() -> str:
    """The citation of the split in the module's ASCII text."""
    return CITATION.replace("𝟏ᵀ", "1'*").replace("₁", "1").replace("₂", "2")
