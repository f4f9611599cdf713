"""Where the photos come from: a path, ``CATDOGKIT_DATA``, Google Drive, a JupyterHub, the sample.

Introduced in lesson 01. ``find_data`` tries each place in that order and says what it
found and where. Downloads go through ``keras.utils.get_file`` (a progress bar; it
removes what it wrote when a transfer fails) into ``NAME.part``, renamed only when
complete and verified (SHA-256): get_file writes straight into its target, so a killed
download would otherwise leave a partial file that it trusts when no SHA-256 is known
(the case of Google's archive). Archives are extracted with
``catdogkit.files.build_folder_atomically``, so an interrupted run never leaves a half
data set that a later run would trust.
"""
import hashlib
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from catdogkit import runtime
from catdogkit.constants import DATA_ENV
from catdogkit.data.layouts import detect_layout
from catdogkit.errors import CatDogKitError
from catdogkit.files import abandoned_builds, build_folder_atomically, write_atomically
from catdogkit.i18n import _, format_number

DEFAULT_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
# Google publishes no checksum for this archive: without one the kit records the
# SHA-256 of its first complete download beside it and verifies every later copy.
DEFAULT_SHA256 = None
HUB_ENV = "CATDOGKIT_HUB_DATA"
HUB_DEFAULT = "/srv/data/catdogkit"
COLAB_MOUNT = "/content/drive"
COLAB_LOCAL = "/content/catdogkit_data"
DRIVE_FOLDER = "catdogkit"
_CHUNK = 1 << 20


@dataclass
class DataSource:
    """Where ``find_data`` found photos.

    ``source`` is ``explicit``, ``env``, ``drive``, ``jupyterhub`` or ``sample``;
    ``layout`` is ``split``, ``flat`` or ``petimages``; ``reason`` says why this one.
    """

    root: Path
    source: str
    layout: str
    reason: str

    def __str__(self):
        return _("Photos: {root}\n  from: {source} ({reason})\n  layout: {layout}").format(
            root=self.root, source=self.source, reason=self.reason, layout=self.layout)


def _located(root, source, reason, announce):
    found = DataSource(Path(root), source, detect_layout(root).kind, reason)
    announce(str(found))
    return found


def find_data(path=None, *, announce=print, prepare=True):
    """Find the photos to use, in DESIGN.md's order, and say what was found where.

    Order: ``path``; ``$CATDOGKIT_DATA``; in Colab, photos
    already brought from Google Drive, or the archive in an already mounted Drive
    (``use_drive()`` mounts and brings them); on a JupyterHub,
    the instructor's shared folder (``$CATDOGKIT_HUB_DATA``, default /srv/data/catdogkit);
    otherwise the embedded sample. ``prepare=False`` only says where (no extraction, no
    drawing of the sample).
    """
    if path is not None:
        passed = _("the folder you passed")
        return _located(_existing(path, passed), "explicit", passed, announce)
    if os.environ.get(DATA_ENV):
        value = os.environ[DATA_ENV]
        return _located(_existing(value, f"${DATA_ENV}"), "env",
                        _("${name} is set").format(name=DATA_ENV), announce)
    if runtime.in_colab():
        local = _colab_copy()
        if local:
            return _located(local, "drive", _("copied from your Google Drive earlier in this session"),
                            announce)
        if prepare and _drive_archive().is_file():  # Drive already mounted: no question to ask
            return use_drive(DEFAULT_URL, announce=announce)
        announce(_("In Colab: `cdk.data.use_drive()` keeps the real photos in your Google Drive "
                   "(it asks before mounting). Until then the built-in sample is used."))
    hub = Path(os.environ.get(HUB_ENV, HUB_DEFAULT))
    if runtime.on_jupyterhub() and hub.is_dir():
        return _located(hub, "jupyterhub",
                        _("the hub's shared folder ({name} or the default)").format(name=HUB_ENV), announce)
    return _sample(prepare, announce)


def _sample(prepare, announce):
    from catdogkit import sample
    root = sample.make_sample() if prepare else sample.sample_dir()
    reason = _("no real photos were found, so the built-in drawn sample is used")
    found = DataSource(root, "sample", "split", reason)
    announce(str(found) + ("" if root.is_dir() else "\n  " + _("(drawn on first use, about 20 s)")))
    return found


def _existing(path, what):
    path = Path(path).expanduser()
    if not path.is_dir():
        raise CatDogKitError(_("{what} points to {path}, which is not a folder. Give the folder that "
                               "holds the photos (or unset it to use the sample).").format(what=what, path=path))
    return path


def _colab_copy():
    root = Path(COLAB_LOCAL) / _stem(_archive_name(DEFAULT_URL))
    return root if root.is_dir() else None


def _drive_archive():
    return Path(COLAB_MOUNT) / "MyDrive" / DRIVE_FOLDER / _archive_name(DEFAULT_URL)


def _archive_name(url):
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    return name or "photos.zip"


def _stem(name):
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name + ".extracted"


def sha256_of(path):
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _recorded(target):
    sidecar = Path(f"{target}.sha256")
    return sidecar.read_text().strip() if sidecar.is_file() else None


def _record(target, digest):
    Path(f"{target}.sha256").write_text(digest + "\n")


def _verified(target, sha256, announce):
    """True when ``target`` exists and matches; a mismatching copy is removed, and said so."""
    if not target.is_file():
        return False
    expected = sha256 or _recorded(target)
    if expected is None or sha256_of(target) == expected.lower():
        return True
    announce(_("{path} does not match its SHA-256 (corrupt or changed): downloading it again.").format(
        path=target))
    target.unlink()
    return False


def download(url, target, sha256=None, *, announce=print):
    """Download ``url`` to ``target`` atomically and verify it; reuse a verified copy.

    Bytes go to ``target.part``, renamed only when complete and
    matching ``sha256`` (or, without one, recorded as the reference for later checks).
    """
    target = Path(target)
    if _verified(target, sha256, announce):
        announce(_("Archive already here: {path}").format(path=target))
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = Path(f"{target}.part")
    if part.exists():
        announce(_("An earlier download of {name} did not finish: starting it again.").format(name=target.name))
        part.unlink()
    announce(_("Downloading {url} to {path} …").format(url=url, path=target))
    digest = sha256_of(_fetch(url, part))
    if sha256 and digest != sha256.lower():
        part.unlink()
        raise CatDogKitError(_("The file downloaded from {url} has SHA-256 {digest}, not the expected "
                               "{expected}: it is corrupt or has changed. Run again to retry, or check "
                               "the checksum.").format(url=url, digest=digest, expected=sha256))
    os.replace(part, target)
    _record(target, digest)
    announce(_("Downloaded and verified {name} (SHA-256 {digest}…).").format(name=target.name, digest=digest[:12]))
    return target


def _fetch(url, part):
    """``url`` into ``part`` with Keras's downloader; a failed transfer leaves nothing."""
    import keras
    try:
        return Path(keras.utils.get_file(part.name, url, cache_dir=part.parent, cache_subdir="",
                                         force_download=True))
    except Exception as error:  # get_file turns every network error into a bare Exception
        raise CatDogKitError(_("Downloading {url} failed ({error}). Check the connection and run again: "
                               "the download restarts.").format(url=url, error=error)) from error


def extract(archive, folder, *, announce=print):
    """Extract a zip or tar archive into ``folder`` atomically; reuse a finished extraction.

    Extraction goes into a temporary folder beside ``folder``
    that is renamed only when complete.
    """
    archive, folder = Path(archive), Path(folder)
    if folder.is_dir():
        return folder
    for leftover in abandoned_builds(folder):
        announce(_("Removing an unfinished extraction: {path}").format(path=leftover))
        shutil.rmtree(leftover, ignore_errors=True)
    announce(_("Extracting {name} to {path} …").format(name=archive.name, path=folder))
    return build_folder_atomically(folder, lambda work: _unpack(archive, work))


def _unpack(archive, work):
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as bundle:
                for name in bundle.namelist():
                    if name.startswith(("/", "\\")) or ".." in Path(name).parts:
                        raise CatDogKitError(_("{archive} contains the unsafe path {name}; not extracted.").format(
                            archive=archive, name=repr(name)))
                bundle.extractall(work)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as bundle:
                bundle.extractall(work, filter="data")
        else:
            raise CatDogKitError(_("{archive} is neither a zip nor a tar archive. Delete it and run again.").format(
                archive=archive))
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
        raise CatDogKitError(_("{archive} is a damaged archive ({error}). Delete it and run again.").format(
            archive=archive, error=error)) from error


def fetch_archive(url=DEFAULT_URL, dest=None, sha256=DEFAULT_SHA256, *, announce=print):
    """Download an archive of photos into ``dest`` (once) and extract it there; return the folder.

    ``dest`` defaults to the kit's cache. Both steps are atomic
    and verified, so running it again after an interruption finishes the job.
    """
    dest = Path(dest) if dest else runtime.cache_dir("downloads")
    archive = download(url, dest / _archive_name(url), sha256, announce=announce)
    return extract(archive, dest / _stem(archive.name), announce=announce)


def _copy(source, target, announce):
    """Copy Drive's archive to the local disk unless a verified copy is already there."""
    if target.is_file() and _recorded(source) == _recorded(target):
        return target
    announce(_("Copying {path} to the local disk ({megabytes} MB) …").format(
        path=source, megabytes=format_number(source.stat().st_size / 1e6, 0)))
    expected = _recorded(source)

    def copy_verified(tmp):
        shutil.copyfile(source, tmp)
        if sha256_of(tmp) != expected:
            raise CatDogKitError(_("The copy of {path} does not match its SHA-256: run again.").format(path=source))

    write_atomically(target, copy_verified)
    _record(target, expected)
    return target


def use_drive(url=DEFAULT_URL, *, sha256=DEFAULT_SHA256, folder=DRIVE_FOLDER, mount_point=None,
              local_dir=None, announce=print):
    """Keep the photo archive in Google Drive and extract it to the fast local disk.

    Mounts Drive only now, when called (Colab asks for
    permission). The archive is downloaded into ``MyDrive/<folder>/`` once, verified,
    then copied and extracted to ``local_dir`` each session, because reading thousands
    of small files straight from Drive is slow. Defaults: ``/content/drive`` and
    ``/content/catdogkit_data``.
    """
    mount_point = Path(mount_point or COLAB_MOUNT)
    drive = mount_point / "MyDrive"
    if not drive.is_dir():
        if not runtime.in_colab():
            raise CatDogKitError(_("Google Drive can be mounted only in Colab. Elsewhere, pass the photo "
                                   "folder to find_data() or run `catdogkit data fetch`."))
        from google.colab import drive as colab_drive
        colab_drive.mount(str(mount_point))
    store = drive / folder
    archive = download(url, store / _archive_name(url), sha256, announce=announce)
    local = Path(local_dir or COLAB_LOCAL)
    local.mkdir(parents=True, exist_ok=True)
    copy = _copy(archive, local / archive.name, announce)
    root = extract(copy, local / _stem(archive.name), announce=announce)
    return _located(root, "drive", _("archive kept in {folder}, extracted to the local disk").format(folder=store),
                    announce)
