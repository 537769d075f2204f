"""No user text reaches executed code except as a validated identifier: programs whose matrix,
size, function and loop names are Python's and NumPy's own names (exec, os, np, len, …) or
look-alikes generate modules whose every call is NumPy's, a method of an array or one of the
module's own helpers, whose only import is numpy, and whose names of user symbols are the
validated identifiers of `python_names`."""

from __future__ import annotations

import ast
import builtins

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad
from matgrad.backends.numpy_helpers import HELPERS
from matgrad.codegen.names import MODULE_NAMES

DANGEROUS = ["exec", "eval", "open", "os", "sys", "np", "print", "getattr", "compile",
             "globals", "input", "breakpoint", "lambda", "import", "float", "len", "range",
             "ValueError", "sizes", "what", "m", "J", "grads", "value_and_grad", "self", "None",
             "True", "class", "def", "return", "del", "ο", "Α", "ℓ", "Exec", "OS", "type"]
# Calls a generated module may make besides NumPy's: Python built-ins for its argument checks
# and its own helpers.
ALLOWED_CALLS = {"ValueError", "float", "len", "range", "enumerate", "isinstance", "list",
                 "zip", "max", "min", "abs", "type", "_float", "_agree", "_logsumexp",
                 "_softmax"}
ARRAY_METHODS = {"sum", "item", "copy", "astype", "reshape", "max", "min", "mean", "dot",
                 "ravel", "transpose", "append"}


def assert_gated(module: str, derivation: matgrad.Derivation) -> None:
    tree = ast.parse(module)
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [ast.unparse(node) for node in imports] == ["import numpy as np"]
    identifiers = set(derivation.python_names.values())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                assert func.id in ALLOWED_CALLS, ast.unparse(node)
            else:
                assert isinstance(func, ast.Attribute), ast.unparse(node)
                root = func.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                # NumPy's functions, and the arrays' dtype making a number (float_type.type(t):
                # float_type is one of the module's own names, which no user name can take).
                assert (isinstance(root, ast.Name) and root.id in ("np", "float_type")) or \
                    func.attr in ARRAY_METHODS, ast.unparse(node)
        if isinstance(node, ast.Name) and node.id in dir(builtins):
            # A builtin is only ever called (argument checks), never a user's matrix.
            assert node.id in ALLOWED_CALLS, ast.unparse(node)
    for name, identifier in derivation.python_names.items():
        assert identifier.isidentifier() and identifier in identifiers, name
        assert identifier not in dir(builtins) and identifier != "np", name


# Names the matrix program refuses, and why: a size of the program (m), the objective (J),
# and lookalikes of Latin letters (Greek omicron, Greek capital alpha).  Every other name is
# accepted and its module gated: the refusal is never what makes a test pass.
REFUSED_MATRIX_NAMES = {"m", "J", "ο", "Α"}


@pytest.mark.parametrize("name", DANGEROUS)
def test_dangerous_matrix_names(name: str) -> None:
    source = f"{name}: n x m; W: n x m\nJ = sum({name} .* W .* W)"
    if name in REFUSED_MATRIX_NAMES:
        with pytest.raises(matgrad.MatgradError):
            matgrad.derive(source)
        return
    derivation = matgrad.derive(source)
    assert_gated(derivation.numpy_source(), derivation)


def test_most_dangerous_names_are_accepted() -> None:
    # The companion of the test above: a gate that refused every such name would pass it.
    assert len(REFUSED_MATRIX_NAMES) <= 4 < len(DANGEROUS) - 30


IDENTIFIERS = [n for n in DANGEROUS if n.isidentifier() and len(n) > 1]


@pytest.mark.parametrize("name", IDENTIFIERS)
def test_dangerous_function_names(name: str) -> None:
    # The name as a declared function, bound to a built-in (it was also the size of X, which
    # is refused as a name of two things, so the test never reached the module).
    derivation = matgrad.derive(f"{name}: function; X: t x n\nJ = sum({name}(X))")
    module = derivation.numpy_source(bind={name: "tanh"})
    assert_gated(module, derivation)
    value, _ = derivation.compile(bind={name: "tanh"})(np.ones((2, 3)))
    assert value == pytest.approx(6 * np.tanh(1.0))


@pytest.mark.parametrize("name", IDENTIFIERS)
def test_dangerous_size_names(name: str) -> None:
    derivation = matgrad.derive(f"X: {name} x n; w: n x 1\nJ = 1/{name} * sum(tanh(X*w))")
    assert_gated(derivation.numpy_source(), derivation)


NAMES = st.sampled_from([n for n in DANGEROUS if n.isidentifier()])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NAMES, NAMES, NAMES)
def test_dangerous_names_in_every_position(matrix: str, size: str, loop_family: str) -> None:
    sources = [
        f"{matrix}: {size} x n; W: n x q\nJ = 1/2*||tanh({matrix}*W)||^2",
        f"X: t x {size}, data; Y: t x n, data\nZ[0] = X\nfor j in 1..k:\n"
        f"    {loop_family}[j]: n[j-1] x n[j]\n    Z[j] = tanh(Z[j-1]*{loop_family}[j])\nend\n"
        f"J = 1/2*||Z[k] - Y||^2".replace("n[j-1] x n[j]", f"{size} x {size}").replace(
            "Y: t x n", f"Y: t x {size}"),
    ]
    for source in sources:
        try:
            derivation = matgrad.derive(source)
            module = derivation.numpy_source()
        except matgrad.MatgradError:
            continue
        tree = ast.parse(module)
        imports = [ast.unparse(node) for node in ast.walk(tree)
                   if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert imports == ["import numpy as np"]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id in ALLOWED_CALLS, ast.unparse(node)


def test_helper_names_are_reserved() -> None:
    """No user identifier can shadow a helper: each is a name the modules reserve."""
    assert set(HELPERS) <= MODULE_NAMES
