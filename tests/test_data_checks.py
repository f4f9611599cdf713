"""check_photos and `catdogkit data check`: every kind of broken file, never touching one."""
import hashlib
import io
import json
import shutil
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from catdogkit.cli import main
from catdogkit.data import check_photos, inspect_photo

CATS, DOGS = "gatos ñ", "perros grandes"


def _photo(mode="RGB", size=(40, 40), fmt="JPEG"):
    pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def _png_bomb():
    """A tiny PNG whose header claims 30,000 x 30,000 pixels."""
    data = bytearray(_photo(size=(1, 1), fmt="PNG"))
    data[16:24] = struct.pack(">II", 30_000, 30_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


BROKEN = {
    "vacía.jpg": (b"", "0 bytes"),
    "truncated.jpg": (None, "truncated"),
    "notes.jpg": (b"This is a text file, not a photo.\n", "text file"),
    "iphone.jpg": (b"\x00\x00\x00\x18ftypheic" + bytes(40), "HEIC"),
    "bomb.png": (_png_bomb(), "pixel limit"),
}
CONVERTED = {
    "gray.jpg": _photo("L"), "cmyk.jpg": _photo("CMYK"), "rgba.png": _photo("RGBA", fmt="PNG"),
    "palette.png": _photo("P", fmt="PNG"), "png named.jpg": _photo(fmt="PNG"),
    "webp.jpg": _photo(fmt="WEBP"),
}


def build_broken_set(base, tiny_sample):
    """A split folder with spaces and ñ in its paths, every broken kind and every converted kind."""
    root = base / "mis fotos ñ"
    for split, n in (("train", 6), ("validation", 3)):
        for source, target in (("cats", CATS), ("dogs", DOGS)):
            folder = root / split / target
            folder.mkdir(parents=True)
            for i in range(n):
                shutil.copy(tiny_sample / split / source / f"{source[:-1]}.{i}.jpg", folder / f"foto {i}.jpg")
    cats = root / "train" / CATS
    good = (cats / "foto 0.jpg").read_bytes()
    for name, (data, _) in BROKEN.items():
        (cats / name).write_bytes(good[: len(good) // 2] if data is None else data)
    for name, data in CONVERTED.items():
        (cats / name).write_bytes(data)
    for litter in (".DS_Store", "Thumbs.db", "._foto 0.jpg"):
        (cats / litter).write_bytes(b"\x00junk")
    (root / ".hidden_notes").write_text("x")
    return root


@pytest.fixture
def broken_set(tmp_path, tiny_sample):
    return build_broken_set(tmp_path, tiny_sample)


def _hashes(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_broken_kind_is_unusable_with_its_reason(broken_set):
    report = check_photos(broken_set)
    reasons = {path.name: reason for path, reason in report.unusable}
    assert set(reasons) == set(BROKEN)
    for name, (_, expected) in BROKEN.items():
        assert expected.lower() in reasons[name].lower(), (name, reasons[name])
    assert report.exit_code == 1


def test_odd_formats_are_usable_and_converted(broken_set):
    report = check_photos(broken_set)
    usable = {path.name: convert for path, _, convert in report.photos["train"]}
    assert set(CONVERTED) <= set(usable)
    assert usable["cmyk.jpg"] and usable["webp.jpg"]  # TensorFlow's decoder is bypassed for these
    notes = {path.name: note for path, note in report.converted}
    assert "PNG named .jpg" in notes["png named.jpg"] and "CMYK" in notes["cmyk.jpg"]


def test_counts_classes_from_folders_and_hidden_files(broken_set):
    report = check_photos(broken_set)
    assert report.class_names == [CATS, DOGS]
    assert report.splits == {"train": {CATS: 6 + len(CONVERTED), DOGS: 6}, "validation": {CATS: 3, DOGS: 3}}
    assert report.usable == 18 + len(CONVERTED)
    assert report.hidden == 4


def test_check_never_modifies_files(broken_set):
    before = _hashes(broken_set)
    check_photos(broken_set)
    assert _hashes(broken_set) == before


def test_results_are_cached_and_refreshed_when_a_file_changes(broken_set):
    first = check_photos(broken_set)
    (broken_set / "train" / CATS / "vacía.jpg").write_bytes(_photo())
    second = check_photos(broken_set)
    assert len(second.unusable) == len(first.unusable) - 1


def test_cli_json_and_exit_code_one(broken_set, capsys):
    code = main(["data", "check", str(broken_set), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert result["usable"] == 18 + len(CONVERTED)
    assert result["classes"] == {CATS: 9 + len(CONVERTED), DOGS: 9}
    assert {item["path"].rsplit("/", 1)[-1] for item in result["unusable"]} == set(BROKEN)
    assert all(item["reason"] for item in result["unusable"])


def test_cli_text_and_exit_code_zero(tiny_sample, capsys):
    assert main(["data", "check", str(tiny_sample)]) == 0
    out = capsys.readouterr().out
    assert "40 cats, 40 dogs" in out and "left out: 0" in out


@pytest.mark.parametrize("make, message", [
    (lambda root: None, "No usable photos"),
    (lambda root: (root / "train" / "cats").mkdir(parents=True), "No usable photos"),
    (lambda root: _one_class(root), "Only one class"),
    (lambda root: _empty_class(root), "No usable validation photos of class 'dogs'"),
])
def test_unusable_sets_exit_two_with_what_to_fix(tmp_path, capsys, make, message):
    root = tmp_path / "set"
    root.mkdir()
    make(root)
    assert main(["data", "check", str(root)]) == 2
    assert message in capsys.readouterr().out


def _one_class(root):
    for split in ("train", "validation"):
        (root / split / "cats").mkdir(parents=True)
        (root / split / "cats" / "cat.0.jpg").write_bytes(_photo())


def _empty_class(root):
    for split in ("train", "validation"):
        for name in ("cats", "dogs"):
            (root / split / name).mkdir(parents=True)
            (root / split / name / "a.jpg").write_bytes(_photo() if (split, name) != ("validation", "dogs") else b"")


def test_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_inspect_photo_accepts_a_plain_jpeg(tmp_path):
    path = tmp_path / "ok.jpg"
    path.write_bytes(_photo())
    verdict = inspect_photo(path)
    assert verdict.reason is None and not verdict.convert


@pytest.mark.realdata
def test_real_photos_are_all_usable(real_data):
    report = check_photos(real_data)
    assert report.exit_code == 0
    assert report.splits["train"] == {"cats": 1000, "dogs": 1000}
