"""The package's layout, read from its source: rooms by pipeline stage, no import circles, torch only where models
run, no HTML built where numbers are computed, small modules, and every analysis one folder of the registry."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lmreport import analyses

PACKAGE = Path(analyses.__file__).parent.parent
MAX_LINES = 400
NO_TORCH = ("views", "glue", "site", "source")  # rooms that never run a model
HTML_TAG = re.compile(r"</?(div|span|p|a|b|i|em|strong|code|pre|table|thead|tbody|tr|td|th|script|style|svg|details|"
                      r"summary|ul|ol|li|button|select|option|label|section|figure|h[1-6]|br|img|input)\b[^<>]*>")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = modules()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of import nodes inside `if TYPE_CHECKING:` (they never run)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def imports(name: str) -> set[str]:
    """The modules of the package that a module imports, at its top or inside a function (a lazy import hides
    a circle, it does not remove it); `from a import b` counts as importing a.b where b is a module."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base
                                                                                                   else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def test_there_are_no_import_circles():
    graph = {name: imports(name) for name in MODULES}
    circles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_the_checker_finds_a_circle_and_sees_through_lazy_imports(tmp_path, monkeypatch):
    """The circle test can fail: two modules that import each other, one of them inside a function."""
    (tmp_path / "a.py").write_text("from lmreport.x import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from lmreport.x import a\n")
    monkeypatch.setitem(MODULES, "lmreport.x.a", tmp_path / "a.py")
    monkeypatch.setitem(MODULES, "lmreport.x.b", tmp_path / "b.py")
    assert imports("lmreport.x.a") == {"lmreport.x.b"} and imports("lmreport.x.b") == {"lmreport.x.a"}
    with pytest.raises(AssertionError, match="lmreport.x.a -> lmreport.x.b -> lmreport.x.a"):
        test_there_are_no_import_circles()


@pytest.mark.parametrize("room", NO_TORCH)
def test_rooms_that_run_no_model_never_import_torch(room):
    offenders = []
    for name, path in MODULES.items():
        if not name.startswith(f"lmreport.{room}"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{name}: {n}" for n in named if n.split(".")[0] in ("torch", "transformers")]
    assert offenders == []


def test_drawing_and_writing_a_site_load_no_torch():
    """Not only no `import torch` in those rooms: importing them (and the registry they read) loads none."""
    code = ("import sys, lmreport.site.writer, lmreport.site.pages, lmreport.views.bokeh, lmreport.views.bertviz, "
            "lmreport.glue.evaluate, lmreport.source.lessons, lmreport.build; "
            "print(sorted(m for m in ('torch', 'transformers', 'captum') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def html_in(path: Path) -> list[str]:
    """Where a module builds HTML: a string holding a tag, or an import of what builds markup."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and HTML_TAG.search(node.value) \
                and id(node) not in docstrings:
            found.append(f"line {node.lineno}: {node.value[:40]!r}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("markupsafe", "jinja2", "bokeh"):
            found.append(f"line {node.lineno}: imports {node.module}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lmreport.views"):
            found.append(f"line {node.lineno}: imports {node.module}")
    return found


def test_no_compute_module_builds_html():
    offenders = {str(p.relative_to(PACKAGE)): html_in(p) for p in PACKAGE.glob("analyses/*/compute.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_html_check_can_fail(tmp_path):
    bad = tmp_path / "compute.py"
    bad.write_text('from markupsafe import Markup\n\ndef compute():\n    return {"x": "<b>bold</b>"}\n')
    assert len(html_in(bad)) == 2
    fine = tmp_path / "fine.py"
    fine.write_text('"""Node ids: a<n>_<t>."""\n\nNOTE = "x < y and y > z"\n')
    assert html_in(fine) == []


def test_no_module_is_over_400_lines():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_registered_analysis_is_one_folder_declaring_everything():
    for name, analysis in analyses.REGISTRY.items():
        folder = analysis.folder
        assert folder == PACKAGE / "analyses" / name, name
        assert {"__init__.py", "compute.py", "view.py", "schema.py"} <= {p.name for p in folder.iterdir()}, name
        assert analysis.compute.__module__ == f"lmreport.analyses.{name}.compute"
        assert analysis.render.__module__ == f"lmreport.analyses.{name}.view"
        assert analysis.schema.__module__ == f"lmreport.analyses.{name}.schema"
        assert getattr(analysis.schema, "__required_keys__", None), f"{name}: its schema must be a TypedDict"
        if analysis.script is not None:
            assert (folder / analysis.script).is_file(), name
        line, more = analysis.guide_for({})
        assert line and more, name
    assert list(analyses.REGISTRY)[: len(analyses.NAMES)] == list(analyses.NAMES)


def test_nothing_outside_the_registry_lists_analyses_by_name():
    """The build, the site, the CLI and the notebook API read the registry; none keeps a list of its own (the
    five parallel registries: renderers, guides, tables, scripts and the analyses themselves, are one)."""
    names = set(analyses.NAMES)
    offenders = []
    for name, path in MODULES.items():
        if name.startswith("lmreport.analyses"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                if len(keys & names) >= 2:
                    offenders.append(f"{name}: line {node.lineno}")
    assert offenders == []
