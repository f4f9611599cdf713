"""Training: learning on the sample, backups, resume after a kill, history, strategies, cache."""
import ast
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from catdogkit import models, training  # noqa: E402
from catdogkit.errors import CatDogKitError  # noqa: E402

# The training subprocesses build their own small random data set: the test is about
# checkpoints and replicas, not accuracy, and TensorFlow must start afresh in them.
SCRIPT = textwrap.dedent("""
    import json, sys, time
    import catdogkit
    import tensorflow as tf
    if sys.argv[4] == "2cpu":
        # Logical devices exist only if configured before TensorFlow initialises.
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    import keras
    import numpy as np
    from catdogkit import models, training
    out, epochs, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

    rng = np.random.default_rng(0)
    photos = rng.uniform(0, 255, (64, 48, 48, 3)).astype("float32")
    labels = (rng.uniform(size=64) > 0.5).astype("float32")
    data = (tf.data.Dataset.from_tensor_slices((photos, labels)).batch(8),
            tf.data.Dataset.from_tensor_slices((photos[:16], labels[:16])).batch(8))
    model = models.build("original", (48, 48, 3), seed=0)

    class Slow(keras.callbacks.Callback):
        # Long enough epochs that the test can kill the process in the middle of one.
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(pause)

    strategy = None
    if sys.argv[4] == "2cpu":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    history = training.train(model, data, epochs=epochs, out=out, strategy=strategy,
                             callbacks=[Slow()])
    print(json.dumps({"epochs": history["epoch"], "loss": history["loss"],
                      "replicas": (strategy or tf.distribute.get_strategy()).num_replicas_in_sync,
                      "iterations": int(model.optimizer.iterations)}))
""")


def random_data():
    """The same photos as the subprocess script makes."""
    import tensorflow as tf
    rng = np.random.default_rng(0)
    photos = rng.uniform(0, 255, (64, 48, 48, 3)).astype("float32")
    labels = (rng.uniform(size=64) > 0.5).astype("float32")
    return (tf.data.Dataset.from_tensor_slices((photos, labels)).batch(8),
            tf.data.Dataset.from_tensor_slices((photos[:16], labels[:16])).batch(8))


def backed_up_epochs(out):
    """Epochs Keras's backup in ``out`` holds (0 while there is none, or it is being written)."""
    try:
        return json.loads((out / training.BACKUP / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def poll(condition, seconds):
    """True as soon as ``condition()`` holds, False after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def start(tmp_path, out, epochs, pause, devices="1cpu"):
    script = tmp_path / "train_script.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(out), str(epochs), str(pause), devices],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def learnable_sample():
    """Enough sample photos for a network to beat chance within a few epochs (64x64)."""
    from catdogkit.data import load_datasets
    from catdogkit.sample import make_sample
    root = make_sample(n_per_class={"train": 150, "validation": 100, "test": 0}, image_size=64, seed=0)
    return load_datasets(root, image_size=64, batch_size=16, seed=0, announce=lambda _: None)


@pytest.mark.slow
@pytest.mark.parametrize("name,epochs", [("original", 12), ("improved", 8)])
def test_both_networks_learn_to_beat_chance(name, epochs, learnable_sample, tmp_path):
    data = learnable_sample
    model = models.build(name, (64, 64, 3), epochs=epochs,
                         steps_per_epoch=int(data.train.cardinality()), seed=0)
    history = training.train(model, data, epochs=epochs, out=tmp_path, callbacks=[])
    assert history["epoch"] == list(range(1, epochs + 1))
    result = training.evaluate(model, data.validation, data.class_names)
    assert result["n"] == 200
    assert sum(c["n"] for c in result["per_class"].values()) == 200
    # 200 validation photos: chance reaches 58 % with probability below 1.5 %.
    assert result["accuracy"] >= 0.58, result


@pytest.mark.slow
def test_resume_after_a_kill_continues_from_the_last_completed_epoch(tmp_path):
    out = tmp_path / "run"
    process = start(tmp_path, out, epochs=4, pause=0.4)
    # Kill as soon as epoch 1 is backed up: inside epoch 2 (8 steps of at least 0.4 s).
    assert poll(lambda: backed_up_epochs(out) >= 1 or process.poll() is not None, 180)
    assert process.poll() is None, process.stdout.read()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = training.load_history(out)
    done = len(before["epoch"])
    assert 1 <= done < 4

    model = models.original_cnn((48, 48, 3))
    history = training.train(model, random_data(), epochs=4, out=out, callbacks=[])
    assert history["epoch"] == [1, 2, 3, 4]  # no gap, no repeat
    assert history["loss"][:done] == before["loss"]
    assert training.load_history(out) == history
    # Optimizer state came back: exactly 4 epochs x 8 steps, the killed partial epoch not counted.
    assert int(model.optimizer.iterations) == 32
    assert backed_up_epochs(out) == 4
    reloaded = models.load_model(out)
    photos = np.random.default_rng(3).uniform(0, 255, (2, 48, 48, 3)).astype("float32")
    np.testing.assert_array_equal(reloaded.predict(photos, verbose=0), model.predict(photos, verbose=0))


@pytest.mark.slow
def test_more_epochs_continue_and_fewer_just_load(tmp_path, capsys):
    model = models.original_cnn((48, 48, 3))
    training.train(model, random_data(), epochs=1, out=tmp_path)
    assert "epoch 1/1" in capsys.readouterr().out  # callbacks=None: one line per epoch
    again = models.original_cnn((48, 48, 3))
    history = training.train(again, random_data(), epochs=2, out=tmp_path)
    printed = capsys.readouterr().out
    assert "resuming from epoch 1" in printed and "epoch 2/2" in printed and "epoch 1/2" not in printed
    assert history["epoch"] == [1, 2] and set(history) >= {"loss", "accuracy", "val_loss", "seconds"}
    third = models.original_cnn((48, 48, 3))
    assert training.train(third, random_data(), epochs=2, out=tmp_path, callbacks=[]) == history
    assert "already holds 2 epochs: nothing left to train" in capsys.readouterr().out
    np.testing.assert_array_equal(third.get_weights()[0], again.get_weights()[0])
    assert int(third.optimizer.iterations) == int(again.optimizer.iterations) == 16


@pytest.mark.slow
def test_given_callbacks_replace_the_printed_lines(tmp_path, capsys):
    seen = []

    class Epochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch + 1)

    training.train(models.original_cnn((48, 48, 3)), random_data(), epochs=2, out=tmp_path,
                   callbacks=[Epochs()])
    assert seen == [1, 2] and "epoch 1/2" not in capsys.readouterr().out


@pytest.mark.slow
def test_resume_false_starts_afresh(tmp_path):
    training.train(models.original_cnn((48, 48, 3)), random_data(), epochs=1, out=tmp_path,
                   callbacks=[])
    fresh = models.original_cnn((48, 48, 3))
    history = training.train(fresh, random_data(), epochs=1, out=tmp_path, callbacks=[],
                             resume=False)
    assert history["epoch"] == [1] and int(fresh.optimizer.iterations) == 8


@pytest.mark.slow
def test_a_torn_backup_falls_back_to_the_previous_epoch(tmp_path):
    training.train(models.original_cnn((48, 48, 3)), random_data(), epochs=2, out=tmp_path,
                   callbacks=[])
    # A kill while Keras rewrote its metadata file: the epoch-1 pair is used, epoch 2 redone.
    (tmp_path / training.BACKUP / "training_metadata.json").write_text('{"epo')
    model = models.original_cnn((48, 48, 3))
    history = training.train(model, random_data(), epochs=2, out=tmp_path, callbacks=[])
    assert history["epoch"] == [1, 2] and int(model.optimizer.iterations) == 16


@pytest.mark.slow
def test_a_folder_of_another_model_is_refused(tmp_path):
    training.train(models.original_cnn((48, 48, 3)), random_data(), epochs=1, out=tmp_path,
                   callbacks=[])
    with pytest.raises(CatDogKitError, match="another --out"):
        training.train(models.build("improved", (48, 48, 3)), random_data(), epochs=2,
                       out=tmp_path, callbacks=[])


@pytest.mark.slow
def test_training_in_phases_continues_one_schedule_across_photo_sizes(tiny_sample, tmp_path, capsys):
    out = tmp_path / "run"
    model, datasets, history = training.train_in_phases("improved", tiny_sample, [(32, 1), (48, 1)],
                                                        out=out, seed=0)
    printed = capsys.readouterr().out
    assert "epochs 1-1 on 32x32 px photos" in printed and "epochs 2-2 on 48x48 px photos" in printed
    assert "epoch 1/2" in printed and "epoch 2/2" in printed  # counted over the whole plan
    assert "resuming" not in printed  # the second phase continues the first: nothing to say
    assert model.input_shape[1:3] == (48, 48) and datasets.validation.element_spec[0].shape[1] == 48
    assert history["epoch"] == [1, 2] and training.load_history(out) == history
    # Only the last phase measures the validation photos; every list keeps one value an epoch.
    assert history["val_accuracy"][0] is None and 0 <= history["val_accuracy"][1] <= 1
    assert all(len(values) == 2 for values in history.values())
    # The second phase started from the first one's optimizer: 2 epochs x 3 steps of 32 photos.
    assert int(model.optimizer.iterations) == 6
    assert models.load_model(out).input_shape[1:3] == (48, 48)
    again, _, same = training.train_in_phases("improved", tiny_sample, [(32, 1), (48, 1)], out=out, seed=0)
    assert same == history and int(again.optimizer.iterations) == 6
    printed = capsys.readouterr().out  # the whole plan is done: said once, not per phase
    assert printed.count("already holds 2 epochs: nothing left to train") == 1 and "resuming" not in printed
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])
    # Only the plan's sizes may continue that folder.
    with pytest.raises(CatDogKitError, match="another --out"):
        training.train(models.build("improved", (40, 40, 3)), tiny_sample, epochs=3, out=out)


@pytest.mark.slow
def test_a_plan_whose_first_phase_is_done_resumes_from_there(tiny_sample, tmp_path, capsys):
    out = tmp_path / "run"
    training.train_in_phases("improved", tiny_sample, [(32, 1)], out=out, seed=0, callbacks=[])
    capsys.readouterr()
    _, _, history = training.train_in_phases("improved", tiny_sample, [(32, 1), (48, 1)], out=out, seed=0,
                                             callbacks=[])
    printed = capsys.readouterr().out
    assert printed.count("resuming from epoch 1") == 1 and "already holds" not in printed
    assert history["epoch"] == [1, 2]


@pytest.mark.slow
def test_a_callback_that_stops_training_ends_the_plan_in_its_phase(tiny_sample, tmp_path):
    class StopAfterOneEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    model, _, history = training.train_in_phases("improved", tiny_sample, [(32, 2), (48, 1)],
                                                 out=tmp_path, seed=0, callbacks=[StopAfterOneEpoch()])
    assert history["epoch"] == [1] and model.input_shape[1:3] == (32, 32)


def test_training_in_phases_needs_two_class_folders(tiny_sample, tmp_path):
    import shutil
    photos = tmp_path / "photos"
    shutil.copytree(tiny_sample, photos)
    for split in photos.iterdir():
        shutil.copytree(split / "cats", split / "birds")
    with pytest.raises(CatDogKitError, match=r"3 class folder\(s\) \['birds', 'cats', 'dogs'\].*need two"):
        training.train_in_phases("improved", photos, [(32, 1)], out=tmp_path / "run")
    assert not (tmp_path / "run" / training.MODEL).exists()


@pytest.mark.slow
def test_two_replica_mirrored_strategy_on_two_logical_cpus(tmp_path):
    process = start(tmp_path, tmp_path / "run", epochs=2, pause=0, devices="2cpu")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    result = json.loads(output.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["epochs"] == [1, 2] and all(np.isfinite(result["loss"]))
    assert (tmp_path / "run" / training.MODEL).exists()


def test_photos_of_another_size_are_a_clear_error(tmp_path):
    with pytest.raises(CatDogKitError, match="image_size=64"):
        training.train(models.original_cnn((64, 64, 3)), random_data(), epochs=1, out=tmp_path)
    with pytest.raises(CatDogKitError, match="takes 64x64"):
        training.evaluate(models.original_cnn((64, 64, 3)), random_data()[1])


def test_choose_strategy_is_the_default_on_one_cpu():
    import tensorflow as tf
    assert training.choose_strategy() is tf.distribute.get_strategy()


def test_evaluate_counts_per_class_and_matches_a_hand_count():
    model = models.original_cnn((48, 48, 3))
    photos, labels = (np.concatenate([np.asarray(t) for t in part])
                      for part in zip(*random_data()[0]))
    result = training.evaluate(model, random_data()[0], ["gatos", "perros"])
    p = models.predict(model, photos)
    right = (p > 0.5) == (labels == 1)
    assert result["n"] == 64 and result["accuracy"] == pytest.approx(right.mean())
    assert result["per_class"]["perros"]["n"] == int(labels.sum())
    assert result["per_class"]["perros"]["correct"] == int(right[labels == 1].sum())
    q = np.clip(p, 1e-7, 1 - 1e-7)
    by_hand = -np.mean(labels * np.log(q) + (1 - labels) * np.log(1 - q))
    assert result["loss"] == pytest.approx(by_hand, rel=1e-4)


def test_unwritable_out_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(CatDogKitError, match="cannot write"):
        training.train(models.original_cnn((48, 48, 3)), random_data(), epochs=1,
                       out=tmp_path / "file" / "run")


@pytest.mark.slow
def test_lesson_model_trains_once_then_comes_from_the_cache(tiny_sample, tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    first = training.lesson_model("original", tiny_sample, epochs=1, image_size=64, callbacks=[])
    folders = list((tmp_path / "models").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("original-")
    # A second call must load the cached model, never train again.
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("lesson_model trained twice"))
    second = training.lesson_model("original", tiny_sample, epochs=1, image_size=64)
    np.testing.assert_array_equal(first.get_weights()[-1], second.get_weights()[-1])


def test_an_unknown_lesson_model_is_a_clear_error(tiny_sample):
    with pytest.raises(CatDogKitError, match="unknown lesson model"):
        training.lesson_model("vgg", tiny_sample)


@pytest.mark.slow
def test_in_colab_with_drive_lesson_models_are_kept_on_drive(tiny_sample, tmp_path, monkeypatch,
                                                             capsys):
    from catdogkit import runtime
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path / "vm-cache"))
    monkeypatch.setattr(runtime, "in_colab", lambda: True)
    monkeypatch.setattr(runtime, "DRIVE", tmp_path / "MyDrive")
    (tmp_path / "MyDrive").mkdir()
    training.lesson_model("original", tiny_sample, epochs=1, image_size=64, callbacks=[])
    assert "Google Drive" in capsys.readouterr().out
    kept = list((tmp_path / "MyDrive" / "catdogkit" / "models").iterdir())
    assert len(kept) == 1 and (kept[0] / training.MODEL).is_file()
    # A new session: a fresh VM cache, the same photos drawn again with new dates.
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path / "next-session"))
    for photo in Path(tiny_sample).rglob("*.jpg"):
        os.utime(photo)
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("trained again"))
    training.lesson_model("original", tiny_sample, epochs=1, image_size=64)
    assert "comes from your Google Drive" in capsys.readouterr().out


def test_prepare_lessons_trains_the_lesson_models_and_lesson02s_run(tiny_sample, monkeypatch):
    from types import SimpleNamespace
    from catdogkit import data
    asked, trained = [], []
    monkeypatch.setattr(training, "lesson_model", lambda name, root, callbacks=None:
                        asked.append((name, Path(root))) or SimpleNamespace(name=f"{name}_cnn"))
    monkeypatch.setattr(training, "train", lambda model, datasets, *, epochs, out, callbacks:
                        trained.append((model.name, epochs, out)))
    monkeypatch.setattr(data, "load_datasets", lambda root: root)
    done = training.prepare_lessons(tiny_sample)
    run = training.lesson02_run(tiny_sample)
    assert (run.epochs, run.more_epochs) == (6, 2)
    assert asked == [("original", Path(tiny_sample)), ("improved", Path(tiny_sample))]
    assert trained == [("original_cnn", 8, run.folder)]
    assert done["lesson 02"] == str(run.folder) and done["improved"] == "improved_cnn"


@pytest.fixture
def other_photos():
    """A second photo set, unlike ``tiny_sample`` (fewer photos, another seed)."""
    from catdogkit.sample import make_sample
    return make_sample(n_per_class={"train": 10, "validation": 4, "test": 0}, image_size=64, seed=3)


def test_lesson02s_run_folder_carries_the_key_of_its_photos(tiny_sample, other_photos, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    mine, theirs = training.lesson02_run(tiny_sample), training.lesson02_run(other_photos)
    assert mine.folder != theirs.folder
    assert mine.folder.parent == theirs.folder.parent == tmp_path / "runs"
    assert mine.folder.name.startswith(training.LESSON02_RUN + "-")
    for photo in Path(tiny_sample).rglob("*.jpg"):  # the same photos drawn again, new dates
        os.utime(photo)
    assert training.lesson02_run(tiny_sample).folder == mine.folder
    monkeypatch.setenv("CATDOGKIT_DATA", str(other_photos))  # what find_data finds by default
    assert training.lesson02_run().folder == theirs.folder
    with pytest.raises(CatDogKitError, match="not a folder"):
        training.lesson02_run(tmp_path / "missing")


@pytest.mark.slow
def test_lesson02s_run_resumes_on_its_own_photos_only(tiny_sample, other_photos, tmp_path,
                                                      monkeypatch, capsys):
    from catdogkit.data import load_datasets
    from catdogkit.grading import tiny_cnn
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))

    def lesson02_training(photos, epochs):
        data = load_datasets(photos, image_size=64, batch_size=16, announce=lambda _m: None)
        model = tiny_cnn((64, 64, 3))
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        training.train(model, data, epochs=epochs, out=training.lesson02_run(photos).folder,
                       callbacks=[])
        return capsys.readouterr().out

    assert "resuming" not in lesson02_training(other_photos, 1)  # a run on a small test set
    assert "resuming" not in lesson02_training(tiny_sample, 1)  # the lesson's photos: afresh
    assert "resuming from epoch 1" in lesson02_training(tiny_sample, 2)


def test_the_core_imports_no_widget_and_models_no_training():
    package = Path(training.__file__).parent
    for module, forbidden in (("training", "catdogkit.widgets"), ("checkpoints", "catdogkit.widgets"),
                              ("models", "catdogkit.training"), ("models", "catdogkit.checkpoints")):
        tree = ast.parse((package / f"{module}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for alias in node.names}
        assert not any(name and name.startswith(forbidden) for name in imported), (module, forbidden)
