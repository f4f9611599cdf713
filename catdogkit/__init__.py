"""catdogkit: learn how a convolutional network sees cats and dogs.

Notebooks import the kit once and call it, d2l style::

    import catdogkit as cdk
    data = cdk.data.find_data()

Submodules load on first use, so ``import catdogkit`` (and ``catdogkit --help``)
stays fast and never imports TensorFlow by itself. Importing the kit does set
TensorFlow's log switches first, because TF reads them only once, at import time.
"""
from importlib import import_module

from catdogkit import runtime

runtime.silence_tensorflow_logs()

__version__ = "0.1.0"

_SUBMODULES = {
    "data", "sample", "models", "training", "legacy", "visualize", "widgets",
    "lesson", "course", "grading", "constants", "files", "runtime", "errors", "i18n",
    "viewcache", "measured", "recipes",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return import_module(f"catdogkit.{name}")
    raise AttributeError(f"module 'catdogkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
