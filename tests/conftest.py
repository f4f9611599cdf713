"""Fixtures every test module may use. Module-specific fixtures stay in their test files."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "cats_vs_dogs_small"

# The kit's cache (sample photos, trained lesson models) lives in the repository's
# ignored .cache during tests, so a test run never writes to the user's home.
os.environ.setdefault("CATDOGKIT_CACHE", str(REPO / ".cache" / "catdogkit"))

import catdogkit  # noqa: E402  (sets TensorFlow's log switches before any test imports TF)


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def benchmark_script():
    """``benchmark_script("accuracy")``: benchmarks/accuracy.py loaded as a module (the
    scripts are not a package)."""
    import importlib.util

    def load(name):
        spec = importlib.util.spec_from_file_location(f"{name}_benchmark", REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(scope="session")
def real_data():
    """The 3,000 real Kaggle photos beside the repository; tests skip when they are absent."""
    if not (REAL_DATA / "train").is_dir():
        pytest.skip(f"real photos not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def tiny_sample():
    """A small embedded sample (64x64 photos) shared by the whole session."""
    from catdogkit.sample import make_sample
    return make_sample(n_per_class={"train": 40, "validation": 20, "test": 20}, image_size=64, seed=0)


@pytest.fixture(scope="session")
def lesson_sample():
    """The default embedded sample the lessons use."""
    from catdogkit.sample import make_sample
    return make_sample()
