"""make.py: which Pythons it accepts, how it installs (d2l with --no-deps), and which torch build it picks.

The torch-build decision is tested with the platform, the driver check and the probe stubbed; the probe
itself is tested against a tiny package index served on 127.0.0.1 (answering, silent, and closed).
"""

import http.server
import socket
import sys
import threading
import time
import tomllib
import types
from pathlib import Path

import pytest
from conftest import load_make
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
make = load_make()
OLDEST, NEWEST = make.SUPPORTED


def fake_python(monkeypatch, version):
    fake_sys = types.SimpleNamespace(version_info=(*version, "final", 0),
                                     version=".".join(map(str, version)), exit=sys.exit, platform="linux")
    monkeypatch.setattr(make, "sys", fake_sys)


# --- supported Pythons -------------------------------------------------------------------------------


def test_supported_range_is_3_11_to_3_14():
    """3.14 is the newest CPython torch 2.14.1 has wheels for on PyPI (checked with pip download
    --python-version 3.14 / 3.15 when the pins were chosen); 3.11 is the oldest tested."""
    assert make.SUPPORTED == ((3, 11), (3, 14))
    assert make.pins()["torch"] == "2.14.1", "a new torch may move the upper end: check its wheels, then here"


@pytest.mark.parametrize("minor", range(OLDEST[1], NEWEST[1] + 1))
def test_make_py_accepts_every_supported_python(monkeypatch, minor):
    fake_python(monkeypatch, (3, minor, 2))
    make.check_python()


@pytest.mark.parametrize("version", [(3, OLDEST[1] - 1, 9), (3, NEWEST[1] + 1, 0), (2, 7, 18)])
def test_make_py_refuses_others_naming_the_range_and_the_fix(monkeypatch, version):
    fake_python(monkeypatch, version)
    with pytest.raises(SystemExit) as refused:
        make.check_python()
    message = str(refused.value)
    assert "needs Python 3.11 to 3.14" in message and "python3.14 make.py lab" in message
    assert "py -3.14 make.py lab" in message


def test_pyproject_states_the_same_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requires = SpecifierSet(project["requires-python"])
    inside = [f"3.{m}" for m in range(OLDEST[1], NEWEST[1] + 1)]
    assert all(v in requires for v in inside) and "3.10" not in requires and "3.15" not in requires
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["target-version"]
    assert ruff == f"py3{OLDEST[1]}", "ruff must flag syntax the oldest supported Python lacks"


def test_a_venv_of_another_python_is_refused_not_reused(monkeypatch, tmp_path):
    make.use_venv(tmp_path / ".venv")
    try:
        (tmp_path / ".venv").mkdir()
        (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
        fake_python(monkeypatch, (3, 13, 0))
        with pytest.raises(SystemExit, match=r"made with Python 3\.11.*--venv \.venv-3\.13"):
            make.ensure_venv("requirements.txt")
    finally:
        make.use_venv(ROOT / ".venv")


def test_make_py_options_are_taken_out_of_the_tools_arguments(monkeypatch):
    calls = []
    monkeypatch.setitem(make.commands, "test", lambda extra: calls.append((make.VENV, extra)) or 0)
    monkeypatch.setenv("POOLKIT_TORCH", "")  # restored (unset) after the test
    try:
        assert make.main(["test", "--venv", ".venv-3.13", "-k", "trace", "--cpu"]) == 0
        assert calls == [(Path(".venv-3.13").resolve(), ["-k", "trace"])]
        assert make.os.environ["POOLKIT_TORCH"] == "cpu"
        with pytest.raises(SystemExit):
            make.main(["--cuda"])  # no command: the usage text
    finally:
        make.use_venv(ROOT / ".venv")


# --- installing: requirements.txt, then d2l with --no-deps, then pip check ---------------------------


def test_d2l_comes_with_no_deps_after_the_requirements(monkeypatch, tmp_path):
    make.use_venv(tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()  # an existing venv: no torch decision, no index
    calls = []

    def fake_run(args, **kwargs):
        calls.append(args[3:])
        assert "env" not in kwargs, "make.py must not replace the environment of its pip calls"
        report = "d2l 1.0.3 has requirement numpy==1.23.5, but you have numpy 2.4.6.\n"
        return types.SimpleNamespace(stdout=report, returncode=1)

    monkeypatch.setattr(make, "subprocess", types.SimpleNamespace(run=fake_run))
    try:
        make.ensure_venv("requirements.txt", "requirements-test.txt")
    finally:
        make.use_venv(ROOT / ".venv")
    install, nodeps, check = calls
    assert install[:2] == ["install", "--disable-pip-version-check"] and "--no-deps" not in install
    assert [a for a in install if a.endswith(".txt")] == [str(ROOT / "requirements.txt"),
                                                            str(ROOT / "requirements-test.txt")]
    assert not any("index-url" in a for a in install)
    assert "--no-deps" in nodeps and nodeps[-1] == str(ROOT / make.NO_DEPS)
    assert check == ["check"]
    assert make.pins(ROOT / make.NO_DEPS) == {"d2l": "1.0.3"}
    assert "d2l" not in make.pins(), "d2l in requirements.txt would pull in its 2023 pins"
    assert len(list(tmp_path.glob(".installed-*"))) == 3  # one stamp per file, requirements-nodeps.txt too


def test_pip_check_other_conflicts_stop_the_install():
    report = ("d2l 1.0.3 requires jupyter, which is not installed.\n"
              "d2l 1.0.3 has requirement numpy==1.23.5, but you have numpy 2.4.6.\n"
              "torchvision 0.29.2 has requirement torch==2.14.1, but you have torch 2.13.0+cpu.\n")
    assert make.unexpected_conflicts(report) == [report.splitlines()[2]]
    assert make.unexpected_conflicts("No broken requirements found.\n") == []


# --- which torch build: the decision, with platform, driver and probe stubbed -------------------------


@pytest.fixture
def decide(monkeypatch, tmp_path):
    """torch_index(creating) for a given platform, driver, probe answer and POOLKIT_TORCH/PIP_* setting."""
    make.use_venv(tmp_path / ".venv")
    for name in ("POOLKIT_TORCH", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    probes = []

    def run(platform="linux", nvidia=False, answers=True, creating=True, env=None):
        monkeypatch.setattr(make, "sys", types.SimpleNamespace(platform=platform, exit=sys.exit))
        monkeypatch.setattr(make, "nvidia_driver", lambda: nvidia)
        monkeypatch.setattr(make, "index_answers", lambda *a, **k: probes.append(1) or answers)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        return make.torch_index(creating)

    run.probes = probes
    yield run
    make.use_venv(ROOT / ".venv")


def test_linux_without_driver_with_answering_index_gets_cpu(decide):
    index, reason = decide()
    assert index == make.CPU_INDEX and "CPU-only" in reason and "no NVIDIA driver" not in reason
    assert reason.startswith("torch: ") and "\n" not in reason


@pytest.mark.parametrize("case, expected_words", [
    (dict(answers=False), "did not answer"),            # this project's machines and CI
    (dict(nvidia=True), "NVIDIA driver is present"),
    (dict(platform="darwin"), "no CUDA libraries on darwin"),
    (dict(platform="win32"), "no CUDA libraries on win32"),
    (dict(env={"POOLKIT_TORCH": "cuda"}), "--cuda"),
    (dict(env={"PIP_EXTRA_INDEX_URL": "https://example.org/simple"}), "make.py adds no index"),
])
def test_every_other_case_gets_pypi(decide, case, expected_words):
    index, reason = decide(**case)
    assert index is None and expected_words in reason


def test_the_probe_runs_only_when_the_rest_says_cpu(decide):
    decide(nvidia=True)
    decide(platform="darwin")
    decide(creating=False)
    assert decide.probes == []
    decide()
    assert decide.probes == [1]


def test_cpu_flag_overrides_the_driver_and_platform_checks(decide):
    index, reason = decide(nvidia=True, platform="darwin", env={"POOLKIT_TORCH": "cpu"})
    assert index == make.CPU_INDEX and "--cpu" in reason
    with pytest.raises(SystemExit, match="did not answer"):  # asked for, unreachable: say so, don't fall back
        decide(answers=False, env={"POOLKIT_TORCH": "cpu"})
    with pytest.raises(SystemExit, match="use cpu or cuda"):
        decide(env={"POOLKIT_TORCH": "gpu"})


def test_an_existing_venv_keeps_the_build_it_was_created_with(decide):
    make.VENV.mkdir()
    assert decide(creating=False)[0] is None  # no record (made before this choice existed): PyPI
    (make.VENV / "torch-build.txt").write_text(make.CPU_INDEX + "\n")
    index, reason = decide(creating=False, answers=False)
    assert index == make.CPU_INDEX and "when .venv was created" in reason


def test_creating_records_the_choice(monkeypatch, tmp_path):
    make.use_venv(tmp_path / "v")
    monkeypatch.setattr(make, "torch_index", lambda creating: (make.CPU_INDEX, "torch: test"))
    monkeypatch.setattr(make.venv, "create", lambda path, with_pip: (Path(path) / "bin").mkdir(parents=True))
    calls = []
    monkeypatch.setattr(make, "subprocess", types.SimpleNamespace(
        run=lambda args, **kw: calls.append(args) or types.SimpleNamespace(stdout="", returncode=0)))
    try:
        make.ensure_venv("requirements.txt")
    finally:
        make.use_venv(ROOT / ".venv")
    assert (tmp_path / "v" / "torch-build.txt").read_text().strip() == make.CPU_INDEX
    assert calls[0][calls[0].index("--extra-index-url") + 1] == make.CPU_INDEX
    assert "--extra-index-url" not in calls[1], "d2l comes from PyPI"


# --- the probe itself, against a package index on 127.0.0.1 -------------------------------------------


def serve(pages):
    """A PEP 503 'simple' index on a free local port: {"torch/": html, ...}. Returns (url, server)."""

    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.lstrip("/"))
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def links(name, *versions):
    """How download.pytorch.org lists wheels: '+' URL-encoded in the href, plain in the text."""
    rows = [f'<a href="/whl/cpu/{name}-{v.replace("+", "%2B")}-cp311-cp311-linux_x86_64.whl">'
            f'{name}-{v}-cp311-cp311-linux_x86_64.whl</a><br/>' for v in versions]
    return "<html><body>" + "\n".join(rows) + "</body></html>"


def test_probe_answering_index():
    url, server = serve({"torch/": links("torch", "2.13.0+cpu", "2.14.1+cpu"),
                         "torchvision/": links("torchvision", "0.29.2+cpu")})
    try:
        assert make.index_answers(url, timeout=3)
    finally:
        server.shutdown()


def test_probe_index_without_the_pinned_pair():
    url, server = serve({"torch/": links("torch", "2.14.1+cpu"),
                         "torchvision/": links("torchvision", "0.28.0+cpu")})
    try:
        assert not make.index_answers(url, timeout=3)
        assert not make.index_answers(url + "/nowhere", timeout=3)  # 404
    finally:
        server.shutdown()


def test_probe_gives_up_on_a_closed_port_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: connections are refused
    start = time.monotonic()
    assert not make.index_answers(f"http://127.0.0.1:{port}", timeout=3)
    assert time.monotonic() - start < 2


def test_probe_never_hangs_on_a_silent_index():
    """A host that accepts the connection and never answers (what a dead proxy looks like)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever reads or writes
        start = time.monotonic()
        assert not make.index_answers(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=1)
        elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 3, elapsed  # the deadline, not the 180 s pip would wait here


def test_the_probe_stays_short():
    assert make.PROBE_SECONDS <= 5
