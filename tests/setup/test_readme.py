"""The README is a door, the docs hold the detail, and every command any of them shows is exercised.

README.md, CONTRIBUTING.md and docs/*.md are "the docs". Their commands are read from fenced shell blocks
and from inline code that starts like a command. Each must be a key of EXERCISED; a command nothing
exercises fails `test_every_documented_command_is_exercised`, and an exerciser that no longer holds fails
its own test below. No doc states a timing, size or load measured on the machines that build the project,
or a dated run (`test_no_doc_reports_our_machines`): a figure that varies comes from a command that prints it.
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
# Docs the README links to before they exist on this branch: each is checked as soon as it exists, and the
# test then asks for its entry here to go (docs/site.md: written on the site branch).
PENDING = set()  # docs linked before they exist (none now)
SHELL_BLOCK = re.compile(r"^\s*```(bash|sh|shell|console|powershell)\n(.*?)^\s*```", re.M | re.S)
ANY_BLOCK = re.compile(r"^\s*```.*?^\s*```", re.M | re.S)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
COMMAND_START = ("python", "py ", ".venv/", "bash ", "sh ", "pip ", "pip3 ", "PIP_", "jupyter", "pytest",
                 "ruff", "rm ", "git ", "apt ", "apt-get ", "uv ", "conda ", "sudo ", "make ", "./")
CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"
VERSIONS = ('.venv/bin/python -c "import torch, torchvision; '
            'print(torch.__version__, torchvision.__version__)"')
FAST_LESSON = 'python3 make.py test tests/lesson -m "not browser and not notebook and not slow"'
BINDER_URL = "https://mybinder.org/v2/gh/{owner}/{repo}/HEAD?urlpath=lab/tree/" + FIRST_NOTEBOOK
BINDER_BADGE = "[![Binder](https://mybinder.org/badge_logo.svg)]({url})"

# Documented command -> the test (in this file unless a path is given) or script that exercises it.
EXERCISED = {
    "python3 make.py lab": "test_make_py_lab_serves_notebook_01",
    "py make.py lab": "test_make_py_lab_serves_notebook_01 (Windows' launcher, the same make.py)",
    "python3 make.py test": ".ci/run (test_ci_runs_the_readme_test_command)",
    "py make.py test": ".ci/run (the Windows launcher runs the same make.py)",
    FAST_LESSON: "test_fast_lesson_command_runs_only_the_teaching_codes_fast_tests",
    "python3.13 make.py lab":
        "tests/setup/test_make.py (test_make_py_accepts_every_supported_python); .ci/run",
    "py -3.13 make.py lab": "tests/setup/test_make.py (test_make_py_accepts_every_supported_python)",
    "python3.13 make.py --venv .venv-3.13 lab":
        "tests/setup/test_make.py (test_make_py_options_are_taken_out_of_the_tools_arguments); .ci/run",
    "pip check": "tests/setup/test_dependencies.py (test_pip_check_complains_only_about_d2ls_own_pins)",
    "pip install --no-deps d2l==1.0.3": "test_own_environment_commands_are_make_pys",
    "pip install -r requirements.txt": "test_own_environment_commands_are_make_pys",
    "pip install --no-deps -r requirements-nodeps.txt": "test_own_environment_commands_are_make_pys",
    "python3 make.py lab --cpu":
        "tests/setup/test_make.py (test_cpu_flag_overrides_the_driver_and_platform_checks)",
    "python3 make.py lab --cuda": "tests/setup/test_make.py (test_every_other_case_gets_pypi)",
    "python3 make.py clean": "test_make_py_clean_runs_the_clean_tool",
    "python3 make.py site":
        "tests/setup/test_site.py (the site fixture runs make.py site on a small project)",
    "python3 make.py site --rerun":
        "tests/setup/test_site.py (test_a_second_build_executes_nothing_and_a_change_reruns_only_that_"
        "notebook)",
    "python3 make.py site-bench": "tests/setup/test_site.py (test_make_py_site_bench_runs_the_benchmark)",
    "python3 make.py site-bench --pages index.html":
        "tests/setup/test_site.py (test_make_py_site_bench_runs_the_benchmark)",
    "python3 -m http.server -d site 8000":
        "tests/setup/test_site.py (the server fixture runs python -m http.server -d)",
    ".venv/bin/pytest tests/lesson/test_notebooks.py -k 01-pool2d -q": "test_one_notebook_command_selects_it",
    ".venv/bin/ruff check .": "test_make_py_test_runs_ruff_then_pytest",
    VERSIONS: "test_version_check_command_runs",
    ".venv/bin/python -m poolkit.images": "tests/lesson/test_images.py (test_python_m_commands_are_tested)",
    ".venv/bin/python -m poolkit.bench": "a test that runs it (test_python_m_commands_are_tested)",
    ".venv/bin/python -m poolkit.bench_widget": "a test that runs it (test_python_m_commands_are_tested)",
    "bash .ci/run": "CI itself (test_ci_runs_the_readme_test_command)",
    "bash tools/binder_local_check.sh": "test_binder_local_check_script (smoke; a full run prints results)",
    "git remote get-url origin": "test_a_binder_badge_only_with_a_github_origin",
}


def doc_paths():
    """README.md, CONTRIBUTING.md and every docs/*.md, as paths relative to the repository."""
    return ["README.md", "CONTRIBUTING.md", *sorted(p.relative_to(ROOT).as_posix()
                                                    for p in (ROOT / "docs").glob("*.md"))]


def doc(path):
    return (ROOT / path).read_text(encoding="utf-8")


def commands_in(text):
    """Commands in a doc's shell blocks (comments dropped) and in inline code that looks like one."""
    commands = []
    for _, body in SHELL_BLOCK.findall(text):
        for line in body.splitlines():
            line = re.sub(r"\s+#.*$", "", line.strip())
            if line and not line.startswith("#"):
                commands.append(" ".join(line.split()))
    for span in INLINE.findall(ANY_BLOCK.sub("", text)):
        if span.startswith(COMMAND_START):
            commands.append(" ".join(span.split()))
    return commands


def readme_commands():
    return commands_in(README)


def section(text, heading):
    """A doc's section from its `## heading` line to the next `## `."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_every_documented_command_is_exercised():
    assert len(readme_commands()) >= 4, readme_commands()  # the extraction itself works
    shown = {path: commands_in(doc(path)) for path in doc_paths()}
    assert sum(map(len, shown.values())) >= 20, shown
    unexercised = sorted({f"{path}: {c}" for path, commands in shown.items() for c in commands
                          if c not in EXERCISED})
    assert not unexercised, f"commands in the docs that no test or .ci/run exercises: {unexercised}"


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


# --- the README is a door ------------------------------------------------------------------------------


def test_readme_is_a_door():
    """What it is, the two commands, the notebooks, the widget, links to the rest: in that order, short."""
    assert len(README) <= 10_000, f"README.md has {len(README)} characters; move detail into docs/"
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings == ["开始 / Start", "笔记本 / The notebooks",
                        "滑动窗口小部件 / The sliding-window widget", "更多 / Read more"], headings
    intro = README.split("\n## ", 1)[0]
    assert "**中文**" in intro and "**English**" in intro, "what the collection is, in both languages"
    widget = section(README, "滑动窗口小部件 / The sliding-window widget")
    assert "poolkit.SlidingWindow" in widget and len(re.findall(r"\]\(Images/[\w-]+\.gif\)", widget)) >= 2


def test_readme_has_the_two_commands_in_its_first_40_lines():
    top = "\n".join(README.splitlines()[:40])
    commands = commands_in(top)
    assert "python3 make.py lab" in commands and "python3 make.py test" in commands, top
    assert "py make.py lab" in readme_commands() and "py make.py test" in readme_commands()


def test_readme_links_every_doc():
    for path in ["CONTRIBUTING.md", *sorted(PENDING), *doc_paths()[2:]]:
        assert f"]({path})" in README, f"README.md does not link to {path}"


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped (CJK kept), spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def test_local_links_exist():
    """Every relative link (and #anchor) in the docs resolves; README links Images/ and notebooks/."""
    targets = re.findall(r"\]\(((?:Images|notebooks)/[^)#\s]+)\)", README)
    assert any(t.endswith(".gif") for t in targets) and any(t.startswith("notebooks/") for t in targets)
    broken = []
    for path in doc_paths():
        text = ANY_BLOCK.sub("", doc(path))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            resolved = ((ROOT / path).parent / file).resolve() if file else ROOT / path
            where = resolved.relative_to(ROOT).as_posix()
            if where in PENDING and not resolved.exists():
                continue
            if not resolved.exists():
                broken.append(f"{path}: {target}")
            elif anchor and resolved.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", resolved.read_text(encoding="utf-8"), re.M)
                if anchor not in map(slug, headings):
                    broken.append(f"{path}: {target} (no such heading)")
    assert not broken, f"links to files or headings that do not exist: {broken}"
    arrived = sorted(p for p in PENDING if (ROOT / p).exists())
    assert not arrived, f"{arrived} exist now: remove them from PENDING in {Path(__file__).name}"


def test_readme_lists_every_notebook():
    notebooks_section = section(README, "笔记本 / The notebooks")
    notebooks = (p for p in (ROOT / "notebooks").glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    for path in sorted(notebooks):
        link = path.relative_to(ROOT).as_posix()
        assert f"]({link})" in notebooks_section, f"{link} is missing from the README's notebook section"
    # The site's index is this section: a link out of it would be a broken link on the site.
    links = re.findall(r"\]\(([^)\s]+)\)", notebooks_section)
    assert all(link.startswith("notebooks/") for link in links), links


# --- Binder --------------------------------------------------------------------------------------------


def github_origin():
    """(owner, repo) of `git remote get-url origin` if it is on GitHub, else None."""
    origin = subprocess.run(["git", "-C", str(ROOT), "remote", "get-url", "origin"],
                            capture_output=True, text=True).stdout.strip()
    github = re.fullmatch(r"(?:https://github\.com/|git@github\.com:)([\w.-]+)/([\w.-]+?)(?:\.git)?/?",
                          origin)
    return github.groups() if github else None


def test_a_binder_badge_only_with_a_github_origin():
    """A badge in the README launches the repository `origin` names on GitHub, as docs/binder.md's line;
    while there is no GitHub origin there is no badge (it could only launch a placeholder)."""
    launches = re.findall(r"mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/", README)
    origin = github_origin()
    if origin is None:
        assert not launches, "README has a Binder link, but origin is not on GitHub (see docs/binder.md)"
        return
    owner, repo = origin
    for found in launches:
        assert found == origin, f"README's Binder link says {'/'.join(found)}, but origin is {owner}/{repo}"
    if launches:
        badge = BINDER_BADGE.format(url=BINDER_URL.format(owner=owner, repo=repo))
        assert badge in README, f"paste docs/binder.md's badge line with {owner}/{repo}: {badge}"


def test_binder_doc_gives_the_url_pattern_and_the_badge_line():
    binder = doc("docs/binder.md")
    url = BINDER_URL.format(owner="OWNER", repo="REPO")
    assert f"```text\n{url}\n```" in binder
    assert f"```markdown\n{BINDER_BADGE.format(url=url)}\n```" in binder
    assert load_make().FIRST_NOTEBOOK == FIRST_NOTEBOOK and (ROOT / FIRST_NOTEBOOK).exists()
    for path in doc_paths():
        assert "GITHUB_OWNER" not in doc(path), f"{path}: the placeholder badge is gone; see docs/binder.md"


# --- the facts the docs state ----------------------------------------------------------------------------


def test_dependency_table_matches_requirements():
    make = load_make()
    pins = {**make.pins(), **make.pins(ROOT / make.NO_DEPS)}
    assert "d2l" in pins and "numpy" in pins
    rows = dict(re.findall(r"^\| ([\w.-]+) \| ([\w.]+) \|", doc("CONTRIBUTING.md"), re.M))
    for name, version in pins.items():
        assert rows.get(name) == version, f"CONTRIBUTING.md's dependency table: {name} should say {version}"


def test_docs_state_the_supported_pythons():
    """The range make.py accepts (tests/setup/test_make.py checks make.py and pyproject.toml agree)."""
    oldest, newest = (".".join(map(str, v)) for v in load_make().SUPPORTED)
    start = section(README, "开始 / Start")
    assert f"Python from {oldest} to {newest}" in start and f"{oldest} 到 {newest}" in start
    versions = section(doc("docs/install.md"), "哪些 Python 版本 / Which Python versions")
    assert f"{newest} is the newest Python torch" in versions and f"{oldest} 到 {newest}" in versions
    for path in doc_paths():
        assert f"python{oldest}" not in doc(path) and f"py -{oldest}" not in doc(path), (
            f"{path}: the commands are version-neutral")


def test_cpu_index_is_binders():
    """The index docs/install.md's CPU-only section names is make.py's and Binder's."""
    make = load_make()
    install = doc("docs/install.md")
    assert f"(`{CPU_INDEX_URL}`)" in install and make.CPU_INDEX == CPU_INDEX_URL
    assert f"wheels within {make.PROBE_SECONDS} s" in install, "docs/install.md states the probe's time limit"
    binder = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert f"--extra-index-url {CPU_INDEX_URL}" in binder


# --- no doc reports our machines ---------------------------------------------------------------------

# Each pattern is one way a measurement of the build machines, or a dated run, shows in prose.
MEASUREMENTS = {
    "measured here": r"(?i)\bmeasured here\b|这里测|在这里（",
    "our machines": r"(?i)\b(?:on|from|of) (?:this|these|our|(?:this|the) project's) (?:own )?machines?\b"
                    r"|这台|本机",
    "from here": r"(?i)\b(?:from|unreachable|reachable|installed|took [^.\n]{0,30}) here\b",
    "a load": r"(?i)\bload(?: average)?\s*(?:of|about|around|at)?\s*[~≈]?\s*\d|负载\s*[约为~≈]?\s*\d"
              r"|\bload average\b|机器的负载",
    "CPU cores": r"(?i)\b\d+\s+(?:(?:busy|idle|nearly|free)\s+)*(?:CPU\s+)?cores?\b|\d+\s*核",
    "a date": r"\b20\d\d-\d\d-\d\d\b|\b\d{1,2}:\d\d\s*UTC\b",
    "a dated run": r"(?i)\blast run\b|上次运行",
    "a timing": r"(?<![\w.])\d+(?:\.\d+)?(?:\s*[–-]\s*\d+(?:\.\d+)?)?\s?(?:s|ms|秒|毫秒)(?![\w])",
    "a run's minutes": r"(?i)\b(?:takes?|took)\s+(?:about\s+)?[\d.]+\s*min|(?:用了|运行约)\s*[\d.]+\s*分钟",
    "a size": r"(?<![\w.])\d+(?:\.\d+)?\s?(?:[KMG]i?B)\b",
}
# Figures that are rules or limits, not measurements: phrase -> where it is defined.
STATED = {
    "30 s per code cell": "the time rule (tests/lesson/test_lesson.py minutes_by_rule)",
    "每个代码格 30 秒": "the time rule, in Chinese",
    "within 4 s": "make.py PROBE_SECONDS (test_cpu_index_is_binders)",
    "LCP ≤ 2.5 s": "the site's target (tools/site_bench.py MAX_LCP_S)",
}


def measurements(text):
    """(pattern name, the line) for every line of text that reports a measurement or a dated run."""
    found = []
    for line in text.splitlines():
        for phrase in STATED:
            line = line.replace(phrase, "")
        found += [(name, line.strip()) for name, pattern in MEASUREMENTS.items() if re.search(pattern, line)]
    return found


def test_no_doc_reports_our_machines():
    """A figure that varies comes from a command that prints it (python -m poolkit.bench, ...), not a doc."""
    ci_comments = "\n".join(line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                            if line.lstrip().startswith("#"))
    texts = [*((path, doc(path)) for path in doc_paths()), (".ci/run comments", ci_comments)]
    found = [(path, name, line) for path, text in texts for name, line in measurements(text)]
    assert not found, "docs report measurements of our machines or dated runs:\n" + "\n".join(map(str, found))
    assert f"within {load_make().PROBE_SECONDS} s" == "within 4 s", "update STATED with the probe's limit"


# Sentences the README used to have (each a measurement of the build machines or a dated run), and stable
# facts the docs state: the patterns must tell them apart.
REPORTS = [
    "**第一次安装 / First install**: 在这里（2 核 CPU，机器正忙，安装包来自本地镜像）",
    "Python 3.11 用了 **239 秒、6.0 GB**",
    "Measured here on 2 busy CPU cores (load 4–8), with the wheels coming from a local mirror",
    "`requirements.txt` plus d2l into a fresh venv took **239 s and 6.0 GB** on Python 3.11",
    "- **测得 / Measured here**: 在 2 个几乎空闲的 CPU 核上（负载约 1）",
    "完整生成用了 **118 秒**，其中 80 秒是选读「训练实验」",
    "`python3 make.py site` took **118 s** on 2 nearly idle CPU cores (load average about 1)",
    "other notebook took 3–7 s. The site is **10.0 MB** for 8 pages",
    "**在这台机器上 / On this project's machines**: Linux，没有 NVIDIA 驱动",
    "（这里测得整个 `.venv` 约 6 GB，其中 5.2 GB 是 CUDA 版 torch",
    "**2.14.1+cpu was not measured**, because the index is unreachable from these machines.",
    "and the notebook runner on every notebook. Last run on",
    "2026-11-30 (16:14 UTC, on the restructured notebooks, with numpy 2.4.6",
    "venv; and **all 8 notebooks pass** the runner at load ~1 (core 01: 6.8 s, 02: 4.5 s",
    "wheels (the CPU index is unreachable here), `apt.txt` on Ubuntu",
    "（Binder 本身从这里连不上 / mybinder.org cannot be reached from here）",
    "clone here it took **603–650 s** in all, installs included (at a load of 0.7–2 on 2 cores)",
    "# the other's. Measured here in a fresh clone, installs included: 603-650 s at a load of 0.7-2",
    "各训练 3 个种子、30 轮（默认运行约 1.5 分钟）",
    "30 epochs each (the default run takes 1.5 minutes)",
    "基准会打印它们的数字（和机器的负载）",
    "The benchmarks print their figures (with the machine's load average)",
]
FACTS = [
    "1 minute per 300 Chinese characters of prose, 30 s per code cell and 3 minutes per exercise",
    "中文正文每 300 字 1 分钟，每个代码格 30 秒，每道练习 3 分钟",
    "about 25 minutes for 01–03, and about 45 for the exercises; 01–03 约 25 分钟，练习约 45 分钟",
    "| 平移 0–4 像素量一量 / shifts of 0–4 pixels measured | 20 min |",
    "pinned versions' `+cpu` wheels within 4 s).",
    "| torch | 2.14.1 | its wheels stop at Python 3.14, the top of the supported range |",
    "`torch==2.14.1+cpu` / `torchvision==0.29.2+cpu`, jupyter-repo2docker 2026.4.0, Python 3.11 to 3.14",
    "The benchmarks print their figures on your machine; the tests check behaviour, never wall-clock time.",
    "the first launch builds the image, which takes a few minutes, and later launches are faster.",
    "MathJax and images load, and the widgets play; Bilibili BV1EV411j7nX; the book's section 6.5.",
    "OLDEST=3.11  # make.py SUPPORTED: 3.11-3.14; 3.14 is not installed on the CI machines yet",
]


@pytest.mark.parametrize("line", REPORTS)
def test_measurement_patterns_catch_what_the_readme_used_to_report(line):
    assert measurements(line), line


@pytest.mark.parametrize("line", FACTS)
def test_measurement_patterns_leave_stable_facts_alone(line):
    assert not measurements(line), measurements(line)


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


def test_fast_lesson_command_runs_only_the_teaching_codes_fast_tests(monkeypatch):
    """CONTRIBUTING.md's fast command: make.py hands its arguments to pytest, which then collects
    tests/lesson only, without the browser, notebook and slow tests (and there are some to leave out)."""
    args = shlex.split(FAST_LESSON)[3:]
    make = load_make()
    monkeypatch.setattr(make, "ensure_venv", lambda *files: None)
    calls = []
    monkeypatch.setattr(make, "run", lambda *a: calls.append(a) or 0)
    assert make.test(list(args)) == 0 and calls[-1] == ("python", "-m", "pytest", *args)
    result = subprocess.run([sys.executable, "-m", "pytest", *args, "--collect-only", "-q", "-p",
                             "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    assert len(ids) >= 100 and all(i.startswith("tests/lesson/") for i in ids), result.stdout[-2000:]
    slow = [i for i in ids if i.startswith(("tests/lesson/test_browser.py", "tests/lesson/test_images.py"))
            or "::test_notebook_runs[" in i]
    assert not slow, f"the browser tests, the notebook runs and Images/ are not fast: {slow[:5]}"
    assert re.search(r"\b[1-9]\d* deselected", result.stdout), "the marker expression left nothing out"


def test_own_environment_commands_are_make_pys(monkeypatch, tmp_path):
    """docs' `pip install -r requirements.txt`, then d2l alone with --no-deps, is what make.py runs."""
    make = load_make()
    assert make.pins(ROOT / make.NO_DEPS) == {"d2l": "1.0.3"}  # so `--no-deps d2l==1.0.3` is the same
    make.use_venv(tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()  # an existing venv: no torch decision, no index
    calls = []
    fake = lambda args, **kwargs: calls.append(args[3:]) or types.SimpleNamespace(stdout="", returncode=0)  # noqa: E731
    monkeypatch.setattr(make, "subprocess", types.SimpleNamespace(run=fake))
    make.ensure_venv("requirements.txt")
    install, nodeps, check = calls
    assert install == ["install", "--disable-pip-version-check", "-r", str(ROOT / "requirements.txt")]
    assert nodeps == ["install", "--disable-pip-version-check", "--no-deps", "-r", str(ROOT / make.NO_DEPS)]
    assert check == ["check"]


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
    """Smoke test only: a full run takes minutes and gigabytes, and prints its own results."""
    script = ROOT / "tools" / "binder_local_check.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    result = subprocess.run(["bash", str(script), "no-such-stage"], capture_output=True, text=True,
                            env={**os.environ, "BINDER_VENV": "/nonexistent"})
    assert result.returncode == 2 and "usage" in result.stderr
    text = script.read_text(encoding="utf-8")
    for part in ("binder/requirements.txt", "./binder/postBuild", "tests/lesson/test_notebooks.py"):
        assert part in text, part
    assert re.search(r'echo "== install time .*SECONDS.*du -sh', text), "docs/binder.md: it prints both"
