"""`catdogkit train`, `evaluate` and `demo` from the command line, bad input included."""
import json
import shutil

import pytest

pytest.importorskip("keras")

from catdogkit.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def trained(tiny_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--model", "original", "--data", str(tiny_sample), "--epochs", "1",
                 "--out", str(out), "--image-size", "64"])
    assert code == 0
    return out


@pytest.mark.slow
def test_train_writes_a_keras_model(trained):
    assert (trained / "model.keras").is_file() and (trained / "history.json").is_file()


@pytest.mark.slow
def test_evaluate_json_last_line(trained, tiny_sample, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--model", str(trained), "--data", str(tiny_sample), "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["n"] == 40 and result["split"] == "test" and 0 <= result["accuracy"] <= 1
    assert set(result["per_class"]) == {"cats", "dogs"}
    assert "cats:" in out and "right" in out


def error_of(argv, capsys):
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    return err


def test_data_with_one_class_is_refused(tiny_sample, tmp_path, capsys):
    for split in ("train", "validation"):
        shutil.copytree(tiny_sample / split / "cats", tmp_path / split / "cats")
    err = error_of(["train", "--data", str(tmp_path), "--epochs", "1", "--out",
                    str(tmp_path / "out"), "--image-size", "64"], capsys)
    assert "class" in err.lower()


def test_a_file_that_is_not_a_keras_model(tiny_sample, tmp_path, capsys):
    fake = tmp_path / "model.keras"
    fake.write_text("hello")
    assert "not a Keras model" in error_of(
        ["evaluate", "--model", str(fake), "--data", str(tiny_sample)], capsys)


def test_unwritable_out(tiny_sample, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert "cannot write" in error_of(
        ["train", "--data", str(tiny_sample), "--epochs", "1", "--out",
         str(tmp_path / "file" / "run"), "--image-size", "64"], capsys)


@pytest.mark.slow
def test_image_size_that_does_not_match_the_model(trained, tiny_sample, capsys):
    err = error_of(["evaluate", "--model", str(trained), "--data", str(tiny_sample),
                    "--image-size", "150"], capsys)
    assert "64x64" in err


@pytest.mark.slow
def test_resuming_into_a_folder_of_another_size(trained, tiny_sample, capsys):
    err = error_of(["train", "--data", str(tiny_sample), "--epochs", "2", "--out", str(trained),
                    "--image-size", "48"], capsys)
    assert "another --out" in err


def test_commands_are_registered(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("train", "evaluate", "demo")), out


@pytest.mark.slow
def test_demo_trains_the_class_network_on_the_sample_and_beats_chance(capsys):
    # The lessons' cached model: trained here once, reused by the lessons and Voila pages.
    assert main(["demo"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("original_cnn: validation accuracy"), line
    accuracy = float(line.split("accuracy ")[1].split()[0])
    assert accuracy > 0.6, f"the class network should beat chance on the sample: {line}"


def classes_only(tiny_sample, target, split="validation"):
    """A folder of class folders only (no split), as a user's own test photos often are."""
    for name in ("cats", "dogs"):
        shutil.copytree(tiny_sample / split / name, target / name)
    return target


@pytest.mark.slow
def test_evaluate_takes_every_photo_of_a_folder_of_class_folders(trained, tiny_sample, tmp_path,
                                                                 capsys):
    folder = classes_only(tiny_sample, tmp_path / "mine")
    capsys.readouterr()
    assert main(["evaluate", "--model", str(trained), "--data", str(folder), "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["n"] == 40 and result["split"] == "all"
    assert {name: c["n"] for name, c in result["per_class"].items()} == {"cats": 20, "dogs": 20}
    assert f"every one in {folder}" in out
    assert "no validation/ folder" in error_of(["evaluate", "--model", str(trained), "--data",
                                                str(folder), "--split", "validation"], capsys)


@pytest.mark.slow
def test_evaluate_takes_a_folder_holding_only_test_whole(trained, tiny_sample, tmp_path, capsys):
    classes_only(tiny_sample, tmp_path / "held_out" / "test", split="test")
    capsys.readouterr()
    assert main(["evaluate", "--model", str(trained), "--data", str(tmp_path / "held_out"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 40 and result["split"] == "all"


def test_train_improved_without_options_follows_the_recipe(tiny_sample, tmp_path, monkeypatch,
                                                           capsys):
    from catdogkit import models, recipes, training
    asked = []

    def train_in_phases(name, root, plan, *, out, seed, batch_size, cache):
        from catdogkit.data import load_datasets
        asked.append((name, plan, cache))
        size = plan[-1][0]  # the command evaluates the network on the photos it returns
        return models.build(name, (size, size, 3)), load_datasets(root, image_size=size), {"epoch": []}

    monkeypatch.setattr(training, "train_in_phases", train_in_phases)
    assert main(["train", "--model", "improved", "--data", str(tiny_sample),
                 "--out", str(tmp_path / "run")]) == 0
    assert asked == [("improved", recipes.phases("improved"), True)]
    assert recipes.phases("improved") == [(64, 20), (96, 28), (128, 20)]
    said = capsys.readouterr().out
    assert "68 epochs, on photos of 64, 96, 128 px in turn" in said and "photos cached on disk" in said
    assert main(["train", "--model", "improved", "--data", str(tiny_sample), "--epochs", "2",
                 "--image-size", "64", "--out", str(tmp_path / "other")]) == 0
    assert asked[-1] == ("improved", [(32, 1), (64, 1)], True)
    assert main(["train", "--model", "original", "--data", str(tiny_sample), "--epochs", "1",
                 "--out", str(tmp_path / "class")]) == 0
    assert asked[-1] == ("original", [(150, 1)], False)
    assert "original: 1 epochs at 150x150 px" in capsys.readouterr().out


def test_train_rejects_a_photo_size_below_one_pixel(tiny_sample, tmp_path, capsys):
    assert main(["train", "--model", "improved", "--data", str(tiny_sample), "--image-size", "0",
                 "--out", str(tmp_path / "run")]) == 2
    assert "--image-size 0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_train_class_augmented(tiny_sample, tmp_path):
    from catdogkit import models
    assert main(["train", "--model", "class-augmented", "--data", str(tiny_sample), "--epochs", "1",
                 "--image-size", "64", "--out", str(tmp_path)]) == 0
    assert models.load_model(tmp_path).name == "class_augmented_cnn"
