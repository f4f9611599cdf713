"""find_data's resolution order, atomic verified downloads from a loopback server, Drive."""
import hashlib
import http.server
import io
import threading
import zipfile

import pytest

from catdogkit import runtime
from catdogkit.cli import main
from catdogkit.data import download, extract, fetch_archive, find_data, sources, use_drive
from catdogkit.errors import CatDogKitError


@pytest.fixture(scope="module")
def archive_bytes(tiny_sample):
    """A small zip shaped like cats_and_dogs_filtered.zip (one wrapper folder, split layout)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for split in ("train", "validation"):
            for name in ("cats", "dogs"):
                for i in range(3):
                    bundle.write(tiny_sample / split / name / f"{name[:-1]}.{i}.jpg",
                                 f"photos/{split}/{name}/{name[:-1]}.{i}.jpg")
    return buffer.getvalue()


class Server:
    """A loopback HTTP server whose behaviour a test switches: complete, truncated, gone."""

    def __init__(self, payload):
        self.payload, self.mode, self.requests = payload, "complete", 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.payload)))
                self.end_headers()
                body = server.payload if server.mode == "complete" else server.payload[: len(server.payload) // 3]
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/photos.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(archive_bytes):
    running = Server(archive_bytes)
    yield running
    running.stop()


def test_complete_download_is_verified_extracted_and_reused(tmp_path, server, archive_bytes):
    digest = hashlib.sha256(archive_bytes).hexdigest()
    said = []
    root = fetch_archive(server.url, tmp_path, digest, announce=said.append)
    assert root == tmp_path / "photos" and (root / "photos" / "train" / "cats" / "cat.0.jpg").is_file()
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".photos-*"))
    assert (tmp_path / "photos.zip.sha256").read_text().strip() == digest
    assert fetch_archive(server.url, tmp_path, digest, announce=said.append) == root
    assert server.requests == 1 and "already here" in said[-1]


def test_truncated_download_is_refused_and_leaves_nothing(tmp_path, server):
    server.mode = "truncated"
    with pytest.raises(CatDogKitError, match="failed .*retrieval incomplete"):
        download(server.url, tmp_path / "photos.zip", announce=lambda _: None)
    assert not (tmp_path / "photos.zip").exists() and not (tmp_path / "photos.zip.part").exists()
    server.mode = "complete"
    download(server.url, tmp_path / "photos.zip", announce=lambda _: None)
    assert (tmp_path / "photos.zip").is_file() and not (tmp_path / "photos.zip.part").exists()


def test_a_download_killed_half_way_is_restarted_and_said_so(tmp_path, server, archive_bytes):
    (tmp_path / "photos.zip.part").write_bytes(archive_bytes[:100])  # what a kill -9 leaves
    said = []
    download(server.url, tmp_path / "photos.zip", announce=said.append)
    assert any("did not finish: starting it again" in line for line in said)
    assert (tmp_path / "photos.zip").read_bytes() == archive_bytes


def test_wrong_checksum_keeps_nothing(tmp_path, server):
    with pytest.raises(CatDogKitError, match="not the expected"):
        download(server.url, tmp_path / "photos.zip", "0" * 64, announce=lambda _: None)
    assert list(tmp_path.iterdir()) == []


def test_server_gone_is_a_clear_error(tmp_path, server):
    server.stop()
    with pytest.raises(CatDogKitError, match="failed .*Check the connection"):
        download(server.url, tmp_path / "photos.zip", announce=lambda _: None)
    assert not (tmp_path / "photos.zip").exists()


def test_corrupted_archive_is_downloaded_again(tmp_path, server):
    target = download(server.url, tmp_path / "photos.zip", announce=lambda _: None)
    target.write_bytes(b"damaged")
    said = []
    download(server.url, target, announce=said.append)
    assert any("does not match" in line for line in said) and server.requests == 2


def test_unfinished_extraction_is_removed_and_redone(tmp_path, server):
    archive = download(server.url, tmp_path / "photos.zip", announce=lambda _: None)
    (tmp_path / ".photos-leftover").mkdir()
    said = []
    extract(archive, tmp_path / "photos", announce=said.append)
    assert not (tmp_path / ".photos-leftover").exists() and "unfinished" in said[0]


def test_drive_keeps_one_archive_and_extracts_locally(tmp_path, server):
    (tmp_path / "drive" / "MyDrive").mkdir(parents=True)
    settings = dict(mount_point=tmp_path / "drive", local_dir=tmp_path / "local", announce=lambda _: None)
    found = use_drive(server.url, **settings)
    assert found.source == "drive" and found.layout == "split"
    assert (tmp_path / "drive" / "MyDrive" / "catdogkit" / "photos.zip").is_file()
    assert found.root == tmp_path / "local" / "photos"
    server.stop()  # a new session: no network needed, the archive is in Drive
    (tmp_path / "local").rename(tmp_path / "old-session")
    again = use_drive(server.url, **settings)
    assert again.root == found.root and (again.root / "photos" / "validation" / "dogs").is_dir()


def test_drive_outside_colab_says_what_to_do(tmp_path):
    with pytest.raises(CatDogKitError, match="only in Colab"):
        use_drive(mount_point=tmp_path)


def test_resolution_order(tmp_path, tiny_sample, monkeypatch):
    monkeypatch.delenv(sources.DATA_ENV, raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_API_URL", raising=False)
    said = []
    assert find_data(tiny_sample, announce=said.append).source == "explicit"
    assert str(tiny_sample) in said[-1] and "split" in said[-1]
    monkeypatch.setenv(sources.DATA_ENV, str(tiny_sample))
    assert find_data(announce=said.append).source == "env"
    monkeypatch.delenv(sources.DATA_ENV)
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    monkeypatch.setenv(sources.HUB_ENV, str(tiny_sample))
    assert find_data(announce=said.append).source == "jupyterhub"
    monkeypatch.delenv("JUPYTERHUB_USER")
    fallback = find_data(announce=said.append, prepare=False)
    assert fallback.source == "sample" and "built-in drawn sample" in said[-1]


def test_colab_finds_the_copy_brought_from_drive(tmp_path, tiny_sample, monkeypatch):
    monkeypatch.delenv(sources.DATA_ENV, raising=False)
    monkeypatch.setattr(runtime, "in_colab", lambda: True)
    monkeypatch.setattr(sources, "COLAB_LOCAL", str(tmp_path))
    said = []
    assert find_data(announce=said.append, prepare=False).source == "sample"
    assert "use_drive()" in said[0]
    (tmp_path / "cats_and_dogs_filtered").symlink_to(tiny_sample)
    assert find_data(announce=said.append).source == "drive"


def test_colab_with_drive_mounted_brings_the_archive_without_asking(tmp_path, server, monkeypatch):
    monkeypatch.delenv(sources.DATA_ENV, raising=False)
    monkeypatch.setattr(runtime, "in_colab", lambda: True)
    monkeypatch.setattr(sources, "COLAB_MOUNT", str(tmp_path / "drive"))
    monkeypatch.setattr(sources, "COLAB_LOCAL", str(tmp_path / "local"))
    store = tmp_path / "drive" / "MyDrive" / "catdogkit"
    store.mkdir(parents=True)
    download(server.url, store / "cats_and_dogs_filtered.zip", announce=lambda _: None)
    found = find_data(announce=lambda _: None)
    assert found.source == "drive" and found.root == tmp_path / "local" / "cats_and_dogs_filtered"


def test_bad_explicit_path_or_env_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(CatDogKitError, match="not a folder"):
        find_data(tmp_path / "nope")
    monkeypatch.setenv(sources.DATA_ENV, str(tmp_path / "nope"))
    with pytest.raises(CatDogKitError, match="CATDOGKIT_DATA"):
        find_data()


def test_cli_fetch_and_where(tmp_path, server, monkeypatch, capsys):
    assert main(["data", "fetch", "--to", str(tmp_path), "--url", server.url]) == 0
    assert "catdogkit data check" in capsys.readouterr().out
    monkeypatch.setenv(sources.DATA_ENV, str(tmp_path / "photos"))
    assert main(["data", "where"]) == 0
    out = capsys.readouterr().out
    assert "CATDOGKIT_DATA" in out and str(tmp_path / "photos") in out
    assert main(["data", "fetch", "--to", str(tmp_path / "x"), "--url", server.url, "--sha256", "ab" * 32]) == 2


def test_downloads_and_their_errors_speak_spanish_when_asked(tmp_path, server, monkeypatch):
    from catdogkit import i18n

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv(i18n.LANG_ENV, "es")
    i18n.set_language(None)
    said = []
    download(server.url, tmp_path / "photos.zip", announce=said.append)
    assert said[0].startswith("Descargando http://127.0.0.1:") and said[-1].startswith(
        "photos.zip descargado y verificado (SHA-256 "), said
    with pytest.raises(CatDogKitError, match="^Google Drive solo se puede montar en Colab"):
        use_drive(mount_point=tmp_path / "no-drive")
    with pytest.raises(CatDogKitError, match="^la carpeta que has indicado apunta a .*, que no es una carpeta"):
        find_data(tmp_path / "nope")
    monkeypatch.delenv(i18n.LANG_ENV)
    with pytest.raises(CatDogKitError, match="^Google Drive can be mounted only in Colab"):
        use_drive(mount_point=tmp_path / "no-drive")
