"""catdogkit_dev.hub_python: which paths a hub user with no group in common may use."""
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from catdogkit_dev.hub_python import anyone_may


@pytest.fixture
def open_folder():
    """A folder that anyone may enter (pytest's own tmp_path is private, mode 700)."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    if not anyone_may(folder, stat.S_IXOTH):
        shutil.rmtree(folder)
        pytest.skip(f"the temporary folder {folder.parent} is not open to everyone")
    yield folder
    shutil.rmtree(folder)


def made(path, mode):
    path.write_text("")
    path.chmod(mode)
    return path


def test_anyone_may_read_or_run_what_others_bits_allow(open_folder):
    readable, runnable = made(open_folder / "notes", 0o644), made(open_folder / "tool", 0o711)
    assert anyone_may(readable, stat.S_IROTH) and not anyone_may(readable, stat.S_IXOTH)
    assert anyone_may(runnable, stat.S_IXOTH) and not anyone_may(runnable, stat.S_IROTH)
    assert not anyone_may(open_folder / "missing", stat.S_IROTH)


def test_a_private_folder_above_closes_everything_in_it_even_through_a_link(open_folder):
    private = open_folder / "private"
    private.mkdir(mode=0o700)
    tool = made(private / "tool", 0o755)
    (open_folder / "link").symlink_to(tool)
    for path in (tool, open_folder / "link"):
        assert not anyone_may(path, stat.S_IXOTH) and not anyone_may(path, stat.S_IROTH)
    private.chmod(0o711)  # others may enter, not list: enough to reach a known name
    assert anyone_may(open_folder / "link", stat.S_IXOTH)
