"""Build the static site in site/: a book of the notebooks, executed, with their widgets' saved state.

    python3 make.py site                 # or: .venv/bin/python tools/build_site.py [--out DIR] [--rerun]

site/index.html is the README's notebook table. Every notebook (notebooks/*.ipynb, then
notebooks/deep-dives/*.ipynb) becomes site/notebooks/**/*.html next to site/Images/, so the notebooks' own
../Images/... paths resolve. Each page has the contents of the collection in the index's order (the current
page marked), previous/next links in that order, an offline search box (Pagefind), its own .ipynb to download
and how to run it. Formulas become MathML at build time, so no page carries MathJax.

Executed notebooks are cached in build/site-cache/: a notebook runs again only when its file, poolkit/ or the
pins (requirements*.txt) change (--rerun runs them all).

Every script, style and font a page loads is copied into site/static/ from the npm packages pinned in
tools/site/package-lock.json (installed with `npm ci` into tools/site/node_modules, again only when the lock
file changes): require.js and @jupyter-widgets/html-manager (render the saved widget state without a kernel;
loaded only on pages with widgets, and only when a widget comes near the screen), anywidget's front end,
Pagefind (the search index and its script), mathjax-full (TeX to MathML, at build time only). The site works
from any static server with no internet; the build fails if a page would load anything from another host or
links to a missing file.
"""

import argparse
import base64
import hashlib
import html
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import jinja2
import mistune
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
NPM_DIR = ROOT / "tools" / "site"  # package.json + package-lock.json (committed), node_modules (git-ignored)
TEMPLATES = NPM_DIR / "templates"  # the "site" template: nbconvert's "lab" page as a page of the book
SITE_CSS = NPM_DIR / "site.css"  # the book's own styles, inlined in every page
NOTEBOOK_GLOBS = ("notebooks/*.ipynb", "notebooks/deep-dives/*.ipynb")
INDEX_SECTION = "## 笔记本 / The notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT = 1200  # seconds; the training-study deep dive trains small networks
CACHE = Path("build") / "site-cache"  # under the project root (build/ is git-ignored)
# what an executed notebook depends on besides its own file: the package it imports and the pins
CACHE_INPUTS = ("poolkit", "requirements*.txt")
SITE_TITLE = "池化层 / Pooling layers"
DESCRIPTION_CHARS = 155
ADDS = "补充了什么 (adds)："  # how a deep dive's first paragraph says what it adds (after what it assumes)
# npm file -> site path (the widget front ends are placed per widget state)
ASSETS = {
    "requirejs/require.js": "static/require.js",
    "@jupyter-widgets/html-manager/dist": "static/html-manager",
}
# embed-amd.js bundles libembed-amd; embed.js is the build for pages without require.js; browsers take
# Font Awesome's woff2/woff, so its legacy eot/ttf/svg copies (2 MB) stay out
SKIP_ASSETS = shutil.ignore_patterns("embed.js", "embed.js.*", "libembed-amd.js", "*.map", "*.LICENSE.txt",
                                     "*.eot", "*.ttf", "*.svg")
NO_KERNEL_NOTE = (
    "这是静态网站：小部件可以播放、单步、拖动，但改参数需要运行中的笔记本"
    "（<code>python3 make.py lab</code>，或 Binder）。<br>"
    "A static site: the widgets play, step and scrub; changing their parameters needs a running notebook "
    "(<code>python3 make.py lab</code>, or Binder)."
)
# a README badge or link of the form https://mybinder.org/v2/gh/<owner>/<repo>/<ref> (not a placeholder)
BINDER = re.compile(r"https://mybinder\.org/v2/gh/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+)/([A-Za-z0-9._/-]+?)(?=[?)\s\"'])")


# ----------------------------------------------------------------------------------------------------
# npm packages
# ----------------------------------------------------------------------------------------------------


def npm_install(npm_dir=NPM_DIR, dev=False):
    """tools/site/node_modules from the committed lock file; `npm ci` again only when the lock changes.
    The site needs the dependencies; dev=True adds the devDependencies (axe-core, Lighthouse) that the
    tests and tools/site_bench.py use."""
    lock = npm_dir / "package-lock.json"
    modules = npm_dir / "node_modules"
    stamp = modules / ".poolkit-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    have = stamp.read_text().split() if stamp.exists() else []
    if have and have[0] == digest and (not dev or "dev" in have):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm not found: the site copies its scripts from npm packages. Fix: install Node.js 20+ "
                 "(it comes with npm), e.g. `apt-get install nodejs npm`.")
    omit = [] if dev else ["--omit=dev"]
    print(f"npm ci {' '.join(omit)} (the pinned packages of tools/site/package-lock.json) ...", flush=True)
    subprocess.run([npm, "ci", *omit, "--ignore-scripts", "--no-audit", "--no-fund"], cwd=npm_dir, check=True)
    stamp.write_text(digest + (" dev" if dev else ""))
    return modules


def node(node_modules, script, *args, stdin=None):
    """Run one of tools/site's node scripts (or a package's CLI) with the pinned packages; -> stdout."""
    exe = shutil.which("node")
    if exe is None:
        sys.exit("node not found: install Node.js 20+ to build the site.")
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    done = subprocess.run([exe, str(script), *map(str, args)], input=stdin, capture_output=True, text=True,
                          env=env, cwd=node_modules.parent)
    if done.returncode:
        sys.exit(f"{Path(script).name} failed:\n{done.stderr}{done.stdout}")
    return done.stdout


def widget_modules(nb):
    """(module, version range) of every widget front end the saved state needs, except html-manager's own."""
    needed = set()
    for model in nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}).values():
        state = model.get("state", {})
        for module, version in ((model.get("model_module"), model.get("model_module_version")),
                                (state.get("_view_module"), state.get("_view_module_version"))):
            if module and not module.startswith("@jupyter-widgets/"):
                needed.add((module, version))
    return needed


def copy_assets(node_modules, out, modules):
    """The scripts, styles and fonts the pages load, plus each widget front end where html-manager looks
    for it: static/npm/<module>@<version range, verbatim>/dist/index.js (its loader asks for the range)."""
    for source, target in ASSETS.items():
        src, dst = node_modules / source, out / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=SKIP_ASSETS, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    shutil.copytree(NPM_DIR / "static", out / "static", dirs_exist_ok=True)  # site.js, widgets.js, favicon
    for module, version in sorted(modules):
        package = node_modules / module
        if not (package / "dist" / "index.js").exists():
            sys.exit(f"A widget needs the front end {module!r} ({version}), which tools/site/package.json "
                     f"does not install. Fix: `npm install --save-exact {module}` in tools/site, rebuild.")
        installed = json.loads((package / "package.json").read_text())["version"]
        wanted = re.match(r"[~^=v]*(\d+\.\d+)", version or "")
        if wanted and not installed.startswith(wanted.group(1) + "."):
            sys.exit(f"The widgets were saved for {module} {version}, but tools/site/package.json pins "
                     f"{installed}. Fix: pin the {module} version that matches the Python package.")
        target = out / "static" / "npm" / f"{module}@{version}" / "dist"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(package / "dist" / "index.js", target / "index.js")


def index_search(node_modules, out):
    """Pagefind's offline index of every page's text (its extended build segments Chinese) in
    static/pagefind/, with the script the search box loads."""
    bin_js = node_modules / "pagefind" / "lib" / "runner" / "bin.cjs"
    node(node_modules, bin_js, "--site", out, "--output-subdir", "static/pagefind", "--silent",
         "--exclude-selectors",
         # what is folded (reference solutions, hints) stays folded: search never shows it
         ".anchor-link, .jp-InternalAnchorLink, .jp-InputPrompt, .jp-OutputPrompt, details")
    if not (out / "static" / "pagefind" / "pagefind.js").exists():
        sys.exit("Pagefind wrote no index (static/pagefind/pagefind.js is missing).")


# ----------------------------------------------------------------------------------------------------
# Executing, with a cache
# ----------------------------------------------------------------------------------------------------


def find_notebooks(root=ROOT):
    """The core path (notebooks/*.ipynb), then the deep dives, each in file-name order."""
    return [path for pattern in NOTEBOOK_GLOBS for path in sorted(root.glob(pattern))]


def execute(path):
    """The notebook run top to bottom in a fresh kernel, in its own folder, as a learner runs it.

    The kernel talks over local sockets in a private folder rather than TCP (ipykernel warns on every
    start about unencrypted TCP); the path is absolute because the kernel runs in the notebook's folder."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="poolkit-kernel-") as sockets:
        ipc = Config({"KernelManager": {"transport": "ipc", "ip": str(Path(sockets) / "kernel")}})
        ExecutePreprocessor(timeout=CELL_TIMEOUT, kernel_name="python3", config=ipc).preprocess(
            nb, {"metadata": {"path": str(path.parent)}})
    return nb


def inputs_digest(roots):
    """One hash of everything an executed notebook depends on besides itself: poolkit/ and the pins, in
    this repository (whose poolkit the kernel imports) and in the project being built."""
    h = hashlib.sha256()
    for base in dict.fromkeys(Path(r).resolve() for r in roots):
        for pattern in CACHE_INPUTS:
            for path in sorted(base.glob(pattern)):
                files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
                for f in files:
                    if "__pycache__" in f.parts:
                        continue
                    h.update(str(f.relative_to(base)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def executed(path, root, inputs, rerun=False):
    """-> (the executed notebook, True if it ran now); from build/site-cache/ when nothing it depends on
    changed since it last ran."""
    rel = path.relative_to(root)
    key = hashlib.sha256(path.read_bytes() + inputs.encode()).hexdigest()[:20]
    cache = root / CACHE / rel.parent
    cached = cache / f"{rel.stem}.{key}.ipynb"
    if cached.exists() and not rerun:
        return nbformat.read(cached, as_version=4), False
    nb = execute(path)
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(f"{rel.stem}.*.ipynb"):
        old.unlink()
    nbformat.write(nb, cached)
    return nb, True


# ----------------------------------------------------------------------------------------------------
# Reading order, titles, descriptions
# ----------------------------------------------------------------------------------------------------


def readme_section(readme, heading=INDEX_SECTION):
    """The markdown of one README section: from its heading to the next heading of the same level."""
    lines = readme.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        sys.exit(f"README.md has no section {heading!r}: the site's index is built from it.")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end])


def plain(markdown_text):
    """Markdown inline text as plain text: links keep their text, no emphasis or code marks."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown_text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[*`]|(?<!\w)_|_(?!\w)", "", text)  # emphasis and code marks, not return_indices
    return re.sub(r"\s+", " ", text).strip()


def reading_order(readme, notebooks, root):
    """[(rel path, short title)] in the order the index links them (core path, then deep dives), then any
    notebook the index does not link, in file order. The titles are the index's link texts."""
    linked = {}
    link = r"\[((?:[^\[\]]|\[[^\]]*\])+)\]\((notebooks/[^)#\s]+\.ipynb)"
    for text, target in re.findall(link, readme_section(readme)):
        linked.setdefault(target, plain(text))
    order = [(Path(target), title) for target, title in linked.items() if (root / target).exists()]
    listed = {rel for rel, _ in order}
    return order + [(p.relative_to(root), None) for p in notebooks if p.relative_to(root) not in listed]


def notebook_title(nb, fallback):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return plain(line[2:])
    return fallback


def describe(markdown_text, limit=DESCRIPTION_CHARS):
    """The first paragraph of prose (not a heading, list, quote or table) as a plain sentence or two,
    at most `limit` characters: the page's meta description."""
    for block in re.split(r"\n\s*\n", markdown_text):
        block = block.strip()
        if not block or block[0] in "#>|!<`" or re.match(r"(\d+\.|[-*+])\s", block):
            continue
        text = re.sub(r"\$([^$]+)\$", r"\1", plain(block))
        if not text:  # a badge or an image
            continue
        text = text.split(ADDS, 1)[-1].strip()  # a deep dive: what it adds says more than what it assumes
        if len(text) <= limit:
            return text
        cut = max(text.rfind(mark, 0, limit) for mark in ("。", "；", ". ", "; "))
        return text[:cut + 1] if cut > limit // 3 else text[:limit - 1].rstrip() + "…"
    return ""


def notebook_description(nb):
    return next((d for c in nb.cells if c.cell_type == "markdown" and (d := describe(c.source))), "")


def binder_base(readme):
    """Binder's launch URL for this repository if the README links a real one (not a placeholder)."""
    for owner, repo, ref in BINDER.findall(readme):
        if "GITHUB_" not in owner + repo and "OWNER" not in owner.upper():
            return f"https://mybinder.org/v2/gh/{owner}/{repo}/{ref}"
    return None


# ----------------------------------------------------------------------------------------------------
# The parts around each page
# ----------------------------------------------------------------------------------------------------


def href(from_rel, to_rel):
    """Relative URL from the page of from_rel (a notebook's path) to the page of to_rel."""
    depth = len(from_rel.parts) - 1
    return "../" * depth + quote(str(Path(to_rel).with_suffix(".html")))


def site_header(site_root):
    return (
        '<a class="pk-skip" href="#pk-content">跳到正文 / Skip to content</a>\n'
        '<header class="pk-site-header">\n'
        f'<a class="pk-site-home" href="{site_root}index.html">{SITE_TITLE}</a>\n'
        '<div class="pk-search" role="search">\n<form>'
        '<label for="pk-search-input">搜索 / Search</label>'
        '<input id="pk-search-input" type="search" autocomplete="off" placeholder="步幅, stride, padding…" '
        'aria-describedby="pk-search-status">'
        '</form>\n<ul id="pk-search-results" class="pk-search-results" hidden></ul>\n'
        '<p id="pk-search-status" class="pk-search-status" aria-live="polite"></p>\n</div>\n</header>\n')


def toc_html(order, current):
    """The contents of the collection: core path, then deep dives; the current page has aria-current."""
    groups = [("核心路径 / Core path", [e for e in order if "deep-dives" not in e[0].parts]),
              ("选读 / Deep dives", [e for e in order if "deep-dives" in e[0].parts])]
    parts = ['<nav class="pk-toc" aria-label="目录 / Contents">\n<details>\n'
             '<summary>目录 / Contents</summary>\n']
    for heading, entries in groups:
        if not entries:
            continue
        parts.append(f"<h2>{heading}</h2>\n<ol>\n")
        for rel, title in entries:
            mark = ' aria-current="page"' if rel == current else ""
            parts.append(f'<li><a href="{href(current, rel)}"{mark}>{html.escape(title)}</a></li>\n')
        parts.append("</ol>\n")
    parts.append("</details>\n<script>matchMedia('(min-width: 1100px)').matches && "
                 "(document.currentScript.previousElementSibling.open = true);</script>\n</nav>\n")
    return "".join(parts)


def prevnext_html(order, i):
    links = []
    if i > 0:
        rel, title = order[i - 1]
        links.append(f'<a class="pk-prev" rel="prev" href="{href(order[i][0], rel)}">'
                     f'<span>← 上一页 / Previous</span>{html.escape(title)}</a>')
    if i + 1 < len(order):
        rel, title = order[i + 1]
        links.append(f'<a class="pk-next" rel="next" href="{href(order[i][0], rel)}">'
                     f'<span>下一页 / Next →</span>{html.escape(title)}</a>')
    return ('<nav class="pk-prevnext" aria-label="上一页和下一页 / Previous and next" data-pagefind-ignore>'
            + "".join(links) + "</nav>\n")


def run_html(rel, binder):
    """The download link at the top, and at the bottom how to run the notebook."""
    name = html.escape(rel.name)
    line = (f'<p class="pk-run-line" data-pagefind-ignore>下载这个笔记本 / Download this notebook: '
            f'<a href="{name}" download>{name}</a> · <a href="#pk-run">如何运行 / How to run it</a></p>\n')
    binder_part = ""
    if binder:
        url = html.escape(f"{binder}?labpath={quote(str(rel))}")
        binder_part = (f'<p>不想安装：<a href="{url}">在 Binder 上打开</a>（第一次启动要几分钟）。'
                       f' No install: <a href="{url}">open it on Binder</a>'
                       ' (the first launch takes minutes).</p>\n')
    box = (
        '<section id="pk-run" class="pk-run" aria-labelledby="pk-run-title" data-pagefind-ignore>\n'
        '<h2 id="pk-run-title">运行这个笔记本 / Run this notebook</h2>\n'
        '<p>这一页是运行过的笔记本；要改参数、做练习，在自己的电脑上运行它：'
        f'下载 <a href="{name}" download>{name}</a>，或者在仓库的根目录里运行下面两条命令之一'
        '（需要 Python 3.11–3.14）。'
        ' This page is the notebook as it ran; to change parameters or do the exercises, run it yourself: '
        f'download <a href="{name}" download>{name}</a>, or in the repository run one of these'
        ' (Python 3.11–3.14):</p>\n'
        '<pre><code>python3 make.py lab    # 安装并打开 JupyterLab / installs, then opens JupyterLab\n'
        'python3 make.py test   # 检查安装 / checks the setup (ruff and the tests)</code></pre>\n'
        '<p>安装的细节和常见问题见仓库里的 <code>README.md</code> 和 <code>docs/</code>。'
        ' Install details and troubleshooting: <code>README.md</code> and <code>docs/</code>'
        ' in the repository.</p>\n'
        f'{binder_part}</section>\n')
    return line, box


# ----------------------------------------------------------------------------------------------------
# Pages
# ----------------------------------------------------------------------------------------------------


class MathRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with each formula left as a placeholder the build fills with MathML."""

    def __init__(self, formulas, **kw):
        super().__init__(**kw)
        self.formulas = formulas

    def _formula(self, tex, display):
        self.formulas.append((tex.strip(), display))
        return f"<!--pk-math:{len(self.formulas) - 1}-->"

    def inline_math(self, body):
        return self._formula(body, False)

    def block_math(self, body):
        return self._formula(body, True)

    def latex_environment(self, name, body):
        return self._formula(f"\\begin{{{name}}}{body}\\end{{{name}}}", True)


class SiteExporter(HTMLExporter):
    """HTMLExporter whose markdown keeps its formulas aside (self.formulas) for MathML."""

    def __init__(self, formulas, **kw):
        super().__init__(**kw)
        self.formulas = formulas

    @jinja2.pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        renderer = MathRenderer(
            self.formulas, escape=False, attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)


def typeset(pages, node_modules):
    """Fill every <!--pk-math:i--> with MathML from MathJax's TeX input (one node run for the whole site),
    inside MathJax's own <mjx-container>; -> the pages."""
    formulas = [f for _, f in pages]
    flat = [tex for group in formulas for tex in group]
    if not flat:
        return [page for page, _ in pages]
    mathml = iter(json.loads(node(node_modules, NPM_DIR / "tex2mathml.js", stdin=json.dumps(flat))))
    out = []
    for page, group in pages:
        done = {i: next(mathml) for i in range(len(group))}

        def fill(match, group=group, done=done):
            i = int(match.group(1))
            display = ' display="true"' if group[i][1] else ""
            return f'<mjx-container class="MathJax" jax="MathML"{display}>{done[i]}</mjx-container>'
        out.append(re.sub(r"<!--pk-math:(\d+)-->", fill, page))
    return out


def ipynb_links_to_html(page):
    """Relative links to notebooks point at their pages: href="02-x.ipynb#y" -> href="02-x.html#y";
    a link marked `download` stays a link to the .ipynb file."""
    def fix(match):
        tag = match.group(0)
        found = re.search(r'href="([^"]*)"', tag)
        if not found or re.search(r"\sdownload[\s>=]", tag):
            return tag
        url = urlsplit(found.group(1))
        if url.scheme or url.netloc or not url.path.endswith(".ipynb"):
            return tag
        return tag.replace(found.group(0), f'href="{found.group(1).replace(".ipynb", ".html", 1)}"', 1)
    return re.sub(r"<a\b[^>]*>", fix, page)


def render_page(nb, pk, title):
    """One notebook as a page (HTML with <!--pk-math:i--> placeholders) -> (page, its formulas);
    pk holds the parts around it (see the template)."""
    formulas = []
    exporter = SiteExporter(formulas, template_name="site", extra_template_basedirs=[str(TEMPLATES)],
                            language_code="zh")
    page, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}, "pk": pk})
    return ipynb_links_to_html(page), formulas


# classes that appear only once scripts run: html-manager's widget containers (Lumino), anywidget's views
RUNTIME_CLASSES = re.compile(r"^(lm-|p-|widget|jupyter-widget|jp-OutputArea|jp-RenderedHTML|pk-)")


def _split_top(text, sep):
    """Split at sep outside parentheses and brackets (selector lists like a, :is(b, c))."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([" and 1 or ch in ")]" and -1 or 0
        if ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _selector_applies(selector, classes):
    names = re.findall(r"\.(-?[A-Za-z_][\w-]*)", re.sub(r":not\([^)]*\)", "", selector))
    return all(n in classes or RUNTIME_CLASSES.match(n) for n in names)


def purge_css(css, classes):
    """css without the style rules none of whose selectors can match a page using `classes` (JupyterLab's
    whole stylesheet is 255 KB; a notebook page uses a small part). @media and @supports blocks are purged
    inside; other at-rules (@font-face, @keyframes) and rules without classes stay."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out, i, n = [], 0, len(css)
    while i < n:
        brace = css.find("{", i)
        semi = css.find(";", i)
        if brace < 0:
            break
        if 0 <= semi < brace and css[i:semi].strip().startswith("@"):  # @import, @charset
            out.append(css[i:semi + 1])
            i = semi + 1
            continue
        prelude = css[i:brace].strip()
        depth, j = 1, brace + 1
        while j < n and depth:
            depth += (css[j] == "{") - (css[j] == "}")
            j += 1
        body = css[brace + 1:j - 1]
        i = j
        if prelude.startswith(("@media", "@supports", "@layer")):
            inner = purge_css(body, classes)
            if inner.strip():
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):
            out.append(f"{prelude}{{{body}}}")
        else:
            kept = [sel.strip() for sel in _split_top(prelude, ",") if _selector_applies(sel, classes)]
            if kept:
                out.append(f"{','.join(kept)}{{{body.strip()}}}")
    return "\n".join(out)


def slim_page(page, images_dir, images_url):
    """The page without what it does not use: JupyterLab's style rules for classes the page never has,
    and its figures moved out of the HTML into images_dir (loaded lazily, with their size, so the text
    arrives first and nothing jumps)."""
    classes = {c for attr in re.findall(r'class="([^"]*)"', page) for c in attr.split()}
    head, sep, rest = page.partition("</head>")
    head = re.sub(r"(<style(?! id=\"pk-site-css\")[^>]*>)(.*?)(</style>)",  # JupyterLab's, not the book's
                  lambda m: m.group(1) + purge_css(m.group(2), classes) + m.group(3), head, flags=re.S)
    # JupyterLab's icons (90 KB of SVG in custom properties) that no kept rule uses
    used = set(re.findall(r"var\((--jp-icon-[\w-]+)", head))
    head = re.sub(r"(--jp-icon-[\w-]+)\s*:\s*url\([^)]*\)\s*;?",
                  lambda m: m.group(0) if m.group(1) in used else "", head)
    count = 0

    def extract(match):
        nonlocal count
        kind, data = match.group(1), base64.b64decode(match.group(2))
        count += 1
        name = f"figure-{count}.{'jpg' if kind == 'jpeg' else kind}"
        images_dir.mkdir(parents=True, exist_ok=True)
        (images_dir / name).write_bytes(data)
        size = ""
        if kind == "png" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            size = f' width="{width}" height="{height}"'
        return f'src="{images_url}/{name}"{size} loading="lazy" decoding="async"'

    rest = re.sub(r'src="data:image/(png|jpeg|gif);base64,([A-Za-z0-9+/=\s]+)"', extract, rest)
    # the saved widget state (tens of KB) waits in a file until static/widgets.js loads the renderer
    state = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>\s*',
                      rest, re.S)
    if state:
        images_dir.mkdir(parents=True, exist_ok=True)
        (images_dir / "widget-state.json").write_text(state.group(1).strip(), encoding="utf-8")
        rest = rest[:state.start()] + rest[state.end():]
        head = head.replace('static/widgets.js"',
                            f'static/widgets.js" data-state="{images_url}/widget-state.json"', 1)
    return head + sep + rest


def label_table_cells(body):
    """data-label on every table cell (its column's header), shown beside the cell on a phone."""
    def table(match):
        heads = [plain(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", match.group(0), re.S)]

        def row(r):
            cells = iter(heads)
            return re.sub(r"<td(?=[\s>])", lambda m: f'<td data-label="{html.escape(next(cells, ""))}"',
                          r.group(0))
        return re.sub(r"<tr>.*?</tr>", row, match.group(0), flags=re.S)
    return re.sub(r"<table>.*?</table>", lambda m: '<div class="pk-table-wrap">' + table(m) + "</div>", body,
                  flags=re.S)


def render_index(readme):
    """index.html: the README's title and its notebook table, linking to the pages."""
    to_html = mistune.create_markdown(plugins=["table"])
    title = readme.splitlines()[0]
    plain_title = plain(title.lstrip("# "))
    intro = re.split(r"^## ", readme.split("\n", 1)[1], maxsplit=1, flags=re.M)[0]  # before the first section
    description = html.escape(describe(intro) or describe(readme_section(readme)) or plain_title)
    note = f'<p class="pk-site-note">{NO_KERNEL_NOTE}</p>\n'
    body = to_html(title) + note + label_table_cells(to_html(readme_section(readme)))
    return ipynb_links_to_html(
        "<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n"
        f"<title>{html.escape(plain_title)}</title>\n<meta name=\"description\" content=\"{description}\">\n"
        "<link rel=\"icon\" href=\"static/favicon.svg\" type=\"image/svg+xml\">\n"
        f"<style>\n{SITE_CSS.read_text(encoding='utf-8')}</style>\n"
        "<script defer src=\"static/site.js\" data-root=\"\"></script>\n</head>\n"
        f"<body class=\"pk-site-index\">\n{site_header('')}"
        f"<main id=\"pk-content\" data-pagefind-body>\n{body}</main>\n</body>\n</html>\n")


# ----------------------------------------------------------------------------------------------------
# Checks: nothing from another host, no broken relative link
# ----------------------------------------------------------------------------------------------------

LOADING = {"script": "src", "img": "src", "link": "href", "iframe": "src", "source": "src", "video": "src",
           "audio": "src"}


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []  # (tag, attribute, url)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append((tag, name, value))


def check_site(out):
    """Problems of the built site: resources from other hosts, relative links to files that don't exist."""
    problems = []
    for page in sorted(out.rglob("*.html")):
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        for tag, name, value in parser.refs:
            url = urlsplit(value)
            where = f"{page.relative_to(out)}: <{tag} {name}={value[:80]!r}>"
            if url.scheme in ("http", "https") or url.netloc:
                if LOADING.get(tag) == name:
                    problems.append(f"{where} loads from another host")
                continue
            if url.scheme or not url.path:  # data:, mailto:, #anchor
                continue
            target = (page.parent / unquote(url.path)).resolve()
            if not target.exists() or not target.is_relative_to(out.resolve()):
                problems.append(f"{where} points to a missing file")
    return problems


# ----------------------------------------------------------------------------------------------------
# The whole site
# ----------------------------------------------------------------------------------------------------


def build(out, root=ROOT, npm_dir=NPM_DIR, rerun=False):
    """Build the site from root's README.md, notebooks/ and Images/ into out; returns the pages written."""
    start = time.perf_counter()
    for name in sorted(k for k in os.environ if k.startswith("POOLKIT_")):  # e.g. the runner's POOLKIT_QUICK
        print(f"Ignoring {name}={os.environ.pop(name)}: the site shows the learner's own run.", flush=True)
    node_modules = npm_install(npm_dir)
    root = Path(root)
    readme = (root / "README.md").read_text(encoding="utf-8")
    order = reading_order(readme, find_notebooks(root), root)
    inputs = inputs_digest([ROOT, root])
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    modules, notebooks, ran = set(), [], 0
    for rel, _ in order:
        t0 = time.perf_counter()
        nb, fresh = executed(root / rel, root, inputs, rerun)
        ran += fresh
        notebooks.append(nb)
        modules |= widget_modules(nb)
        how = f"executed in {time.perf_counter() - t0:.1f} s" if fresh else "unchanged, from build/site-cache"
        print(f"{rel}: {how}", flush=True)
    order = [(rel, title or notebook_title(nb, rel.stem))
             for (rel, title), nb in zip(order, notebooks, strict=True)]
    binder = binder_base(readme)
    rendered, targets = [], []
    for i, ((rel, _), nb) in enumerate(zip(order, notebooks, strict=True)):
        site_root = "../" * (len(rel.parts) - 1)
        run_line, run = run_html(rel, binder)
        pk = {"site_root": site_root, "header": site_header(site_root), "toc": toc_html(order, rel),
              "site_css": SITE_CSS.read_text(encoding="utf-8"),
              "prevnext": prevnext_html(order, i), "run_line": run_line, "run": run,
              "description": notebook_description(nb) or notebook_title(nb, rel.stem),
              "widgets": any(WIDGET_VIEW in o.get("data", {})
                             for c in nb.cells for o in c.get("outputs", []))}
        rendered.append(render_page(nb, pk, notebook_title(nb, rel.stem)))
        target = out / rel.with_suffix(".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, out / rel)  # the notebook itself, clean, to download
        targets.append(target)
    for target, page in zip(targets, typeset(rendered, node_modules), strict=True):
        images = f"{target.stem}_files"
        target.write_text(slim_page(page, target.parent / images, quote(images)), encoding="utf-8")
    if (root / "Images").is_dir():
        shutil.copytree(root / "Images", out / "Images")
    copy_assets(node_modules, out, modules)
    (out / "index.html").write_text(render_index(readme), encoding="utf-8")
    index_search(node_modules, out)
    problems = check_site(out)
    if problems:
        sys.exit("The site has problems:\n  " + "\n  ".join(problems))
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"Built {out} in {time.perf_counter() - start:.0f} s: {len(targets)} pages ({ran} executed, "
          f"{len(targets) - ran} from the cache), {size / 1e6:.1f} MB. "
          f"Try it: python3 -m http.server -d {out} 8000, then open http://127.0.0.1:8000/", flush=True)
    return targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="the site's folder (default: site/)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the project with README.md, notebooks/ and Images/ (default: this repository)")
    parser.add_argument("--rerun", action="store_true",
                        help="execute every notebook again, even those build/site-cache/ holds unchanged")
    args = parser.parse_args(argv)
    build(args.out, root=args.root.resolve(), rerun=args.rerun)


if __name__ == "__main__":
    main()
