"""Every command the README shows is exercised: by a test here, by another test, or by .ci/run.

The README's commands are read from its fenced shell blocks and from inline code that starts like a
command. Each must be a key of EXERCISED; a command nothing exercises fails `test_every_readme_command_is_
exercised`, and an exerciser that no longer holds fails its own test below.
"""

import importlib.util
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import load_make, require_chromium

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TESTS = Path(__file__).resolve().parents[1]
FIRST_NOTEBOOK = "notebooks/01-pool2d-from-scratch.ipynb"
SHELL_BLOCK = re.compile(r"^\s*```(bash|sh|shell|console|powershell)\n(.*?)^\s*```", re.M | re.S)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
COMMAND_START = ("python", "py ", ".venv/", "bash ", "sh ", "pip ", "pip3 ", "PIP_", "jupyter", "pytest",
                 "ruff", "rm ", "git ", "apt ", "apt-get ", "uv ", "conda ", "sudo ", "make ", "./")
CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"
VERSIONS = ('.venv/bin/python -c "import torch, torchvision; '
            'print(torch.__version__, torchvision.__version__)"')

# README command -> the test (in this file unless a path is given) or script that exercises it.
EXERCISED = {
    "python3 make.py lab": "test_make_py_lab_serves_notebook_01",
    "py make.py lab": "test_make_py_lab_serves_notebook_01 (Windows' launcher, the same make.py)",
    "python3 make.py test": ".ci/run (test_ci_runs_the_readme_test_command)",
    "py make.py test": ".ci/run (the Windows launcher runs the same make.py)",
    "python3.13 make.py lab":
        "tests/setup/test_make.py (test_make_py_accepts_every_supported_python); .ci/run",
    "py -3.13 make.py lab": "tests/setup/test_make.py (test_make_py_accepts_every_supported_python)",
    "python3.13 make.py --venv .venv-3.13 lab":
        "tests/setup/test_make.py (test_make_py_options_are_taken_out_of_the_tools_arguments); .ci/run",
    "pip check": "tests/setup/test_dependencies.py (test_pip_check_complains_only_about_d2ls_own_pins)",
    "pip install --no-deps d2l==1.0.3":
        "tests/setup/test_make.py (test_d2l_comes_with_no_deps_after_the_requirements)",
    "python3 make.py lab --cpu":
        "tests/setup/test_make.py (test_cpu_flag_overrides_the_driver_and_platform_checks)",
    "python3 make.py lab --cuda": "tests/setup/test_make.py (test_every_other_case_gets_pypi)",
    "python3 make.py clean": "test_make_py_clean_runs_the_clean_tool",
    "python3 make.py site":
        "tests/setup/test_site.py (the site fixture runs make.py site on a small project)",
    "python3 -m http.server -d site 8000":
        "tests/setup/test_site.py (the server fixture runs python -m http.server -d)",
    ".venv/bin/pytest tests/lesson/test_notebooks.py -k 01-pool2d -q": "test_one_notebook_command_selects_it",
    ".venv/bin/ruff check .": "test_make_py_test_runs_ruff_then_pytest",
    VERSIONS: "test_version_check_command_runs",
    ".venv/bin/python -m poolkit.images": "tests/lesson/test_images.py (test_python_m_commands_are_tested)",
    ".venv/bin/python -m poolkit.bench": "a test that runs it (test_python_m_commands_are_tested)",
    ".venv/bin/python -m poolkit.bench_widget": "a test that runs it (test_python_m_commands_are_tested)",
    "bash .ci/run": "CI itself (test_ci_runs_the_readme_test_command)",
    "bash tools/binder_local_check.sh": "test_binder_local_check_script (smoke; full run recorded in README)",
}


def readme_commands():
    """Commands in the README's shell blocks (comments dropped) and in inline code that looks like one."""
    commands = []
    for _, body in SHELL_BLOCK.findall(README):
        for line in body.splitlines():
            line = re.sub(r"\s+#.*$", "", line.strip())
            if line and not line.startswith("#"):
                commands.append(" ".join(line.split()))
    for span in INLINE.findall(SHELL_BLOCK.sub("", README)):
        if span.startswith(COMMAND_START):
            commands.append(" ".join(span.split()))
    return commands


def test_every_readme_command_is_exercised():
    commands = readme_commands()
    assert len(commands) >= 10, commands  # the extraction itself works
    unexercised = sorted(set(commands) - set(EXERCISED))
    assert not unexercised, f"README commands that no test or .ci/run exercises: {unexercised}"


def test_every_exerciser_exists():
    for command, exerciser in EXERCISED.items():
        paths = re.findall(r"(?:tests|\.ci)/[\w./]+", exerciser)
        names = re.findall(r"\btest_\w+", re.sub(r"(?:tests|\.ci)/[\w./]+", "", exerciser))
        assert names or paths or exerciser.startswith("CI itself"), command
        for name in names:
            if not paths or exerciser.index(name) < exerciser.index(paths[0]):
                assert callable(globals().get(name)), f"{command!r}: {name} is not a test in this file"
            elif paths[0].endswith(".py"):  # a test in the test file named before it
                defined = f"def {name}(" in (ROOT / paths[0]).read_text() or callable(globals().get(name))
                assert defined, f"{command!r}: {name} is neither in {paths[0]} nor in this file"
        for path in paths:
            assert (ROOT / path).exists(), f"{command!r}: {path} does not exist"


def test_readme_has_the_two_commands_and_the_binder_link():
    commands = readme_commands()
    assert "python3 make.py lab" in commands and "python3 make.py test" in commands
    assert "py make.py lab" in commands and "py make.py test" in commands
    (url,) = re.findall(r"\((https://mybinder\.org/v2/gh/[^)\s]+)\)", README)
    match = re.fullmatch(r"https://mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/HEAD\?urlpath=lab/tree/(\S+)", url)
    assert match, url
    assert match[3] == FIRST_NOTEBOOK and (ROOT / FIRST_NOTEBOOK).exists()


def test_binder_badge_points_at_this_repository():
    """Until the repository is published the badge holds a placeholder; once `origin` is on GitHub the badge
    must name that repository, so the published README never launches the placeholder."""
    (owner, repo) = re.findall(r"mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/", README)[0]
    origin = subprocess.run(["git", "-C", str(ROOT), "remote", "get-url", "origin"],
                            capture_output=True, text=True).stdout.strip()
    github = re.fullmatch(r"(?:https://github\.com/|git@github\.com:)([\w.-]+)/([\w.-]+?)(?:\.git)?/?",
                          origin)
    if github:
        assert (owner, repo) == github.groups(), (
            f"README's Binder badge says {owner}/{repo}, but origin is {origin}: "
            f"put {'/'.join(github.groups())} in the badge URL (replace GITHUB_OWNER/GITHUB_REPO)")
        assert "GITHUB_OWNER" not in README, "delete the note under the badge: the badge is live now"
    else:
        assert (owner, repo) == ("GITHUB_OWNER", "GITHUB_REPO"), f"origin {origin!r} is not on GitHub"
        assert "until then, use the two local commands" in README  # the note says the badge is not live yet


def test_readme_local_links_exist():
    targets = re.findall(r"\]\(((?:Images|notebooks|binder|tools|tests)/[^)#\s]+)\)", README)
    assert any(t.endswith(".gif") for t in targets) and any(t.startswith("notebooks/") for t in targets)
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


def test_readme_dependency_table_matches_requirements():
    make = load_make()
    pins = {**make.pins(), **make.pins(ROOT / make.NO_DEPS)}
    assert "d2l" in pins and "numpy" in pins
    rows = dict(re.findall(r"^\| ([\w.-]+) \| ([\w.]+) \|", README, re.M))
    for name, version in pins.items():
        assert rows.get(name) == version, f"README's dependency table: {name} should say {version}"


def test_readme_lists_every_notebook():
    section = README.split("## 笔记本 / The notebooks\n")[1].split("\n## ")[0]
    notebooks = (p for p in (ROOT / "notebooks").glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    for path in sorted(notebooks):
        link = path.relative_to(ROOT).as_posix()
        assert f"]({link})" in section, f"{link} is missing from the README's notebook section"


# --- the exercisers -------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook_links():
    """Repository paths of the local files (pictures) that the notebooks' markdown links to."""
    links = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
        for target in re.findall(r"""(?:\]\(|src=["'])(\.\./[^)"'\s]+)""", text):
            links.add((path.parent / target).resolve().relative_to(ROOT).as_posix())
    return sorted(links)


def test_make_py_lab_serves_notebook_01(monkeypatch, tmp_path):
    """`make.py lab` installs only requirements.txt and starts JupyterLab at the repository root, so
    notebook 01 opens and the pictures its markdown links to (../Images/...) are served too."""
    make = load_make()
    installed, started, served = [], [], {}
    monkeypatch.setattr(make, "ensure_venv", lambda *files: installed.append(files))
    port, token = free_port(), "readme-test"

    def status(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}?token={token}", timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as err:
            return err.code

    def serve(args, cwd):
        """Start exactly what make.py builds, ask it for the notebook and its pictures, then stop it."""
        started.append(args)
        log = tmp_path / "lab.log"
        with log.open("w") as out:
            server = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                assert server.poll() is None, f"jupyter lab exited early:\n{log.read_text()[-2000:]}"
                try:
                    if status("api/status") == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            else:
                raise AssertionError("JupyterLab did not start within 90 s")
            for path in [FIRST_NOTEBOOK, *notebook_links()]:
                served[path] = status(f"api/contents/{path}")
            return subprocess.CompletedProcess(args, 0)
        finally:
            server.terminate()
            server.wait(timeout=30)

    monkeypatch.setattr(make, "subprocess", types.SimpleNamespace(run=serve))
    extra = ["--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             f"--IdentityProvider.token={token}", "--LabApp.news_url=None"]
    assert make.lab(extra) == 0
    assert installed == [("requirements.txt",)]
    assert started[0][:2] == [str(make.BIN / "jupyter"), "lab"] and FIRST_NOTEBOOK in started[0]
    missing = [path for path, code in served.items() if code != 200]
    assert not missing, (
        f"JupyterLab started by make.py lab does not serve {missing}. `jupyter lab <file>` makes the file's "
        "folder (notebooks/) the server root, so ../Images/ links break; make.py should pass "
        "--ServerApp.root_dir=<repository root>.")


@pytest.mark.parametrize("euid, extra, added", [
    (0, [], True), (0, ["--allow-root"], False), (0, ["--ServerApp.allow_root=True"], False),
    (1000, [], False)])
def test_make_py_lab_adds_allow_root_only_for_root(monkeypatch, capsys, euid, extra, added):
    """As root (a Docker container) JupyterLab refuses to start without --allow-root: make.py adds it."""
    make = load_make()
    calls = []
    monkeypatch.setattr(make, "ensure_venv", lambda *files: None)
    monkeypatch.setattr(make, "run", lambda *args: calls.append(args) or 0)
    monkeypatch.setattr(make.os, "geteuid", lambda: euid, raising=False)
    assert make.lab(list(extra)) == 0
    (args,) = calls
    given = extra == ["--allow-root"]
    assert args[:2] == ("jupyter", "lab") and args.count("--allow-root") == (1 if added or given else 0)
    assert ("adding --allow-root" in capsys.readouterr().out) == added


def test_readme_states_the_supported_pythons():
    """The range make.py accepts (tests/setup/test_make.py checks make.py and pyproject.toml agree)."""
    oldest, newest = (".".join(map(str, v)) for v in load_make().SUPPORTED)
    start = README.split("\n## 开始 / Start", 1)[1].split("\n## ", 1)[0]
    assert f"any Python from {oldest} to {newest}" in start and f"{oldest} 到 {newest}" in start
    assert f"{newest} is the newest Python torch" in start
    assert "python3.11" not in README and "py -3.11" not in README, "the commands are version-neutral"


def test_ci_runs_the_readme_test_command():
    """On the oldest supported Python and on a newer one, each in its own venv."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in ci.splitlines()]
    assert "python3 make.py test" in lines and 'POOLKIT_VENV=".venv-$NEWEST" python3 make.py test' in lines
    versions = dict(re.findall(r"^(OLDEST|NEWEST)=(\d+\.\d+)\b", ci, re.M))
    oldest, newest = (tuple(map(int, versions[k].split("."))) for k in ("OLDEST", "NEWEST"))
    supported = load_make().SUPPORTED
    assert oldest == supported[0] and oldest < newest <= supported[1], versions
    subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], check=True)


def test_cpu_index_is_binders():
    """The index the README's CPU-only section names is make.py's and Binder's."""
    make = load_make()
    assert f"(`{CPU_INDEX_URL}`)" in README and make.CPU_INDEX == CPU_INDEX_URL
    assert f"wheels within {make.PROBE_SECONDS} s" in README, "the README states the probe's time limit"
    binder = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert f"--extra-index-url {CPU_INDEX_URL}" in binder


def test_make_py_passes_pip_settings_through(monkeypatch, tmp_path):
    """A learner's own PIP_EXTRA_INDEX_URL (the README's earlier CPU-only advice) still works: make.py adds
    no index then, and never replaces the environment of its pip calls."""
    make = load_make()
    make.use_venv(tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", CPU_INDEX_URL)
    assert make.torch_index(creating=True) == (None, make.torch_index(creating=True)[1])  # adds no index
    calls = []
    fake_run = lambda args, **kwargs: calls.append((args, kwargs)) or types.SimpleNamespace(stdout="")  # noqa: E731
    monkeypatch.setattr(make, "subprocess", types.SimpleNamespace(run=fake_run))
    make.ensure_venv("requirements.txt")
    (args, kwargs), _, _ = calls  # requirements.txt; d2l with --no-deps; pip check
    assert args[1:4] == ["-m", "pip", "install"] and "env" not in kwargs
    assert not any("index-url" in a for a in args), "make.py must not override the learner's pip settings"


def test_make_py_clean_runs_the_clean_tool(monkeypatch):
    make = load_make()
    monkeypatch.setattr(make, "ensure_venv", lambda *files: None)
    assert make.clean(["--check"]) == 0, "a notebook is stored with outputs: run python3 make.py clean"


def test_make_py_test_runs_ruff_then_pytest(monkeypatch):
    make = load_make()
    monkeypatch.setattr(make, "ensure_venv", lambda *files: None)
    calls = []
    monkeypatch.setattr(make, "run", lambda *args: calls.append(args) or 0)
    assert make.test(["-k", "x"]) == 0
    assert calls == [("ruff", "check", "."), ("python", "-m", "pytest", "-k", "x")]


def test_one_notebook_command_selects_it():
    args = shlex.split(".venv/bin/pytest tests/lesson/test_notebooks.py -k 01-pool2d -q")
    result = subprocess.run([sys.executable, "-m", "pytest", *args[1:], "--collect-only", "-p",
                             "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^1(/\d+)? tests? collected", result.stdout, re.M), result.stdout


def test_version_check_command_runs():
    args = shlex.split(VERSIONS)
    python = ROOT / args[0]
    if not python.exists():
        python = Path(sys.executable)  # the suite may run from another venv with the same pins
    result = subprocess.run([str(python), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    torch_version, vision_version = result.stdout.split()
    assert torch_version.startswith("2.14.1") and vision_version.startswith("0.29.2"), result.stdout


# README `python -m` commands that no other test runs as a command: run them here, on their quick setting
# (module -> arguments, a line the output must contain).
# poolkit.bench_widget has no quick setting: its full run (~40 s here) includes the headless-Chromium part.
RUN_HERE = {"poolkit.bench": (["--quick"], "worst vectorized/torch ratio"),
            "poolkit.bench_widget": ([], "kernel messages sent while playing")}


@pytest.mark.parametrize("command", [c for c in EXERCISED if " -m poolkit." in c])
def test_python_m_commands_are_tested(command):
    """A `python -m poolkit.X` command in the README exists, and a test runs it as a command."""
    module = command.split(" -m ", 1)[1].split()[0]
    assert importlib.util.find_spec(module) is not None, f"{module} does not exist"
    if module == "poolkit.bench_widget":
        require_chromium()  # its browser part; skips on a laptop without Chromium, fails in CI
    if module in RUN_HERE:
        args, expected = RUN_HERE[module]
        result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0 and expected in result.stdout, result.stdout[-2000:] + result.stderr
        return
    runs = [p.name for p in TESTS.rglob("test_*.py") if p.name != Path(__file__).name
            and re.search(rf"""["']-m["'],\s*["']{re.escape(module)}["']""", p.read_text())]
    assert runs, f"no test runs `python -m {module}`"


def test_binder_local_check_script():
    """Smoke test only: the full run takes minutes and 6 GB (its result is recorded in the README)."""
    script = ROOT / "tools" / "binder_local_check.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    result = subprocess.run(["bash", str(script), "no-such-stage"], capture_output=True, text=True,
                            env={**os.environ, "BINDER_VENV": "/nonexistent"})
    assert result.returncode == 2 and "usage" in result.stderr
    text = script.read_text(encoding="utf-8")
    for part in ("binder/requirements.txt", "./binder/postBuild", "tests/lesson/test_notebooks.py"):
        assert part in text, part
