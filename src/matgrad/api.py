"""The Python API: `derive(source, wrt)` → `Derivation`; `parse(source)` → `Program`;
`check(derivation)` → `CheckReport`.

A façade over the engine's result: `Derivation` holds one of the kinds of engine/results.py (a
gradient, a Hessian-vector product, a loop's gradient or product) as `result`, with the ways to
show and run it — `str()` is exactly what the CLI prints, `latex()`, `source()`, `compile()`,
`hvp()`.  Every method looks the kind up in a table, so callers never branch on the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any, Literal

from matgrad.backends.registry import compiled, hessian_module_source, module_source
from matgrad.check import CheckReport
from matgrad.check import check as check_result
from matgrad.codegen.emit import load_function
from matgrad.codegen.signature import signature_of
from matgrad.dense import Blocks, hessian_function, jacobian_function
from matgrad.engine import hessian as engine_hessian
from matgrad.engine import results as engine_result
from matgrad.engine import rows as engine_rows
from matgrad.engine.derive import derivation_of
from matgrad.engine.history import Step
from matgrad.engine.jacobian import jacobian_of
from matgrad.engine.layers import derive_layers
from matgrad.engine.loop_second_order import PRODUCTS
from matgrad.engine.row_loops import row_decomposition_of
from matgrad.engine.second_order import hvp_derivation
from matgrad.errors import UsageError
from matgrad.front.loop_parts import LayerParts
from matgrad.front.program import SYMMETRIC_CONVENTIONS, Program
from matgrad.front.read import TOO_DEEP, chosen_wrt, read_for_derivation, read_program
from matgrad.ir.dims import Shape
from matgrad.ir.expr import Expr
from matgrad.ir.kronecker import KroneckerForm
from matgrad.ir.text import Style
from matgrad.optimize import ScipyProblem
from matgrad.printing.latex import hessian_latex
from matgrad.printing.outputs import JUPYTER_LATEX, LATEX, STEPS, TEXT, display_math, json_of
from matgrad.printing.report import format_hessian
from matgrad.printing.rows import row_blocks_latex, row_blocks_text
from matgrad.rewrite.rules import RuleSet, load_rules

Names = Literal["guide", "inline"]


class ResultView:
    """The fields every kind of result has, read from the engine's `result`."""

    __slots__ = ("result",)

    def __init__(self, result: engine_result.Derivation) -> None:
        self.result = result

    # ---- the result's fields, common to every kind ----------------------------------------

    @property
    def program(self) -> Program:
        return self.result.program

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.result.wrt

    @property
    def gradients(self) -> dict[str, Expr]:
        """∂J/∂W for each parameter W (for a product: its components (∇²J V)_W)."""
        return self.result.gradients

    @property
    def adjoints(self) -> dict[str, Expr]:
        return self.result.adjoints

    @property
    def steps(self) -> list[Step]:
        return self.result.steps

    @property
    def shapes(self) -> dict[str, Shape]:
        return self.result.shapes

    @property
    def objective(self) -> str:
        return self.result.objective

    @property
    def notes(self) -> list[str]:
        return self.result.notes


class Derivation(ResultView):
    """The result of `derive`: the engine's `result` — one of the kinds of engine/results.py
    (a gradient, a Hessian-vector product, a loop's or a loop's product) — with the ways to
    print, typeset, check and generate it.  Each way looks the kind up in a table
    (printing/outputs.py, backends/registry.py, check.py), so no method tests a kind."""

    __slots__ = ()

    # ---- shown ----------------------------------------------------------------------------

    def text(self, style: Style = "unicode") -> str:
        """The gradients as the CLI prints them (`style="ascii"`: MATLAB-like)."""
        return TEXT[type(self.result)](self.result, style)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<matgrad.Derivation of {self.objective} ({type(self.result).__name__})>"

    def steps_text(self, style: Style = "unicode") -> str:
        return STEPS[type(self.result)](self.result, style)

    def json(self, backends: Sequence[str] = (), bind: Mapping[str, str] | None = None
             ) -> dict[str, Any]:
        """The result as JSON data under matgrad's versioned schema (docs/json.md): gradients
        and definitions in text, ASCII and LaTeX, the steps, and the generated module of each
        of `backends`."""
        modules = {backend: self.source(backend, bind=bind) for backend in backends}
        return json_of(self.result, modules)

    def numpy_source(self, name: str = "value_and_grad",
                     bind: Mapping[str, str] | None = None, *, checks: bool = True) -> str:
        """A self-contained module (importing only numpy) defining `name(...)` that returns
        (J, {parameter: gradient}); abstract functions are bound to built-ins by `bind`.
        `checks=False`: no conversion or shape test of the array arguments at entry, for an
        inner loop that passes float ndarrays of the declared shapes (flat programs)."""
        return module_source(self.result, name, bind, checks=checks)

    def source(self, backend: str = "numpy", name: str = "value_and_grad",
               bind: Mapping[str, str] | None = None, *, checks: bool = True,
               rows: str | None = None) -> str:
        """The generated module for an array library: "numpy" (the default), "jax" (pure
        code that `jax.jit` compiles; returns 0-d arrays), "torch", or "dask" (the gradient
        on Dask arrays split into row blocks along `rows`, by default the data's rows: see
        `row_blocks()`).  It imports only its library (Dask's: numpy and dask)."""
        return module_source(self.result, name, bind, backend, checks=checks, rows=rows)

    def compile(self, name: str = "value_and_grad",
                bind: Mapping[str, str] | None = None, *,
                checks: bool = True, backend: str = "numpy",
                rows: str | None = None) -> Callable[..., Any]:
        """The generated function, executed in a fresh namespace."""
        return compiled(self.result, name, bind, backend, checks=checks, rows=rows)

    def scipy(self, bind: Mapping[str, str] | None = None,
              sizes: Mapping[str, int] | None = None, **data: Any) -> ScipyProblem:
        """The objective as SciPy's optimizers take it: `fun`, `jac`, `hessp` and `hess` of
        one flat vector over the parameters in `wrt` order, with `pack(w=…)` and `unpack(x)`
        (matgrad/optimize.py); `data` gives every other argument by its program name."""
        return ScipyProblem(self.result, data, bind, sizes)

    def row_blocks(self, rows: str | None = None) -> RowBlocks:
        """Whether J is a sum over the row blocks of its data, J = Σ_b J_b + p (the Dask
        backend's premise): the decomposition, printable and typeset, or an
        `UnsupportedError` naming the term that couples rows."""
        return RowBlocks.of(row_decomposition_of(self.result, rows))

    def latex(self, style: str = "align", standalone: bool = False) -> str:
        """The derivation as LaTeX: an `align*` fragment, or a complete document that
        compiles with pdflatex (shapes, the identities used, the derivation); for a loop, the
        recursion (23) and both derivations."""
        if style != "align":
            raise UsageError(f"unknown LaTeX style '{style}'; the supported style is 'align'.")
        return LATEX[type(self.result)](self.result, standalone)

    def _repr_latex_(self) -> str:
        # Jupyter's MathJax renders display math; align* becomes aligned inside $$ … $$.
        return JUPYTER_LATEX[type(self.result)](self.result)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's text/plain: the printed result, not the dataclass fields.  No markdown or
        # HTML representation, so Jupyter (which ranks those above text/latex) shows the LaTeX.
        printer.text(str(self))

    def hvp(self, rules: RuleSet | None = None) -> Derivation:
        """The Hessian-vector product ∇²J·V, derived as the gradient of φ = Σ ∂J/∂W · V_W
        with the directions V constant (engine/second_order.py): a derivation like this one,
        whose gradients are the components (∇²J V)_W and whose `compile()` takes the
        arguments of this one and a direction `V_W` for each parameter W, and returns
        {W: (∇²J V)_W}."""
        return Derivation(PRODUCTS[type(self.result)](self.result, rules or load_rules()))

    def hessian(self, rules: RuleSet | None = None) -> Hessian:
        """The Hessian ∇²J in blocks H_ab = ∂²J/∂vec(a)∂vec(b)ᵀ, read off the Hessian-vector
        product: in matrix form for vector and scalar parameters where one is found, else
        None with the reason (`reasons`); `compile()` gives every block as an array."""
        rules = rules or load_rules()
        product = hvp_derivation(self.result, rules)  # refuses a loop, with what to do instead
        return Hessian.of(engine_hessian.hessian_of(product, rules))

    def jacobian(self) -> Jacobian:
        """The Jacobian ∂vec(F)/∂vec(X)ᵀ of a matrix-valued objective (derived with
        jacobian=True): its blocks in Kronecker form, printed, typeset, and compiled dense or
        as operators (J @ vec(V), the JVP; J.T @ vec(U), the VJP)."""
        if not isinstance(self.result, engine_result.Jacobian):
            raise UsageError(f"{self.objective} was derived as a scalar objective: derive a "
                             "matrix-valued one with jacobian=True (--jacobian) for its "
                             "Jacobian.")
        return Jacobian(self.result)

    @property
    def size_arguments(self) -> dict[str, str]:
        """Sizes that no argument's shape determines: dimension → keyword-only argument."""
        return dict(signature_of(self.result).size_keywords)

    @property
    def python_names(self) -> dict[str, str]:
        """The generated function's argument for each input, in order (a layer family is one
        list argument, `lambda` → `lambda_`)."""
        return dict(signature_of(self.result).arguments)


class Hessian(engine_hessian.Hessian):
    """The result of `Derivation.hessian()`: `blocks[(a, b)]` (an expression, or None where no
    closed matrix form was found; `reasons` says why), printable, typeset and compiled."""

    @classmethod
    def of(cls, result: engine_hessian.Hessian) -> Hessian:
        return cls(**{f.name: getattr(result, f.name) for f in fields(result)})

    def text(self, style: Style = "unicode") -> str:
        return format_hessian(self, style)

    def __str__(self) -> str:
        return self.text()

    def steps_text(self, style: Style = "unicode") -> str:
        """The Hessian-vector product's derivation, which the blocks are read off."""
        return Derivation(self.product).steps_text(style)

    def latex(self, standalone: bool = False) -> str:
        return hessian_latex(self, standalone)

    def _repr_latex_(self) -> str:
        return display_math(self.latex())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def source(self, name: str = "hessian", bind: Mapping[str, str] | None = None) -> str:
        """The NumPy module whose `name(...)` takes the arguments of the gradient's and
        returns every block as an array (codegen/hessian_module.py); a block with no closed
        form is assembled there from the Hessian-vector product's module, column by column."""
        return hessian_module_source(self, name, bind)

    def compile(self, bind: Mapping[str, str] | None = None,
                dense: bool = True) -> Callable[..., Blocks]:
        """A function of the first derivation's arguments returning {(a, b): H_ab} as arrays
        of shape size(a) × size(b): the generated module of `source()`.  With dense=False a
        block in Kronecker form is a KroneckerOperator (`op @ vec(V)`, `op.apply(V)`,
        `op.toarray()`), which never builds the matrix, and the others come from the
        product."""
        if dense:
            return load_function(hessian_module_source(self, "hessian", bind), "hessian")
        return hessian_function(self, bind, dense)


class Jacobian(ResultView):
    """The result of `Derivation.jacobian()`: `blocks[X]` is J_X = ∂vec(F)/∂vec(X)ᵀ in
    Kronecker form (None where none was read: `reasons`), `differential` is dF; printed,
    typeset, compiled dense or as operators."""

    __slots__ = ()
    result: engine_result.Jacobian

    @property
    def blocks(self) -> dict[str, KroneckerForm | None]:
        return self.result.blocks

    @property
    def reasons(self) -> dict[str, str]:
        return self.result.reasons

    @property
    def differential(self) -> Expr | None:
        return self.result.differential

    def text(self, style: Style = "unicode") -> str:
        return TEXT[engine_result.Jacobian](self.result, style)

    def __str__(self) -> str:
        return self.text()

    def latex(self, standalone: bool = False) -> str:
        return LATEX[engine_result.Jacobian](self.result, standalone)

    def _repr_latex_(self) -> str:
        return JUPYTER_LATEX[engine_result.Jacobian](self.result)

    def compile(self, bind: Mapping[str, str] | None = None,
                dense: bool = True) -> Callable[..., dict[str, Any]]:
        """A function of F's arguments returning {X: J_X} as arrays of shape (size of F) ×
        (size of X); with dense=False each block in Kronecker form is a KroneckerOperator:
        `op @ vec(V)` is the Jacobian-vector product and `op.apply(V)` the same on matrices.
        The vector-Jacobian product, in any backend, is the derivation's own `compile()`."""
        return jacobian_function(self.result, bind, dense)


class RowBlocks(engine_rows.RowDecomposition):
    """The result of `Derivation.row_blocks()`: J = Σ_b J_b + p over the row blocks of `rows`
    (the data arguments `data`), with J_b = `data_terms` and p = `penalty`."""

    @classmethod
    def of(cls, result: engine_rows.RowDecomposition) -> RowBlocks:
        return cls(**{f.name: getattr(result, f.name) for f in fields(result)})

    def text(self, style: Style = "unicode") -> str:
        return row_blocks_text(self, style)

    def __str__(self) -> str:
        return self.text()

    def latex(self) -> str:
        return row_blocks_latex(self)

    def _repr_latex_(self) -> str:
        return display_math(self.latex())


def check(derivation: Derivation, sizes: Mapping[str, int] | None = None, seed: int = 0,
          bind: Mapping[str, str] | None = None, step: float = 1e-6, tolerance: float = 1e-6,
          depth: int | None = None, backend: str = "numpy") -> CheckReport:
    """Compare the compiled result with central differences at random inputs (a gradient entry
    by entry, a Hessian-vector product along random directions; a loop at a concrete `depth`,
    3 by default); see `matgrad.check.check`."""
    if not isinstance(derivation, Derivation):
        raise UsageError("check takes what matgrad.derive returns (or its .hvp()); for a "
                         "Hessian use its blocks' check (matgrad check_hessian).")
    return check_result(derivation.result, sizes, seed, bind, step, tolerance, depth, backend)


def parse(source: str, depth: Mapping[str, int] | None = None) -> Program:
    """Parse and resolve a program (shapes inferred, broadcasting made explicit); a layered
    program is unrolled at `depth` first (W[j] of layer 2 becomes W2)."""
    return read_program(source, depth)


def derive(source: str, wrt: Sequence[str] | None = None, *, rules: RuleSet | None = None,
           depth: Mapping[str, int] | None = None,
           names: Names = "guide", jacobian: bool = False,
           symmetric: str = "frobenius") -> Derivation:
    """Derive ∂J/∂X for every X in `wrt` (default: the program's `wrt` line, else every free
    symbol of the objective not marked `data`/`const`).

    A program with a layer loop `for j in 1..k: … end` is derived at symbolic depth (the
    recursion (23) once, in `layers`; code that loops over lists of weights) unless `depth`
    (e.g. {"k": 4}) asks for the layers written out.

    `names="guide"` (the default) names the intermediates of an inline objective as the guide
    does (A = XW + b, Z = f(A)), so that it derives like its let-bound form; `names="inline"`
    derives the expressions as written, substituted into each other.

    A parameter declared `symmetric` or `spd` varies over the symmetric matrices: its
    gradient is sym(G) = (G + Gᵀ)/2, the gradient for the Frobenius product there, or with
    `symmetric="elementwise"` the derivative by each distinct entry, G + Gᵀ − I ⊙ G.

    `jacobian=True` takes a matrix-valued objective F (F = inv(X), f = tanh(W*x)) and derives
    its Jacobian ∂vec(F)/∂vec(X)ᵀ (engine/jacobian.py): `d.jacobian()` has the blocks, and
    the derivation itself is the vector-Jacobian product, the gradient of U · F."""
    if names not in ("guide", "inline"):
        raise UsageError(f"unknown names='{names}'; use 'guide' or 'inline'.")
    if symmetric not in SYMMETRIC_CONVENTIONS:
        raise UsageError(f"unknown symmetric='{symmetric}'; use "
                         f"{' or '.join(map(repr, SYMMETRIC_CONVENTIONS))}.")
    if not isinstance(source, str):
        raise UsageError(f"the program must be text (a str), got {type(source).__name__}"
                         + ("; decode bytes first, e.g. source.decode()." if isinstance(
                             source, (bytes, bytearray)) else "."))
    if isinstance(wrt, str):  # "W, b" is two names; "Wb" one (never its letters)
        wrt = [name.strip() for name in wrt.split(",") if name.strip()]
    try:
        read = read_for_derivation(source, wrt, depth, names, matrix_objective=jacobian,
                                   symmetric=symmetric)
        if isinstance(read, LayerParts):
            return Derivation(derive_layers(read, rules or load_rules()))
        if jacobian:
            return Derivation(jacobian_of(read, chosen_wrt(read, wrt), rules or load_rules()))
        return Derivation(derivation_of(read, chosen_wrt(read, wrt), rules or load_rules()))
    except RecursionError:
        raise UsageError(TOO_DEEP) from None
