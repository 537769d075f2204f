"""The optimizer bridge (matgrad/optimize.py, Derivation.scipy()): `fun`, `jac`, `hessp` and
`hess` on one flat vector against central differences; pack/unpack in `wrt` and vec order;
`fun` and `jac` sharing one evaluation; float32 data computed in float32; SciPy's Newton
methods converging to L-BFGS's optimum; clear refusals; the example run at a small size
(issue 31 #4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import directional_derivative, numeric_jacobian

import matgrad

optimize = pytest.importorskip("scipy.optimize", reason="scipy (the optimize extra)")

ROOT = Path(__file__).resolve().parent.parent
LOGISTIC = ("X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const\n"
            "J = 1/t * sum(softplus(-y .* (X*w))) + lambda/2 * ||w||^2")
# Two parameters, a matrix and a scalar: the vector's order and vec layout matter.
TWO = ("X: t x n, data; Y: t x m, data; W: n x m; s: scalar\n"
       "J = 1/2 * ||tanh(s * X*W) - Y||^2 + 1/2 * s^2")


def _data(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 4))
    return {"X": X, "y": np.sign(X @ rng.normal(size=(4, 1)) + 0.3 * rng.normal(size=(30, 1))),
            "Y": rng.normal(size=(30, 3))}


@pytest.mark.parametrize("source", [LOGISTIC, TWO])
def test_fun_jac_hessp_and_hess_against_central_differences(source: str) -> None:
    data = _data()
    derivation = matgrad.derive(source)
    given = {name: data[name] for name in ("X", "y", "Y")
             if name in derivation.program.parameters}
    problem = derivation.scipy(**given, **({"lambda": 0.1} if "lambda" in source else {}))
    rng = np.random.default_rng(1)
    if "W:" in source:
        x = problem.pack(W=rng.normal(size=(4, 3)), s=0.7)
    else:
        x = problem.pack(w=rng.normal(size=(4, 1)))
    np.testing.assert_allclose(problem.jac(x), numeric_jacobian(problem.fun, x), rtol=1e-6,
                               atol=1e-8)
    direction = rng.normal(size=x.size)
    numeric = directional_derivative(lambda moved: problem.jac(moved["x"]), {"x": x},
                                     {"x": direction})
    np.testing.assert_allclose(problem.hessp(x, direction), numeric, rtol=1e-5, atol=1e-7)
    hessian = problem.hess(x)
    np.testing.assert_allclose(hessian, numeric_jacobian(problem.jac, x).T, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hessian, hessian.T)


def test_pack_and_unpack_follow_wrt_and_vec_order() -> None:
    data = _data()
    problem = matgrad.derive(TWO).scipy(X=data["X"], Y=data["Y"])
    W = np.arange(12.0).reshape(4, 3)
    vector = problem.pack(W=W, s=2.5)
    # wrt order (the objective's free symbols in order of first appearance), then vec order.
    assert problem.parameters == matgrad.derive(TWO).wrt == ("s", "W")
    assert vector.shape == (13,) and vector[0] == 2.5
    np.testing.assert_array_equal(vector[1:], W.reshape(-1, order="F"))  # vec(W)
    back = problem.unpack(vector)
    np.testing.assert_array_equal(back["W"], W)
    assert back["s"].shape == (1, 1) and back["s"][0, 0] == 2.5


def test_fun_and_jac_share_one_evaluation() -> None:
    data = _data()
    problem = matgrad.derive(LOGISTIC).scipy(X=data["X"], y=data["y"], **{"lambda": 0.1})
    x = problem.pack(w=np.ones((4, 1)))
    problem.fun(x)
    problem.jac(x)
    problem.value_and_jac(x)
    assert problem.evaluations == 1
    problem.jac(x + 1.0)
    assert problem.evaluations == 2


def test_newton_methods_reach_the_lbfgs_optimum() -> None:
    data = _data()
    problem = matgrad.derive(LOGISTIC).scipy(X=data["X"], y=data["y"], **{"lambda": 0.1})
    start = problem.pack(w=np.zeros((4, 1)))
    reference = optimize.minimize(problem.value_and_jac, start, jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-12, "ftol": 1e-15})
    for method in ("trust-ncg", "Newton-CG", "trust-krylov"):
        result = optimize.minimize(problem.fun, start, jac=problem.jac, hessp=problem.hessp,
                                   method=method, options={"gtol": 1e-8} if "trust" in method
                                   else {})
        assert result.success, (method, result.message)
        np.testing.assert_allclose(result.x, reference.x, rtol=1e-5, atol=1e-6)
        assert result.nit < reference.nit  # second order: fewer iterations
    dense = optimize.minimize(problem.fun, start, jac=problem.jac, hess=problem.hess,
                              method="trust-exact")
    np.testing.assert_allclose(dense.x, reference.x, rtol=1e-6, atol=1e-7)


def test_float32_data_is_computed_in_float32() -> None:
    data = _data()
    problem = matgrad.derive(LOGISTIC).scipy(X=data["X"].astype(np.float32),
                                             y=data["y"].astype(np.float32),
                                             **{"lambda": np.float32(0.1)})
    x = problem.pack(w=np.ones((4, 1), np.float32))
    assert problem.unpack(x)["w"].dtype == np.float32
    assert problem.jac(x).dtype == np.float64  # what SciPy sees
    exact = matgrad.derive(LOGISTIC).scipy(X=data["X"], y=data["y"], **{"lambda": 0.1})
    np.testing.assert_allclose(problem.jac(x), exact.jac(x), rtol=1e-5)


def test_refusals_say_what_to_do() -> None:
    data = _data()
    logistic = matgrad.derive(LOGISTIC)
    with pytest.raises(matgrad.UsageError, match="needs lambda"):
        logistic.scipy(X=data["X"], y=data["y"])
    with pytest.raises(matgrad.UsageError, match="Z is not data of this program"):
        logistic.scipy(X=data["X"], y=data["y"], Z=1.0, **{"lambda": 0.1})
    problem = logistic.scipy(X=data["X"], y=data["y"], **{"lambda": 0.1})
    with pytest.raises(matgrad.UsageError, match="missing w"):
        problem.pack()
    with pytest.raises(matgrad.UsageError, match="4 entries"):
        problem.unpack(np.zeros(3))
    loop = matgrad.derive((ROOT / "examples" / "regression_loop.mg").read_text())
    with pytest.raises(matgrad.UsageError, match="write the layers out"):
        loop.scipy()


def test_the_example_runs() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "newton_logistic.py"),
                             "--rows", "300", "--columns", "5"], capture_output=True,
                            text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all("|grad J|" in line for line in lines)
    trust, lbfgs = (float(line.split(" J ")[1].split()[0]) for line in lines[:2])
    assert trust == pytest.approx(lbfgs, abs=1e-8)
