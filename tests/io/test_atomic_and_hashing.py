"""The one atomic-write helper, the one hashing function and the one remote-path test."""

from __future__ import annotations

import hashlib
import threading

from medcorpus.io.atomic import atomic_write_bytes, is_temp_name, remove_stale_temps, temp_name
from medcorpus.io.hashing import describe_files, file_change, file_digest, sha256_file
from medcorpus.paths import has_scheme, is_remote, local_path


def test_unique_temp_names_follow_the_convention_and_are_cleaned_on_resume(tmp_path):
    name = temp_name(str(tmp_path / "ledger.json"), unique=True)
    assert name != temp_name(str(tmp_path / "ledger.json"))
    assert is_temp_name(name.rsplit("/", 1)[1])
    (tmp_path / name).write_bytes(b"left by a killed writer")
    assert remove_stale_temps(tmp_path) == [tmp_path / name] and not list(tmp_path.iterdir())


def test_concurrent_unique_writers_of_one_file_never_clash(tmp_path):
    target, errors = tmp_path / "shared.json", []

    def write(i: int) -> None:
        try:
            for _ in range(50):
                atomic_write_bytes(target, f"writer {i}".encode() * 1000, unique=True)
        except OSError as error:  # pragma: no cover - what the test is for
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and [p.name for p in tmp_path.iterdir()] == ["shared.json"]
    assert target.read_bytes() in {f"writer {i}".encode() * 1000 for i in range(4)}


def test_file_digest_continues_a_digest_and_matches_hashlib(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"x" * 5_000_000)
    second.write_bytes(b"tail")
    assert sha256_file(first) == hashlib.sha256(first.read_bytes()).hexdigest()
    resumed = file_digest(second, "md5", file_digest(first, "md5"))
    assert resumed.hexdigest() == hashlib.md5(first.read_bytes() + b"tail").hexdigest()


def test_describe_files_and_file_change(tmp_path):
    path = tmp_path / "input.txt"
    path.write_text("abc")
    remote, local, url = describe_files(["https://example.org/a.xml", str(path), f"file://{path}"])
    assert remote == {"path": "https://example.org/a.xml"}
    assert local == url == {"path": str(path), "size": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}
    assert file_change(path, local) is None
    path.write_text("abd")
    assert file_change(path, local) == "sha256"
    path.write_text("abcd")
    assert file_change(path, local) == "size 4 != 3"
    path.unlink()
    assert file_change(path, local) == "missing"


def test_remote_path_test():
    assert is_remote("s3://bucket/key") and is_remote("https://x/y")
    assert not is_remote("file:///data/x") and not is_remote("/data/x") and not is_remote("relative/x")
    assert has_scheme("file:///data/x") and not has_scheme("/data/x")
    assert local_path("file:///data/x") == "/data/x" and local_path("/data/x") == "/data/x"
