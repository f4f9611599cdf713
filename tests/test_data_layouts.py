"""The three accepted layouts, class names from the folders, and the made split."""
import shutil

import pytest

from catdogkit.data import check_photos, detect_layout, stratified_split
from catdogkit.errors import CatDogKitError


def _copy_flat(tiny_sample, target, n=10):
    target.mkdir(parents=True)
    for name in ("cat", "dog"):
        for i in range(n):
            shutil.copy(tiny_sample / "train" / f"{name}s" / f"{name}.{i}.jpg", target / f"{name}.{i}.jpg")
    return target


def test_split_layout_inside_a_wrapper_folder(tmp_path, tiny_sample):
    shutil.copytree(tiny_sample, tmp_path / "cats_and_dogs_filtered")
    layout = detect_layout(tmp_path)
    assert layout.kind == "split" and layout.root == tmp_path / "cats_and_dogs_filtered"
    assert layout.class_names == ["cats", "dogs"] and not layout.made_split
    assert sorted(layout.files) == ["test", "train", "validation"]


def test_flat_layout_gets_a_deterministic_stratified_split(tmp_path, tiny_sample):
    root = _copy_flat(tiny_sample, tmp_path / "kaggle")
    first, again = check_photos(root), check_photos(root)
    assert first.layout == "flat" and first.made_split
    assert first.class_names == ["cats", "dogs"]
    assert first.splits == {"train": {"cats": 8, "dogs": 8}, "validation": {"cats": 2, "dogs": 2}}
    assert first.photos == again.photos
    assert "split made by the kit" in first.summary()


def test_kaggle_train_folder_is_read_as_flat(tmp_path, tiny_sample):
    _copy_flat(tiny_sample, tmp_path / "dogs-vs-cats" / "train")
    assert detect_layout(tmp_path / "dogs-vs-cats").kind == "flat"


def test_petimages_layout_reads_class_names_from_folders(tmp_path, tiny_sample):
    for source, target in (("cats", "Cat"), ("dogs", "Dog")):
        shutil.copytree(tiny_sample / "train" / source, tmp_path / "PetImages" / target)
    report = check_photos(tmp_path)
    assert report.layout == "petimages" and report.class_names == ["Cat", "Dog"]
    assert report.splits["train"] == {"Cat": 32, "Dog": 32}
    assert report.splits["validation"] == {"Cat": 8, "Dog": 8}


def test_class_order_is_alphabetical_not_hard_coded(tmp_path, tiny_sample):
    for split in ("train", "validation"):
        for source, target in (("dogs", "a_dogs"), ("cats", "b_cats")):
            shutil.copytree(tiny_sample / split / source, tmp_path / split / target)
    report = check_photos(tmp_path)
    assert report.class_names == ["a_dogs", "b_cats"]
    first_label = {path.parent.name: label for path, label, _ in report.photos["train"]}
    assert first_label == {"a_dogs": 0, "b_cats": 1}


def test_stratified_split_is_stable_and_uses_names_not_order(tmp_path):
    paths = [tmp_path / f"cat.{i}.jpg" for i in range(50)]
    train, validation = stratified_split(paths, seed=0)
    assert len(validation) == 10 and not set(train) & set(validation)
    assert stratified_split(list(reversed(paths)), seed=0) == (train, validation)
    assert stratified_split(paths, seed=1) != (train, validation)


def test_not_a_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CatDogKitError, match="does not exist"):
        detect_layout(tmp_path / "missing")
