"""Generated modules fit in 100 columns and pass ruff in every backend, and breaking a long
statement (codegen/layout.py) never changes the Python it is: the broken lines parse to the
same syntax tree as the one-line statement."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from backend_cases import FLAT, ROOT
from helpers import DEFAULT_BIND, bind_for
from test_golden_modules import BIND

import matgrad
from matgrad.codegen.layout import WIDTH, fitted, laid_out

BACKENDS = ["numpy", "jax", "torch", "cupy", "array-api"]
LOOPS = {path.stem: path.read_text() for path in sorted((ROOT / "examples").glob("*.mg"))
         if path.stem not in FLAT}


def _modules() -> dict[str, str]:
    modules: dict[str, str] = {}
    for name, source in {**FLAT, **LOOPS}.items():
        derivation = matgrad.derive(source)
        bind = bind_for(derivation, {**DEFAULT_BIND, **BIND, "f[j]": "tanh"})
        for backend in BACKENDS:
            modules[f"{name}_{backend}"] = derivation.source(backend, bind=bind)
            if name in FLAT:
                modules[f"{name}_{backend}_unchecked"] = derivation.source(
                    backend, bind=bind, checks=False)
    return modules


def test_every_generated_module_fits_the_width_and_passes_ruff(tmp_path: Path) -> None:
    modules = _modules()
    assert len(modules) == len(BACKENDS) * (2 * len(FLAT) + len(LOOPS))
    for name, module in modules.items():
        long = [line for line in module.splitlines() if len(line) > WIDTH]
        assert not long, f"{name}: {long[0]}"
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(module, encoding="utf-8")
    # One ruff run over all of them: pyflakes, pycodestyle (E501 at 100), bugbear, pyupgrade.
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                             "--select", "E,F,W,B,UP", "--line-length", str(WIDTH),
                             str(tmp_path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


LONG_STATEMENTS = [
    'return J.item(), {"W1": grad_W1, "b1": grad_b1, "W2": grad_W2, "b2": grad_b2, '
    '"W3": grad_W3, "b3": grad_b3, "W4": grad_W4}',
    'raise ValueError(f"alpha_long_name must be a scalar (a float, a 0-d or a 1x1 array), got '
    'shape {alpha_long_name.shape} and {dict(a=1)}")',
    "SINGULAR = ('a matrix that the objective or its gradient inverts is singular at these "
    "inputs (its determinant is 0), so the inverse does not exist there')",
    "float_type = np.result_type(X_input, W_first, W_second, b_first, b_second, b_third, "
    "b_fourth, alpha)",
    "J = 0.5 * np.vdot(E_long_name, E_long_name) + 0.5 * lam * np.vdot(w_long_name, "
    "w_long_name[(1, 2), :])",
    "x = f('a, b', \"c, (d\", g(h, i), [j, k], {'l': m}, n_long_name_one, n_long_name_two, "
    "o_long_name_three, o)",
    # No closing bracket to break: the right side a term a line, in parentheses.
    "J = 0.5 * np.vdot(E_long_name, E_long_name) + 0.5 * lam * np.vdot(w_long_name, "
    "w_long_name) - np.trace(A_long_name @ B_long_name) + c",
    "grad_W += " + " + ".join(f"np.tanh(X{index}) - 'a + b'" for index in range(8)),
    "return " + " - ".join(f"(x{index} + y{index})" for index in range(12)),
    # The widest brackets inside a product, and the rest after them broken again.
    "grad_M = (Pre.T @ ((tmp5 + tmp6) @ S * tmp7 * tmp8 @ Pre.T) + Pre @ (S.T @ (tmp6 + tmp5) * "
    "tmp7.T * tmp8.T) @ Pre) @ M",
    "A3 = torch.broadcast_to(torch.as_tensor(0.25 * 1.0, dtype=float_type, device=float_device), "
    "(n, 1)) @ torch.broadcast_to(torch.as_tensor((2.0 * 1.0 + torch.square(torch.as_tensor(1.0, "
    "dtype=float_type))) ** (-0.5), dtype=float_type, device=float_device), (1, m))",
]


@pytest.mark.parametrize("statement", LONG_STATEMENTS)
def test_a_broken_statement_is_the_same_python(statement: str) -> None:
    assert len(statement) > WIDTH - 4
    lines = fitted(statement, 4)
    assert len(lines) > 1 and all(4 + len(line) <= WIDTH for line in lines), lines
    assert ast.dump(ast.parse("\n".join(lines))) == ast.dump(ast.parse(statement))


def test_short_statements_and_unbreakable_ones_are_left_as_they_are() -> None:
    assert laid_out(["    x = 1", "        y = f(x)"]) == ["    x = 1", "        y = f(x)"]
    unbreakable = "y = " + " * ".join(f"x{index}" for index in range(40))  # no + or −
    assert fitted(unbreakable, 4) == [unbreakable]
    in_string = "y = '" + "(" * 120 + "'"
    assert fitted(in_string, 0) == [in_string]
