#!/usr/bin/env bash
# Rebuild the Binder environment locally, as far as it can be without Binder, and run the notebooks on it.
#
#   bash tools/binder_local_check.sh            # build a fresh venv, then run every notebook in it
#   bash tools/binder_local_check.sh build      # only (re)build the venv
#   bash tools/binder_local_check.sh notebooks  # only run the notebooks in the existing venv
#   bash tools/binder_local_check.sh notebooks -k 01-pool2d   # one notebook (pytest arguments)
#
# What it reproduces: binder/requirements.txt (minus the PyTorch CPU index line, unreachable from
# machines without internet access to download.pytorch.org; pip then takes PyPI's build of the same
# torch/torchvision versions), what repo2docker's base image provides (JupyterLab 4, Notebook 7), and
# binder/postBuild run the way repo2docker runs it (from the repository root, the env's bin first on PATH:
# d2l and poolkit with --no-deps).
# What it cannot reproduce: the Docker image, Ubuntu's apt.txt packages, runtime.txt's Python (it uses
# this machine's python3.11), the CPU wheels themselves, and mybinder.org's launch.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${BINDER_VENV:-/tmp/binder-venv}
PY=${PYTHON:-python3.11}
STAGE=${1:-all}
shift || true  # anything after the stage goes to pytest, e.g. `notebooks -k 01-pool2d`
REQS=$(mktemp /tmp/binder-requirements.XXXXXX.txt)
trap 'rm -f "$REQS" "$REQS.check"' EXIT

build() {
  rm -rf "$VENV"
  local start=$SECONDS
  "$PY" -m venv "$VENV"
  grep -v -- '--extra-index-url' binder/requirements.txt > "$REQS"
  echo "== pip install binder/requirements.txt (without the CPU index line) + the base image's Jupyter"
  # The base image's own environment pins jupyterlab==4.* and notebook==7.* (repo2docker's
  # buildpacks/conda/environment.py-3.11.yml); binder/requirements.txt must work on top of them.
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQS" "jupyterlab==4.*" "notebook==7.*"
  echo "== binder/postBuild"
  PATH="$VENV/bin:$PATH" ./binder/postBuild
  echo "== pip check (d2l's own 2023 pins are the only complaints allowed: it comes with --no-deps)"
  "$VENV/bin/python" -m pip check | tee "$REQS.check" || true
  if grep -v -e '^d2l ' -e '^No broken requirements' "$REQS.check"; then echo "pip check: conflicts besides d2l's pins" >&2; exit 1; fi
  echo "== imports as the notebooks use them"
  "$VENV/bin/python" - <<'EOF'
import importlib, pkgutil, sys, torch, torchvision, d2l, ipywidgets, anywidget, poolkit
from d2l import torch as d2l_torch  # the lecture's import; needs torchvision to import cleanly
for module in pkgutil.iter_modules(poolkit.__path__):  # every poolkit module imports here
    importlib.import_module(f"poolkit.{module.name}")
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"d2l {d2l.__version__}, ipywidgets {ipywidgets.__version__}, anywidget {anywidget.__version__}, "
      f"poolkit from {poolkit.__file__}")
EOF
  echo "== install time $((SECONDS - start)) s; size $(du -sh "$VENV" | cut -f1)"
}

notebooks() {
  echo "== the test tools (requirements-test.txt: the runner and what tests/conftest.py imports)"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements-test.txt
  echo "== the python3 kernel runs in this venv"
  "$VENV/bin/python" - "$VENV" <<'EOF'
import sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix)")])
NotebookClient(nb, kernel_name="python3").execute()
prefix = nb.cells[0].outputs[0]["text"].strip()
print("python3 kernel prefix:", prefix)
assert Path(prefix).resolve() == Path(sys.argv[1]).resolve(), prefix
EOF
  echo "== tests/lesson/test_notebooks.py in $VENV"
  (cd "$ROOT" && "$VENV/bin/python" -m pytest tests/lesson/test_notebooks.py -q -p no:cacheprovider -s "$@")
}

case "$STAGE" in
  build) build ;;
  notebooks) notebooks "$@" ;;
  all) build; notebooks "$@" ;;
  *) echo "usage: $0 [build|notebooks|all]" >&2; exit 2 ;;
esac
