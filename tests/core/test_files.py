"""Atomic saves keep what the user set up: modes, symlinks, and no leftover temporary files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from dropout_studio.core import files
from dropout_studio.core.files import atomic_write_bytes, atomic_write_text, stale_temp_files

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and flock")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022(monkeypatch):
    old = os.umask(0o022)
    monkeypatch.setattr(files, "_umask", None)  # read it afresh, as a new process would
    yield
    os.umask(old)
    files._umask = None


def test_write_replaces_the_content_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "p.json"
    atomic_write_text(path, "one\n")
    atomic_write_bytes(path, b"two\n")
    assert path.read_bytes() == b"two\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["p.json"]


@posix_only
def test_a_new_file_gets_the_umask_not_0600(tmp_path, umask_022):
    path = tmp_path / "new.json"
    atomic_write_text(path, "{}")
    assert mode(path) == 0o644


@posix_only
def test_the_umask_is_read_without_changing_it(monkeypatch):
    old = os.umask(0o027)
    try:
        monkeypatch.setattr(files, "_umask", None)
        assert files.new_file_mode() == 0o640
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(old)
        files._umask = None


@posix_only
def test_the_umask_is_read_without_proc_too(monkeypatch):
    def no_proc(*args, **kwargs):
        raise OSError(2, "No such file or directory")

    old = os.umask(0o002)
    try:
        monkeypatch.setattr(files, "_umask", None)
        monkeypatch.setattr(files, "open", no_proc, raising=False)
        assert files.new_file_mode() == 0o664
        assert os.umask(0o002) == 0o002  # restored
    finally:
        os.umask(old)
        files._umask = None


@posix_only
def test_an_existing_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "p.json"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert mode(path) == 0o640


@posix_only
def test_saving_through_a_symlink_updates_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real" / "p.json"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["p.json"]


@posix_only
def test_a_chain_of_symlinks_is_followed_to_the_end(tmp_path):
    target = tmp_path / "p.json"
    target.write_text("old")
    (tmp_path / "a.json").symlink_to("p.json")  # relative
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    atomic_write_text(tmp_path / "b.json", "new")
    assert (tmp_path / "a.json").is_symlink()
    assert (tmp_path / "b.json").is_symlink()
    assert target.read_text() == "new"


def test_stale_temporary_files_of_a_killed_save_are_cleaned_up(tmp_path):
    path = tmp_path / "p.json"
    stale = [tmp_path / ".p.json.abc123_x.tmp", tmp_path / ".p.json.zzzzzzzz.tmp"]
    for s in stale:
        s.write_bytes(b"x" * 1000)
    others = [
        tmp_path / ".p.json.with.dot.tmp",  # not the shape mkstemp writes
        tmp_path / ".q.json.abc12345.tmp",  # another file's
        tmp_path / ".p.json.abc12345.tmp.keep",
    ]
    for o in others:
        o.write_text("keep")
    assert sorted(stale_temp_files(path)) == sorted(stale)
    atomic_write_text(path, "{}")
    assert not any(s.exists() for s in stale)
    assert all(o.exists() for o in others)


def test_names_with_glob_characters_are_matched_literally(tmp_path):
    path = tmp_path / "p[1]*.json"
    decoy = tmp_path / ".p1x.json.abcdefgh.tmp"
    decoy.write_text("keep")
    own = tmp_path / ".p[1]*.json.abcdefgh.tmp"
    own.write_text("stale")
    atomic_write_text(path, "{}")
    assert decoy.exists()
    assert not own.exists()


_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


@posix_only
def test_a_temporary_file_another_process_is_writing_is_kept(tmp_path):
    path = tmp_path / "p.json"
    busy = tmp_path / ".p.json.busy1234.tmp"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(busy)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        old = time.time() - 3600
        os.utime(busy, (old, old))  # even an old one: the lock is what counts
        assert stale_temp_files(path) == []
        atomic_write_text(path, "{}")
        assert busy.exists()
    finally:
        proc.communicate("", timeout=30)
    atomic_write_text(path, "{}")  # the writer is gone now: its file is stale
    assert not busy.exists()


@posix_only
def test_a_temporary_file_locked_through_another_open_in_this_process_is_kept(tmp_path):
    path = tmp_path / "p.json"
    busy = tmp_path / ".p.json.busy1234.tmp"
    fd = os.open(busy, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        assert files.try_lock(fd)
        atomic_write_text(path, "{}")
        assert busy.exists()
    finally:
        os.close(fd)


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    path.write_text("old")

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", fail)
    with pytest.raises(OSError, match="No space"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_an_existing_file_keeps_its_owner_when_root_saves_it(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("old")
    os.chown(path, 1234, 1234)
    atomic_write_text(path, "new")
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (1234, 1234)


_HUNG_SAVE = """
import os, sys, time
from dropout_studio.core import files
def hang(fd):
    print("writing", flush=True)
    time.sleep(600)
files.os.fsync = hang
files.atomic_write_bytes(sys.argv[1], b"x" * 1_000_000)
"""


@posix_only
def test_a_save_killed_mid_write_is_cleaned_up_by_the_next_save_and_not_before(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("old")
    proc = subprocess.Popen(
        [sys.executable, "-c", _HUNG_SAVE, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
        (tmp,) = tmp_path.glob(".p.json.*.tmp")
        assert tmp.stat().st_size == 1_000_000
        atomic_write_text(path, "mine")  # the other save is alive: its file stays
        assert tmp.exists()
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    atomic_write_text(path, "again")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]
    assert path.read_text() == "again"
