"""The optimizer bridge: a derivation as SciPy's optimizers take an objective — `fun`, `jac`,
`hessp` and `hess` of one flat vector over every parameter in `wrt` order, with `pack` and
`unpack` — using the generated gradient and Hessian-vector product modules.

    problem = matgrad.derive(source).scipy(X=X, y=y)      # the data, by program name
    result = scipy.optimize.minimize(problem.fun, problem.pack(w=w0), jac=problem.jac,
                                     hessp=problem.hessp, method="trust-ncg")
    w = problem.unpack(result.x)["w"]

SciPy itself is not imported here (it is the `optimize` extra): the callables are plain
functions of NumPy vectors.  A vector is packed parameter by parameter in `wrt` order, each in
column-major (Fortran, vec) order, as the guide's vec(·) and the Hessian blocks are.

Invariants: `fun` and `jac` at the same x share one call of the gradient module (SciPy asks
for both at every iterate); the data and the parameters are computed in the data's floating
type (float32 data: float32 arithmetic), the vectors SciPy sees are float64; `hess` is
assembled from Hessian-vector products, one per column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from matgrad.backends.registry import compiled
from matgrad.codegen.signature import Signature, signature_of
from matgrad.engine.results import Derivation, LoopDerivation, Product
from matgrad.engine.second_order import hvp_derivation
from matgrad.errors import UsageError
from matgrad.ir.dims import DimVar
from matgrad.rewrite.rules import load_rules

Shape = tuple[int, int]


class ScipyProblem:
    """The objective of a flat derivation on one flat vector of its parameters (see the
    module)."""

    def __init__(self, derivation: Derivation, data: Mapping[str, Any],
                 bind: Mapping[str, str] | None = None, sizes: Mapping[str, int] | None = None
                 ) -> None:
        if isinstance(derivation, (LoopDerivation, Product)):
            raise UsageError("the optimizer bridge takes the gradient of a program without a "
                             "layer loop: write the layers out (depth={'k': 3}) and derive "
                             "again.")
        self.derivation = derivation
        self.parameters = derivation.wrt
        self.bind = dict(bind or {})
        self.signature = signature_of(derivation)
        known = set(derivation.program.parameters) - set(self.parameters)
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"{', '.join(unknown)} is not data of this program: the data are "
                             f"{', '.join(sorted(known)) or '(none)'}; the parameters "
                             f"({', '.join(self.parameters)}) are the vector.")
        missing = sorted(known - set(data))
        if missing:
            raise UsageError(f"the objective needs {', '.join(missing)}: give it as "
                             f"{missing[0]}=array.")
        self.data = {name: self._as_array(value) for name, value in data.items()}
        floats = [value.dtype for value in self.data.values() if value.dtype.kind == "f"]
        self.dtype = np.result_type(*floats) if floats else np.dtype(np.float64)
        self.sizes: dict[str, int] = dict(sizes or {})
        self._bind_sizes(self.data)
        self._gradient = compiled(derivation, bind=self.bind, signature=self.signature)
        # The Hessian-vector product module, its signature and the directions' names: made at
        # the first `hessp` (a first-order method never needs them).
        self._product: tuple[Callable[..., Any], Signature, dict[str, str]] | None = None
        self._cached: tuple[bytes, float, np.ndarray] | None = None
        self.evaluations = 0  # calls of the gradient module (fun and jac share one)

    # ---- the vector ---------------------------------------------------------------------------

    @staticmethod
    def _as_array(value: Any) -> np.ndarray:
        array = np.asarray(value)
        return array.astype(np.float64) if array.dtype.kind != "f" else array

    def _bind_sizes(self, values: Mapping[str, np.ndarray]) -> None:
        """Learn the sizes that `values` show (a declared 1×1 may come as a number)."""
        shapes = self.derivation.program.shapes
        for name, value in values.items():
            matrix = value.reshape(1, 1) if value.ndim == 0 else value
            if matrix.ndim != 2:
                raise UsageError(f"{name} must be a matrix (2-d array), got shape "
                                 f"{value.shape}.")
            for dim, size in zip(shapes[name], matrix.shape, strict=True):
                assert not isinstance(dim, DimVar), "a resolved program names every size"
                if isinstance(dim, int):
                    if dim != size:
                        raise UsageError(f"{name} must have {dim} in that axis, got shape "
                                         f"{value.shape}.")
                elif self.sizes.setdefault(dim, size) != size:
                    raise UsageError(f"{name} has {size} where {dim} = {self.sizes[dim]}.")

    def shape(self, parameter: str) -> Shape:
        """A parameter's shape, from the sizes the data and the packed values showed."""
        rows, cols = self.derivation.program.shapes[parameter]
        assert not isinstance(rows, DimVar) and not isinstance(cols, DimVar)
        try:
            return (rows if isinstance(rows, int) else self.sizes[rows],
                    cols if isinstance(cols, int) else self.sizes[cols])
        except KeyError as missing:
            raise UsageError(f"the size {missing.args[0]} of {parameter} is not known yet: "
                             "pack the starting values first (problem.pack(...)).") from None

    @property
    def size(self) -> int:
        """The length of the vector: every parameter's entries."""
        return sum(int(np.prod(self.shape(name))) for name in self.parameters)

    def pack(self, values: Mapping[str, Any] | None = None, **named: Any) -> np.ndarray:
        """One float64 vector of the parameters' values, in `wrt` order, each in vec order."""
        given = {**(values or {}), **named}
        missing = [name for name in self.parameters if name not in given]
        extra = sorted(set(given) - set(self.parameters))
        if missing or extra:
            raise UsageError(f"pack takes the parameters {', '.join(self.parameters)}"
                             + (f"; missing {', '.join(missing)}" if missing else "")
                             + (f"; not parameters: {', '.join(extra)}" if extra else "") + ".")
        arrays = {name: self._as_array(given[name]) for name in self.parameters}
        self._bind_sizes(arrays)
        return np.concatenate([np.reshape(arrays[name], -1, order="F").astype(np.float64)
                               for name in self.parameters])

    def unpack(self, vector: np.ndarray) -> dict[str, np.ndarray]:
        """The parameters of a vector, each a matrix of its shape in the data's type."""
        vector = np.asarray(vector)
        if vector.shape != (self.size,):
            raise UsageError(f"the vector must have {self.size} entries, got shape "
                             f"{vector.shape}.")
        found: dict[str, np.ndarray] = {}
        start = 0
        for name in self.parameters:
            shape = self.shape(name)
            count = shape[0] * shape[1]
            found[name] = np.reshape(vector[start:start + count], shape, order="F").astype(
                self.dtype)
            start += count
        return found

    def _pack_gradients(self, gradients: Mapping[str, Any]) -> np.ndarray:
        return np.concatenate([np.reshape(np.broadcast_to(np.asarray(
            gradients[name], dtype=np.float64), self.shape(name)), -1, order="F")
            for name in self.parameters])

    def _call(self, function: Callable[..., Any], signature: Signature,
              values: Mapping[str, Any]) -> Any:
        try:
            return function(**signature.keywords(values, self.sizes))
        except KeyError as missing:
            raise UsageError(f"the size {missing.args[0]} is not shown by the data: give it, "
                             f"e.g. sizes={{'{missing.args[0]}': 10}}.") from None

    # ---- what SciPy calls --------------------------------------------------------------------

    def _evaluate(self, vector: np.ndarray) -> tuple[float, np.ndarray]:
        key = np.asarray(vector, dtype=np.float64).tobytes()
        if self._cached is None or self._cached[0] != key:
            value, gradients = self._call(self._gradient, self.signature,
                                          {**self.data, **self.unpack(vector)})
            self.evaluations += 1
            self._cached = (key, float(value), self._pack_gradients(gradients))
        return self._cached[1], self._cached[2]

    def fun(self, vector: np.ndarray) -> float:
        """J at the vector."""
        return self._evaluate(vector)[0]

    def jac(self, vector: np.ndarray) -> np.ndarray:
        """∇J at the vector, packed like it."""
        gradient: np.ndarray = self._evaluate(vector)[1].copy()
        return gradient

    def value_and_jac(self, vector: np.ndarray) -> tuple[float, np.ndarray]:
        """(J, ∇J) in one call, for `minimize(..., jac=True)`."""
        value, gradient = self._evaluate(vector)
        return value, gradient.copy()

    def hessp(self, vector: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """∇²J at the vector applied to `direction` (packed like it), by the generated
        Hessian-vector product module."""
        product, signature, names = self._product_module()
        directions = self.unpack(np.asarray(direction, dtype=np.float64))
        arguments = {**self.data, **self.unpack(vector),
                     **{names[name]: directions[name] for name in self.parameters}}
        return self._pack_gradients(self._call(product, signature, arguments))

    def hess(self, vector: np.ndarray) -> np.ndarray:
        """The dense Hessian at the vector, column by column from `hessp` (size products)."""
        columns = [self.hessp(vector, unit) for unit in np.eye(self.size)]
        dense = np.column_stack(columns) if columns else np.zeros((0, 0))
        symmetric: np.ndarray = 0.5 * (dense + dense.T)  # columns agree to rounding
        return symmetric

    def _product_module(self) -> tuple[Callable[..., Any], Signature, dict[str, str]]:
        if self._product is None:
            product = hvp_derivation(self.derivation, load_rules())
            signature = signature_of(product)
            self._product = (compiled(product, bind=self.bind, signature=signature), signature,
                             dict(product.directions))
        return self._product
