"""Atomic file writes that behave like an editor's save.

A save writes ``.<name>.<random>.tmp`` beside the file, fsyncs it and renames it over the file, so
a reader (or a crash) never sees half a file. Beyond that rename, a save must not change what the
user set up: a new file gets the user's umask (``mkstemp`` alone would leave 0600), an existing
file keeps its mode, and a symlink stays a symlink whose target is updated.

A save that is killed leaves its temporary file behind. The next save of the same file deletes
such leftovers, but only those no live writer holds: every writer keeps an exclusive lock on its
temporary file (``flock`` on POSIX) from creation to rename, and cleanup deletes only files whose
lock it can take without waiting.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
import threading
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "new_file_mode",
    "release_lock",
    "same_file",
    "stale_temp_files",
    "try_lock",
]

_UMASK_LOCK = threading.Lock()
_umask: int | None = None


def _read_umask() -> int:
    """The process umask. Linux shows it in /proc; elsewhere it can only be read by setting it.

    ``os.umask`` is process-wide, so the set-and-restore is done once, under a lock, and cached:
    another thread creating a file in that instant would otherwise get mode 0.
    """
    global _umask
    with _UMASK_LOCK:
        if _umask is None:
            try:
                with open("/proc/self/status", encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("Umask:"):
                            _umask = int(line.split()[1], 8)
                            break
            except (OSError, ValueError):
                pass
            if _umask is None:
                old = os.umask(0o077)
                os.umask(old)
                _umask = old
        return _umask


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0666 less the umask."""
    return 0o666 & ~_read_umask()


# ---------------------------------------------------------------- locks on open files

if sys.platform == "win32":  # pragma: no cover - the CI runs on Linux
    import msvcrt

    def try_lock(fd: int, shared: bool = False) -> bool:
        """Take a lock on ``fd`` without waiting; False when someone holds it."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _lock(fd: int) -> None:
        """Nothing: Windows refuses to delete a file while it is open, which guards it."""

    def release_lock(fd: int) -> None:
        """Drop a lock taken by :func:`try_lock` (closing ``fd`` also drops it)."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass

else:
    import fcntl

    def try_lock(fd: int, shared: bool = False) -> bool:
        """Take a lock on ``fd`` without waiting; False when someone holds it.

        ``flock`` locks belong to the open file description: two ``open`` calls in one process
        exclude each other, and the lock dies with the process that holds it. A ``shared`` lock
        only tests for an exclusive holder: two testers do not see each other.
        """
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError when held; others (e.g. NFS without locks) too
            return False
        return True

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def release_lock(fd: int) -> None:
        """Drop a lock taken by :func:`try_lock` (closing ``fd`` also drops it)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            pass


def same_file(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (it may have been replaced)."""
    try:
        a, b = os.stat(path, follow_symlinks=False), os.fstat(fd)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


# ---------------------------------------------------------------- temporary files


def _temp_pattern(name: str) -> re.Pattern[str]:
    # mkstemp's random part is letters, digits and "_": never a dot, so ".a.json.x1.tmp" (a temp
    # of "a.json") does not count as a temp of "a".
    return re.compile(re.escape(f".{name}.") + r"[A-Za-z0-9_]+\.tmp")


def stale_temp_files(path: str | os.PathLike[str]) -> list[Path]:
    """Temporary files of earlier saves of ``path`` that no writer holds any more."""
    path = Path(path)
    pattern = _temp_pattern(path.name)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    stale = []
    for name in names:
        if not pattern.fullmatch(name):
            continue
        candidate = path.parent / name
        fd = _open_unlocked(candidate)
        if fd is not None:
            os.close(fd)
            stale.append(candidate)
    return stale


def _open_unlocked(candidate: Path) -> int | None:
    """An fd holding the lock of ``candidate`` when it is a regular file nobody holds."""
    try:
        if not stat.S_ISREG(os.lstat(candidate).st_mode):
            return None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(candidate, flags)
    except OSError:
        return None
    if try_lock(fd) and same_file(candidate, fd):
        return fd
    os.close(fd)
    return None


def _remove_stale_temp_files(path: Path) -> None:
    for candidate in stale_temp_files(path):
        fd = _open_unlocked(candidate)  # again: a writer may have taken it since the listing
        if fd is None:
            continue
        try:
            candidate.unlink()
        except OSError:
            pass
        finally:
            os.close(fd)


def _target(path: str | os.PathLike[str]) -> Path:
    """The file a save of ``path`` must replace: a symlink's (final) target, not the link."""
    path = Path(path)
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def _locked_temp(folder: Path, name: str) -> tuple[int, str]:
    """A new temporary file for ``name``, created and locked by us (not by a cleaner)."""
    for _ in range(10):
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        _lock(fd)
        if same_file(Path(tmp), fd):
            return fd, tmp
        # Another save's cleanup took it in the instant before our lock: make a new one.
        os.close(fd)
    raise OSError(f"could not create a temporary file for {name} in {folder}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` by ``data`` in one rename; readers see the old or the new file, whole.

    The folder is created when missing. A symlink is followed (its target is replaced, the link
    stays); an existing file keeps its permission bits (and owner, where allowed); a new one gets
    0666 less the umask.
    Leftover temporary files of killed saves of this file are deleted first.
    """
    target = _target(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    mode = stat.S_IMODE(existing.st_mode) if existing else new_file_mode()
    _remove_stale_temp_files(target)
    fd, tmp = _locked_temp(folder, target.name)
    closed = False
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
            if existing is not None and hasattr(os, "fchown"):
                # Keep the owner and group too where allowed (root, or a group one is in).
                with contextlib.suppress(OSError):
                    os.fchown(fd, existing.st_uid, existing.st_gid)
        else:  # pragma: no cover - Windows
            os.chmod(tmp, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        if sys.platform == "win32":  # pragma: no cover - Windows renames no open file
            os.close(fd)
            closed = True
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        if not closed:
            os.close(fd)  # after the rename: the lock covers the temp file's whole life
    _fsync_folder(folder)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8 (``\\n`` line ends, as written)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on every platform."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
