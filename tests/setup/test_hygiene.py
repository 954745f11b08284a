"""Notebooks (core and deep dives) are stored clean (the fix is `python3 make.py clean`), and the fix-it
tool works."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import clean_notebooks  # noqa: E402

NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
FIX = "Fix: python3 make.py clean"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(ROOT / "notebooks").as_posix()
                                                 for p in NOTEBOOKS])
def test_notebook_is_stored_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3", FIX
    assert "widgets" not in nb.metadata, f"widget state stored in metadata. {FIX}"
    for cell in nb.cells:
        assert "id" in cell, f"a cell has no id. {FIX}"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"stored outputs. {FIX}"
    assert path.read_text(encoding="utf-8") == clean_notebooks.cleaned(path), f"not clean. {FIX}"


def test_clean_tool_strips_a_dirty_notebook(tmp_path, monkeypatch):
    dirty = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    cell.execution_count = 1
    dirty.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    dirty.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    raw = json.loads(nbformat.writes(dirty))
    for c in raw["cells"]:
        c.pop("id")  # as an old editor would write it
    raw["nbformat_minor"] = 4
    path = tmp_path / "notebooks" / "deep-dives" / "x.ipynb"  # deep dives are cleaned too
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(raw))
    monkeypatch.setattr(clean_notebooks, "NOTEBOOKS", path.parent.parent)
    assert clean_notebooks.main(["--check"]) == 1
    assert clean_notebooks.main([]) == 0
    assert clean_notebooks.main(["--check"]) == 0
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata and nb.cells[1].outputs == [] and all("id" in c for c in nb.cells)


def test_make_py_clean_check_runs():
    result = subprocess.run([sys.executable, str(ROOT / "tools/clean_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


LEFTOVERS = ("*.orig", "*.rej", "*.bak", "*.ipynb_checkpoints*", "*.pyc", ".DS_Store")


def test_no_merge_or_editor_leftovers_are_tracked():
    """A merge's *.orig, a patch's *.rej or an editor's backup is not part of the project."""
    tracked = subprocess.run(["git", "ls-files", "-z", "--", *LEFTOVERS], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split("\0")
    found = [name for name in tracked if name]
    assert not found, f"tracked leftovers {found}. Fix: git rm {' '.join(found)}"
