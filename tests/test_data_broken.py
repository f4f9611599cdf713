"""catdogkit.data.broken: the broken files lessons and exercises show, made on purpose."""
from pathlib import Path

import pytest

from catdogkit.data import broken, check_photos


def test_broken_photos_demo_holds_the_usual_broken_files():
    folder = broken.broken_photos_demo()
    assert folder == broken.broken_photos_demo()  # made once, reused
    report = check_photos(folder)
    unusable = {Path(path).name for path, _reason in report.unusable}
    assert unusable == {"empty.jpg", "notes.jpg", "truncated.jpg"}
    assert report.hidden == 1 and report.exit_code == 1
    assert len(report.converted) >= 1  # the PNG named .jpg (and the grey photo) are read, converted


def test_each_fault_is_what_its_name_says(tmp_path, tiny_sample):
    good = sorted((Path(tiny_sample) / "train" / "cats").glob("*.jpg"))[0]
    for fault in broken.FAULTS:
        broken.write_fault(tmp_path / f"{fault}.jpg", fault, good)
    assert (tmp_path / "empty.jpg").stat().st_size == 0
    assert (tmp_path / "png.jpg").read_bytes()[:4] == b"\x89PNG"
    assert 0 < (tmp_path / "truncated.jpg").stat().st_size < good.stat().st_size
    with pytest.raises(ValueError, match="unknown fault 'melted'"):
        broken.write_fault(tmp_path / "x.jpg", "melted", good)
