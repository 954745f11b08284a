"""Every notebook is a test: each runs top to bottom in a fresh kernel, standalone, within its budget.

A notebook may set its budget in metadata: {"poolkit": {"budget_seconds": N}}; the default is 120 s.
The runner sets POOLKIT_QUICK=1, which notebooks read at the top to pick a smaller setting of the same
code (notebook 05's training run). New notebooks are picked up automatically.
"""

import os
import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
DEFAULT_BUDGET = 120
BAD_STDERR = ("Traceback", "Glyph", "Error")


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("POOLKIT_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    budget = nb.metadata.get("poolkit", {}).get("budget_seconds", DEFAULT_BUDGET)
    client = NotebookClient(nb, timeout=budget, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on any error output
    elapsed = time.perf_counter() - start

    durations = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            assert output.output_type != "error", f"cell {index} raised {output.get('ename')}"
            if output.output_type == "stream" and output.name == "stderr":
                bad = [word for word in BAD_STDERR if word in output.text]
                assert not bad, f"cell {index} wrote {bad} to stderr:\n{output.text[:2000]}"
        if "solution" in cell.metadata.get("tags", []):  # a reference solution passes its own self-check
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "✓" in text and "✗" not in text, f"solution cell {index} does not pass its check:\n{text}"
        if "plt.show()" in cell.source:  # a figure the learner should see must really be drawn
            images = ("image/png", "image/svg+xml")  # d2l.use_svg_display() switches figures to SVG
            assert any(kind in o.get("data", {}) for o in cell.outputs for kind in images), (
                f"cell {index} calls plt.show() but shows no image: add %matplotlib inline to the imports")
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            seconds = (datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
                       - datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00")))
            durations.append((seconds.total_seconds(), index))
    slowest = ", ".join(f"cell {i}: {s:.1f} s" for s, i in sorted(durations, reverse=True)[:3])
    print(f"\n{path.name}: {elapsed:.1f} s of {budget} s budget; slowest {slowest}")
    assert elapsed <= budget, f"{path.name} took {elapsed:.1f} s, over its {budget} s budget"


def test_there_are_notebooks():
    assert any(p.name.startswith("01-") for p in NOTEBOOKS), "notebooks/01-*.ipynb is missing"
    assert os.environ.get("POOLKIT_QUICK") is None  # the runner sets it per test, never globally
