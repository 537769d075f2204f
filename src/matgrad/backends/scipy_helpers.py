"""Module-level helpers for the matrix functions (expm, logm, sqrtm) and their Fréchet
derivatives, through `scipy.linalg`: shared by the NumPy backend and, for the same CPU arrays,
the Dask backend's parameter-side code.

Invariants: each helper returns a real array of its argument's dtype (SciPy answers some real
logarithms and square roots in complex numbers with zero imaginary parts; a real matrix with no
real principal value is an error that says why); a helper reads only `np` and `scipy`.
"""

from __future__ import annotations

_REAL = '''    if np.iscomplexobj(value):
        if np.abs(value.imag).max(initial=0.0) > 1e-8 * max(np.abs(value).max(), 1.0):
            raise np.linalg.LinAlgError(
                "{what} of this matrix is not real: it has an "
                "eigenvalue on the closed negative real axis")
        value = value.real
    return value.astype(x.dtype, copy=False)
'''

# L⁽²⁾_f(x; e1, e2): the upper right block of f of a 4n×4n block matrix (Higham & Relton 2014).
_BLOCK4 = '''    n = x.shape[0]
    z = np.zeros_like(x)
    block = np.block([[x, e1, e2, z], [z, x, z, e2], [z, z, x, e1], [z, z, z, x]])
'''


def _second(name: str, call: str, what: str | None) -> str:
    """The helper of L⁽²⁾ for one function: `call` of the block, real-checked if `what`."""
    head = (f"def _{name}_frechet2(x, e1, e2):\n"
            f'    """L2_{name}(x; e1, e2): the upper right block of {name} of [[x, e1, e2, 0], '
            '[0, x, 0,\n    e2], [0, 0, x, e1], [0, 0, 0, x]]."""\n' + _BLOCK4)
    if what is None:
        return head + f"    return {call}(block)[:n, 3 * n:].astype(x.dtype, copy=False)\n"
    return head + f"    value = {call}(block)[:n, 3 * n:]\n" + _REAL.format(what=what)


MATRIX_FUNCTION_HELPERS = {
    "_expm_frechet2": _second("expm", "scipy.linalg.expm", None),
    "_logm_frechet2": _second("logm", "scipy.linalg.logm", "the principal logarithm"),
    "_sqrtm_frechet2": _second("sqrtm", "scipy.linalg.sqrtm", "the principal square root"),
    "_expm": '''def _expm(x):
    """The matrix exponential of x (scaling and squaring)."""
    return scipy.linalg.expm(x).astype(x.dtype, copy=False)
''',
    "_expm_frechet": '''def _expm_frechet(x, e):
    """L_exp(x, e): the Fréchet derivative of the matrix exponential at x in direction e."""
    value = scipy.linalg.expm_frechet(x, e, compute_expm=False)
    return value.astype(x.dtype, copy=False)
''',
    "_logm": '''def _logm(x):
    """The principal matrix logarithm of x."""
    value = scipy.linalg.logm(x)
''' + _REAL.format(what="the principal logarithm"),
    "_logm_frechet": '''def _logm_frechet(x, e):
    """L_log(x, e): the upper right block of logm([[x, e], [0, x]]) (Higham 2008, Thm 3.6)."""
    n = x.shape[0]
    value = scipy.linalg.logm(np.block([[x, e], [np.zeros_like(x), x]]))[:n, n:]
''' + _REAL.format(what="the principal logarithm"),
    "_sqrtm": '''def _sqrtm(x):
    """The principal matrix square root of x."""
    value = scipy.linalg.sqrtm(x)
''' + _REAL.format(what="the principal square root"),
    "_sqrtm_frechet": '''def _sqrtm_frechet(root, e):
    """L_sqrt(x, e) from root = x^(1/2): the solution L of root L + L root = e."""
    return scipy.linalg.solve_sylvester(root, root, e).astype(root.dtype, copy=False)
''',
}
