"""The lesson's shape: budgets, the time rule, no workshop text, and fidelity to the lecture and its notes.

Budgets (issue "the lecture-companion path"): the core notebooks (notebooks/*.ipynb) together hold at most
9,000 Chinese characters of markdown prose and 60 code cells; each deep dive (notebooks/deep-dives/) fewer
than 6,000 characters; no markdown cell over 500 characters and no code cell over 20 lines anywhere.
"Chinese characters" are CJK unified ideographs (U+4E00-U+9FFF), punctuation not counted.
"""

import ast
import math
import re
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CORE = [p for p in NOTEBOOKS if p.parent.name == "notebooks"]
DEEP_DIVES = [p for p in NOTEBOOKS if p.parent.name == "deep-dives"]
IDS = [str(p.relative_to(ROOT / "notebooks")) for p in NOTEBOOKS]


def cells(path, kind=None):
    return [c for c in nbformat.read(path, as_version=4).cells if kind is None or c.cell_type == kind]


def chinese(text):
    return len(re.findall(r"[\u4e00-\u9fff]", text))


def prose(path):
    return sum(chinese(c.source) for c in cells(path, "markdown"))


def exercises(path):
    """Exercise stubs: code cells that still raise NotImplementedError."""
    return sum("raise NotImplementedError" in c.source for c in cells(path, "code"))


def minutes_by_rule(path):
    """The time rule, stated once in the README: ~300 Chinese characters a minute, ~30 s per code cell and
    ~3 min per exercise, rounded to the nearest 5 minutes (at least 5)."""
    raw = prose(path) / 300 + 0.5 * len(cells(path, "code")) + 3 * exercises(path)
    return max(5, 5 * math.floor(raw / 5 + 0.5))


def stated_minutes(path):
    match = re.search(r"预计用时 \(time to complete\)：约 (\d+) 分钟", cells(path, "markdown")[0].source)
    assert match, f"{path.name}: the overview must state 预计用时 (time to complete)：约 N 分钟"
    return int(match.group(1))


# ----------------------------------------------------------------------------------------------------
# Budgets and the time rule
# ----------------------------------------------------------------------------------------------------


def test_core_budget():
    chars = sum(prose(p) for p in CORE)
    code = sum(len(cells(p, "code")) for p in CORE)
    print(f"\ncore: {chars} Chinese characters, {code} code cells in {len(CORE)} notebooks")
    assert 4 <= len(CORE) and chars <= 9000 and code <= 60, (chars, code)


@pytest.mark.parametrize("path", DEEP_DIVES, ids=[p.name for p in DEEP_DIVES])
def test_deep_dive_budget(path):
    assert prose(path) < 6000, f"{path.name}: {prose(path)} Chinese characters"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cell_limits(path):
    for index, cell in enumerate(cells(path)):
        if cell.cell_type == "markdown":
            assert chinese(cell.source) <= 500, f"{path.name} cell {index}: {chinese(cell.source)} characters"
        else:
            lines = len(cell.source.splitlines())
            assert lines <= 20, f"{path.name} cell {index}: {lines} lines; move long helpers into poolkit"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stated_time_follows_the_rule(path):
    assert stated_minutes(path) == minutes_by_rule(path), (
        f"{path.name} states {stated_minutes(path)} min; the rule gives {minutes_by_rule(path)} min")


def test_readme_lists_every_notebook_with_its_time():
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## 笔记本 / The notebooks")[1]
    section = section.split("\n## ")[0]
    for path in NOTEBOOKS:
        link = str(path.relative_to(ROOT))
        row = next((line for line in section.splitlines() if f"]({link})" in line), None)
        assert row, f"README's notebook section has no row linking {link}"
        minutes = stated_minutes(path)
        assert f"{minutes} min" in row, f"README row for {link} must say {minutes} min"


def test_readme_core_path_time_is_the_sum_of_its_notebooks():
    lessons = sum(stated_minutes(p) for p in CORE if not exercises(p))
    practice = sum(stated_minutes(p) for p in CORE if exercises(p))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"01–03 约 {lessons} 分钟，练习约 {practice} 分钟" in readme
    assert f"about {lessons} minutes for 01–03, and about {practice} for the exercises" in readme


# ----------------------------------------------------------------------------------------------------
# No workshop text: what a learner reads is about pooling, not about our tests and machines
# ----------------------------------------------------------------------------------------------------

WORKSHOP = [r"POOLKIT_", r"QUICK", r"\bCI\b", r"runner", r"pytest", r"自动测试", r"测试中", r"在测试",
            r"负载", r"load average", r"getloadavg", r"本项目的", r"这台", r"目标机器", r"量过",
            r"\b20\d\d-\d\d-\d\d\b", r"\b202[0-9]-1[0-2]\b", r"os\.environ"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_workshop_text(path):
    for index, cell in enumerate(cells(path)):
        for pattern in WORKSHOP:
            assert not re.search(pattern, cell.source), f"{path.name} cell {index} mentions {pattern!r}"


def test_the_book_name_of_the_layer_is_mentioned_once():
    """The lecture says 池化层; the book's second edition says 汇聚层: our prose names it once (quotes of the
    book's own exercises, as block quotes, keep the book's word)."""
    ours = [line for p in NOTEBOOKS for c in cells(p, "markdown") for line in c.source.splitlines()
            if "汇聚层" in line and not line.startswith(">")]
    assert len(ours) == 1, ours


@pytest.mark.parametrize("path", DEEP_DIVES, ids=[p.name for p in DEEP_DIVES])
def test_deep_dive_says_what_it_assumes_and_adds(path):
    first = cells(path, "markdown")[0].source
    assert "前提 (assumes)" in first and "补充了什么 (adds)" in first, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_images_and_links_resolve(path):
    for cell in cells(path, "markdown"):
        for target in re.findall(r"\]\(([^)#]+\.(?:gif|png|ipynb))\)", cell.source):
            assert (path.parent / target).resolve().exists(), f"{path.name} links {target}, which is missing"


def test_widget_and_gifs_sit_on_the_core_path():
    text = "\n".join(c.source for p in CORE for c in cells(p))
    assert text.count("poolkit.SlidingWindow(") >= 3
    for gif in ("max-pool.gif", "avg-pool.gif", "padding-stride.gif"):
        assert f"../Images/{gif}" in text, gif


# ----------------------------------------------------------------------------------------------------
# Fidelity: the notes' pool2d as written, and the lecture's code cells with their outputs
# ----------------------------------------------------------------------------------------------------

NOTES_POOL2D = """def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] == X[i:i + p_h, j:j + p_w].max()
            elif mode == 'avg':
                Y[i, j] == X[i:i + p_h, j:j + p_w].mean()
    return Y
"""  # MuLi-Notes, "20 - 池化层", verbatim: `==` in both branches
LECTURE_X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])


def test_notes_pool2d_is_shown_verbatim_and_returns_zeros_for_both_modes():
    code = [c.source for c in cells(CORE[0], "code")]
    shown = [i for i, source in enumerate(code) if NOTES_POOL2D in source]
    assert shown, "notebook 01 must show the notes' pool2d verbatim"
    namespace = {"torch": torch}
    exec(NOTES_POOL2D, namespace)
    for mode in ("max", "avg"):
        assert torch.equal(namespace["pool2d"](LECTURE_X, (2, 2), mode), torch.zeros(2, 2))
    later = code[shown[0] + 1:]
    check = next(i for i, source in enumerate(later) if "check_close(pool2d(" in source)  # the one-line check
    fix = next(i for i, source in enumerate(later) if "Y[i, j] = X[i:i + p_h, j:j + p_w].max()" in source
               and "Y[i, j] = X[i:i + p_h, j:j + p_w].mean()" in source)
    assert check < fix, "the known-answer check must catch the bug before the fix"


def _run_cells(path, skip=("SlidingWindow", "check_close")):
    """Execute a notebook's code cells in order; return [(source, value of its last expression)]."""
    namespace, results = {}, []
    for cell in cells(path, "code"):
        if any(word in cell.source for word in skip):
            continue
        tree = ast.parse(cell.source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, path.name, "exec"), namespace)
        value = eval(compile(ast.Expression(last.value), path.name, "eval"), namespace) if last else None
        results.append((cell.source, value))
    return results


LECTURE_CELLS = [  # the lecture's nn.MaxPool2d cells, in the lecture's order, with the output they gave
    ("nn.MaxPool2d(3)\n", [[[[10.0]]]]),
    ("nn.MaxPool2d(3, padding=1, stride=2)\n", [[[[5.0, 7.0], [13.0, 15.0]]]]),
    ("nn.MaxPool2d((2, 3), padding=(1, 1), stride=(2, 3))\n", [[[[1.0, 3.0], [9.0, 11.0], [13.0, 15.0]]]]),
    ("nn.MaxPool2d((2, 3), padding=(0, 1), stride=(2, 3))", [[[[5.0, 7.0], [13.0, 15.0]]]]),  # today's book
    ("X = torch.cat((X, X + 1), 1)\n", None),
    ("nn.MaxPool2d(3, padding=1, stride=2)\n", [[[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]]]),
]


def test_lecture_cells_in_order_with_their_outputs():
    results = _run_cells(CORE[1])
    position = 0
    for call, expected in LECTURE_CELLS:
        found = next((i for i in range(position, len(results)) if call in results[i][0]), None)
        assert found is not None, f"notebook 02 lacks the lecture cell {call.strip()!r} (in lecture order)"
        if expected is not None:
            source, value = results[found]
            assert source.rstrip().endswith("pool2d(X)"), f"the lecture cell ends with pool2d(X):\n{source}"
            assert torch.equal(value, torch.tensor(expected)), (call, value)
        position = found + 1
