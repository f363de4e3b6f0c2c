"""Disk full, permission denied, output under a file: one clear error naming the path, nothing looking complete."""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from datatrove.data import Document
from fsspec.implementations.local import LocalFileOpener
from support.paths import SAMPLES

from medcorpus.io.atomic import atomic_open, atomic_write_text, describe_os_error, is_temp_name, remove_stale_temps
from medcorpus.io.formats import make_reader, make_writer
from medcorpus.io.writers import IncompleteWriteError

GENERAL = SAMPLES / "general"

# Run the CLI with every write to a temporary output file after its first failing like a full disk.
DISK_FULL = """
import errno, sys
from fsspec.implementations.local import LocalFileOpener
original = LocalFileOpener.write
def write(self, data):
    if str(self.path).endswith(".tmp") and self.tell() > 0:
        raise OSError(errno.ENOSPC, "No space left on device")
    return original(self, data)
LocalFileOpener.write = write
from medcorpus.cli.main import main
main(sys.argv[1:])
"""


def documents(count: int = 7) -> list[Document]:
    return [Document(text=f"text {i} " * 20, id=f"d{i}", metadata={"source": "toy"}) for i in range(count)]


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "logs" not in p.relative_to(root).parts)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_writer_publishes_only_complete_files(tmp_path, fmt):
    writer = make_writer(str(tmp_path), fmt)
    assert len(list(writer.run(iter(documents()), rank=2))) == 7
    [written] = files(tmp_path)
    assert written.parent.name == "toy" and written.name.startswith("00002.") and not is_temp_name(written.name)
    assert [d.id for d in make_reader(str(tmp_path), fmt).run()] == [f"d{i}" for i in range(7)]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_disk_full_inside_a_writer_names_the_file_and_leaves_nothing(tmp_path, monkeypatch, fmt):
    original = LocalFileOpener.write

    def full(self, data):
        if self.tell() > 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, data)

    monkeypatch.setattr(LocalFileOpener, "write", full)
    writer = make_writer(str(tmp_path), fmt)
    with pytest.raises(OSError) as caught:
        list(writer.run(iter(documents()), rank=0))
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(tmp_path / "toy" / ("00000.parquet" if fmt == "parquet" else "00000.jsonl.gz"))
    assert files(tmp_path) == []  # neither a truncated file under its final name nor a temporary one


def test_a_failing_task_leaves_no_file(tmp_path):
    def broken():
        yield from documents(3)
        raise RuntimeError("the step before the writer failed")

    with pytest.raises(RuntimeError):
        list(make_writer(str(tmp_path)).run(broken(), rank=0))
    assert files(tmp_path) == []


def test_a_file_that_reads_back_short_is_not_published(tmp_path, monkeypatch):
    writer = make_writer(str(tmp_path))
    monkeypatch.setattr(type(writer), "count_rows", lambda self, handle: 6)
    with pytest.raises(IncompleteWriteError, match="wrote 7 rows but read back 6"):
        list(writer.run(iter(documents()), rank=0))
    assert files(tmp_path) == []


def test_atomic_open(tmp_path):
    target = tmp_path / "a" / "report.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    with pytest.raises(ZeroDivisionError), atomic_open(target) as handle:
        handle.write(b"half")
        raise ZeroDivisionError
    assert target.read_text() == "{}" and files(tmp_path) == [target]  # the old file is untouched
    with pytest.raises(OSError) as caught, atomic_open(tmp_path / "a" / "report.json" / "x") as handle:
        handle.write(b"x")
    assert caught.value.filename == str(target / "x")
    assert "a path component is not a folder" in describe_os_error(caught.value)


def test_remove_stale_temps(tmp_path):
    keep = [tmp_path / "s" / "00000.parquet", tmp_path / ".gitignore", tmp_path / "logs" / ".x.tmp"]
    stale = [tmp_path / "s" / ".00001.parquet.tmp", tmp_path / "t" / ".00000.ab12.bin.tmp", tmp_path / "w.partial"]
    for path in keep + stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert sorted(remove_stale_temps(tmp_path)) == sorted(stale)
    assert files(tmp_path) == sorted(p for p in keep if "logs" not in p.parts)
    assert (tmp_path / "logs" / ".x.tmp").exists()  # datatrove's logs are not ours to clean


def cli(args: list[str], preexec=None, script: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", script, *args] if script else [sys.executable, "-m", "medcorpus", *args]
    env = os.environ | {"CI": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, preexec_fn=preexec, env=env)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_cli_disk_full(tmp_path, fmt):
    out = tmp_path / "out"
    result = cli(["sources", "general", str(GENERAL), "-o", str(out), "--format", fmt], script=DISK_FULL)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {out / 'general'}/general_00000.") and "disk full" in last
    assert "Traceback" not in result.stderr
    assert files(out / "general") == []


def without_root_override():
    """As root, a child that respects file permissions (root ignores chmod): drop CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH from the capability bounding set before exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


@pytest.fixture
def read_only(tmp_path):
    """A read-only folder (and how to run a CLI that respects it); skipped where that cannot be arranged."""
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    folder = base / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    preexec = without_root_override if os.geteuid() == 0 else None
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"], preexec_fn=preexec, capture_output=True
    )
    if probe.returncode == 0:
        folder.chmod(0o755)
        pytest.skip("cannot make a folder read-only for this user here (root without dropping capabilities)")
    yield folder, preexec
    folder.chmod(0o755)


@pytest.mark.parametrize("inside", [False, True])
def test_cli_permission_denied(read_only, inside):
    folder, preexec = read_only
    out = folder / "run" if inside else folder  # a new output in a read-only folder, or a read-only output
    result = cli(["sources", "general", str(GENERAL), "-o", str(out)], preexec=preexec)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {out}") and "permission denied" in last
    assert "Traceback" not in result.stderr
    assert files(folder) == []


def test_cli_run_output_in_read_only_folder(read_only, tmp_path):
    folder, preexec = read_only
    config = tmp_path / "run.yaml"
    config.write_text(
        f"output: {folder / 'run'}\nsources: {{general: {{type: general, inputs: [{GENERAL}]}}}}\n"
        "mix: {ratios: {general: 1}}\n"
    )
    result = cli(["run", str(config)], preexec=preexec)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == f"error: {folder / 'run'}: permission denied"


def test_cli_output_under_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = cli(["sources", "general", str(GENERAL), "-o", str(blocker / "out")])
    assert result.returncode != 0
    assert f"{blocker / 'out'}" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
