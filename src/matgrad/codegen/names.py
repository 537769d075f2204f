"""Identifiers of generated code, for every backend: matgrad names spelled as safe Python.

Safety invariant: user text reaches generated code only as an identifier returned by
`python_name` (valid, ASCII, not a keyword, not a dunder, not a Python built-in, not a name the
generated module uses itself) or as a binding key checked by `check_bind_keys`.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matgrad.codegen.hessian_assembly import HELPER_NAMES
from matgrad.errors import CodegenError
from matgrad.ir import indexing

# Names every generated module may use itself: the array library, its helpers, the loop
# module's own locals.  No user identifier is ever given one of them.
MODULE_NAMES = frozenset({
    "np", "grads", "SINGULAR", "float_type", "float_device", "_logsumexp", "_softmax", "_norm",
    "_logdet", "_inv", "_solve", "_column_sum", "_row_sum", "_COLUMN_ONES", "_ROW_ONES",
    "_divide_by_norm", "_onehot_dot", "_weighted_gram", "scipy", "jsl", "_expm", "_logm",
    "_sqrtm",
    "_expm_frechet", "_logm_frechet", "_sqrtm_frechet", "_expm_frechet2", "_logm_frechet2",
    "_sqrtm_frechet2", "_second_frechet",
    # Every backend's library alias: the signature is the same for every backend, so a user's
    # matrix named `torch` must not shadow the module in any of them (test_backend_names.py).
    "jnp", "torch", "cp", "dask", "da", "xp", "array_namespace",
})
LOOP_MODULE_NAMES = frozenset({"_agree", "_float", "sizes"})
# The Hessian module's own (codegen/hessian_module.py): its parts function and assembly.
HESSIAN_MODULE_NAMES = frozenset({"_hessian_parts", "_BLOCKS", "_hessian_product",
                                  "_hessian_batched", "_ONES", "_batch_broadcast",
                                  "_batch_column_sum", "_batch_row_sum", "_BATCH_COLUMN_ONES",
                                  "_BATCH_ROW_ONES"}) | HELPER_NAMES

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lam", "μ": "mu", "ν": "nu",
    "ξ": "xi", "ο": "omicron", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon",
    "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Δ": "Delta", "Γ": "Gamma",
    "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi",
    "Ω": "Omega",
}
BUILTIN_NAMES = frozenset(dir(builtins))


def spelled_letter(char: str) -> str:
    """An ASCII spelling of any letter a name may hold: Α → Alpha, ς → final_sigma, ℓ → ell
    (the table above has the common ones; Unicode's own names give the rest)."""
    if char.isascii():
        return char
    if char in "ℓ∇":
        return "ell" if char == "ℓ" else "nabla"
    if char == "\u0307":  # the dot of a tangent's name (Ȧ → A_dot)
        return "_dot"
    words = unicodedata.name(char, "").split()
    if words[:1] == ["GREEK"] and "SYMBOL" in words:  # ϑ → theta_symbol, ϵ → lunate_epsilon_symbol
        return "_".join(words[1:]).lower()
    if "LETTER" in words:
        letter = "_".join(words[words.index("LETTER") + 1:]).lower()
        return letter.capitalize() if "CAPITAL" in words else letter
    return char


def python_name(name: str) -> str:
    """A safe Python identifier for a matgrad name (Greek spelled out; keywords and Python's
    built-in names get a `_`, so that a matrix called len or exec never shadows the built-in
    the generated code calls)."""
    if name.startswith("__"):
        raise CodegenError(f"the name '{name}' cannot be used in generated code: names starting "
                           "with '__' are reserved by Python; rename it.")
    spelled = "".join(GREEK.get(char) or spelled_letter(char) for char in name)
    if not spelled.isidentifier() or not spelled.isascii():
        raise CodegenError(f"the name '{name}' cannot be turned into a Python identifier; "
                           "rename it with letters, digits and '_'.")
    if keyword.iskeyword(spelled) or keyword.issoftkeyword(spelled) or spelled in BUILTIN_NAMES:
        spelled += "_"
    return spelled


def refuse_collisions(names: Iterable[str]) -> None:
    """Two of the user's names that are one Python identifier (α and alpha, lambda and
    lambda_) would be one argument, one silently set by the other's value: refused."""
    spelled: dict[str, str] = {}
    for name in names:
        identifier = python_name(name)
        other = spelled.setdefault(identifier, name)
        if other != name:
            raise CodegenError(
                f"'{other}' and '{name}' are both spelled {identifier} in Python, so the "
                "generated function could not tell their arguments apart; rename one of them.")


@dataclass
class IdentifierPool:
    """Identifiers in the generated function: user names, dimensions, temporaries."""

    taken: set[str] = field(default_factory=set)

    def claim(self, preferred: str) -> str:
        name = preferred
        while name in self.taken or keyword.iskeyword(name):
            name += "_"
        self.taken.add(name)
        return name



def check_function_name(name: str, module_names: set[str] | frozenset[str]) -> None:
    """The generated function's name: an identifier that shadows nothing the module uses."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or \
            name.startswith("__"):
        raise CodegenError(f"{name!r} is not a usable Python function name.")
    plain = unicodedata.normalize("NFKC", name)
    if plain != name:
        # Python reads identifiers in NFKC: `def 𝐧𝐩` defines np (shadowing NumPy), `ｆ` is f.
        raise CodegenError(f"the function name {name!r} is read by Python as {plain!r}; "
                           f"write it in plain letters ({plain!r}, if that is free).")
    if name in module_names or name in BUILTIN_NAMES:
        raise CodegenError(f"the function cannot be called '{name}': the generated module "
                           "uses that name itself (NumPy, its helpers or a Python built-in); "
                           "choose another, e.g. value_and_grad.")


def _family(function: str) -> str:
    """The family a function belongs to: f of f[j], and of the written-out f1, f_2, …"""
    if indexing.split(function) is not None:
        return indexing.base_of(function)
    match = re.fullmatch(r"(.+?)_?[0-9]+", function)
    return match.group(1) if match else function


def check_bind_keys(bind: Mapping[Any, Any], functions: frozenset[str]) -> dict[str, str]:
    """Every key of `bind` names an abstract function of the program or a family of them (f
    for every f[j], and for f1 … f4 written out); no other user text may reach the generated
    module through a binding.  The bindings of every function, a family's key applied to
    each member unless the member has its own."""
    families = {_family(fn) for fn in functions}
    named: dict[str, str] = {}
    for key, value in bind.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise CodegenError(f"bindings name functions by text, as in {{'f': 'tanh'}}; got "
                               f"{key!r}: {value!r}.")
        if key not in functions and indexing.split(key) is not None and any(
                fn != indexing.base_of(key) and _family(fn) == indexing.base_of(key)
                for fn in functions):
            key = indexing.base_of(key)  # f[j] of a loop written out: its family f1 … fk
        if key not in functions and key not in families:
            known = ", ".join(sorted(functions)) or "none"
            shown = key if key.isidentifier() and len(key) <= 40 else repr(key[:40])
            raise CodegenError(f"cannot bind {shown}: it is not an abstract function of the "
                               f"program (its abstract functions: {known}).")
        named[key] = value
    expanded = dict(named)
    for fn in functions:
        if fn not in named and _family(fn) in named:
            expanded[fn] = named[_family(fn)]
    return expanded


