"""Every notebook is a test: each runs top to bottom in a fresh kernel, standalone, within its budget.

Core notebooks (notebooks/*.ipynb) must finish within CORE_BUDGET seconds, deep dives
(notebooks/deep-dives/*.ipynb) within DEEP_DIVE_BUDGET. Settings a run may shrink live in the cell tagged
`parameters` (papermill's convention); the runner inserts OVERRIDES[name] as a new cell right after it, so
the learner's page shows plain defaults. New notebooks are picked up automatically.
"""

import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(p for p in ROOT.glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CORE_BUDGET, DEEP_DIVE_BUDGET = 20, 60  # seconds; the limits for 2 idle cores
OVERRIDES = {  # notebook name -> code run right after its `parameters` cell
    "training-study.ipynb": "num_epochs = 2\nn_train, n_test = 200, 200\nseeds = (0,)",
    "augmentation-vs-pooling.ipynb": "num_epochs = 2\nn_train, n_test = 200, 200\nseeds = (0,)",
    "why-frameworks-dont-loop.ipynb": "shapes = [(1, 1, 3, 3), (1, 1, 8, 8), (1, 1, 28, 28)]",
}
BAD_STDERR = ("Traceback", "Glyph", "Error")


def is_core(path):
    return path.parent == ROOT


def with_overrides(nb, name):
    """nb with OVERRIDES[name] inserted after the cell tagged `parameters` (tagged `injected-parameters`)."""
    if name not in OVERRIDES:
        return nb
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    cell = nbformat.v4.new_code_cell(OVERRIDES[name], metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)
    return nb


def test_overrides_name_real_notebooks_with_a_parameters_cell():
    for name in OVERRIDES:
        path = next((p for p in NOTEBOOKS if p.name == name), None)
        assert path, f"OVERRIDES names {name}, which is not a notebook"
        tags = [c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells]
        assert sum("parameters" in t for t in tags) == 1, f"{name} needs exactly one cell tagged parameters"


def _seconds(cell):
    timing = cell.metadata.get("execution", {})
    if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
        start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                      for k in ("iopub.execute_input", "shell.execute_reply"))
        return (end - start).total_seconds()
    return 0.0


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = with_overrides(nbformat.read(path, as_version=4), path.name)
    budget = CORE_BUDGET if is_core(path) else DEEP_DIVE_BUDGET
    client = NotebookClient(nb, timeout=3 * budget, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on any error output
    elapsed = time.perf_counter() - start

    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            assert output.output_type != "error", f"cell {index} raised {output.get('ename')}"
            if output.output_type == "stream" and output.name == "stderr":
                bad = [word for word in BAD_STDERR if word in output.text]
                assert not bad, f"cell {index} wrote {bad} to stderr:\n{output.text[:2000]}"
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if "solution" in cell.metadata.get("tags", []):  # a reference solution passes its own self-check
            assert "✓" in text and "✗" not in text, f"solution cell {index} does not pass its check:\n{text}"
        assert "✗" not in text, f"cell {index} printed ✗ on Run All (an untouched exercise is ☐):\n{text}"
        if "plt.show()" in cell.source:  # a figure the learner should see must really be drawn
            images = ("image/png", "image/svg+xml")
            assert any(kind in o.get("data", {}) for o in cell.outputs for kind in images), (
                f"cell {index} calls plt.show() but shows no image: add %matplotlib inline to the imports")
    durations = sorted(((_seconds(c), i) for i, c in enumerate(nb.cells) if c.cell_type == "code"),
                       reverse=True)
    slowest = ", ".join(f"cell {i}: {s:.1f} s" for s, i in durations[:3])
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(f"\n{path.name}: {elapsed:.1f} s of {budget} s budget (load {load}); slowest {slowest}")
    assert elapsed <= budget, f"{path.name} took {elapsed:.1f} s, over its {budget} s budget"


def test_there_are_core_notebooks_and_deep_dives():
    assert any(p.name.startswith("01-") and is_core(p) for p in NOTEBOOKS), "notebooks/01-*.ipynb is missing"
    assert any(p.parent.name == "deep-dives" for p in NOTEBOOKS), "notebooks/deep-dives/ is empty"
