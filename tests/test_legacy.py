"""The class-manual code against the installed Keras: real errors, real replacements."""
import pytest

keras = pytest.importorskip("keras")

from catdogkit import legacy  # noqa: E402


@pytest.fixture(scope="module")
def results():
    return {r["name"]: r for r in legacy.try_old_calls()}


def test_every_old_call_is_tried_and_has_a_replacement(results):
    assert list(results) == [call["name"] for call in legacy.OLD_CALLS]
    for result in results.values():
        assert result["outcome"] in ("error", "warning", "ran")
        assert result["new"] and result["why"]
    # Every old call is quoted from the class code, except the demonstration of what
    # steps_per_epoch=100 does to a finite dataset.
    for call in legacy.OLD_CALLS:
        if call["name"] != "steps_per_epoch=100":
            assert all(line.strip() in legacy.CLASS_CODE for line in call["old"].splitlines())


def test_errors_are_the_ones_keras_really_raises(results):
    # Compare with what the same calls raise here, not with stored text.
    with pytest.raises(Exception) as lr:
        keras.optimizers.RMSprop(lr=1e-4)
    assert (results["optimizer lr="]["error_type"], results["optimizer lr="]["message"]) == (
        type(lr.value).__name__, str(lr.value))
    with pytest.raises(Exception) as gradients:
        keras.backend.gradients  # noqa: B018
    assert results["K.gradients"]["message"] == str(gradients.value)
    with pytest.raises(Exception) as function:
        keras.backend.function  # noqa: B018
    assert results["K.function"]["message"] == str(function.value)
    assert results["fit_generator"]["error_type"] == "AttributeError"
    assert "fit_generator" in results["fit_generator"]["message"]
    assert results["ImageDataGenerator"]["error_type"] == "ImportError"
    assert "never been called" in results["Model(model.input, ...)"]["message"]


def test_warnings_are_reported_not_raised(results):
    assert results["save .h5"]["outcome"] == "warning"
    assert "legacy" in results["save .h5"]["message"].lower()
    assert results["steps_per_epoch=100"]["outcome"] == "warning"
    assert "ran out of data" in results["steps_per_epoch=100"]["message"]


def test_migration_table_is_data(results):
    table = legacy.migration_table(list(results.values()))
    assert len(table) == len(legacy.OLD_CALLS)
    assert all(set(row) == {"old", "now", "new", "why"} for row in table)
    assert table[1]["now"].startswith("ValueError: ")
