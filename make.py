"""Set up and run the collection with one command each (Python 3.11, standard library only).

    python3.11 make.py lab     # create .venv if needed, install requirements.txt, open JupyterLab
    python3.11 make.py test    # same plus requirements-test.txt, then ruff and the whole test suite
    python3.11 make.py clean   # strip outputs, execution counts and widget state from notebooks/
    python3.11 make.py site    # build the static site in site/ (every notebook executed, no CDN needed)

Extra arguments go to the tool: `python3.11 make.py test -k trace`, `python3.11 make.py lab --no-browser`.
The system Python is never touched: everything is installed into ./.venv.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("POOLKIT_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
FIRST_NOTEBOOK = "notebooks/01-pool2d-from-scratch.ipynb"


def check_python():
    if sys.version_info[:2] != (3, 11):
        sys.exit(
            f"make.py needs Python 3.11, but this is Python {sys.version.split()[0]}.\n"
            "d2l 1.0.3 pins numpy==1.23.5, which has no wheels for Python 3.12+.\n"
            "Fix: install Python 3.11 (python.org, pyenv, or `uv python install 3.11`) and run "
            "`python3.11 make.py ...` (on Windows: `py -3.11 make.py ...`)."
        )


def ensure_venv(*requirement_files):
    """Create .venv once; install each requirements file again only when its text changes."""
    check_python()
    if not (BIN / "python").exists() and not (BIN / "python.exe").exists():
        print(f"Creating the virtual environment {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    stamps = {f: VENV / f".installed-{f}-{hashlib.sha256((ROOT / f).read_bytes()).hexdigest()[:16]}"
              for f in requirement_files}
    missing = [f for f, stamp in stamps.items() if not stamp.exists()]
    if missing:
        args = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        for f in requirement_files:  # all of them, so pip resolves them together
            args += ["-r", str(ROOT / f)]
        print("Installing (the first time takes a few minutes and ~6 GB) ...", flush=True)
        subprocess.run(args, cwd=ROOT, check=True)
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


if __name__ == "__main__":
    commands = {"lab": lab, "test": test, "clean": clean, "site": site}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]](sys.argv[2:]))
