"""Set up and run the collection with one command each (standard library only).

    python3 make.py lab     # create .venv if needed, install the requirements, open JupyterLab
    python3 make.py test    # same plus requirements-test.txt, then ruff and the whole test suite
    python3 make.py clean   # strip outputs, execution counts and widget state from notebooks/
    python3 make.py site    # build the static site in site/ (notebooks executed when changed, no CDN needed)
    python3 make.py site-bench   # Lighthouse scores and weights of every page of site/ (docs/site.md)

Any Python from 3.11 to 3.14 (the newest one the pinned torch ships wheels for). On Windows: `py make.py lab`.
If `python3` is older, name a supported one: `python3.13 make.py lab` (Windows: `py -3.13 make.py lab`).

Options of make.py itself (anywhere on the line; everything else goes to the tool, e.g.
`python3 make.py test -k trace`, `python3 make.py lab --no-browser`):
    --venv DIR   install into DIR instead of ./.venv (or POOLKIT_VENV=DIR); one per Python, e.g. .venv-3.13
    --cpu        torch's CPU-only build from PyTorch's CPU wheel index (or POOLKIT_TORCH=cpu)
    --cuda       PyPI's default torch build, with CUDA libraries on Linux (or POOLKIT_TORCH=cuda)
Without either, a new venv on Linux with no NVIDIA driver gets the CPU build if that index answers
within a few seconds, and PyPI's build otherwise. The system Python is never touched.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Oldest and newest supported Python. 3.14 is the newest CPython the pinned torch has wheels for on PyPI
# (Linux, macOS and Windows; checked with `pip download --no-deps --only-binary=:all: --python-version`),
# and every pin in requirements.txt has wheels for all of 3.11-3.14. Keep in step with pyproject.toml.
SUPPORTED = ((3, 11), (3, 14))
# d2l is installed without its dependencies, after requirements.txt: its 2023 pins (numpy==1.23.5, ...)
# cannot install after Python 3.11, and requirements.txt pins what its torch module imports instead.
NO_DEPS = "requirements-nodeps.txt"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_SECONDS = 4
FIRST_NOTEBOOK = "notebooks/01-pool2d-from-scratch.ipynb"
VENV = BIN = None  # set by use_venv()


def use_venv(path):
    global VENV, BIN
    VENV = Path(path).resolve()
    BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


use_venv(os.environ.get("POOLKIT_VENV") or ROOT / ".venv")


def version_text(version):
    return ".".join(map(str, version))


def check_python():
    (oldest, newest), this = SUPPORTED, sys.version_info[:2]
    if not oldest <= this <= newest:
        low, high = version_text(oldest), version_text(newest)
        sys.exit(
            f"make.py needs Python {low} to {high}, but this is Python {sys.version.split()[0]}.\n"
            f"{high} is the newest Python that torch {pins()['torch']} ships wheels for; {low} is the oldest "
            "one this collection is tested on.\n"
            f"Fix: run make.py with a Python from {low} to {high}, e.g. `python{high} make.py lab` "
            f"(Windows: `py -{high} make.py lab`); get one from python.org, pyenv or "
            f"`uv python install {high}`.")


def venv_python_version():
    """(major, minor) of the Python the existing venv was made with, from its pyvenv.cfg."""
    cfg = VENV / "pyvenv.cfg"
    match = cfg.exists() and re.search(r"^version(?:_info)?\s*=\s*(\d+)\.(\d+)", cfg.read_text(), re.M)
    return (int(match[1]), int(match[2])) if match else None


def pins(path=ROOT / "requirements.txt"):
    """{name: version} of the exact pins in a requirements file."""
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(encoding="utf-8"), re.M)
    return {name.lower(): version for name, version in found}


# --- which torch build ------------------------------------------------------------------------------


def nvidia_driver():
    return bool(shutil.which("nvidia-smi")) or os.path.exists("/proc/driver/nvidia")


def index_answers(index=CPU_INDEX, timeout=PROBE_SECONDS):
    """True if `index` lists the +cpu wheels of the pinned torch and torchvision within `timeout` seconds.
    The request runs in a thread that is abandoned at the deadline, so a silent host or a slow DNS
    lookup cannot make make.py hang."""
    wanted = {name: f"{name}-{version}+cpu" for name, version in pins().items()
              if name in ("torch", "torchvision")}
    answered = []

    def ask():
        try:
            for name, wheel in wanted.items():
                with urllib.request.urlopen(f"{index}/{name}/", timeout=timeout) as response:
                    if wheel not in urllib.parse.unquote(response.read().decode("utf-8", "replace")):
                        return
            answered.append(True)
        except (OSError, ValueError):
            pass

    probe = threading.Thread(target=ask, daemon=True)
    probe.start()
    probe.join(timeout)
    return bool(answered)


def torch_index(creating):
    """-> (extra index URL for pip or None, one line saying which torch build and why)."""
    asked = os.environ.get("POOLKIT_TORCH", "").strip().lower()
    if asked not in ("", "cpu", "cuda"):
        sys.exit(f"POOLKIT_TORCH={asked!r}: use cpu or cuda (or the --cpu / --cuda options).")
    recorded = VENV / "torch-build.txt"  # the choice made when the venv was created
    if not creating and not asked:
        if recorded.exists() and recorded.read_text().strip() == CPU_INDEX:
            return CPU_INDEX, f"torch: the CPU-only build, as chosen when {VENV.name} was created."
        return None, f"torch: PyPI's build, as installed when {VENV.name} was created."
    if asked == "cuda":
        return None, "torch: PyPI's default build (with CUDA libraries on Linux), because --cuda was given."
    if asked == "cpu":
        if index_answers():
            return CPU_INDEX, f"torch: the CPU-only build from {CPU_INDEX}, because --cpu was given."
        sys.exit(f"--cpu: PyTorch's CPU wheel index {CPU_INDEX} did not answer within {PROBE_SECONDS} s. "
                 "Check the network, or leave out --cpu to install PyPI's build.")
    if any(os.environ.get(v) for v in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")):
        return None, "torch: whatever your PIP_INDEX_URL / PIP_EXTRA_INDEX_URL offer (make.py adds no index)."
    if not sys.platform.startswith("linux"):
        return None, f"torch: PyPI's build, which has no CUDA libraries on {sys.platform} anyway."
    if nvidia_driver():
        return None, ("torch: PyPI's build with CUDA, because an NVIDIA driver is present "
                      "(nvidia-smi or /proc/driver/nvidia); --cpu forces the CPU-only build.")
    if not index_answers():
        return None, ("torch: PyPI's build (with ~5 GB of CUDA libraries; it runs fine on a CPU): there "
                      "is no NVIDIA driver, but PyTorch's CPU wheel index did not answer within "
                      f"{PROBE_SECONDS} s.")
    return CPU_INDEX, (f"torch: the CPU-only build (~1 GB instead of ~6 GB) from {CPU_INDEX}: Linux "
                       "without an NVIDIA driver; --cuda forces PyPI's CUDA build.")


# --- the venv ---------------------------------------------------------------------------------------


def unexpected_conflicts(report):
    """Lines of `pip check` output not about a package installed with --no-deps (whose pins are ignored
    on purpose: d2l 1.0.3's 2023 pins)."""
    ignored = set(pins(ROOT / NO_DEPS))
    return [line for line in report.splitlines()
            if line.strip() and not line.startswith("No broken requirements")
            and line.split()[0].lower() not in ignored]


def pip(*args, **kwargs):
    return subprocess.run([str(BIN / "python"), "-m", "pip", *args], cwd=ROOT, **kwargs)


def ensure_venv(*requirement_files):
    """Create the venv once; install each requirements file again only when its text changes.
    With requirements.txt comes requirements-nodeps.txt (d2l), installed with --no-deps."""
    check_python()
    made_with = venv_python_version()
    if made_with and made_with != sys.version_info[:2]:
        sys.exit(f"{VENV} was made with Python {version_text(made_with)}, but this is Python "
                 f"{version_text(sys.version_info[:2])}. Fix: use `--venv {VENV.name}-"
                 f"{version_text(sys.version_info[:2])}` (one venv per Python), or delete {VENV}.")
    creating = not (BIN / "python").exists() and not (BIN / "python.exe").exists()
    files = [*requirement_files, *([NO_DEPS] if "requirements.txt" in requirement_files else [])]
    stamps = {f: VENV / f".installed-{f}-{hashlib.sha256((ROOT / f).read_bytes()).hexdigest()[:16]}"
              for f in files}
    missing = [f for f, stamp in stamps.items() if not stamp.exists()]
    if not missing:
        return
    index, reason = torch_index(creating)
    if creating:
        print(f"Creating the virtual environment {VENV} (Python {sys.version.split()[0]}) ...", flush=True)
        venv.create(VENV, with_pip=True)
        (VENV / "torch-build.txt").write_text(f"{index or 'pypi'}\n")
    print(reason, flush=True)
    args = ["install", "--disable-pip-version-check"]
    if index:  # only when it answered: an unreachable index would slow pip down for every package
        args += ["--extra-index-url", index]
    for f in requirement_files:  # all of them, so pip resolves them together
        args += ["-r", str(ROOT / f)]
    print("Installing (the first time takes a few minutes; up to ~6 GB) ...", flush=True)
    pip(*args, check=True)
    if NO_DEPS in files:
        pip("install", "--disable-pip-version-check", "--no-deps", "-r", str(ROOT / NO_DEPS), check=True)
        report = pip("check", capture_output=True, text=True).stdout
        conflicts = unexpected_conflicts(report)
        if conflicts:
            sys.exit("pip check: conflicts besides d2l's own pins:\n  " + "\n  ".join(conflicts)
                     + f"\nFix: delete {VENV} and run make.py again.")
    for f in missing:
        for old in VENV.glob(f".installed-{f}-*"):
            old.unlink()
        stamps[f].touch()


def run(*args):
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT).returncode


def lab(extra):
    ensure_venv("requirements.txt")
    if getattr(os, "geteuid", lambda: 1)() == 0 and not any(
            arg.startswith(("--allow-root", "--ServerApp.allow_root")) for arg in extra):
        # JupyterLab refuses to start as root (e.g. in a Docker container) unless told otherwise.
        print("Running as root: adding --allow-root, without which JupyterLab refuses to start.", flush=True)
        extra = ["--allow-root", *extra]
    # Serve the whole repository, so notebooks can show ../Images/*.gif.
    return run("jupyter", "lab", f"--ServerApp.root_dir={ROOT}", FIRST_NOTEBOOK, *extra)


def test(extra):
    ensure_venv("requirements.txt", "requirements-test.txt")
    print("== ruff", flush=True)
    if run("ruff", "check", ".") != 0:
        return 1
    print("== pytest", flush=True)
    return run("python", "-m", "pytest", *extra)


def clean(extra):
    ensure_venv("requirements.txt", "requirements-test.txt")
    return run("python", "tools/clean_notebooks.py", *extra)


def site(extra):
    ensure_venv("requirements.txt")
    return run("python", "tools/build_site.py", *extra)


def site_bench(extra):
    ensure_venv("requirements.txt", "requirements-test.txt")  # Playwright, for the page weights and axe
    return run("python", "tools/site_bench.py", *extra)


commands = {"lab": lab, "test": test, "clean": clean, "site": site, "site-bench": site_bench}


def main(argv):
    """Take make.py's own options out of argv, then run the command with the rest."""
    rest, argv = [], list(argv)
    while argv:
        arg = argv.pop(0)
        if arg in ("--cpu", "--cuda"):
            os.environ["POOLKIT_TORCH"] = arg[2:]
        elif arg == "--venv" and argv:
            use_venv(argv.pop(0))
        elif arg.startswith("--venv="):
            use_venv(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    if not rest or rest[0] not in commands:
        sys.exit(__doc__)
    return commands[rest[0]](rest[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
