"""The statements of a generated function as data, in the order the code runs: assignments of
expressions (lowered and planned when they are written), gradient stores, loops over layers
and conditional blocks.  A flat module is a list of assignments and stores; a layered module
adds a forward loop, an epilogue and a backward loop whose last layer differs (`When`).  One
walker (codegen/emit.py `emit_statements`) writes both.

Invariant: a value computed inside a loop or a conditional block is known only inside it (a
loop's value holds its last iteration's; a conditional one may not have been computed): the
walker forgets it when the block ends, so code after the block computes its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from matgrad.ir.dims import Shape
from matgrad.ir.expr import Expr


@dataclass(frozen=True)
class Assign:
    """`target = expr`; `part` names the generator that lowers it (a loop module has one for
    its body and one for its epilogue; a flat module one, ""); `name` is the program's name
    the target holds, if any (so that later reads know the shape it is held in)."""

    target: str
    expr: Expr
    part: str = ""
    name: str = ""


@dataclass(frozen=True)
class Store:
    """A gradient `target = expr` as an array of its own with the shape of `parameter` (its
    Python text), never a view of an input — unless not `fresh`: an output only generated
    code reads (a Hessian's factor) may be a name, a view or a read-only broadcast."""

    target: str
    expr: Expr
    shape: Shape
    parameter: str
    part: str = ""
    fresh: bool = True


@dataclass(frozen=True)
class Line:
    """A statement written as it is (a list's allocation, a carried value rebound)."""

    text: str


@dataclass(frozen=True)
class Release:
    """At the end of a loop body: `del` the names the iteration assigns before it reads them
    (but `kept`), and, in a loop counting down over layers `var`, each entry of `lists` that
    no later iteration reads (codegen/liveness.py)."""

    kept: frozenset[str] = frozenset()
    lists: tuple[str, ...] = ()
    var: str = ""


@dataclass(frozen=True)
class Loop:
    """`for var in range(start, stop, step)`, its index texts in Python."""

    var: str
    start: str
    stop: str
    step: int
    body: tuple[Statement, ...]

    @property
    def header(self) -> str:
        bounds = f"{self.start}, {self.stop}" + ("" if self.step == 1 else f", {self.step}")
        return f"for {self.var} in range({bounds}):"


@dataclass(frozen=True)
class When:
    """A block run only when `condition` (Python) holds: the layers but the first."""

    condition: str
    body: tuple[Statement, ...]

    @property
    def header(self) -> str:
        return f"if {self.condition}:"


Statement = Assign | Store | Line | Release | Loop | When
