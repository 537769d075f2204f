"""Array code for a layered program at symbolic depth: one function for every depth k, spelled
by a backend's table (NumPy by default; JAX, PyTorch, CuPy and the array API as well — the
last takes its namespace from every input, each list's members too, before `_float`).

The function takes each layer family as a list (`W = [W1, …, Wk]`) and plain matrices as
arrays, and runs
    forward:   for j = 1…k: the body's definitions (A[j], Z[j]) into lists indexed by layer
               (or a per-layer local, for a family no later code reads); then the epilogue (J);
    backward:  the epilogue's ∂J/∂Z[k] into `delta_Z`; for j = k…1: the body's adjoints and
               gradients with ΔZ[j] = delta_Z, then delta_Z = ∂J/∂Z[j-1] for the next layer.
The module is built as statements (codegen/statements.py: assignments, gradient stores, the two
loops, the block of the layers but the first) and written by the one walker of every module
(codegen/emit.py `emit_statements`): each expression is lowered, planned and spelled by a
`PythonEmitter` of its part, so the loop body is the code the flat module would contain for
one layer (CSE, in-place chains, f′ through the cached Z, 1ᵀΔ as a row sum).  Which families
can live in per-layer locals is read off the lowered backward and epilogue code before
anything is written, so the module is generated once.

Invariants: the depth is read from the lists' lengths and every list and shape is checked at
entry (a size shared by two arguments must agree, named in the error); gradients never alias
inputs; names reaching the code pass `python_name`; the loop itself is Python (`for j in
range(k)`), so under `jax.jit` it is unrolled for the depth of the lists traced.
"""

from __future__ import annotations

from functools import partial

from matgrad.codegen.array_program import names_read
from matgrad.codegen.backend import Backend
from matgrad.codegen.computation import computation_of
from matgrad.codegen.emit import Embedding, PythonEmitter, emit_statements
from matgrad.codegen.entry import array_type_lines
from matgrad.codegen.layout import ModuleText, helper_definitions, laid_out, used_imports
from matgrad.codegen.liveness import names_mentioned
from matgrad.codegen.lower import Lowering, fraction_literal
from matgrad.codegen.names import (
    IdentifierPool,
    check_bind_keys,
    python_name,
)
from matgrad.codegen.signature import Signature, loop_signature
from matgrad.codegen.statements import Assign, Line, Loop, Release, Statement, Store, When
from matgrad.engine.results import Derivation, Layers
from matgrad.errors import CodegenError
from matgrad.front.loops import Declaration
from matgrad.ir import indexing
from matgrad.ir.dims import SCALAR, Shape
from matgrad.ir.expr import Apply, Expr
from matgrad.ir.indexing import Index
from matgrad.ir.shapes import shape_of
from matgrad.ir.text import to_text


def float_helper(backend: Backend) -> list[str]:
    """`_float(m)`: an array of floats of the backend's library (float32 stays float32,
    integers become float64), by the backend's conversion at entry."""
    return ["def _float(m):",
            '    """An array of floats: float32 stays float32, integers become float64."""',
            *(f"    {line.format(a='m')}" for line in backend.to_float_array),
            "    return m"]


def module_float_helper(backend: Backend) -> list[str]:
    """`_float` at module level (one definition), for a backend whose module names its library;
    a backend that takes its namespace from the inputs (the array API's) defines it in the
    function."""
    return [] if backend.prologue else ["\n".join(float_helper(backend))]


def function_prologue(backend: Backend, arrays: str) -> list[str]:
    """The function's first lines: the namespace from the inputs (`arrays`, the lists
    starred) and then `_float`, which reads it, where the backend has a prologue."""
    if not backend.prologue:
        return []
    return [*(line.format(arrays=arrays) for line in backend.prologue), *float_helper(backend)]


AGREE_HELPER = '''def _agree(sizes, key, value, side, name, layer=None):
    """Record size `key` (n[j] as ("n", j)); an argument giving it another value is an error
    naming both.  The message is formatted only then: checks cost little on every call."""
    known = sizes.setdefault(key, value)
    if known != value:
        what = name if layer is None else f"{name}[{layer}]"
        size = key if isinstance(key, str) else f"{key[0]}[{key[1]}]"
        raise ValueError(f"the {side} of {what} is {value}, but {size} = {known} from an "
                         "earlier argument")
'''


class LoopCodegen:
    def __init__(self, derivation: Layers, backend: Backend, function_name: str,
                 bind: dict[str, str], local_families: frozenset[str] | None = None,
                 signature: Signature | None = None) -> None:
        self.backend = backend
        self.locals_read_later: set[str] = set()
        self.derivation = derivation
        self.layered = derivation.layered
        self.function_name = function_name
        self.bind = bind
        functions = frozenset().union(*(part.program.abstract_functions
                                        for part in (derivation.body, derivation.epilogue)))
        check_bind_keys(bind, functions)
        self.signature = signature or loop_signature(derivation, function_name)
        self.names = IdentifierPool(set(self.signature.taken))
        self.var, self.depth = self.signature.loop_identifiers  # type: ignore[misc]
        self.helpers: set[str] = set()
        self.plain_dims: dict[str, str] = {}
        self.used_plain_dims: set[str] = set()
        self.families = self.signature.families
        self.identifiers: dict[str, str] = {
            name: identifier for name, identifier in self.signature.arguments.items()
            if name not in self.families}
        self.lists: dict[str, str] = dict(self.signature.locals)
        self.carried_locals = dict(self.signature.carried_locals)
        # Families only the forward step itself reads (A when f′ goes through Z) live in a
        # local rebound every layer, not in a list that keeps every layer's A to the end.
        self.local_families = (self.per_layer_locals() if local_families is None
                               else local_families)

    def part_bind(self, part: Derivation) -> dict[str, str]:
        """The bindings of a part's functions (f[j] bound by f, or by itself)."""
        return {fn: concrete for fn in part.program.abstract_functions
                if (concrete := self.bind.get(fn, self.bind.get(indexing.base_of(fn))))}

    def per_layer_locals(self) -> frozenset[str]:
        """The families no code after the forward loop reads, as lowering writes that code
        (f′(A) through the cached Z reads Z, not A): each can live in a local."""
        body, epilogue = self.derivation.body, self.derivation.epilogue
        later = [
            (body, [*body.adjoints.values(), *body.gradients.values()]),
            (epilogue, [*epilogue.program.definitions.values(), *epilogue.adjoints.values(),
                        *epilogue.gradients.values()])]
        read: set[str] = set()
        for part, roots in later:
            memo: dict[Expr, Shape] = {}
            probe = Lowering(partial(shape_of, symbol_shapes=dict(part.shapes), memo=memo),
                             lambda name: None, lambda name: True, self.part_bind(part),
                             typed_sizes=False,
                             derivative_products=frozenset(self.backend.derivative_products))
            probe.forward_of_apply = {definition: name for name, definition
                                      in part.program.definitions.items()
                                      if isinstance(definition, Apply) and definition.order == 0}
            probe.plan(roots)
            for root in roots:
                read |= names_read(probe.lower(root))
        carried = set(self.layered.carried)
        read_bases = {indexing.base_of(name) for name in read}
        return frozenset(base for base, family in self.families.items()
                         if not family.is_parameter and base not in carried
                         and base not in read_bases)

    # ---- names ------------------------------------------------------------------------------

    def index_text(self, index: Index, lowest: int = 0) -> str:
        """Python for a layer index: j - 1, k, 0 (less `lowest` for a list that starts there)."""
        offset = index.offset - lowest
        if index.symbol is None:
            return str(offset)
        symbol = self.var if index.symbol == self.layered.var else self.depth
        if offset == 0:
            return symbol
        return f"{symbol} {'+' if offset > 0 else '-'} {abs(offset)}"

    def name_text(self, name: str) -> str:
        if name in self.identifiers:
            return self.identifiers[name]
        parts = indexing.split(name)
        if parts is None:
            self.identifiers[name] = self.names.claim(python_name(name))
            return self.identifiers[name]
        base, index = parts
        for carried, local in self.carried_locals.items():
            if name == indexing.make("Δ" + carried, Index(self.layered.var, 0)):
                return local
        if base in self.local_families:
            return self.lists[base]
        if base in self.families:
            family = self.families[base]
            lowest = family.lowest if family.is_parameter else 0
            return f"{self.lists[base]}[{self.index_text(index, lowest)}]"
        # A named adjoint of one layer (Δ[j]) lives for one iteration: a plain local.
        self.identifiers[name] = self.names.claim(python_name(base))
        return self.identifiers[name]

    def dim_text(self, dim: str) -> str:
        parts = indexing.split(dim)
        if parts is None:
            self.used_plain_dims.add(dim)
            if dim not in self.plain_dims:
                self.plain_dims[dim] = self.names.claim(python_name(dim))
            return self.plain_dims[dim]
        return f"sizes[{self.size_key(dim)}]"

    def size_key(self, dim: str) -> str:
        """The key of a size in the `sizes` dict, as Python: 't', or ('n', j - 1) for n[j-1]
        (a tuple costs less than formatting a string on every call)."""
        parts = indexing.split(dim)
        if parts is None:
            return repr(dim)
        base, index = parts
        return f"({base!r}, {self.index_text(index)})"

    # ---- per-part generators ------------------------------------------------------------------

    def generator(self, part: Derivation) -> PythonEmitter:
        """A generator for one part, emitting into this module through its embedding."""
        bind = self.part_bind(part)
        names = [*part.program.shapes, *part.program.definitions, *part.adjoints]
        embedding = Embedding(self.names, self.helpers,
                              {name: self.name_text(name) for name in names}, self.dim_text)
        return PythonEmitter(computation_of(part), self.backend, self.function_name, bind,
                             typed_sizes=False,
                             embedding=embedding)

    # ---- the function -------------------------------------------------------------------------

    def _checks(self, arguments: list[str]) -> list[str]:
        layered, lines = self.layered, []
        families = [name for name in arguments if name in self.families]
        first = families[0] if families else None
        if first is None:
            raise CodegenError("a loop with no layer parameters: nothing gives its depth.")
        first_list = self.lists[first]
        top_offset = self.families[first].top
        lowest = self.families[first].lowest
        lines.append(f"{self.depth} = " + _plus(f"len({first_list})", lowest - 1 - top_offset))
        for base in families:
            ident = self.lists[base]
            # Each family to its own last layer: b[j] of a loop to k−1 whose last layer has no
            # bias holds k − 1 matrices while W holds k.
            top = self.families[base].top
            expected = _plus(self.depth, top - self.families[base].lowest + 1)
            scalar = self._family_shape(base) == SCALAR
            # A scalar family's numbers are converted one by one below, in double precision
            # (torch.as_tensor of a Python float would make float32 of it).
            lines += [
                *([] if scalar else [f"{ident} = [_float(m) for m in {ident}]"]),
                f"if len({ident}) != {expected}:",
                f'    raise ValueError(f"{base} must hold one {"number" if scalar else "matrix"} '
                f'per layer: {{{expected}}}, got {{len({ident})}}")',
            ]
        lines.append("sizes = {}")
        declarations = {decl.name: decl for decl in layered.declarations()}
        for name in arguments:
            if name in self.families:
                lines += self._family_checks(name)
                continue
            ident = self.name_text(name)
            decl = declarations.get(name) or Declaration(name, self._inferred_shape(name), ())
            if decl.shape is None:
                lines += [f"{ident} = " + self.backend.scalar_array.format(
                              ns=self.backend.alias, a=ident),
                          f"if {self.backend.size_of.format(a=ident)} != 1:",
                          f'    raise ValueError(f"{name} must be a scalar, got shape '
                          f'{{{ident}.shape}}")',
                          f"{ident} = {self.backend.scalar_argument.format(a=ident)}"]
                continue
            lines.append(f"{ident} = _float({ident})")
            lines += self._shape_checks(ident, decl, name, repr(name))
        for dim, ident in self.plain_dims.items():
            if dim in self.used_plain_dims:
                lines.append(f"{ident} = sizes[{dim!r}]")
        return lines

    def _family_checks(self, name: str) -> list[str]:
        """Checks of each member of a layer family: the loop's layers against the loop's
        declaration, and a member declared outside the loop (W[k]: n x m after a loop to
        k − 1) against its own."""
        layered, family = self.layered, self.families[name]
        ident, var, lowest = self.lists[name], self.var, family.lowest
        inside = next(decl for decl in layered.declarations("body")
                      if indexing.base_of(decl.name) == name)
        outside = [decl for decl in layered.declarations("prologue", "epilogue")
                   if indexing.split(decl.name) is not None
                   and indexing.base_of(decl.name) == name]
        if outside:  # the loop's layers only
            stop = self.index_text(Index(layered.depth_symbol, layered.loop.stop[1] + 1))
            lines = [f"for {var} in range({layered.loop.start}, {stop}):",
                     f"    m = {ident}[{_plus(var, -lowest)}]"]
        else:
            lines = [f"for {var}, m in enumerate({ident}, {lowest}):"]
        lines += ["    " + line for line in self._member_checks(
            "m", inside, f"{name}[{{{var}}}]", f"{name!r}, {var}",
            f"{ident}[{_plus(var, -lowest)}]")]
        for decl in outside:
            index = indexing.split(decl.name)[1]  # type: ignore[index]
            at = self.index_text(index)
            member = f"{ident}[{self.index_text(index, lowest)}]"
            lines += [f"m = {member}", *self._member_checks(
                "m", decl, f"{name}[{{{at}}}]", f"{name!r}, {at}", member)]
        return lines

    def _member_checks(self, ident: str, decl: Declaration, shown: str, agree_name: str,
                       member: str) -> list[str]:
        """A member of a family: a matrix's shape checks, or a scalar's conversion (g[j]:
        scalar holds a number per layer), stored back into the list as `member`."""
        if decl.shape is not None:
            return self._shape_checks(ident, decl, shown, agree_name)
        return [f"{ident} = " + self.backend.scalar_array.format(ns=self.backend.alias,
                                                                  a=ident),
                f"if {self.backend.size_of.format(a=ident)} != 1:",
                f'    raise ValueError(f"{shown} must be a scalar, got shape {{{ident}.shape}}")',
                f"{member} = {self.backend.scalar_argument.format(a=ident)}"]

    def _declared_shape(self, name: str) -> tuple[str | int, str | int] | None:
        """A plain argument's shape as declared or inferred (None for a scalar)."""
        for decl in self.layered.declarations():
            if decl.name == name:
                return decl.shape
        return self._inferred_shape(name)

    def _inferred_shape(self, name: str) -> tuple[str | int, str | int] | None:
        """The shape resolution gave an undeclared argument (None for a scalar)."""
        for part in (self.derivation.epilogue, self.derivation.body):
            if name in part.program.shapes:
                rows, cols = part.program.shapes[name]
                if (rows, cols) == SCALAR:
                    return None
                return (rows, cols)  # type: ignore[return-value]
        raise CodegenError(f"no shape known for the argument {name}")

    def _shape_checks(self, ident: str, decl: Declaration, shown: str,
                      agree_name: str) -> list[str]:
        """Checks of one argument: `shown` names it in messages (inside an f-string: W[{j}]),
        `agree_name` as _agree's arguments ('W', j)."""
        assert isinstance(decl.shape, tuple)
        lines = [f"if {ident}.ndim != 2:",
                 f'    raise ValueError(f"{shown} must be a matrix, got shape '
                 f'{{{ident}.shape}}")']
        for axis, dim in enumerate(decl.shape):
            side = "rows" if axis == 0 else "columns"
            if isinstance(dim, int):
                lines += [f"if {ident}.shape[{axis}] != {dim}:",
                          f'    raise ValueError(f"{shown} must have {dim} {side}, got '
                          f'{{{ident}.shape}}")']
            else:
                lines.append(f"_agree(sizes, {self.size_key(dim)}, {ident}.shape[{axis}], "
                             f"{side!r}, {agree_name})")
        return lines

    def generate(self) -> str:
        """The module's source."""
        return self.module().source

    def module(self) -> ModuleText:
        """The module in its parts (docstring, imports, definitions)."""
        derivation, layered = self.derivation, self.layered
        body, epilogue = derivation.body, derivation.epilogue
        var, loop = self.var, layered.loop
        parts = {"body": self.generator(body), "epilogue": self.generator(epilogue)}
        body_gen, epi_gen = parts["body"], parts["epilogue"]
        head: list[Statement] = []
        internal = [base for base, family in self.families.items() if not family.is_parameter]
        top = max([loop.stop[1], *(self.families[base].top for base in internal)])
        size = self.index_text(Index(layered.depth_symbol, top))
        stored = [base for base in internal if base not in self.local_families]
        head += [Line(f"{self.lists[base]} = [None] * ({size} + 1)") for base in stored]
        for base in layered.start_values:
            head.append(Line(f"{self.name_text(layered.initial(base))} = "
                             f"{self._start_text(base)}"))
        # forward: the body's definitions, layer by layer, into the lists (or locals)
        body_lets = [(name, body.program.definitions[name])
                     for name in layered.bindings("body")]
        body_values = [value for _, value in body_lets]
        body_gen.plan(body_values, computed=body_values)
        last = self.index_text(Index(layered.depth_symbol, loop.stop[1] + 1))
        head.append(Loop(var, str(loop.start), last, 1, (
            *(Assign(self.name_text(name), value, "body", name) for name, value in body_lets),
            Release())))
        # Each part is planned just before it is written: what the backward loop shares is no
        # temporary of the forward one.
        forward_lines = emit_statements(head, parts)
        # the epilogue: J, its adjoints and the gradients it gives
        rest: list[Statement] = []
        epi_defs = list(epilogue.program.definitions.items())
        epi_backward = list(epilogue.adjoints.items())
        epi_gen.plan([v for _, v in epi_defs] + [v for _, v in epi_backward]
                     + list(epilogue.gradients.values()), computed=[v for _, v in epi_defs])
        rest += [Assign(self.name_text(name), value, "epilogue", name)
                 for name, value in [*epi_defs, *epi_backward]]
        allocations: list[str] = []
        grad_lists, results = self.gradient_lists(derivation.parameters, allocations)
        rest += [Line(line) for line in allocations]
        finals = {layered.final(base): base for base in layered.carried}
        for name, gradient in epilogue.gradients.items():
            if name in finals:
                rest.append(Assign(self.carried_locals[finals[name]], gradient, "epilogue"))
                continue
            rest.append(self.epilogue_store(name, gradient, epilogue.program.shapes[name],
                                            grad_lists, results))
        rest.append(self._backward_loop(body_gen, grad_lists))
        objective = self.name_text(epilogue.objective)
        returned = self.backend.returned_scalar.format(x=objective)
        rest.append(Line(f"return {returned}, {{{', '.join(results)}}}"))
        later_lines = emit_statements(rest, parts)
        lines = forward_lines + later_lines
        arguments = list(self.signature.arguments)
        checks = self._checks(arguments)
        used = names_mentioned(lines)
        if "float_type" in used:
            # The arrays' floating type, for spellings that convert a number (PyTorch's).
            arrays = [f"{self.lists[name]}[0]" if name in self.families else self.name_text(name)
                      for name in arguments if self._holds_arrays(name)]
            checks += array_type_lines(self.backend, arrays,
                                       "float_device" in used)
        mentioned = names_mentioned(later_lines)
        self.locals_read_later = {base for base in self.local_families
                                  if self.lists[base] in mentioned}
        return self._module(arguments, checks + lines)

    def epilogue_store(self, name: str, value: Expr, shape: Shape, grad_lists: dict[str, str],
                       results: list[str]) -> Store:
        """An epilogue parameter's result stored: W[k] (declared after the loop) into its
        member of W's list, a plain parameter into grad_<name> (added to `results`)."""
        parts_of_name = indexing.split(name)
        if parts_of_name is not None:
            family = self.families[parts_of_name[0]]
            target = (f"{grad_lists[parts_of_name[0]]}"
                      f"[{self.index_text(parts_of_name[1], family.lowest)}]")
        else:
            target = self.names.claim(f"grad_{self.name_text(name)}")
            results.append(f'"{name}": {target}')
        return Store(target, value, shape, self.name_text(name), "epilogue")

    def _backward_loop(self, body_gen: PythonEmitter, grad_lists: dict[str, str]) -> Loop:
        """for j = k…1: the body's adjoints and gradients with ΔZ[j] = delta_Z, then (but at
        the first layer) delta_Z = ∂J/∂Z[j-1] for the next one."""
        layered, body = self.layered, self.derivation.body
        var, loop = self.var, layered.loop
        carried_inputs = {layered.at(base, -1): base for base in layered.carried}
        body_gen.plan(list(body.adjoints.values()) + list(body.gradients.values()))
        statements: list[Statement] = [Assign(self.name_text(name), value, "body", name)
                                       for name, value in body.adjoints.items()]
        for name, gradient in body.gradients.items():
            if name in carried_inputs:
                continue
            base, index = indexing.split(name)  # type: ignore[misc]
            target = f"{grad_lists[base]}[{self.index_text(index, self.families[base].lowest)}]"
            statements.append(Store(target, gradient, body.program.shapes[name],
                                    self.name_text(name), "body"))
        below_layers: list[Statement] = []
        rebound: list[Statement] = []
        for name, base in carried_inputs.items():
            # ∂J/∂Z[j-1] reads ΔZ[j] (a residual layer reads it twice): computed into a name
            # of its own, and every carried value rebound only when all are computed, so that
            # no in-place step or rebinding changes a ΔZ[j] an expression still needs.
            local = self.carried_locals[base]
            below = self.names.claim(f"{local}_below")
            below_layers.append(Assign(below, body.gradients[name], "body"))
            rebound.append(Line(f"{local} = {below}"))
        internal = [base for base, family in self.families.items()
                    if not family.is_parameter and base not in self.local_families]
        # Each layer's stored values, and the iteration's own, go back to the allocator once
        # no later layer reads them.
        release = Release(frozenset(self.carried_locals.values()),
                          tuple(self.lists[base] for base in internal), var)
        stop = self.index_text(Index(layered.depth_symbol, loop.stop[1]))
        if below_layers:
            statements.append(When(f"{var} > {loop.start}", (*below_layers, *rebound)))
        return Loop(var, stop, str(loop.start - 1), -1, (*statements, release))

    def gradient_lists(self, parameters: tuple[str, ...], lines: list[str],
                       ) -> tuple[dict[str, str], list[str]]:
        """A list per differentiated layer family (`grad_W = [None] * len(W)`, appended to
        `lines`): family → its name, and the returned dict's entries."""
        grad_lists: dict[str, str] = {}
        results: list[str] = []
        for base, family in self.families.items():
            if family.is_parameter and any(indexing.base_of(p) == base for p in parameters):
                grad_lists[base] = self.names.claim(f"grad_{self.lists[base]}")
                lines.append(f"{grad_lists[base]} = [None] * len({self.lists[base]})")
                results.append(f'"{base}": {grad_lists[base]}')
        return grad_lists, results

    def prologue(self, arguments: list[str]) -> list[str]:
        """The backend's opening lines over every array argument (a list starred)."""
        arrays = ", ".join(f"*{self.lists[name]}" if name in self.families
                           else self.name_text(name) for name in arguments
                           if self._holds_arrays(name))
        return function_prologue(self.backend, arrays)

    def _start_text(self, base: str) -> str:
        """A start value: a name (Z[0] = X) or, for a scalar family, a number (r[0] = 0, the
        start of a penalty summed over the layers)."""
        start = self.layered.start(base)
        if start.number is not None and self._family_shape(base) == SCALAR:
            return fraction_literal(start.number)
        if start.name is None:
            raise CodegenError("the generated code takes a loop's start value as a name "
                               "(Z[0] = X) or, for a scalar, a number (r[0] = 0); bind any "
                               "other expression to a name first.")
        return self.name_text(start.name)

    def _holds_arrays(self, name: str) -> bool:
        """Whether an argument is a matrix or a list of matrices (not numbers): what the
        arrays' type and namespace are read from."""
        if name in self.families:
            return self._family_shape(name) != SCALAR
        return self._declared_shape(name) is not None

    def _family_shape(self, base: str) -> Shape | None:
        for part in (self.derivation.body, self.derivation.epilogue):
            for name, shape in part.program.shapes.items():
                split = indexing.split(name)
                if split is not None and split[0] == base:
                    return shape
        return None

    def _module(self, arguments: list[str], body: list[str]) -> ModuleText:
        derivation = self.derivation
        formulas = [f"    d{derivation.objective}/d{name} = {to_text(g, 'ascii')}"
                    for name, g in derivation.gradients.items()]
        for name, at_last, below in derivation.adjoint_cases():
            formulas.append(f"    {name} = {to_text(at_last, 'ascii')}"
                            + ("" if below is None else f"  (j = last); "
                               f"{to_text(below, 'ascii')}  (otherwise)"))
        layer_lists = ", ".join(name for name in arguments if name in self.families)
        return self.assemble(
            [f"{derivation.objective} and its gradient for any depth, generated by matgrad.", "",
             "Gradients, derived once for a generic layer:", *formulas],
            [f"Return ({derivation.objective}, gradients); {layer_lists} are lists holding one "
             "matrix per layer,", "and each gradient of a list is a list."], arguments, body)

    def assemble(self, summary: list[str], returns: list[str], arguments: list[str],
                 body: list[str]) -> ModuleText:
        """The module: its docstring (`summary`, then the bindings), the library's import, the
        helpers the code reads, and the function (its docstring `returns`, then `body`)."""
        args = ", ".join(self.lists.get(name) or self.name_text(name) for name in arguments)
        bound = ", ".join(f"{k} = {v}" for k, v in sorted(self.bind.items()))
        docstring = [f'"""{summary[0]}', *summary[1:]]
        if bound:
            docstring += ["", f"with {bound}."]
        helpers = helper_definitions(self.helpers, self.backend.helpers,
                                     self.backend.singular_message)
        optional = used_imports(self.backend.optional_imports, "\n".join([*helpers, *body]))
        helpers += [*module_float_helper(self.backend), AGREE_HELPER.rstrip("\n")]
        lines = [*self.backend.decorators, f"def {self.function_name}({args}):",
                 f'    """{returns[0]}', *(f"    {line}" for line in returns[1:]), '    """']
        lines += laid_out([f"    {line}" for line in [*self.prologue(arguments), *body]])
        return ModuleText((*docstring, '"""'), (*self.backend.import_lines, *optional),
                          (*helpers, "\n".join(lines)))


def _plus(text: str, amount: int) -> str:
    return text if amount == 0 else f"{text} {'+' if amount > 0 else '-'} {abs(amount)}"


def loop_module_text(derivation: Layers, backend: Backend, name: str, bind: dict[str, str],
                     signature: Signature | None = None) -> ModuleText:
    """The loop module of `derivation` in its parts."""
    signature = signature or loop_signature(derivation, name)
    generator = LoopCodegen(derivation, backend, name, bind, signature=signature)
    module = generator.module()
    if not generator.locals_read_later:
        return module
    # A family kept in a per-layer local that the code after the forward loop reads after all
    # (the analysis missed a read; never seen in the tests or the loop fuzz) is stored in its
    # list instead: never a wrong value.
    return LoopCodegen(derivation, backend, name, bind, frozenset(), signature).module()


def loop_module_source(derivation: Layers, backend: Backend, name: str, bind: dict[str, str],
                       signature: Signature | None = None) -> str:
    return loop_module_text(derivation, backend, name, bind, signature).source
