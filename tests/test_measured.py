"""The measured figures lesson 07 shows: one ablation figure per choice, the ladder, both languages."""
import pytest

from catdogkit import i18n, measured, recipes


@pytest.fixture
def spanish():
    i18n.set_language("es")
    yield
    i18n.set_language("en")


def test_every_choice_of_the_improved_network_has_its_measured_figure():
    assert set(measured.ABLATION_VALIDATION) == {"full recipe", *measured.IMPROVEMENTS}
    assert all(0.5 <= value <= 1 for value in measured.ABLATION_VALIDATION.values())


def test_the_improvements_table_gives_each_choice_without_it_and_with_it():
    rows = measured.improvements_table()
    assert [row["change"] for row in rows] == list(measured.IMPROVEMENTS)
    smaller = rows[list(measured.IMPROVEMENTS).index("smaller photos")]
    assert smaller["with it"] == f"{100 * measured.ABLATION_VALIDATION['full recipe']:.1f}%"
    assert smaller["validation without it"] == f"{100 * measured.ABLATION_VALIDATION['smaller photos']:.1f}%"
    # A row measured against its own run (the recipe's phases at the reduced budget) shows that run.
    phases = rows[list(measured.IMPROVEMENTS).index("progressive resizing")]
    assert phases["with it"] == f"{100 * measured.ABLATION_WITH['progressive resizing']:.1f}%"
    assert set(measured.ABLATION_WITH) <= set(measured.IMPROVEMENTS)


def test_every_rung_of_the_ladder_is_a_network_the_kit_builds():
    assert [rung["network"] for rung in measured.LADDER] == ["original", "class-augmented",
                                                             "improved", "transfer"]
    assert set(rung["network"] for rung in measured.LADDER) <= set(recipes.RECIPES)
    rows = measured.ladder_table()
    assert rows[0]["validation accuracy"] == "75.6%"
    assert rows[1]["validation accuracy"] == "77.9%"
    # A rung this kit cannot measure here (no ImageNet weights) shows no number of its own.
    assert rows[3]["validation accuracy"] == "—" and "ImageNet weights" in rows[3]["how it was measured"]


def test_the_tables_speak_spanish_with_a_decimal_comma(spanish):
    ladder = measured.ladder_table()
    assert ladder[0]["exactitud en validación"] == "75,6\u00a0%"
    improvements = measured.improvements_table()
    assert improvements[0]["cambio"] == "capas de aumento de datos (data augmentation)"
    assert all("," in row["con él"] for row in improvements)
