"""The kit's shape, read from its own source: layers one way down, no cycles, small modules.

Every import counts, including those inside functions and ``import_module("catdogkit.…")``
calls with a literal name: a lower layer that imports a higher one late still depends on it.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "catdogkit"

#: Lowest first. A module may import its own layer and the layers before it.
LAYERS = {
    "data": ["catdogkit", "catdogkit.data", "catdogkit.sample", "catdogkit.constants",
             "catdogkit.files", "catdogkit.runtime", "catdogkit.errors", "catdogkit.i18n",
             "catdogkit.viewcache"],
    "models": ["catdogkit.models", "catdogkit.recipes", "catdogkit.batch_norm"],
    "training": ["catdogkit.training", "catdogkit.checkpoints", "catdogkit.measured"],
    "visualize": ["catdogkit.visualize"],
    "widgets": ["catdogkit.widgets"],
    "lessons/course": ["catdogkit.lesson", "catdogkit.course", "catdogkit.grading",
                       "catdogkit.legacy", "catdogkit.class_code"],
    "serve and CLI": ["catdogkit.serve", "catdogkit.voila_kernels", "catdogkit.kernel_forks",
                      "catdogkit.kernel_pools", "catdogkit.cli",
                      "catdogkit.__main__"],
}
FORBIDDEN = ("psutil", "playwright", "catdogkit_dev")
MAX_LINES = 400


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module):
    """The index of the layer that holds ``module`` (by its longest listed prefix)."""
    best = None
    for rank, prefixes in enumerate(LAYERS.values()):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    return None if best is None else best[0]


def _absolute(module, node):
    """The module a ``from … import`` names, with relative levels resolved."""
    if not node.level:
        return node.module
    package = module.split(".")
    if not MODULES[module].name == "__init__.py":
        package = package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module):
    """``(line, imported module)`` for every import in ``module``'s source."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                submodule = f"{source}.{alias.name}"
                found.append((node.lineno, submodule if submodule in MODULES else source))
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def kit_imports(module):
    return [(line, name) for line, name in imports(module) if name.split(".")[0] == "catdogkit"]


def test_every_module_has_a_layer():
    unplaced = [m for m in MODULES if layer_of(m) is None]
    assert not unplaced, f"add these modules to a layer in tests/test_layers.py: {unplaced}"


def test_no_module_imports_a_layer_above_its_own():
    names = list(LAYERS)
    upward = []
    for module, path in MODULES.items():
        for line, target in kit_imports(module):
            if layer_of(target) is not None and layer_of(target) > layer_of(module):
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({names[layer_of(module)]})"
                              f" imports {target} ({names[layer_of(target)]})")
    assert not upward, "imports that run up the layers:\n" + "\n".join(upward)


def _cycles(graph):
    """Each strongly connected group of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles_between_modules():
    # A package's __init__ re-exporting its submodules is not a cycle by itself; a
    # submodule importing its own package's __init__ back would be.
    graph = {m: {t for _line, t in kit_imports(m) if t in MODULES and t != m} for m in MODULES}
    cycles = _cycles(graph)
    assert not cycles, "modules that import each other (directly or round a loop):\n" + "\n".join(
        " <-> ".join(group) for group in cycles)


@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_the_kit_never_imports_dev_only_packages(forbidden):
    found = [f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} imports {name}"
             for m in MODULES for line, name in imports(m) if name.split(".")[0] == forbidden]
    assert not found, "\n".join(found)


def test_no_module_is_over_400_lines():
    long = {str(path.relative_to(PACKAGE.parent)): n for path in MODULES.values()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"


def test_the_import_reader_sees_late_and_relative_imports(tmp_path, monkeypatch):
    source = tmp_path / "catdogkit" / "visualize" / "probe.py"
    source.parent.mkdir(parents=True)
    source.write_text("from . import render\nfrom ..widgets import monitor\n"
                      "def late():\n    import catdogkit.training\n"
                      "    import_module('catdogkit.serve')\n")
    monkeypatch.setitem(MODULES, "catdogkit.visualize.probe", source)
    monkeypatch.setitem(MODULES, "catdogkit.widgets.monitor", source)
    monkeypatch.setitem(MODULES, "catdogkit.visualize.render", source)
    assert [name for _line, name in imports("catdogkit.visualize.probe")] == [
        "catdogkit.visualize.render", "catdogkit.widgets.monitor", "catdogkit.training",
        "catdogkit.serve"]
