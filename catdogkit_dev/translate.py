"""The Spanish edition, generated: lessons and exercises from the English ones plus catalogues.

English is the source. A catalogue (YAML) holds, for each cell id of one English notebook,
the translation and the hash of the English source it was translated from:

* a markdown cell: ``text`` (the whole cell in Spanish; ``{{badge}}``, ``{{navigation}}``
  and ``{{exercise}}`` become the Spanish notebook's Colab badge and links);
* a code cell: ``strings``, pairs ``{en, es}`` of comments and messages replaced in the
  English code, which is otherwise copied as it is (an empty entry shares the cell); the
  pairs of ``common.yaml`` beside the catalogues apply to every code cell. A lesson's
  set-up call ``cdk.lesson.setup(...)`` gets ``lang="es"``; an exercise's set-up cell
  calls ``i18n.set_language("es")`` after ``import catdogkit as cdk``.

A cell is *stale* when its English changed after it was translated (the hashes differ),
*untranslated* when its catalogue has no entry; the generator then keeps the English (or
the older translation) and ``--check`` names the cell and fails.

    python -m catdogkit_dev.translate lessons [--check]    # lessons/es/*.ipynb
    python -m catdogkit_dev.translate exercises [--check]  # solutions/*_es/, then exercises/*_es/
    python -m catdogkit_dev.translate messages [--check]   # the kit's catdogkit.po -> .mo
    python -m catdogkit_dev.translate stamp CATALOGUE CELL_ID...  # "I translated this version"

Exercises are translated BEFORE nbgrader's generate_assignment (nbgrader checksums cell
sources); the Spanish twin keeps every grade_id, test and point of the English one.
"""
import argparse
import copy
import hashlib
import io
import re
import shutil
import sys
import tempfile
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from catdogkit import course, i18n

REPO = Path(__file__).resolve().parents[1]
LANG = "es"
LESSONS = REPO / "lessons"
LESSONS_ES = LESSONS / LANG
LESSON_CATALOGUES = LESSONS_ES / "catalogue"
# Exercise catalogues quote hidden tests: they stay beside the solutions, never in served lessons/.
EXERCISE_CATALOGUES = REPO / "solutions" / "_catalogue_es"
SUFFIX = "_es"
_SETUP_CALL = re.compile(r"(cdk\.lesson\.setup\([^()\n]*)\)")
_KIT_IMPORT = re.compile(r"^import catdogkit as cdk$", re.M)
_SKIPPED_TOKENS = {tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE}


def _shown(path):
    """``path`` relative to the repository when it is inside it (as problems name it)."""
    path = Path(path)
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def source_hash(source):
    """The short hash a catalogue keeps of the English a cell was translated from."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------- catalogues


def read_catalogue(path):
    path = Path(path)
    if not path.is_file():
        return {"cells": {}}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data["cells"] = {str(k): (v or {}) for k, v in (data.get("cells") or {}).items()}
    return data


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, so a translator reads the catalogue as text."""


def _string(dumper, text):
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_BlockDumper.add_representer(str, _string)


def write_catalogue(path, catalogue):
    text = yaml.dump(catalogue, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=100)
    Path(path).write_text(text, encoding="utf-8")


def stamp(path, english, cell_ids=()):
    """Record that the entries ``cell_ids`` translate the English now in ``english``.

    Without ``cell_ids``: every entry that has no hash yet (a translation just written).
    """
    catalogue = read_catalogue(path)
    sources = {cell.id: cell.source for cell in nbformat.read(english, 4).cells}
    cell_ids = cell_ids or [i for i, entry in catalogue["cells"].items() if "source" not in entry]
    for cell_id in cell_ids:
        entry = catalogue["cells"].setdefault(cell_id, {})
        entry["source"] = source_hash(sources[cell_id])
    write_catalogue(path, catalogue)


# ---------------------------------------------------------------- one notebook


@dataclass
class Target:
    """Where one Spanish notebook goes and what its header links to."""

    english: Path
    spanish: Path
    catalogue: Path
    badge_path: str                       # repository path the Colab badge opens
    links: dict = field(default_factory=dict)   # placeholder -> markdown


@dataclass
class Result:
    notebook: object
    problems: list
    translated: int = 0


def code_tokens(source):
    """The code of a cell without its comments and strings (IPython magics kept as text)."""
    lines = ["#" + line if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        tokens = tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline)
        return [t.string for t in tokens if t.type not in _SKIPPED_TOKENS]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


def with_language(source):
    """The English code asking for Spanish: in a lesson's set-up call, or after an exercise's import."""
    if _SETUP_CALL.search(source):
        return _SETUP_CALL.sub(lambda m: m.group(1) + f', lang="{LANG}")', source)
    return _KIT_IMPORT.sub(lambda m: m.group(0) + f'\nfrom catdogkit import i18n\ni18n.set_language("{LANG}")',
                           source, count=1)


def _translate_code(cell_id, source, entry, common, problems):
    translated = with_language(source)
    for pair in entry.get("strings") or []:
        if pair["en"] not in translated:
            problems.append(f"{cell_id}: the English no longer has {pair['en']!r}")
            continue
        translated = translated.replace(pair["en"], pair["es"])
    for pair in common:  # comments every notebook of the folder shares (the set-up cells')
        translated = translated.replace(pair["en"], pair["es"])
    if code_tokens(translated) != code_tokens(with_language(source)):
        problems.append(f"{cell_id}: the translation changes code, not only strings and comments")
        return with_language(source)
    return translated


def _common_strings(folder):
    """The ``strings`` of ``common.yaml`` beside the catalogues: applied to every code cell."""
    path = Path(folder) / "common.yaml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("strings", []) if path.is_file() else []


def _translate_markdown(entry, links):
    text = entry["text"]
    for name, markdown in links.items():
        text = text.replace("{{" + name + "}}", markdown)
    return text.rstrip("\n")


def translate_notebook(target):
    """The Spanish notebook of ``target`` and the problems of its catalogue (unsorted)."""
    english = nbformat.read(target.english, 4)
    catalogue = read_catalogue(target.catalogue)
    common = _common_strings(target.catalogue.parent)
    entries, problems, translated = catalogue["cells"], [], 0
    spanish = copy.deepcopy(english)
    links = {"badge": course.colab_badge(target.badge_path), **target.links}
    for cell in spanish.cells:
        entry = entries.get(cell.id)
        where = f"{_shown(target.catalogue)} [{cell.id}]"
        if entry is None or (cell.cell_type == "markdown" and "text" not in entry):
            problems.append(f"{where}: untranslated {cell.cell_type} cell")
            cell.source = with_language(cell.source) if cell.cell_type == "code" else cell.source
            continue
        before = len(problems)
        if entry.get("source") != source_hash(cell.source):
            problems.append(f"{where}: stale (its English changed after it was translated)")
        if cell.cell_type == "code":
            cell.source = _translate_code(where, cell.source, entry, common, problems)
        else:
            cell.source = _translate_markdown(entry, links)
        translated += len(problems) == before
    ids = {cell.id for cell in english.cells}
    problems += [f"{_shown(target.catalogue)} [{cell_id}]: no such cell in the English"
                 for cell_id in entries if cell_id not in ids]
    spanish.metadata["catdogkit"] = {"lang": LANG, "source": _shown(target.english)}
    return Result(spanish, problems, translated)


# ---------------------------------------------------------------- lessons and exercises


def lesson_title(name):
    """A lesson's Spanish title: the kit's own catalogue translates the course's titles."""
    return i18n.translations(LANG).gettext(course.lesson_title(name))


def lesson_label(name):
    return f"Lección {name.split('_', 1)[0]} · {lesson_title(name)}"


def _lesson_links(name):
    names = course.lesson_names()
    index = names.index(name)
    parts = []
    if index > 0:
        parts.append(f"← Anterior: [{lesson_label(names[index - 1])}]({names[index - 1]}.ipynb)")
    if index + 1 < len(names):
        parts.append(f"Siguiente: [{lesson_label(names[index + 1])}]({names[index + 1]}.ipynb) →")
    target = names[1] if index == 0 else name
    words = "Los ejercicios empiezan con la lección 01" if index == 0 else "Ejercicio"
    exercise = f"exercises/{target}{SUFFIX}/{target}{SUFFIX}.ipynb"
    return {"navigation": " · ".join(parts),
            "exercise": f"{words}: [{target}{SUFFIX}](../../{exercise}) "
                        f"([abrir en Colab]({course.colab_url(exercise)}))"}


def lesson_targets():
    return [Target(LESSONS / f"{name}.ipynb", LESSONS_ES / f"{name}.ipynb",
                   LESSON_CATALOGUES / f"{name}.yaml", f"lessons/{LANG}/{name}.ipynb", _lesson_links(name))
            for name in course.lesson_names()]


def english_assignments():
    return sorted(p.name for p in (REPO / "solutions").iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")) and not p.name.endswith(SUFFIX))


def exercise_targets():
    targets = []
    for name in english_assignments():
        twin = f"{name}{SUFFIX}"
        targets.append(Target(REPO / "solutions" / name / f"{name}.ipynb",
                              REPO / "solutions" / twin / f"{twin}.ipynb",
                              EXERCISE_CATALOGUES / f"{name}.yaml", f"exercises/{twin}/{twin}.ipynb"))
    return targets


def generate_release(assignment):
    """nbgrader's release of ``assignment`` (a temporary course), copied into ``exercises/``."""
    from catdogkit_dev.nbgrader_course import grader, new_course, use_home

    with tempfile.TemporaryDirectory(prefix="catdogkit-release-") as work:
        use_home(Path(work) / "home")
        config = new_course(Path(work) / "course", assignment)
        result = grader(config).generate_assignment(assignment)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment({assignment}) failed:\n{result.get('log')}")
        release = REPO / "exercises" / assignment
        shutil.rmtree(release, ignore_errors=True)
        shutil.copytree(Path(work) / "course" / "exercises" / assignment, release)


def build(targets, *, write=True):
    """Translate every target; write the notebooks that changed. Returns (results, changed paths)."""
    results, changed = [], []
    for target in targets:
        result = translate_notebook(target)
        results.append(result)
        text = nbformat.writes(result.notebook) + "\n"
        old = target.spanish.read_text(encoding="utf-8") if target.spanish.is_file() else None
        if old != text:
            changed.append(target.spanish)
            if write:
                target.spanish.parent.mkdir(parents=True, exist_ok=True)
                target.spanish.write_text(text, encoding="utf-8")
    return results, changed


def report(results, changed, check):
    problems = [p for result in results for p in result.problems]
    translated = sum(r.translated for r in results)
    cells = sum(len(r.notebook.cells) for r in results)
    print(f"{translated} of {cells} cells translated and current in {len(results)} notebooks")
    for problem in problems:
        print("  " + problem)
    if check and changed:
        print("out of date (run without --check): " + ", ".join(_shown(p) for p in changed))
    return 1 if problems or (check and changed) else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m catdogkit_dev.translate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("lessons", "exercises", "messages", "stamp"))
    parser.add_argument("args", nargs="*", help="stamp: CATALOGUE [CELL_ID...] (default: the new entries)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on any problem")
    args = parser.parse_args(argv)
    if args.what == "messages":
        from catdogkit_dev.translate_messages import main as messages
        return messages(check=args.check)
    if args.what == "stamp":
        catalogue = Path(args.args[0]).resolve()
        targets = {t.catalogue: t for t in lesson_targets() + exercise_targets()}
        stamp(catalogue, targets[catalogue].english, args.args[1:])
        return 0
    targets = lesson_targets() if args.what == "lessons" else exercise_targets()
    results, changed = build(targets, write=not args.check)
    if args.what == "exercises" and not args.check:
        for target in targets:
            if target.spanish in changed or not (REPO / "exercises" / target.spanish.parent.name).is_dir():
                generate_release(target.spanish.parent.name)
    return report(results, changed, args.check)


if __name__ == "__main__":
    sys.exit(main())
