"""Array code generation for every backend: a computation → a self-contained module with
`value_and_grad`, through the pipeline lower → plan → emit:

- lower (codegen/lower.py): each expression of the computation becomes values of the typed
  array program (codegen/array_program.py), numbered globally, with every choice of what to
  compute made there (chain order, sums for ones, solves, f′ through cached outputs);
- plan: values shared at the expression level or read twice get names of their own (named
  after the adjoint they are, `delta_A`, where they are one); each statement's in-place updates
  are planned on the values (codegen/inplace.py) before it is written; `del` after a local's
  last use (codegen/liveness.py);
- emit: each value spelled by a `Backend` table (codegen/spell.py), inline where it is read
  once; the module assembled with cheap entry checks (codegen/entry.py).

Safety invariant: no user text reaches the code except identifiers that pass `python_name`
(valid, not keywords, not dunders, not clashing with generated names) and numeric literals
printed from exact Fractions; function bindings must name built-in functions.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

from matgrad.codegen.array_program import Value
from matgrad.codegen.backend import Backend
from matgrad.codegen.computation import Computation
from matgrad.codegen.docstrings import Docstrings, docstrings
from matgrad.codegen.entry import EntryPoint, entry_checks
from matgrad.codegen.inplace import InPlace, InPlacePlanner
from matgrad.codegen.layout import (
    WIDTH,
    ModuleText,
    helper_definitions,
    laid_out,
    used_imports,
)
from matgrad.codegen.liveness import names_mentioned, release_dead, release_layers, release_locals
from matgrad.codegen.lower import Lowering
from matgrad.codegen.names import IdentifierPool, check_bind_keys, python_name
from matgrad.codegen.signature import Signature, flat_signature, returned_mapping
from matgrad.codegen.spell import ATOM, UNARY, Code, Spelling, wrap
from matgrad.codegen.statements import Assign, Line, Release, Statement, Store
from matgrad.codegen.transposes import lift_transposes
from matgrad.errors import CodegenError
from matgrad.functions import ELEMENTWISE, ROWWISE
from matgrad.ir import indexing
from matgrad.ir.dims import SCALAR, Dim, Shape
from matgrad.ir.expr import Apply, Expr, Norm, Sym, Transpose, Zero
from matgrad.ir.shapes import shape_of


@dataclass(frozen=True)
class Embedding:
    """How a generator emits the statements of one part of another module (a loop module's
    layer body or epilogue): that module's identifier pool and helpers, its Python text for
    each of the part's names (Z[j-1] → Z[j - 1]) and for each size (n[j] → sizes[("n", j)])."""

    names: IdentifierPool
    helpers: set[str]
    identifiers: dict[str, str]
    dim_text: Callable[[str], str]


class PythonEmitter(Spelling):
    """One module's code: lowering, planning and emission state for a computation (or, with an
    `embedding`, for one part of a loop module, statement by statement)."""

    def __init__(self, computation: Computation, backend: Backend,
                 function_name: str = "value_and_grad", bind: dict[str, str] | None = None,
                 typed_sizes: bool = True, signature: Signature | None = None,
                 checks: bool = True, embedding: Embedding | None = None,
                 documented: Docstrings | None = None) -> None:
        self.backend = backend
        self.documented = documented  # what the module says it computes, if not the default
        self.ns = backend.alias  # the array module's name in the code: np, jnp, torch
        typed_sizes = typed_sizes and backend.typed_sizes
        # An embedded part's names are its host module's, not a flat signature's.
        self.signature = signature or (Signature(function_name, {}, {}) if embedding else
                                       flat_signature(computation, function_name))
        # checks=False: no conversion or shape test of array arguments at entry (the caller
        # passes float ndarrays of the declared shapes), for calls where they would cost more
        # than the arithmetic (about 0.5 µs an argument).
        self.checks = checks
        self.computation = computation
        self.second_order = not computation.returns_objective
        self.program = computation.program
        self.function_name = function_name
        self.bind = check_bind_keys(dict(bind or {}), computation.program.abstract_functions)
        for abstract, concrete in self.bind.items():
            row_wise = abstract in computation.program.row_functions
            allowed = ROWWISE if row_wise else ELEMENTWISE
            if concrete not in allowed:
                kind = "row-wise functions" if row_wise else "functions"
                raise CodegenError(
                    f"cannot bind {abstract} to '{concrete}': it must be one of the built-in "
                    f"{kind} {', '.join(sorted(allowed))}.")
        self.shapes: dict[str, Shape] = dict(computation.shapes)
        self.shape_memo: dict[Expr, Shape] = {}
        # Arguments, the program's names and its sizes are named by the signature; the code
        # claims its temporaries from the identifiers left.
        self.names = IdentifierPool(set(self.signature.taken))
        self.identifiers: dict[str, str] = {**self.signature.arguments, **self.signature.locals}
        self.dims: dict[str, str] = dict(self.signature.dims)
        self._dim_text: Callable[[str], str] = self.dims.__getitem__
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.sizes_as_numbers = False  # whether code reads a size as a number (1/t)
        self.counter = 0
        self.used_dims: set[str] = set()
        self.emitted_shapes: dict[str, Shape] = {}
        self.bound: dict[Value, tuple[str, Shape]] = {}  # values held by a name, and its shape
        # A part of a loop module: its host's entry checks, which do not unify dtypes.
        self.embedded = embedding is not None
        if embedding is not None:
            self.names, self.helpers = embedding.names, embedding.helpers
            self.identifiers = dict(embedding.identifiers)
            self._dim_text = embedding.dim_text
        # Sizes read as numbers of the arrays' type (float_type); the loop module, which
        # assembles its own entry checks, keeps them Python ints.
        self.lowering = Lowering(self.full_shape, self.emitted_shapes.get,
                                 self.identifiers.__contains__, self.bind, typed_sizes,
                                 frozenset(self.backend.derivative_products))
        self.lowering.onehot_names = frozenset(
            name for name, attributes in computation.program.attributes.items()
            if "onehot" in attributes)
        # Names holding a norm: x / ‖x‖ divides by them with the subgradient 0 at x = 0.
        self.lowering.norm_names = frozenset(name for name, definition
                                             in computation.program.definitions.items()
                                             if isinstance(definition, Norm))
        self.planner = InPlacePlanner(self.bound.__contains__, self.lowering.shared,
                                      self.allocates, self.output_call)
        if embedding is not None:
            # f′(A) through Z = f(A) wherever the part defines Z.
            for name, definition in computation.program.definitions.items():
                if isinstance(definition, Apply) and definition.order == 0:
                    self.lowering.forward_of_apply[definition] = name

    # ---- the embedding interface: a host module emits a part statement by statement ---------

    def plan(self, roots: list[Expr], computed: Sequence[Expr] = ()) -> None:
        """Plan temporaries for values shared among `roots`; the `computed` values (let-bound
        definitions) are computed into their own names, so they are no temporaries."""
        self.lowering.plan(roots, list(computed))

    def statements(self, target: str, expr: Expr, name: str = "") -> list[str]:
        """The statements computing `target = expr` (temporaries included); `name` is the
        program's name the target holds, if any."""
        start = len(self.lines)
        code = self.assign(target, expr)
        self.emitted_shapes[name or target] = code.shape
        return self.lines[start:]

    def gradient_statements(self, target: str, gradient: Expr, shape: Shape,
                            parameter: str, fresh: bool = True) -> list[str]:
        """`target = gradient` as an array of its own with `parameter`'s shape (or, not
        `fresh`, as it is computed)."""
        start = len(self.lines)
        self.store_gradient(target, gradient, shape, parameter, fresh)
        return self.lines[start:]

    def computed_temporaries(self) -> set[Value]:
        return set(self.bound)

    def forget_temporaries(self, kept: set[Value]) -> None:
        """Forget every value computed since but `kept`: a value computed inside a loop that
        has ended holds only its last iteration's value, so later code must compute its own."""
        for value in set(self.bound) - kept:
            del self.bound[value]

    def lower_second(self, expr: Expr) -> Expr:
        """`expr` with every f″(A) of a built-in f written out (codegen/lower.py)."""
        return self.lowering.lower_second(expr)

    # ---- names and shapes ---------------------------------------------------------------------

    def parameters(self) -> list[str]:
        """The function's arguments, in the signature's order."""
        return list(self.signature.arguments)

    def dim(self, dim: Dim) -> str:
        if isinstance(dim, int):
            return str(dim)
        assert isinstance(dim, str), "a resolved program has no unknown dimensions"
        self.used_dims.add(dim)
        return self._dim_text(dim)

    def full_shape(self, expr: Expr) -> Shape:
        return shape_of(expr, self.shapes, self.shape_memo)

    def _fresh_temp(self, value: Value) -> str:
        origin = self.lowering.origin.get(value)
        for node, adjoint in self.computation.node_adjoints.items():
            if adjoint == origin:
                # A layer's node (Z[k]) names its temporary by its family: delta_Z.
                return self.names.claim(f"delta_{python_name(indexing.base_of(node))}")
        self.counter += 1
        return self.names.claim(f"tmp{self.counter}")

    # ---- emission -----------------------------------------------------------------------------

    def text(self, value: Value) -> Code:
        """The code reading `value`: its name, a new name for a shared value, or its
        spelling inline."""
        held = self.bound.get(value)
        if held is not None:
            return Code(held[0], ATOM, held[1])
        if self.lowering.shared(value):
            return self.assign_value(self._fresh_temp(value), value)
        return self.spell(value)

    def atom(self, value: Value) -> Code:
        """`value` as an atom: a composite operand (read twice by vdot(E, E)) gets a name."""
        code = self.text(value)
        if code.prec < ATOM:
            return self.assign_value(self._fresh_temp(value), value)
        return code

    def emit(self, expr: Expr) -> Code:
        return self.text(self.lowering.lower(expr))

    def assign(self, name: str, expr: Expr) -> Code:
        """`name = expr` as statements, reusing one fresh buffer for elementwise chains."""
        value = self.lowering.lower(expr)
        if isinstance(expr, Zero) and value.full != SCALAR:
            # A named value that cancels to zero (tanh(A) − tanh(A)) is still a matrix: code
            # after it may sum it or take its product.
            self.lines.append(f"{name} = " + self.idiom(
                self.backend.zeros, "a zero matrix", r=self.dim(value.full[0]),
                c=self.dim(value.full[1])))
            self.bound[value] = (name, value.full)
            return Code(name, ATOM, value.full)
        return self.assign_value(name, value)

    def assign_value(self, name: str, value: Value) -> Code:
        plan = self.planner.plan(value) if self.backend.in_place else None
        if plan is not None:
            self._emit_in_place(name, plan)
            shape = value.full
        else:
            code = self.spell(value)
            self.lines.append(f"{name} = {code.text}")
            shape = code.shape
        self.bound[value] = (name, shape)
        return Code(name, ATOM, shape)

    def _emit_in_place(self, target: str, plan: InPlace) -> None:
        """The planned statements: `target = start`, then each update of the buffer."""
        updates = plan.updates
        fused = self._affine_start(plan)
        if fused is not None:
            self.lines.append(f"{target} = {fused}")
            updates = updates[1:]
        else:
            self.lines.append(f"{target} = {self.spell(plan.start).text}")
        for update in updates:
            if update.op == "negate":
                self.lines.append(self.backend.negate.format(ns=self.ns, t=target))
            elif update.op == "apply":
                self.lines.append(self.backend.apply_into.format(f=update.function, t=target))
            elif update.scratch is not None:
                self.counter += 1
                scratch = self.names.claim(f"tmp{self.counter}")
                self._emit_in_place(scratch, update.scratch)
                self.lines.append(f"{target} *= {scratch}")
            else:
                assert update.operand is not None
                code = self.text(update.operand)
                if update.op == "subtract_from":
                    text = f"-{wrap(code, UNARY)}" if update.negated else code.text
                    self.lines.append(self.backend.subtract_from.format(ns=self.ns, x=text,
                                                                        t=target))
                else:
                    operator = {"add": "+=", "subtract": "-=", "multiply": "*=",
                                "divide": "/="}[update.op]
                    self.lines.append(f"{target} {operator} {code.text}")

    def _affine_start(self, plan: InPlace) -> str | None:
        """`A = X @ W; A += b` as the backend's one call (addmm), where it has one and the
        entry gives every array one dtype (a flat module with checks); None otherwise."""
        template = self.backend.affine_product
        if template is None or not self.checks or self.embedded or plan.start.op != "matmul" \
                or not plan.updates or plan.updates[0].op != "add":
            return None
        operand = plan.updates[0].operand
        if operand is None or SCALAR in (operand.shape, operand.full):
            return None  # a number or a 1×1 value may be a Python float: addmm takes tensors
        left, right = (self.text(arg) for arg in plan.start.args)
        return template.format(c=self.text(operand).text, a=left.text, b=right.text)

    # ---- the module -------------------------------------------------------------------------

    def _check_arguments(self, parameters: list[str], used: set[str]) -> list[str]:
        reads_device = "float_device" in names_mentioned(self.lines)
        return entry_checks(EntryPoint(self.program, parameters, self.identifiers, self.dims,
                                       self.checks, self.sizes_as_numbers, self.backend,
                                       reads_device), used)

    def store_gradient(self, result: str, gradient: Expr, target: Shape, parameter: str,
                       fresh: bool = True) -> None:
        """`result = gradient` with the shape of `parameter` (its Python text), as a fresh array
        (a zero gradient has the parameter's dtype too); not `fresh`: a name, a view of an
        input or a broadcast stays one (for generated code that only reads it)."""
        if target == SCALAR:
            self.lines.append(f"{result} = " + self.backend.returned_scalar.format(
                x=self.emit(gradient).text))
            return
        if isinstance(gradient, Zero) and parameter in self.signature.arguments.values():
            self.lines.append(f"{result} = {self.ns}.zeros_like({parameter})")
            return
        # A zero output that is no argument (a part of a Hessian module: relu″ = 0) is
        # broadcast from 0.0 to its shape below: there is no array to take the shape from.
        value = self.lowering.lower(gradient)
        reused = value in self.bound or isinstance(gradient, (Sym, Transpose))
        code = self.assign_value(result, value) if not reused else self.text(value)
        if code.shape != target:
            broadcast = self.broadcast_text(code.text, self.shape_text(target))
            self.lines.append(f"{result} = " + (self.backend.copy.format(x=broadcast)
                                                if fresh else broadcast))
            if self.bound.get(value, ("",))[0] == result:
                # The name now holds the full array.  Code lowered for a number (1.0 standing
                # for 𝟏, whose transpose is itself) must not read it: that value is written
                # again where it is read.
                if value.shape == SCALAR:
                    del self.bound[value]
                else:
                    self.bound[value] = (result, target)
        elif reused:
            # A name or a view of an input: the caller gets a copy it may change freely.
            self.lines.append(f"{result} = " + (self.backend.copy.format(x=wrap(code, ATOM))
                                                if fresh else code.text))

    def _used_adjoints(self) -> set[str]:
        """Named adjoints some gradient needs (directly or through another adjoint)."""
        adjoints = self.computation.intermediates
        used: set[str] = set()
        stack = list(self.computation.outputs.values())
        while stack:
            for node in stack.pop().walk():
                if isinstance(node, Sym) and node.name in adjoints and node.name not in used:
                    used.add(node.name)
                    stack.append(adjoints[node.name])
        return used

    def _needed_definitions(self) -> list[str]:
        """Let-bound names the objective, the adjoints or the gradients use, in order."""
        definitions = self.program.definitions
        # A Hessian-vector product returns its components only: φ itself is not computed.
        needed: set[str] = set() if self.second_order else {self.program.objective}
        used = self._used_adjoints()
        stack: list[Expr] = [*([] if self.second_order else
                               [definitions[self.program.objective]]),
                             *(value for name, value in self.computation.intermediates.items()
                               if name in used),
                             *self.computation.outputs.values()]
        while stack:
            for node in stack.pop().walk():
                if isinstance(node, Sym) and node.name in definitions and node.name not in needed:
                    needed.add(node.name)
                    stack.append(definitions[node.name])
        return [name for name in definitions if name in needed]

    def module(self) -> ModuleText:
        """The module in its parts (docstring, imports, definitions)."""
        computation, program = self.computation, self.program
        parameters = self.parameters()
        forward = [(name, program.definitions[name]) for name in self._needed_definitions()]
        # f′(A) may reuse a cached Z = f(A) only when Z is computed anyway.
        for name, definition in forward:
            if isinstance(definition, Apply) and definition.order == 0:
                self.lowering.forward_of_apply[definition] = name
        used = self._used_adjoints()
        # Lowered: a value and its transpose become one value (attention's G and Gᵀ); f″ is
        # written out before planning, so that what its form shares with other values (σ(A)
        # of softplus″) is computed once.
        lifted: dict[Expr, Expr] = {}
        backward = [(name, lift_transposes(self.lower_second(value), lifted))
                    for name, value in computation.intermediates.items() if name in used]
        gradients = {name: lift_transposes(self.lower_second(gradient), lifted)
                     for name, gradient in computation.outputs.items()}
        roots = [expr for _, expr in forward] + [expr for _, expr in backward] + list(
            gradients.values())
        # Let-bound names are computed once: uses of their definition reuse the name.
        self.plan(roots, computed=[definition for _, definition in forward])
        statements: list[Statement] = [Assign(self.identifiers[name], definition, name=name)
                                       for name, definition in forward]
        # A gradient is computed as soon as the adjoints it reads are, as hand-written backprop
        # does layer by layer: each Δ is used while it is still in cache, and fewer are alive.
        adjoint_names = {name for name, _ in backward}
        pending = {name: {node.name for node in gradient.walk()
                          if isinstance(node, Sym) and node.name in adjoint_names}
                   for name, gradient in gradients.items()}
        done: set[str] = set()
        results: dict[str, str] = {}

        def flush() -> None:
            # The simplest first (Z₁ᵀΔ₂ before Xᵀ(Δ₂W₂ᵀ ⊙ f′)), as backprop goes layer by layer.
            ready = sorted((name for name, needs in pending.items() if needs <= done),
                           key=lambda name: sum(1 for _ in gradients[name].walk()))
            for name in ready:
                results[name] = self.names.claim(f"grad_{self.identifiers[name]}")
                statements.append(Store(results[name], gradients[name],
                                        self.program.shapes[name], self.identifiers[name],
                                        fresh=name not in computation.read_only_outputs))
                del pending[name]

        flush()
        for name, value in backward:
            statements.append(Assign(self.identifiers[name], value, name=name))
            done.add(name)
            flush()
        flush()
        self.lines = emit_statements(statements, {"": self})
        results = {name: results[name] for name in computation.outputs}
        objective = self.identifiers[program.objective]
        kept = {objective, *results.values(), *(self.identifiers[name] for name in parameters)}
        body = self._check_arguments(parameters, self.used_dims) + release_dead(self.lines,
                                                                                kept)
        returned = ", ".join(f'"{name}": {result}' for name, result in results.items())
        if self.second_order:
            body += returned_mapping(results)
        else:
            # J is a NumPy scalar or a 1×1 array: .item() is a float.  A constant objective
            # (sum(W) − sum(W) is 0) is a Python number, which the library converts first.
            constant = not self._reads_arrays(program.definitions[program.objective])
            spelling = self.backend.returned_scalar if constant else \
                self.backend.returned_objective
            body.append(f"return {spelling.format(x=objective)}, {{{returned}}}")
        return self._module(parameters, body)

    def _reads_arrays(self, expr: Expr) -> bool:
        """Whether `expr` reads an argument, directly or through let-bound names (if not, it
        is computed from numbers alone: a Python number, not an array)."""
        definitions = self.program.definitions
        stack, seen = [expr], set()
        while stack:
            for node in stack.pop().walk():
                if isinstance(node, Sym) and node.name not in seen:
                    seen.add(node.name)
                    if node.name not in definitions:
                        return True
                    stack.append(definitions[node.name])
        return False

    def _module(self, parameters: list[str], body: list[str]) -> ModuleText:
        program = self.program
        # Sizes no argument's shape gives are keyword-only arguments (a row block of
        # constants may have no other argument: `def f(*, t_b, n)`).
        keywords = ["*", *self.signature.size_keywords.values()] \
            if self.signature.size_keywords else []
        args = ", ".join([*(self.identifiers[name] for name in parameters), *keywords])
        # No break inside an argument's shape: its spaces are unbreakable until wrapped.
        shapes = ", ".join(f"{self.identifiers[n]}\0({program.shapes[n][0]}\0x\0"
                           f"{program.shapes[n][1]})" for n in parameters)
        documented = self.documented or docstrings(self.computation, self.bind,
                                                   self.identifiers)
        helpers = helper_definitions(self.helpers, self.backend.helpers,
                                     self.backend.singular_message)
        lines = [
            *self.backend.decorators,
            f"def {self.function_name}({args}):",
            *(f"    {line}" for line in _wrapped_words(f'"""{documented.returns}')),
            "",
            *(f"    {line}" for line in _wrapped_words(f"Arguments: {shapes}.")),
            f"    {self.backend.scalar_note}"
            if self.checks else
            "    Unchecked (generated with checks=False): pass float ndarrays of these shapes.",
            '    """',
        ]
        arrays = ", ".join(self.identifiers[name] for name in parameters
                           if program.shapes[name] != SCALAR)
        if self.backend.prologue and not arrays:
            raise CodegenError(f"the {self.backend.name} backend takes its namespace from a "
                               "matrix argument, and this function has none.")
        lines += [f"    {line.format(arrays=arrays)}" for line in self.backend.prologue]
        lines += laid_out([f"    {line}" for line in body])
        # The library is imported where the code calls it: x'Ax without checks calls nothing.
        code = "\n".join([*helpers, *lines])
        imports = [*used_imports(self.backend.import_lines, code),
                   *used_imports(self.backend.optional_imports, code)]
        return ModuleText(tuple(documented.module), tuple(imports),
                          (*helpers, "\n".join(lines)))


def _wrapped_words(text: str) -> list[str]:
    """A docstring paragraph in lines of the module's width (at the function's indent), with
    NUL marking a space that must not break."""
    return [line.replace("\0", " ") for line in textwrap.wrap(
        text, WIDTH - 4, subsequent_indent="    ", break_long_words=False)]


def emit_statements(statements: Sequence[Statement],
                    parts: Mapping[str, PythonEmitter]) -> list[str]:
    """The lines of `statements`, each expression lowered, planned and spelled by the
    generator of its part; a value computed inside a block is forgotten when the block ends."""
    lines: list[str] = []
    for statement in statements:
        if isinstance(statement, Assign):
            lines += parts[statement.part].statements(statement.target, statement.expr,
                                                      statement.name)
        elif isinstance(statement, Store):
            lines += parts[statement.part].gradient_statements(
                statement.target, statement.expr, statement.shape, statement.parameter,
                statement.fresh)
        elif isinstance(statement, Line):
            lines.append(statement.text)
        elif isinstance(statement, Release):
            lines += release_layers(lines, list(statement.lists), statement.var)
            lines += release_locals(lines, set(statement.kept))
        else:
            known = {part: generator.computed_temporaries() for part, generator in parts.items()}
            lines.append(statement.header)
            lines += ["    " + line for line in emit_statements(statement.body, parts)]
            for part, generator in parts.items():
                generator.forget_temporaries(known[part])
    return lines


def _bytecode(source: str, name: str) -> CodeType:
    try:
        return compile(source, f"<matgrad {name}>", "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise CodegenError(
            f"the module generated for {name}() cannot be compiled by Python "
            f"({type(exc).__name__}: {exc}); split the program into smaller ones, or report "
            "it as a bug in matgrad.") from None


def checked_source(source: str, name: str) -> str:
    """`source` once Python has compiled it (as SymPy's lambdify does): a module that cannot
    compile is an error here, when it is generated, never at the user's call."""
    _bytecode(source, name)
    return source


def accepting_declared_names(function: Callable[..., Any],
                             arguments: Mapping[str, str]) -> Callable[..., Any]:
    """`function`, also called by the names the program declared where Python spells them
    otherwise (`**{"lambda": 0.3}` for lambda_, `α=` for alpha): the gradients are keyed by
    the declared names, and so are the arguments.  Unchanged when every name is its own
    spelling (no wrapper, no cost)."""
    aliases = {declared: spelled for declared, spelled in arguments.items()
               if declared != spelled}
    if not aliases:
        return function

    @functools.wraps(function)
    def called_by_declared_names(*args: Any, **keywords: Any) -> Any:
        return function(*args, **{aliases.get(key, key): value
                                   for key, value in keywords.items()})

    return called_by_declared_names


def load_function(source: str, name: str) -> Callable[..., Any]:
    """Execute a generated module in a fresh namespace and return its function `name`."""
    namespace: dict[str, Any] = {"__name__": f"matgrad_generated_{name}"}
    exec(_bytecode(source, name), namespace)
    function: Callable[..., Any] = namespace[name]
    return function
