"""The kit's documentation agrees with the code: "Introduced in lesson NN" tags name the lesson
that first uses each helper, and docs/architecture.md's API part is what the docstrings say."""
import shutil

import nbformat
import pytest

from catdogkit_dev import api_doc, lesson_tags


def test_every_lesson_tag_names_the_lesson_that_first_uses_the_helper(repo):
    wrong = [lesson_tags.describe(helper, expected) for helper, expected in lesson_tags.wrong_tags(repo)]
    assert not wrong, (f"{len(wrong)} wrong 'Introduced in lesson NN' tags "
                       "(python -m catdogkit_dev.lesson_tags --fix rewrites them):\n" + "\n".join(wrong))


def test_every_kit_name_a_lesson_uses_exists(repo):
    _first, unknown = lesson_tags.first_uses(repo)
    assert not unknown, f"lessons use kit names that do not exist: {unknown}"


def write_lesson(folder, name, *cells):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    (folder / "lessons").mkdir(exist_ok=True)
    nbformat.write(notebook, folder / "lessons" / f"{name}.ipynb")


def test_first_uses_follow_kit_calls_imports_and_the_lesson_object(tmp_path):
    import catdogkit.visualize
    import catdogkit.widgets
    from catdogkit.lesson import Lesson, setup
    key = lesson_tags.key_of
    write_lesson(tmp_path, "00_first",
                 '%pip install -q "catdogkit"\nimport catdogkit as cdk',
                 'lesson = cdk.lesson.setup("00_first")\ncat = lesson.photo(0)')
    write_lesson(tmp_path, "01_second",
                 "import catdogkit as cdk\nfrom catdogkit.visualize import plot_images",
                 'lesson = cdk.lesson.setup("01_second")\n'
                 "picker = cdk.widgets.PhotoPicker(lesson.photos())\n"
                 "cdk.visualize.tile(picker.value)\ncdk.lesson.nothing_here()")
    first, unknown = lesson_tags.first_uses(tmp_path)
    assert first[key(setup)] == "00" and first[key(Lesson)] == "00"
    assert first[key(Lesson.photo)] == "00" and first[key(Lesson.photos)] == "01"
    assert first[key(catdogkit.visualize.tile)] == "01"
    assert first[key(catdogkit.visualize.plot_images)] == "01"
    assert first[key(catdogkit.widgets.PhotoPicker)] == "01"
    assert unknown == {"01": ["catdogkit.lesson.nothing_here"]}


def test_which_tags_count_as_wrong(tmp_path):
    write_lesson(tmp_path, "00_first", "import catdogkit as cdk",
                 'lesson = cdk.lesson.setup("00_first")\nlesson.photo(0)')
    write_lesson(tmp_path, "02_third", "import catdogkit as cdk", "cdk.visualize.tile([])")
    (tmp_path / "catdogkit" / "visualize").mkdir(parents=True)
    (tmp_path / "catdogkit" / "lesson.py").write_text(
        '"""Set-up. Introduced in lesson 03."""\n'  # a module: a lesson before it uses it
        'class Lesson:\n    """The lesson. Introduced in lesson 00."""\n'
        '    def photo(self):\n        """A photo."""\n'  # its class's tag speaks for it
        'def setup():\n    """Start. Introduced in lesson 01."""\n'
        'def table():\n    """A table. Introduced in lesson 00."""\n')
    (tmp_path / "catdogkit" / "visualize" / "render.py").write_text(
        '"""Rendering. Introduced in lesson 01."""\n'  # before any use found: its constants may be why
        'def tile():\n    """A mosaic."""\n')
    wrong = {helper.key: (helper.claimed, expected) for helper, expected in lesson_tags.wrong_tags(tmp_path)}
    assert wrong == {"catdogkit.lesson": ("03", "00"), "catdogkit.lesson.setup": ("01", "00"),
                     "catdogkit.lesson.table": ("00", None),
                     "catdogkit.visualize.render.tile": (None, "02")}


@pytest.mark.parametrize("docstring, expected, fixed", [
    ("Tile images.\n\n    Introduced in lesson 03 (feature maps).\n    ", "05",
     "Tile images.\n\n    Introduced in lesson 05 (layer visualization).\n    "),
    ("Tile images. Introduced in lesson 03.", "01", "Tile images. Introduced in lesson 01."),
    ("Tile images.\n\n    Introduced in lesson 03 (feature maps).\n    ", None, "Tile images.\n    "),
    ("Where photos are. Introduced in lesson 01.\n\n    More.\n    ", None,
     "Where photos are.\n\n    More.\n    "),
    ("Split.\n\n    Introduced in lesson 01. The order is a hash.\n    ", None,
     "Split.\n\n    The order is a hash.\n    "),
    ("The cache folder.", "00",
     "The cache folder.\n\n    Introduced in lesson 00 (the class code, then and now).\n    "),
])
def test_a_tag_is_renumbered_removed_or_added(docstring, expected, fixed):
    assert lesson_tags.corrected(docstring, expected, "    ") == fixed


def test_fix_leaves_no_wrong_tag_and_the_code_still_compiles(repo, tmp_path):
    shutil.copytree(repo / "catdogkit", tmp_path / "catdogkit")
    shutil.copytree(repo / "lessons", tmp_path / "lessons")
    lesson_tags.fix(tmp_path)
    assert lesson_tags.wrong_tags(tmp_path) == []
    for path in (tmp_path / "catdogkit").rglob("*.py"):
        compile(path.read_text(), str(path), "exec")


def test_the_architecture_doc_shows_the_api_the_code_has():
    drift = api_doc.drift()
    assert not drift, ("docs/architecture.md's API part differs from the docstrings "
                       "(python -m catdogkit_dev.api_doc --write regenerates it):\n" + "\n".join(drift[:80]))


def test_the_api_part_comes_from_signatures_docstrings_and_constant_comments(tmp_path):
    package = tmp_path / "catdogkit"
    package.mkdir()
    (package / "__init__.py").write_text('"""The kit."""\n')
    (package / "_private.py").write_text('def hidden():\n    """Never listed."""\n')
    (package / "shapes.py").write_text(
        '"""Shapes.\n\nMore words."""\n'
        '#: How many sides a square has.\nSIDES = 4\n'
        'UNDOCUMENTED = 1\n'
        'def area(width, height=2, *, unit="cm", **options):\n    """The area.\n\n    Details."""\n'
        'class Square:\n    """A square."""\n'
        '    def __init__(self, side, colour="red"):\n        self.side = side\n'
        '    @property\n    def corners(self):\n        """Its four corners."""\n'
        '    def scaled(self, factor):\n        return Square(self.side * factor)\n'
        'def _helper():\n    pass\n')
    assert api_doc.generate(package).splitlines()[1:] == [
        "", "### `catdogkit`", "The kit.", "",
        "### `catdogkit.shapes`", "Shapes.", "",
        '- `area(width, height=2, *, unit="cm", **options)`: The area.',
        '- `Square(side, colour="red")` (class): A square.',
        "  - `.corners`: Its four corners.",
        "  - `.scaled(factor)`",
        "- `SIDES`: How many sides a square has."]
    doc = tmp_path / "architecture.md"
    doc.write_text(f"# Doc\n\n{api_doc.BEGIN}\nold words\n{api_doc.END}\n\n## After\n")
    assert api_doc.drift(package, doc)
    api_doc.write(package, doc)
    assert api_doc.drift(package, doc) == []
    assert doc.read_text().startswith(f"# Doc\n\n{api_doc.BEGIN}\n") and doc.read_text().endswith(
        f"{api_doc.END}\n\n## After\n")
