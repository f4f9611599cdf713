"""Which lesson first uses each helper of the kit, and whether its docstring says so.

A helper's docstring says "Introduced in lesson NN" for the first lesson (``lessons/NN_*.ipynb``,
code cells, in lesson order) that uses it: ``cdk.visualize.tile(…)``, ``cdk.widgets.X(…)``,
or a method or property of an object a kit call returned (``lesson.photo(…)`` after
``lesson = cdk.lesson.setup(…)``). A helper no lesson uses claims no lesson.

    python -m catdogkit_dev.lesson_tags          # list the wrong tags (exit 1 if any)
    python -m catdogkit_dev.lesson_tags --fix    # rewrite them in catdogkit/'s docstrings
"""
import argparse
import ast
import dataclasses
import functools
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

REPO = Path(__file__).resolve().parents[1]
KIT = "catdogkit"
#: "Introduced in lesson NN", its parenthetical, and the rest of its sentence (for removal).
TAG = re.compile(r"Introduced in lesson (?P<number>\d\d)(?P<title> \([^)]*\))?")
SENTENCE = re.compile(TAG.pattern + r"[^.;\n]*[.;]?[ \t]*")


@dataclasses.dataclass
class Helper:
    """A module, or a public function, class, method or property, and what its docstring claims."""
    key: str  # module.qualname, e.g. "catdogkit.lesson.Lesson.photo"
    path: Path
    docstring: ast.Constant  # the docstring's node in the module's source
    claimed: str | None  # the lesson number its docstring names, or None
    #: a method, property or module: checked only when it has a tag (a class's tag speaks for its members)
    optional: bool
    module: bool = False  # see wrong_tags for what a module's tag may say


def lesson_notebooks(root=REPO):
    """``(number, path)`` of every lesson notebook, in lesson order."""
    paths = sorted((Path(root) / "lessons").glob("[0-9][0-9]_*.ipynb"))
    return [(path.name[:2], path) for path in paths]


def code_cells(path):
    """The code cells of a notebook as Python (IPython's ``%magic`` lines turned into calls)."""
    transform = TransformerManager().transform_cell
    notebook = nbformat.read(path, as_version=4)
    return [transform(cell.source) for cell in notebook.cells if cell.cell_type == "code"]


def _kit_module(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _member(owner, name):
    """``owner.name`` for a kit module or class, importing a submodule when needed."""
    if inspect.ismodule(owner):
        if hasattr(owner, name):
            return getattr(owner, name)
        return _kit_module(f"{owner.__name__}.{name}")
    try:
        return inspect.getattr_static(owner, name)
    except AttributeError:
        return None


def key_of(obj):
    """``module.qualname`` of a kit function, class or property; None for anything else."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return None
    module = getattr(obj, "__module__", "") or ""
    if module != KIT and not module.startswith(KIT + "."):
        return None
    return f"{module}.{obj.__qualname__}"


def _has(cls, name):
    fields = getattr(cls, "__dataclass_fields__", {})
    return name in fields or name in getattr(cls, "__annotations__", {}) or \
        _member(cls, name) is not None


def _kit_modules():
    """Every module of the kit, imported (one that cannot be, e.g. for lack of an extra, is left out)."""
    package = importlib.import_module(KIT)
    modules = [package]
    for info in pkgutil.walk_packages(package.__path__, KIT + "."):
        if info.name.endswith(".__main__"):  # importing it runs the command line
            continue
        module = _kit_module(info.name)
        if module is not None:
            modules.append(module)
    return modules


@functools.cache
def _kit_classes():
    found = []
    for module in _kit_modules():
        found += [c for _n, c in inspect.getmembers(module, inspect.isclass)
                  if key_of(c) and c not in found]
    return found


def _class_of_result(function, attribute):
    """The kit class a kit function returns, judged by the attribute used on its result:
    the return annotation, else the one class of the function's module (or, failing
    that, of the whole kit) that has that attribute."""
    returned = inspect.signature(function).return_annotation
    if inspect.isclass(returned) and returned is not inspect.Signature.empty:
        return returned
    if any(hasattr(builtin, attribute) for builtin in (dict, list, tuple, str)):
        return None  # a plain value's method (history.items()), not a kit class's
    classes = [c for c in _kit_classes() if _has(c, attribute)]
    own = [c for c in classes if c.__module__ == function.__module__]
    for group in (own, classes):
        if len(group) == 1:
            return group[0]
    return None


class _Reader(ast.NodeVisitor):
    """Walks one lesson's cells in order, noting every kit helper it uses."""

    def __init__(self):
        self.names = {}  # name -> kit module/function/class, or ("instance", class/function)
        self.used, self.unknown = set(), set()

    def resolve(self, node):
        """What an expression is, as far as the kit is concerned (None: not the kit)."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Call):
            made = self.resolve(node.func)
            if inspect.isclass(made) or inspect.isfunction(made):
                return ("instance", made)
            return None
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            if owner is None:
                return None
            if isinstance(owner, tuple):
                return self._attribute_of_instance(owner[1], node.attr)
            found = _member(owner, node.attr)
            if found is None:
                self.unknown.add(f"{getattr(owner, '__name__', owner)}.{node.attr}")
            elif key_of(found):
                self.used.add(key_of(found))
            return found
        return None

    def _attribute_of_instance(self, made, attribute):
        cls = made if inspect.isclass(made) else _class_of_result(made, attribute)
        for used in (cls, cls and _member(cls, attribute)):
            if key_of(used):
                self.used.add(key_of(used))
        return None  # what a method returns is not followed further

    def visit_Import(self, node):
        for alias in node.names:
            if alias.name.split(".")[0] == KIT:
                top = alias.asname or alias.name.split(".")[0]
                self.names[top] = _kit_module(alias.name if alias.asname else KIT)

    def visit_ImportFrom(self, node):
        if node.module and node.module.split(".")[0] == KIT:
            module = _kit_module(node.module)
            for alias in node.names:
                found = _member(module, alias.name) if module else None
                if key_of(found):
                    self.used.add(key_of(found))
                self.names[alias.asname or alias.name] = found

    def visit_Attribute(self, node):
        self.resolve(node)
        self.generic_visit(node)

    def visit_Assign(self, node):
        self.generic_visit(node)
        value = self.resolve(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.names[target.id] = value if isinstance(value, tuple) else None


def first_uses(root=REPO):
    """``({helper key: first lesson number}, {lesson number: kit names that do not exist})``."""
    first, unknown = {}, {}
    for number, path in lesson_notebooks(root):
        reader = _Reader()
        for source in code_cells(path):
            reader.visit(ast.parse(source, str(path)))
        for key in reader.used:
            first.setdefault(key, number)
        if reader.unknown:
            unknown[number] = sorted(reader.unknown)
    return first, unknown


def helpers(package=REPO / KIT):
    """Every module and public function, class, method and property of the kit that has a docstring."""
    found = []
    for path in sorted(Path(package).rglob("*.py")):
        parts = list(path.relative_to(Path(package).parent).with_suffix("").parts)
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(), str(path))
        docstring = _docstring_node(tree)
        if docstring is not None:
            tag = TAG.search(docstring.value)
            found.append(Helper(module, path, docstring, tag and tag["number"], True, True))
        found += _documented(tree.body, module, path)
    return found


def _documented(body, prefix, path, optional=False):
    found = []
    for node in body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if node.name.startswith("_"):
            continue
        key = f"{prefix}.{node.name}"
        docstring = _docstring_node(node)
        if docstring is not None:
            tag = TAG.search(docstring.value)
            found.append(Helper(key, path, docstring, tag and tag["number"], optional))
        if isinstance(node, ast.ClassDef):
            found += _documented(node.body, key, path, optional=True)
    return found


def _docstring_node(node):
    if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
            and isinstance(node.body[0].value.value, str):
        return node.body[0].value
    return None


def wrong_tags(root=REPO):
    """``[(helper, the lesson that first uses it or None)]`` for each tag that is wrong or
    missing, in source order. A class or module is first used where it or any of its
    members is."""
    first, _unknown = first_uses(root)
    wrong = []
    for helper in helpers(Path(root) / KIT):
        uses = [number for key, number in first.items()
                if key == helper.key or key.startswith(helper.key + ".")]
        expected = min(uses, default=None)
        if helper.optional and helper.claimed is None:
            continue
        # A module may also be shown through its constants, which cannot be traced to it
        # (a string is a string): its tag is wrong only when a lesson before it uses it.
        if helper.module and (expected is None or expected > helper.claimed):
            continue
        if helper.claimed != expected:
            wrong.append((helper, expected))
    return wrong


def describe(helper, expected):
    path = helper.path.relative_to(REPO) if helper.path.is_relative_to(REPO) else helper.path
    where = f"{path}:{helper.docstring.lineno} {helper.key}"
    if expected is None:
        return f"{where}: says lesson {helper.claimed}, but no lesson uses it"
    if helper.claimed is None:
        return f"{where}: lesson {expected} uses it first; its docstring has no tag"
    return f"{where}: says lesson {helper.claimed}, first used in lesson {expected}"


def lesson_title(number):
    """The catalogue title of a lesson, lower-cased and up to any colon: "building a CNN"."""
    from catdogkit.course import LESSONS
    title = dict((name[:2], title) for name, title in LESSONS)[number]
    short = title.split(":")[0]
    return short[0].lower() + short[1:]


def corrected(docstring, expected, indent):
    """The docstring's text with its tag made right: renumbered, removed or added.

    A renumbered tag keeps its form (with or without the lesson's title in brackets); a
    tag removed takes its sentence with it; an added one is a paragraph of its own."""
    found = TAG.search(docstring)
    if found and expected:
        title = f" ({lesson_title(expected)})" if found["title"] else ""
        return TAG.sub(f"Introduced in lesson {expected}{title}", docstring, count=1)
    if found:
        sentence = SENTENCE.search(docstring)
        start = sentence.start()
        line_start = docstring.rfind("\n", 0, start) + 1
        if docstring[line_start:start].strip():  # mid-line: the space before it goes too
            start = len(docstring[:start].rstrip(" \t"))
        text = docstring[:start] + docstring[sentence.end():]
        text = re.sub(r"[ \t]+\n", "\n", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.rstrip() + _closing(docstring)
    tag = f"Introduced in lesson {expected} ({lesson_title(expected)})"
    return f"{docstring.rstrip()}\n\n{indent}{tag}.\n{indent}"


def _closing(docstring):
    """The whitespace a docstring ends with (a multi-line one ends on its own line)."""
    return docstring[len(docstring.rstrip()):]


def fix(root=REPO):
    """Rewrite every wrong tag in the kit's source; returns how many were rewritten."""
    wrong = wrong_tags(root)
    by_file = {}
    for helper, expected in wrong:
        by_file.setdefault(helper.path, []).append((helper, expected))
    for path, items in by_file.items():
        lines = path.read_text().splitlines(keepends=True)
        # from the bottom up, so earlier line numbers stay valid
        for helper, expected in sorted(items, key=lambda item: -item[0].docstring.lineno):
            node = helper.docstring
            start, end = node.lineno - 1, node.end_lineno
            text = "".join(lines[start:end])
            indent = " " * node.col_offset
            new = text.replace(node.value, corrected(node.value, expected, indent), 1)
            if new == text:
                raise SystemExit(f"{describe(helper, expected)}: cannot rewrite this docstring "
                                 "(escapes in its source); fix it by hand")
            lines[start:end] = [new]
        path.write_text("".join(lines))
    return len(wrong)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m catdogkit_dev.lesson_tags", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fix", action="store_true", help="rewrite the wrong tags in catdogkit/")
    args = parser.parse_args(argv)
    if args.fix:
        print(f"rewrote {fix()} tags")
        return 0
    wrong = wrong_tags()
    for helper, expected in wrong:
        print(describe(helper, expected))
    print(f"{len(wrong)} wrong tags")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
