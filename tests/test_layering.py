"""The layers of DESIGN.md, enforced: every import of a matgrad module (at the top, under
TYPE_CHECKING or inside a function) goes to its own layer or one above it, and no two modules
import each other, directly or around a cycle.  Also the size limits the style asks for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src" / "matgrad"

# Top to bottom: a module may import from its own layer and from the layers listed before it.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "limits", "resources", "functions", "matrix_functions", "version"),
    ("ir",),
    ("front",),
    ("rewrite",),
    ("engine",),
    ("printing",),
    ("codegen",),
    ("backends",),
    ("check", "dense", "linear_maps", "optimize"),
    ("edges",),
    ("api", "cli", "docgen", "pdf", "serve", "__main__", "__init__"),
]
MAX_MODULE_LINES = 600
OVER_SIZE: dict[str, int] = {}  # no module is exempt


def _modules() -> dict[str, Path]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    top = module.split(".", maxsplit=1)[0]
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"matgrad.{module} is in no layer of DESIGN.md: add it to LAYERS")


def _package(module: str) -> list[str]:
    """The package a module is in, as parts (a package's own __init__ is in itself)."""
    parts = module.split(".")
    return parts if MODULES[module].name == "__init__.py" else parts[:-1]


def imports_of(module: str, text: str) -> set[str]:
    """The matgrad modules `text` (the source of `module`) imports, anywhere in it: absolute
    imports (`from matgrad.engine.results import X`, `import matgrad.ir.expr`, `from matgrad
    import api`) and relative ones (`from ..engine import results`, `from . import latex`)
    resolved against the module's package."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        candidates: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package(module) if module in MODULES else module.split(".")[:-1]
                base = package[:len(package) - (node.level - 1)]
                prefix = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            elif node.module == "matgrad" or (node.module or "").startswith("matgrad."):
                prefix = node.module.removeprefix("matgrad").lstrip(".")  # type: ignore[union-attr]
            else:
                continue
            candidates = [".".join(filter(None, [prefix, alias.name])) for alias in node.names]
            candidates.append(prefix)
        elif isinstance(node, ast.Import):
            candidates = [alias.name.removeprefix("matgrad.") for alias in node.names
                          if alias.name.startswith("matgrad.")]
        # `from x.y import z` is x.y.z where z is a module, else x.y (_most_specific).
        targets.update(name for name in candidates if name in MODULES)
    targets.discard(module)
    return _most_specific(targets)


def _most_specific(targets: set[str]) -> set[str]:
    """Drop a package that is imported only to reach a module of it (x.y beside x.y.z)."""
    return {name for name in targets
            if not any(other.startswith(name + ".") for other in targets)}


def _imports(module: str) -> set[str]:
    return imports_of(module, MODULES[module].read_text(encoding="utf-8"))


GRAPH = {module: _imports(module) for module in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_downward_only(module: str) -> None:
    upward = [target for target in GRAPH[module] if _layer(target) > _layer(module)]
    assert not upward, f"matgrad.{module} imports from a lower layer: {sorted(upward)}"


def test_no_import_cycles() -> None:
    def reaches(start: str) -> set[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            for target in GRAPH[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    cycles = sorted(module for module in MODULES if module in reaches(module))
    assert not cycles, f"modules on an import cycle: {cycles}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= OVER_SIZE.get(module, MAX_MODULE_LINES), (
        f"matgrad.{module} has {lines} lines: split it by job")


def test_the_graph_sees_a_downward_import() -> None:
    """The graph above is not empty by accident: the engine's results are read by printers
    (a downward import: printing is a layer above the engine)."""
    assert "engine.results" in GRAPH["printing.report"]
    assert _layer("printing.report") > _layer("engine.results")


@pytest.mark.parametrize("text", [
    "from matgrad.engine.results import Derivation",
    "from matgrad.engine import results",
    "import matgrad.engine.results",
    "from ..engine.results import Derivation",
    "from ..engine import results",
    "def late():\n    from ..engine import results",
])
def test_the_layering_test_sees_an_upward_import(text: str) -> None:
    """An upward import in any spelling, relative ones included, is found and refused: the
    IR (a low layer) importing the engine's results."""
    found = imports_of("ir.expr", text)
    assert found == {"engine.results"}
    assert any(_layer(target) > _layer("ir.expr") for target in found)


def test_relative_imports_resolve_within_the_package() -> None:
    assert imports_of("printing.report", "from . import latex") == {"printing.latex"}
    assert imports_of("printing.report", "from .latex import LatexPrinter") == {
        "printing.latex"}
    assert imports_of("backends", "from .registry import BACKENDS") == {"backends.registry"}


def test_the_loop_generator_uses_only_the_embedding_interface() -> None:
    """The loop module drives the flat generator through its public embedding interface, never
    its private fields (it overwrote five and swapped in a dict whose `in` was always True)."""
    tree = ast.parse(MODULES["codegen.loop_module"].read_text(encoding="utf-8"))
    private = sorted({node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                      and node.attr.startswith("_") and isinstance(node.value, ast.Name)
                      and node.value.id.endswith("gen")})
    assert not private, f"the loop generator reaches into PythonEmitter: {private}"


# Classes over ~25 methods are one-method-per-node tables (a printer, a lowering, a Lark
# transformer) or named here with the reason they are not split yet.
MAX_CLASS_METHODS = 25
TABLES = {"TextPrinter", "LatexPrinter", "MathMLPrinter", "Spelling", "Lowering", "_ToSurface"}
OVER_METHODS = {
    "Engine": 26,     # the reverse-accumulation loop and its guards
}


def test_classes_stay_small() -> None:
    large = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name not in TABLES:
                methods = sum(isinstance(item, ast.FunctionDef) for item in node.body)
                if methods > OVER_METHODS.get(node.name, MAX_CLASS_METHODS):
                    large.append(f"{module}.{node.name} ({methods} methods)")
    assert not large, f"split these classes by job: {large}"


SURFACE = {"front.syntax", "front.postlex", "front.tables"}


def test_surface_syntax_stays_in_the_front_end() -> None:
    """The front end hands out resolved programs (and layered programs that answer in names,
    shapes and IR): no module outside front/ reads surface syntax or the parser."""
    leaks = sorted(f"{module} imports {target}" for module, targets in GRAPH.items()
                   if not module.startswith("front") for target in targets
                   if target in SURFACE)
    assert not leaks, leaks


LIBRARY_TABLES = {"backends.numpy", "backends.numpy_spellings", "backends.numpy_helpers",
                  "backends.scipy_helpers",
                  "backends.jax", "backends.torch", "backends.cupy", "backends.array_api"}


def test_backends_hold_tables_and_the_registry_only() -> None:
    """The emitter and the assemblers are backend-neutral (codegen/); backends/ is one table
    per library, the Dask assembler of row blocks and the registry — no classes, and no public
    function outside the registry and Dask's entry."""
    backends = {module for module in MODULES if module.startswith("backends.")}
    assert backends == LIBRARY_TABLES | {"backends.dask", "backends.registry"}
    for module in sorted(LIBRARY_TABLES):
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        assert not [node for node in tree.body if isinstance(node, ast.ClassDef)], module
        public = [node.name for node in tree.body
                  if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]
        assert not public, f"{module} defines {public}: a library module is a table"


def test_generated_code_is_read_through_its_syntax_tree_not_its_text() -> None:
    """Liveness and the Dask module's assembly read generated code as statements (Python's
    parser, codegen/liveness.py) or as the parts it was built from (`ModuleText`), never by
    searching its text with regular expressions or parsing a module to splice it."""
    for module in ("codegen.liveness", "codegen.loop_module", "codegen.loop_product_module",
                   "backends.dask"):
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        assert "re" not in imported, f"{module} reads generated code by regular expressions"
        if module == "backends.dask":
            assert "ast" not in imported, "the Dask module is assembled from ModuleText parts"


def test_central_differences_are_written_once() -> None:
    """Every numerical reference of the tests is tests/helpers.py's (numeric_gradient,
    directional_derivative, numeric_jacobian): no other test file divides by 2·step."""
    tests = Path(__file__).resolve().parent
    written = [path.name for path in sorted(tests.glob("*.py"))
               if path.name not in ("helpers.py", Path(__file__).name)
               and any(pattern in path.read_text(encoding="utf-8")
                       for pattern in ("/ (2 * step)", "/ (2 * STEP)", "/ 2e-6"))]
    assert not written, f"central differences written again in {written}"
