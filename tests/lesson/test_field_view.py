"""poolkit.FieldView: the state it sends holds every highlighted cell and every sentence, computed by
poolkit.fields; widget.js only draws it (its pure functions are tested in tests/lesson/js/)."""

import json
import zlib

import pytest
from torch import nn

import poolkit
from poolkit.field_view import FieldView, field_state
from poolkit.fields import layer_fields, layer_shapes, receptive_field
from poolkit.params import PoolingValueError

LENET = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5),
                      nn.Sigmoid(), nn.AvgPool2d(2, 2))


def spans(field):
    rows, cols = field
    return [rows[0], rows[-1], cols[0], cols[-1]] if len(rows) and len(cols) else []


def test_lenet_shows_each_map_that_moves_a_field_and_every_cells_field_on_it():
    s = field_state(LENET, (28, 28))
    # the Sigmoids keep every position: their maps are not drawn again, their names join the next label
    assert s["shapes"] == [[28, 28], [28, 28], [14, 14], [10, 10], [5, 5]]
    assert "Sigmoid + AvgPool2d(2) → 14×14" in s["labels"][2] and "Conv2d(5, padding=2)" in s["labels"][1]
    assert len(s["fields"]) == 25 and all(len(f) == 5 for f in s["fields"])
    shown = [0, 1, 3, 4, 6]  # the feature maps of layer_shapes drawn
    for t, per_map in enumerate(s["fields"]):
        cell = divmod(t, 5)
        every = layer_fields(LENET, (28, 28), cell)
        assert per_map == [spans(every[i]) for i in shown]
        assert per_map[0] == spans(receptive_field(LENET, (28, 28), cell))
        assert per_map[-1] == [cell[0], cell[0], cell[1], cell[1]]  # the last map: the cell itself
    assert [list(hw) for hw in layer_shapes(LENET, (28, 28))[-1:]] == s["shapes"][-1:]


def test_the_sizes_are_written_out_in_chinese_with_the_english_term():
    s = field_state(LENET, (28, 28))
    centre = s["notes"][2 * 5 + 2]
    assert centre[0] == "感受野 (receptive field) 16×16，占输入 28×28 像素的 33%"
    assert centre[1:4] == ["感受野 (receptive field) 12×12", "感受野 (receptive field) 6×6",
                           "感受野 (receptive field) 2×2"]
    assert centre[-1] == "所选的格子 (2, 2)"
    corner = s["notes"][0][0]
    assert corner.startswith("感受野 (receptive field) 14×14")  # clipped to the input at the border


def test_a_cell_that_reads_only_padding_has_an_empty_field():
    s = field_state([nn.Conv2d(1, 1, 1, padding=1)], (3, 3))
    assert s["fields"][0] == [[], [0, 0, 0, 0]]
    assert "填充 (padding)" in s["notes"][0][0]
    assert s["fields"][6][0] == [0, 0, 0, 0]  # cell (1, 1) reads input pixel (0, 0)


def test_the_widget_sends_it_packed_and_starts_at_the_centre():
    view = poolkit.FieldView(LENET, (28, 28))
    assert view.view == "field" and view.cell == [2, 2]
    assert json.loads(zlib.decompress(view.packed)) == json.loads(json.dumps(view.state))
    assert "16×16" in view.summary() and "FieldView" in view._repr_mimebundle_()[0]["text/plain"]
    assert FieldView(LENET, (28, 28), cell=(0, 4)).cell == [0, 4]


def test_refusals_name_the_net():
    with pytest.raises(PoolingValueError, match="net"):
        field_state(nn.Sequential(), (8, 8))
    with pytest.raises(Exception, match=r"net\[0\]"):
        field_state([nn.Linear(4, 4)], (8, 8))


def test_no_pooling_grows_the_field_slowly():
    """The same two convolutions without pooling: the last map is as large as the input, its fields 9x9."""
    s = field_state(nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.Conv2d(6, 16, 5, padding=2)),
                    (28, 28))
    assert s["shapes"] == [[28, 28], [28, 28], [28, 28]]
    assert s["notes"][14 * 28 + 14][0].startswith("感受野 (receptive field) 9×9")
    assert all(len(f) == 3 for f in s["fields"])


# What the maps draw: a plain cell's line and fill, and the field's outline (selector, CSS property).
GRAPHICS = {"line": ('[data-map="0"] .pk-cell:not(.pk-win)', "borderTopColor"),
            "fill": ('[data-map="0"] .pk-cell:not(.pk-win)', "backgroundColor"),
            "outline": ('[data-map="0"] .pk-window', "borderTopColor")}


@pytest.mark.browser
@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_in_jupyterlab_hover_and_keys_light_up_pythons_field_on_every_map(tmp_path, theme):
    """The view in JupyterLab + Chromium, in each theme: hovering a last-map cell marks exactly Python's field
    on each map; a click pins it and the arrow keys move it. Every text meets WCAG AA, and the grid lines and
    the field's outline stand out from the cells by 3:1 (WCAG 1.4.11, graphics needed to read the view)."""
    from conftest import require_chromium, wcag_ratio
    from lab_browser import (
        below_aa,
        lab_server,
        open_notebook,
        painted,
        text_contrasts,
        unreadable_labels,
        write_notebook,
    )
    from playwright.sync_api import sync_playwright

    chromium = require_chromium()
    code = ("import poolkit\nfrom torch import nn\n"
            "net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),"
            " nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2))\n"
            "poolkit.FieldView(net, (28, 28))")
    state = field_state(LENET, (28, 28))
    name = write_notebook(tmp_path, [code])

    def marked(root, t):
        """Per map, the marked cells are the rectangle Python sent."""
        for i, span in enumerate(state["fields"][t]):
            cells = root.locator(f'[data-map="{i}"] .pk-win').all()
            got = {(int(c.get_attribute("data-r")), int(c.get_attribute("data-c"))) for c in cells}
            r0, r1, c0, c1 = span
            assert got == {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}, (t, i)

    with lab_server(tmp_path, timeout=180, theme=theme) as (base, token), sync_playwright() as p:
        browser, page, _ = open_notebook(p, f"{base}/lab/tree/{name}?reset&token={token}", 1, chromium,
                                         timeout=180_000)
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        root = page.locator(".pk-fieldview")
        assert root.get_attribute("data-cell") == "12"  # the centre, (2, 2)
        root.locator('[data-map="4"] .pk-cell[data-r="1"][data-c="3"]').hover()
        assert root.get_attribute("data-cell") == "8"
        marked(root, 8)
        assert "16×16" in root.locator(".pk-panel").inner_text()
        assert (page.evaluate("document.body.dataset.jpThemeLight") == "false") == theme.endswith("Dark")
        assert below_aa(text_contrasts(root)) == []
        paint = painted(root, GRAPHICS)
        for part in ["line", "outline"]:
            assert wcag_ratio(paint[part], paint["fill"]) >= 3, (theme, part, paint)
        for width in [390, 1400]:  # small cells on a phone: the indices still show whole, apart
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(500)  # the view rebuilds for its new width
            assert unreadable_labels(root) == [], (theme, width)
        root.locator('[data-map="4"] .pk-cell[data-r="0"][data-c="0"]').click()
        page.mouse.move(0, 0)  # a pinned cell stays shown when the mouse leaves
        root.press("ArrowRight")
        root.press("ArrowDown")
        assert root.get_attribute("data-cell") == "6"
        marked(root, 6)
        browser.close()
    assert not errors
