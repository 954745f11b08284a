"""The package's shape: one-way layers without import cycles, one row per mode in every per-mode table, and
no dead code (vulture over poolkit/, tools/ and the notebooks' code cells)."""

import ast
import graphlib
import importlib
from pathlib import Path

import nbformat
import pooling_cases
import pytest
import vulture

from poolkit.params import CODE, COLUMNS, MODES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "poolkit"

# The layers, bottom up: a module imports only modules of the layers below its own.
LAYERS = [("params",), ("reference", "vectorized", "fields"), ("trace",), ("explain",), ("draw",),
          ("widget",)]
# Built on the layers; no layer imports them.
USERS = ("__init__", "checks", "costs", "exercises", "datasets", "training", "images", "bench",
         "bench_widget", "field_view")


def poolkit_imports(path):
    """{module: is it imported inside a function} for every poolkit module this file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    found = {}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level == 1:  # from .x import y, from . import x
            names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "poolkit":
            names = [node.module.split(".")[1] if "." in node.module else "__init__"]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] if "." in a.name else "__init__" for a in node.names
                     if a.name.split(".")[0] == "poolkit"]
        for name in names:
            found[name] = found.get(name, False) or id(node) not in top
    return found


GRAPH = {path.stem: poolkit_imports(path) for path in sorted(PACKAGE.glob("*.py"))}
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def test_every_module_has_a_place():
    unplaced = set(GRAPH) - set(RANK) - set(USERS)
    assert not unplaced, f"place {unplaced} in LAYERS or USERS"


@pytest.mark.parametrize("module", [name for name in RANK if name in GRAPH])
def test_a_layer_imports_only_the_layers_below_it(module):
    above = {name for name in GRAPH[module] if RANK.get(name, len(LAYERS)) >= RANK[module]}
    assert not above, f"poolkit.{module} imports {above}, which are not below it ({LAYERS})"


def test_no_import_cycle_counting_imports_inside_functions():
    graphlib.TopologicalSorter({name: set(imported) - {name} for name, imported in GRAPH.items()}).prepare()


def test_poolkit_modules_are_imported_at_module_level():
    """A function-level import is only for a heavy optional dependency (third-party, with a comment); the
    package's own lazy names (poolkit/__init__.py's _LAZY) sit on top, where no module imports them."""
    inside = {(module, name) for module, imported in GRAPH.items() for name, late in imported.items() if late}
    assert not inside, inside


def test_the_trace_is_computed_by_the_reference():
    assert "reference" in GRAPH["trace"] and "vectorized" not in GRAPH["trace"]
    assert "reference" not in GRAPH["vectorized"] and "vectorized" not in GRAPH["reference"]


# ----------------------------------------------------------------------------------------------------
# A mode is one row
# ----------------------------------------------------------------------------------------------------


def test_every_mode_has_its_code_in_every_layer():
    for module in set(COLUMNS.values()):
        importlib.import_module(f"poolkit.{module}")
    assert CODE.keys() == MODES.keys()
    for mode, row in CODE.items():
        assert row.keys() == COLUMNS.keys(), f"mode {mode!r} lacks {set(COLUMNS) - set(row)}"
        for column, fn in row.items():
            assert fn.__module__ == f"poolkit.{COLUMNS[column]}", (mode, column, fn.__module__)


def test_every_mode_has_its_test_cases():
    assert pooling_cases.CASES.keys() == MODES.keys()


# ----------------------------------------------------------------------------------------------------
# No dead code
# ----------------------------------------------------------------------------------------------------

# What vulture cannot see being used, and why.
USED_UNSEEN = {
    ("poolkit/__init__.py", "__getattr__"): "a module __getattr__ (PEP 562): Python calls it",
    ("poolkit/widget.py", "packed"): "a synced traitlet: widget.js reads it",
    ("poolkit/field_view.py", "packed"): "a synced traitlet: widget.js reads it",
    ("tools/build_site.py", "handle_starttag"): "an HTMLParser callback",
    ("tools/build_site.py", "inline_math"): "nbconvert's markdown renderer calls it (an override)",
    ("tools/build_site.py", "block_math"): "nbconvert's markdown renderer calls it (an override)",
    ("tools/build_site.py", "latex_environment"): "nbconvert's markdown renderer calls it (an override)",
    ("tools/build_site.py", "markdown2html"): "nbconvert's HTML template calls it (an override)",
    ("tools/clean_notebooks.py", "execution_count"): "a notebook field written into the file",
    ("tools/lab_browser.py", "payload"): "a callback's argument that playwright passes",
    ("tools/lab_browser.py", "text_contrasts"): "test machinery: test_browser.py measures with it",
    ("tools/lab_browser.py", "below_aa"): "test machinery: test_browser.py judges with it",
    ("tools/lab_browser.py", "unreadable_labels"): "test machinery: browser tests check grid indices with it",
    ("tools/lab_browser.py", "painted"): "test machinery: test_field_view.py reads colours with it",
}


def notebook_code(tmp_path):
    """The notebooks' code cells as one .py file per notebook (IPython magics commented out)."""
    for path in sorted((ROOT / "notebooks").glob("**/*.ipynb")):
        cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        lines = [f"# {line}" if line.lstrip().startswith(("%", "!")) else line
                 for cell in cells for line in cell.splitlines()]
        (tmp_path / f"{path.stem.replace('-', '_')}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_no_dead_code(tmp_path):
    v = vulture.Vulture(ignore_decorators=["@implements"])  # registered in poolkit.params.CODE
    v.scavenge([str(PACKAGE), str(ROOT / "tools"), str(notebook_code(tmp_path))])
    unused = {}
    for item in v.get_unused_code():
        path = Path(item.filename).resolve()
        where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
        unused[where, item.name] = f"{where}:{item.first_lineno}: {item.message}"
    dead = [message for key, message in unused.items() if key not in USED_UNSEEN]
    assert not dead, "dead code (remove it, or say in USED_UNSEEN why it is used):\n" + "\n".join(dead)
    stale = set(USED_UNSEEN) - set(unused)
    assert not stale, f"USED_UNSEEN names what vulture no longer reports: {stale}"
