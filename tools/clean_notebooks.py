"""Store notebooks clean: no outputs, no execution counts, no widget state, cell ids, kernel python3.

    python3 make.py clean                 # every notebook under notebooks/ (deep dives too), in place
    python3 make.py clean --check         # exit 1 and list the notebooks that are not clean
"""

import sys
import warnings
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def cleaned(path):
    """The clean text of one notebook."""
    nb = nbformat.read(path, as_version=4)
    nb.nbformat_minor = max(nb.nbformat_minor, 5)  # 4.5 is the first format with cell ids
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    with warnings.catch_warnings():  # normalize() warns about the very ids it is adding
        warnings.simplefilter("ignore", nbformat.warnings.MissingIDFieldWarning)
        _, nb = nbformat.validator.normalize(nb)  # adds missing cell ids
    nb = nbformat.from_dict(nb)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def main(argv):
    check = "--check" in argv
    dirty = []
    paths = [p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    for path in sorted(paths):
        text = cleaned(path)
        if path.read_text(encoding="utf-8") != text:
            dirty.append(path.relative_to(NOTEBOOKS).as_posix())
            if not check:
                path.write_text(text, encoding="utf-8")
    verb = "not clean" if check else "cleaned"
    for name in dirty:
        print(f"{verb}: notebooks/{name}")
    return 1 if check and dirty else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
