"""The package root, the runtime module and the command-line dispatcher."""
import os
import subprocess
import sys

import pytest

from catdogkit import runtime
from catdogkit.cli import main


def run_python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_import_is_cheap_and_sets_tensorflow_log_switches_first():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys, os, catdogkit;"
         "print('tensorflow' in sys.modules, os.environ['TF_CPP_MIN_LOG_LEVEL'],"
         " os.environ['TF_ENABLE_ONEDNN_OPTS'])"],
        capture_output=True, text=True, env=clean, timeout=60)
    assert result.stdout.split() == ["False", "2", "0"], result.stderr


def test_tensorflow_import_after_the_kit_writes_nothing_to_stderr():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    result = subprocess.run(
        [sys.executable, "-c", "import catdogkit, tensorflow as tf; tf.constant(1) + 1"],
        capture_output=True, text=True, env=clean, timeout=120)
    assert result.returncode == 0
    assert result.stderr == "", result.stderr


def test_a_users_own_log_level_is_kept():
    result = run_python("import os, catdogkit; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])",
                        TF_CPP_MIN_LOG_LEVEL="0")
    assert result.stdout.strip() == "0"


def test_submodules_load_lazily_and_unknown_names_fail_clearly():
    import catdogkit
    assert catdogkit.runtime is runtime
    assert "models" in dir(catdogkit)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        catdogkit.nonsense


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path / "kit cache ñ"))
    path = runtime.cache_dir("models", "x")
    assert path == tmp_path / "kit cache ñ" / "models" / "x"
    assert path.is_dir()


def test_colab_is_detected_from_loaded_modules(monkeypatch):
    assert not runtime.in_colab()
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert runtime.in_colab()


def test_help_lists_every_command(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    for command in ("serve", "demo", "train", "evaluate", "data"):
        assert command in text


def test_the_console_script_runs_without_a_traceback():
    result = subprocess.run([sys.executable, "-m", "catdogkit", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("catdogkit ")


def test_readme_begins_with_the_two_commands(repo):
    readme = (repo / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "bash dev.sh serve" in first_block and "bash dev.sh test" in first_block
    assert "bash dev.sh test" in (repo / ".ci" / "run").read_text()
    script = (repo / "dev.sh").read_text()
    assert "serve)" in script and "test)" in script
