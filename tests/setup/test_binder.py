"""binder/ and the root files describe one environment.

Binder (repo2docker) reads only binder/ once it exists, so binder/requirements.txt repeats the pins of
requirements.txt. These tests hold the two together: the same packages at the same versions (apart from
the PyTorch CPU wheel index and the `+cpu` build labels), a supported Python everywhere, d2l and this
repository's package installed by both with --no-deps, and every module a notebook (or d2l's torch
module) imports installed by both.
"""

import ast
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from conftest import load_make
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
# repo2docker's base image runs the Jupyter server in the same environment (its
# buildpacks/conda/environment.py-3.11.yml: jupyterlab==4.*, notebook==7.*, ipywidgets==8.*).
# binder/ leaves the server to the image and must not reinstall it; only these may be missing there.
BASE_IMAGE_PROVIDES = {"jupyterlab": 4}
SERVER_PACKAGES = {"jupyterlab", "notebook", "jupyter-server", "jupyterhub"}
LOCAL_PACKAGE = "poolkit"


def parse_requirements(path):
    """-> ({name: Requirement}, [option lines], [editable targets]) for a pip requirements file."""
    pins, options, editables = {}, [], []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-e ", "--editable ")):
            editables.append(line.split(None, 1)[1])
        elif line.startswith("-"):
            options.append(" ".join(line.split()))
        else:
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = requirement
    return pins, options, editables


def pinned_version(requirement):
    """The exact version of an `==` pin (the only kind these files may hold)."""
    (spec,) = requirement.specifier
    assert spec.operator == "==" and "*" not in spec.version, f"{requirement} is not an exact pin"
    return Version(spec.version)


ROOT_PINS, ROOT_OPTIONS, ROOT_EDITABLES = parse_requirements(ROOT / "requirements.txt")
BINDER_PINS, BINDER_OPTIONS, BINDER_EDITABLES = parse_requirements(BINDER / "requirements.txt")
# Installed with --no-deps after those (make.py locally, binder/postBuild on Binder): their own
# requirements are NOT installed, so nothing below follows them.
NO_DEPS_PINS, _, _ = parse_requirements(ROOT / "requirements-nodeps.txt")


def runtime_python():
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", text)
    assert match, f"binder/runtime.txt must be one line like python-3.11, not {text!r}"
    return int(match[1]), int(match[2])


# --- packages ---------------------------------------------------------------------------------------


def test_every_pin_is_exact():
    assert set(NO_DEPS_PINS) == {"d2l"}
    for requirement in [*ROOT_PINS.values(), *BINDER_PINS.values(), *NO_DEPS_PINS.values()]:
        pinned_version(requirement)


def test_binder_pins_the_same_packages_at_the_same_versions():
    missing = set(ROOT_PINS) - set(BINDER_PINS) - set(BASE_IMAGE_PROVIDES)
    extra = set(BINDER_PINS) - set(ROOT_PINS)
    assert not missing, f"in requirements.txt but not in binder/requirements.txt: {sorted(missing)}"
    assert not extra, f"in binder/requirements.txt but not in requirements.txt: {sorted(extra)}"
    for name, requirement in BINDER_PINS.items():
        root, binder = pinned_version(ROOT_PINS[name]), pinned_version(requirement)
        # A build label (+cpu) is the only allowed difference.
        assert root.public == binder.public, f"{name}: {root} in requirements.txt, {binder} in binder/"


def test_binder_leaves_the_jupyter_server_to_the_base_image():
    reinstalled = SERVER_PACKAGES & set(BINDER_PINS)
    assert not reinstalled, f"binder/ reinstalls the image's Jupyter server: {sorted(reinstalled)}"
    for name, major in BASE_IMAGE_PROVIDES.items():
        assert pinned_version(ROOT_PINS[name]).major == major, f"{name}: not the base image's major"
    assert pinned_version(BINDER_PINS["ipywidgets"]).major == 8, "the base image ships ipywidgets 8"


def test_only_binder_uses_the_cpu_wheel_index():
    assert BINDER_OPTIONS == [CPU_INDEX], f"binder/requirements.txt options: {BINDER_OPTIONS}"
    # Unreachable from the project's machines: in requirements.txt it would slow every install there.
    assert ROOT_OPTIONS == [], f"requirements.txt must not name package indexes: {ROOT_OPTIONS}"


def test_cpu_builds_satisfy_the_pins():
    """`torch==2.14.1` accepts `2.14.1+cpu` and pip prefers it when the CPU index offers both builds."""
    for name in ("torch", "torchvision"):
        pin = pinned_version(BINDER_PINS[name])
        cpu = Version(f"{pin}+cpu")
        assert cpu in SpecifierSet(f"=={pin}") and cpu > pin
        assert pin not in SpecifierSet(f"=={cpu}")  # so a +cpu pin would break the local rebuild


def test_the_installed_environment_matches_the_pins():
    """The dependency graph used below is read from this environment, so it must hold these versions."""
    for name, requirement in {**ROOT_PINS, **NO_DEPS_PINS}.items():
        installed = Version(importlib.metadata.version(name))
        assert installed.public == pinned_version(requirement).public, (
            f"{name} {installed} is installed, requirements.txt pins {requirement}. "
            "Fix: python3 make.py test (reinstalls when requirements change)"
        )


# --- this repository's own package ------------------------------------------------------------------


def test_both_install_d2l_and_this_repositorys_package_without_dependencies():
    assert ROOT_EDITABLES == ["."], "requirements.txt installs poolkit with `-e .`"
    # No local reference in binder/requirements.txt: repo2docker then installs it before copying the
    # repository, in a cached layer; binder/postBuild installs poolkit after the copy.
    assert BINDER_EDITABLES == [], "binder/requirements.txt must not reference local paths (use postBuild)"
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable (git mode 100755)"
    text = post_build.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    commands = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    install = "python -m pip install --no-cache-dir --no-deps -r requirements-nodeps.txt -e ."
    assert install in commands, commands
    make = load_make()
    assert make.NO_DEPS == "requirements-nodeps.txt", "make.py installs the same file with --no-deps"
    both = set(ROOT_PINS) | set(BINDER_PINS)
    assert not set(NO_DEPS_PINS) & both, "installed with its dependencies, d2l would pull in its pins"


def test_the_package_needs_nothing_binder_does_not_pin():
    """postBuild installs poolkit with --no-deps, so its declared dependencies must come from the pins."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == LOCAL_PACKAGE
    provided = dependency_closure(BINDER_PINS, NO_DEPS_PINS)
    for dependency in project["dependencies"]:
        requirement = Requirement(dependency)
        name = canonicalize_name(requirement.name)
        assert name in provided, f"pyproject.toml needs {name}, which binder/ does not install"
        assert importlib.metadata.version(name) in requirement.specifier, f"{name} violates {requirement}"


# --- a supported Python --------------------------------------------------------------------------------


def test_binder_runs_a_supported_python():
    """make.py accepts Python 3.11-3.14 (tests/setup/test_make.py); Binder's runtime.txt picks one of them."""
    oldest, newest = load_make().SUPPORTED
    assert oldest <= runtime_python() <= newest
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "{}.{}".format(*runtime_python()) in SpecifierSet(project["requires-python"])


def test_binder_doc_states_binders_python():
    binder_doc = (ROOT / "docs" / "binder.md").read_text(encoding="utf-8")
    assert "`binder/runtime.txt`: Python {}.{}".format(*runtime_python()) in binder_doc


# --- apt.txt -----------------------------------------------------------------------------------------


def test_apt_txt_installs_cjk_fonts():
    packages = [line.partition("#")[0].strip() for line in (BINDER / "apt.txt").read_text().splitlines()]
    packages = [p for p in packages if p]
    assert "fonts-noto-cjk" in packages
    for package in packages:  # repo2docker rejects anything that is not a plain package name
        assert re.fullmatch(r"[a-z0-9.+-]+", package), package


# --- what the notebooks import -----------------------------------------------------------------------


def dependency_closure(pins, no_deps=()):
    """Every distribution the pinned packages install, following installed metadata (extras excluded),
    plus the packages installed with --no-deps, whose own requirements are not followed."""
    seen, stack = {canonicalize_name(name) for name in no_deps}, list(pins)
    while stack:
        name = canonicalize_name(stack.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                stack.append(requirement.name)
    return seen


def code_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def imported_modules(sources):
    """Top-level names of absolute imports in notebook code (IPython magics turned into Python first)."""
    transform = TransformerManager().transform_cell
    modules = set()
    for source in sources:
        for node in ast.walk(ast.parse(transform(source))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


def missing_from(pins, modules, no_deps=NO_DEPS_PINS):
    """Modules that neither the standard library, this repository, nor the pins' closure provides."""
    provided = dependency_closure(pins, no_deps)
    by_module = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module == LOCAL_PACKAGE:
            continue
        distributions = {canonicalize_name(d) for d in by_module.get(module, [])}
        if not distributions & provided:
            missing[module] = sorted(distributions) or ["(not installed at all)"]
    return missing


def test_import_check_can_fail():
    modules = imported_modules(["%matplotlib inline\nimport sklearn.datasets\nfrom d2l import torch as d2l",
                                "!ls\nimport os, math\nfrom . import local"])
    assert modules == {"sklearn", "d2l", "os", "math"}  # a magic is not an import
    assert set(missing_from(ROOT_PINS, modules)) == {"sklearn"}
    assert set(missing_from({"torch": None}, {"torch", "d2l"}, no_deps={})) == {"d2l"}
    assert "matplotlib" not in missing_from({"d2l": None}, {"matplotlib"}, no_deps={})  # d2l requires it
    # ... but d2l comes with --no-deps: what it requires is not installed unless a pin brings it.
    assert "matplotlib" in missing_from({}, {"matplotlib", "d2l"})


def module_level_imports(source):
    """Top-level names imported when the module itself is imported (not inside functions)."""
    tree = ast.parse(source)
    nested = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
              for node in ast.walk(fn) if node is not fn}
    top = [node for node in ast.walk(tree)
           if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in nested]
    return imported_modules([ast.unparse(node) for node in top])


def test_the_package_imports_are_installed_by_both():
    """poolkit is installed with --no-deps on Binder: what its modules import must come from the pins.
    Imports inside functions may come from the test tools instead (poolkit.bench_widget's playwright)."""
    sources = [path.read_text(encoding="utf-8") for path in (ROOT / LOCAL_PACKAGE).glob("*.py")]
    on_import = set().union(*map(module_level_imports, sources))
    assert {"torch", "anywidget"} <= on_import
    for name, pins in [("requirements.txt", ROOT_PINS), ("binder/requirements.txt", BINDER_PINS)]:
        assert not missing_from(pins, on_import), f"{name} lacks {missing_from(pins, on_import)}"
    test_pins, _, _ = parse_requirements(ROOT / "requirements-test.txt")
    missing = missing_from({**ROOT_PINS, **test_pins}, imported_modules(sources))
    assert not missing, f"neither requirements file installs {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_imports_are_installed_by_both(path):
    sources = code_cells(path)
    modules = imported_modules(sources)
    assert not missing_from(ROOT_PINS, modules), f"requirements.txt lacks {missing_from(ROOT_PINS, modules)}"
    assert not missing_from(BINDER_PINS, modules), f"binder/ lacks {missing_from(BINDER_PINS, modules)}"
    installs = [s for s in sources if re.search(r"^\s*[%!]\s*(pip|conda|mamba)\b", s, re.M)]
    assert not installs, "notebooks run offline: install through the requirements files, not in a cell"


def test_what_d2ls_torch_module_imports_is_installed_by_both():
    """d2l comes with --no-deps, so the pins must provide every module `from d2l import torch` imports."""
    source = Path(importlib.util.find_spec("d2l.torch").origin).read_text(encoding="utf-8")
    modules = module_level_imports(source)
    expected = {"numpy", "matplotlib", "pandas", "scipy", "torchvision", "IPython", "matplotlib_inline"}
    assert expected <= modules, modules
    assert not missing_from(ROOT_PINS, modules), f"requirements.txt lacks {missing_from(ROOT_PINS, modules)}"
    assert not missing_from(BINDER_PINS, modules), f"binder/ lacks {missing_from(BINDER_PINS, modules)}"


# --- the Dockerfile repo2docker itself would build ------------------------------------------------------
# `repo2docker --no-build --debug .` reads binder/ exactly as Binder does and prints the Dockerfile,
# without Docker (about 2 s). jupyter-repo2docker is a test tool (requirements-test.txt).


@pytest.fixture(scope="module")
def dockerfile():
    repo2docker = Path(sys.executable).with_name("repo2docker")
    assert repo2docker.exists(), "no repo2docker: python3 make.py test installs requirements-test.txt"
    result = subprocess.run([str(repo2docker), "--no-build", "--debug", "."], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "FROM " in output, output[-3000:]
    return output


def dockerfile_line_index(text, line):
    lines = [candidate.strip() for candidate in text.splitlines()]
    assert line in lines, f"not in the Dockerfile: {line}"
    return lines.index(line)


def base_environment_lock(text):
    """The conda lock file of repo2docker's base environment that this Dockerfile copies in."""
    import escapism

    (escaped,) = re.findall(r"^COPY \S+ build_script_files/(\S+?)-[0-9a-f]{6} /tmp/env/environment\.lock$",
                            text, re.M)
    return Path(escapism.unescape(escaped, escape_char="-"))


def test_repo2docker_builds_on_binders_python(dockerfile):
    version = "{}.{}".format(*runtime_python())
    assert f"Building conda environment for python={version}" in dockerfile
    lock = base_environment_lock(dockerfile)
    assert lock.name == f"environment.py-{version}-linux-64.lock", lock
    pythons = re.findall(r"/python-(\d+\.\d+)\.\d+-\w+\.conda", lock.read_text())
    assert pythons == [version], pythons


def test_repo2docker_installs_the_apt_packages(dockerfile):
    packages = [line.partition("#")[0].strip() for line in (BINDER / "apt.txt").read_text().splitlines()]
    packages = [p for p in packages if p]
    installs = [line for line in dockerfile.splitlines()
                if line.startswith("apt-get install --yes --no-install-recommends")]
    assert installs and installs[0].split("&&")[0].split()[4:] == packages, installs


def test_requirements_are_installed_before_the_repository_is_copied(dockerfile):
    """So their image layer (torch, ...) is cached while only notebooks change."""
    copy_reqs = dockerfile_line_index(
        dockerfile, "COPY --chown=0:0 src/binder/requirements.txt ${REPO_DIR}/binder/requirements.txt")
    install = dockerfile_line_index(
        dockerfile, 'RUN ${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt"')
    copy_repo = dockerfile_line_index(dockerfile, "COPY --chown=0:0 src/ ${REPO_DIR}/")
    assert copy_reqs < install < copy_repo


def test_post_build_runs_after_the_copy(dockerfile):
    copy_repo = dockerfile_line_index(dockerfile, "COPY --chown=0:0 src/ ${REPO_DIR}/")
    assert dockerfile_line_index(dockerfile, "RUN ./binder/postBuild") > copy_repo


def test_nothing_reinstalls_the_base_images_jupyter_at_another_major(dockerfile):
    """The base environment's lock pins JupyterLab and Notebook; nothing binder/ installs may move them
    to another major: not a pin, and no requirement of anything the pins bring in."""
    lock = base_environment_lock(dockerfile).read_text()
    base = {canonicalize_name(name): Version(version)
            for name, version in re.findall(r"/([A-Za-z0-9_.-]+?)-(\d[\w.]*)-[\w.]+\.conda", lock)}
    server = {name: base[name] for name in ("jupyterlab", "notebook", "jupyter-server")}
    assert server["jupyterlab"].major == 4 and server["notebook"].major == 7, server
    assert not set(server) & (set(BINDER_PINS) | set(NO_DEPS_PINS)), "binder/ pins the image's server"
    for name in dependency_closure(BINDER_PINS):
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            target = canonicalize_name(requirement.name)
            applies = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
            if target in server and applies:
                assert server[target] in requirement.specifier, (
                    f"{name} requires {requirement}: pip would replace the image's {target} {server[target]}")
    # ipywidgets stays on the image's major (its lab extension is part of the image's JupyterLab).
    assert pinned_version(BINDER_PINS["ipywidgets"]).major == base["ipywidgets"].major
