"""The kit's own messages: which ones the code asks for, and the compiled Spanish catalogue.

``python -m catdogkit_dev.translate messages`` reads the messages the kit marks with
``_()``, ``_N_()`` and ``ngettext()``, says which ones ``catdogkit.po`` lacks, and writes
``catdogkit.mo`` from the ``.po`` with Babel (``--check``: writes nothing, fails when the
``.mo`` is not the ``.po`` compiled, or a message is missing).
"""
import ast
import io
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PO = REPO / "catdogkit" / "locale" / "es" / "LC_MESSAGES" / "catdogkit.po"
MO = PO.with_suffix(".mo")
#: Every module of the kit: a message marked anywhere must be in the catalogue.
MODULES = sorted(str(p.relative_to(REPO)) for p in (REPO / "catdogkit").rglob("*.py"))
_MARKERS = {"_": 1, "_N_": 1, "ngettext": 2}


def _name(function):
    return getattr(function, "id", getattr(function, "attr", None))


def marked_messages(paths=None):
    """``{msgid: "file:line"}`` of every literal message the modules mark for translation."""
    found = {}
    for relative in paths or MODULES:
        path = REPO / relative
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            count = isinstance(node, ast.Call) and _MARKERS.get(_name(node.func))
            if not count or len(node.args) < count:
                continue
            for argument in node.args[:count]:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    found.setdefault(argument.value, f"{relative}:{node.lineno}")
    return found


def read_po(path=PO):
    from babel.messages.pofile import read_po as babel_read_po

    with open(path, "rb") as handle:
        return babel_read_po(handle, locale="es", domain="catdogkit")


def compiled(catalog):
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def missing(catalog):
    """Marked messages the catalogue has no Spanish for, as ``"file:line: msgid"``."""
    have = set()
    for message in catalog:
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.id and all(strings):
            have.update([message.id] if isinstance(message.id, str) else message.id)
    return [f"{where}: {msgid!r}" for msgid, where in marked_messages().items() if msgid not in have]


def main(check=False):
    catalog = read_po()
    problems = [f"untranslated: {line}" for line in missing(catalog)]
    mo = compiled(catalog)
    if MO.is_file() and MO.read_bytes() == mo:
        pass
    elif check:
        problems.append(f"{MO.relative_to(REPO)} is not {PO.name} compiled: run without --check")
    else:
        MO.write_bytes(mo)
        print(f"wrote {MO.relative_to(REPO)}")
    print(f"{len(catalog)} messages in {PO.relative_to(REPO)}")
    for problem in problems:
        print("  " + problem)
    return 1 if problems else 0
