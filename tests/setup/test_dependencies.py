"""d2l 1.0.3 without its 2023 pins: the only `pip check` complaints are d2l's own pins, and the parts of
d2l's torch module the notebooks use run on today's numpy, matplotlib, pandas and matplotlib-inline."""

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
from conftest import load_make
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
make = load_make()


def unmet_d2l_pins():
    """{package: line pip check prints} for each requirement of d2l this environment does not meet."""
    d2l = importlib.metadata.version("d2l")
    unmet = {}
    for line in importlib.metadata.requires("d2l"):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            unmet[name] = f"d2l {d2l} requires {requirement.name}, which is not installed."
            continue
        if have not in requirement.specifier:
            unmet[name] = f"d2l {d2l} has requirement {requirement}, but you have {requirement.name} {have}."
    return unmet


def test_pip_check_complains_only_about_d2ls_own_pins():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True,
                            timeout=120)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert make.unexpected_conflicts(result.stdout) == [], result.stdout
    expected = unmet_d2l_pins()
    assert set(lines) == set(expected.values()), "pip check should list exactly d2l's unmet pins"
    # The pins requirements.txt overrides on purpose (numpy 1.23.5 has no wheels after Python 3.11).
    assert {"numpy", "matplotlib", "pandas", "matplotlib-inline"} <= set(expected)
    pinned = make.pins()
    for name in expected:
        assert name in pinned or name == "jupyter", f"{name}: d2l's pin unmet, requirements.txt pins nothing"


def test_d2l_torch_module_runs_on_todays_stack():
    """What the notebooks take from d2l: corr2d, the Animator, and train_ch6 (a tiny LeNet, one epoch of
    5 batches, the fewest train_ch6 accepts)."""
    code = textwrap.dedent("""
        import torch
        from torch import nn
        from d2l import torch as d2l
        X = torch.arange(9.0).reshape(3, 3)
        assert d2l.corr2d(X, torch.ones(2, 2)).tolist() == [[8.0, 12.0], [20.0, 24.0]]
        torch.manual_seed(0)
        images, labels = torch.randn(80, 1, 28, 28), torch.randint(0, 10, (80,))
        data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=16)
        net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(6 * 14 * 14, 10))
        d2l.train_ch6(net, data, data, num_epochs=1, lr=0.1, device=d2l.try_gpu())
        print("trained", len(d2l.plt.gcf().axes[0].lines))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained 3" in result.stdout, result.stdout[-2000:]  # train loss, train acc, test acc curves


def test_plt_show_draws_in_a_kernel():
    """d2l's matplotlib-inline pin (0.1.6) is not registered by IPython 9: plt.show() would draw nothing."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()")])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    outputs = nb.cells[0].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs
