"""Local copies of every script and stylesheet the pages need, so the site works with no network.

BertViz's views load jQuery and d3 through require.js from a CDN. We serve jQuery (XStatic-jQuery)
and d3 v5 (mpld3) from the site, and wrap each BertViz view script in a function that hands it
those two libraries directly, so no module loader and no outside request is needed, and several
views on one page each keep their own state.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from functools import cache
from pathlib import Path

from lmreport import analyses
from lmreport.errors import LmreportError

PACKAGE_DIR = Path(__file__).parent


STATIC_DIR = PACKAGE_DIR / "static"


ASSET_DIR = "assets"


def _package_file(package: str, relative: str, dist: str, folder: bool = False) -> Path:
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise LmreportError(f"the package {dist} is needed for the site's scripts: pip install --no-deps {dist}")
    path = Path(list(found.submodule_search_locations)[0]) / relative
    if not (path.is_dir() if folder else path.is_file()):
        raise LmreportError(f"{path} is missing from the installed {dist}")
    return path


MATHJAX_DIR = "mathjax"  # in assets/: MathJax's own layout, so it finds its fonts where it looks for them


def mathjax_files() -> dict[str, Path]:
    """MathJax 3 (TeX input, CommonHTML output) and its fonts, from the package django-static-mathjax (a
    carrier of MathJax's files, installed without its dependencies): site-relative name -> installed file."""
    es5 = _package_file("mathjax", "static/mathjax/es5", "django-static-mathjax", folder=True)
    files = {f"{MATHJAX_DIR}/tex-chtml.js": es5 / "tex-chtml.js"}
    for font in sorted((es5 / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")):
        files[f"{MATHJAX_DIR}/output/chtml/fonts/woff-v2/{font.name}"] = font
    return files


def vendor_files() -> dict[str, Path]:
    """Site-relative name -> installed file, for the third-party scripts."""
    from bokeh.util.paths import bokehjs_path

    return {
        "bokeh.min.js": Path(bokehjs_path()) / "js" / "bokeh.min.js",
        "jquery.min.js": _package_file("xstatic.pkg.jquery", "data/jquery.min.js", "XStatic-jQuery"),
        "d3.v5.min.js": _package_file("mpld3", "js/d3.v5.min.js", "mpld3"),
        "lunr.js": _package_file("mkdocs", "contrib/search/templates/search/lunr.js", "mkdocs"),
    }


# Scripts each asset group needs, in load order; then each analysis's own page script, as assets/<name>.js.
VENDOR_GROUPS = {
    "bokeh": ["bokeh.min.js"],
    "bertviz": ["jquery.min.js", "d3.v5.min.js", "bertviz.js"],
    "math": ["mathjax-config.js", f"{MATHJAX_DIR}/tex-chtml.js"],
}
OWN_SCRIPTS = ("theme.js", "search.js")  # our own page code for every page, in site/static


def analysis_scripts() -> dict[str, Path]:
    """Site-relative name -> file, for the page scripts of the analyses that have one (assets/heads.js...)."""
    return {f"{a.name}.js": a.folder / a.script for a in analyses.REGISTRY.values() if a.script}


def group_scripts() -> dict[str, list[str]]:
    """Every asset group a figure may need (Figure.assets), with its scripts in load order."""
    return {**VENDOR_GROUPS, **{name.removesuffix(".js"): [name] for name in analysis_scripts()}}


_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.S)


def _wrap_view(source: str, name: str, marker: str = "PYTHON_PARAMS") -> str:
    """BertViz view script -> a function of its params (found where `marker` stood), require.config removed."""
    stripped, n = _REQUIRE_CONFIG.subn("", source, count=1)
    if n != 1 or marker not in stripped:
        raise LmreportError(f"BertViz's {name}.js has an unexpected shape; this lmreport needs bertviz 1.4.x")
    body = stripped.replace(marker, "lmreportParams")
    return (
        f"function {name}(lmreportParams) {{\n"
        "  const requirejs = function (deps, start) { start(window.jQuery, window.d3); };\n"
        f"{body}\n}}\n"
    )


@cache
def bertviz_script() -> str:
    """The page-side BertViz code: both views, reading attention from a JSON <script> block."""
    head = _package_file("bertviz", "head_view.js", "bertviz").read_text(encoding="utf-8")
    model = _package_file("bertviz", "model_view.js", "bertviz").read_text(encoding="utf-8")
    neuron = _package_file("bertviz", "neuron_view.js", "bertviz").read_text(encoding="utf-8")
    glue = (STATIC_DIR / "bertviz-glue.js").read_text(encoding="utf-8")
    views = (_wrap_view(head, "headView") + _wrap_view(model, "modelView")
             + _wrap_view(neuron, "neuronView", "window.bertviz_params"))
    return glue.replace("/*VIEWS*/", views)


def write_assets(site_dir: Path, math: bool = False) -> None:
    """Copy every asset into site_dir/assets, shared by all pages (MathJax only when a page has math)."""
    target = site_dir / ASSET_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name, path in vendor_files().items():
        shutil.copyfile(path, target / name)
    (target / "bertviz.js").write_text(bertviz_script(), encoding="utf-8")
    (target / "lmreport.css").write_text(stylesheet(), encoding="utf-8")
    for name in OWN_SCRIPTS:
        shutil.copyfile(STATIC_DIR / name, target / name)
    for name, path in analysis_scripts().items():
        shutil.copyfile(path, target / name)
    if math:
        shutil.copyfile(STATIC_DIR / "mathjax-config.js", target / "mathjax-config.js")
        for name, path in mathjax_files().items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / name)


@cache
def stylesheet() -> str:
    """The site's stylesheet, with Pygments' colours for highlighted code blocks."""
    from pygments.formatters import HtmlFormatter

    own = (STATIC_DIR / "lmreport.css").read_text(encoding="utf-8")
    return own + "\n/* code highlighting (Pygments, style 'default') */\n" + \
        HtmlFormatter(style="default").get_style_defs("pre code")


def script_names(groups: set[str]) -> list[str]:
    """Asset file names a page with these figure groups loads, in order, each once."""
    names: list[str] = []
    for group, scripts in group_scripts().items():
        if group in groups:
            names.extend(n for n in scripts if n not in names)
    return names


def inline_assets(groups: set[str]) -> str:
    """The same scripts inlined as <script> elements, for notebook output."""
    files = {**vendor_files(), **analysis_scripts()}
    parts = []
    names = script_names(groups)
    # theme.js holds the ready and mount helpers every page script starts through (a second copy does nothing)
    for name in ["theme.js", *names] if names else []:
        path = files.get(name, STATIC_DIR / name)  # mathjax-config.js is our own
        text = bertviz_script() if name == "bertviz.js" else path.read_text(encoding="utf-8")
        parts.append(f"<script>{text}</script>")
    return "\n".join(parts)
