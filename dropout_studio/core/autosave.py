"""One autosave file per running app instance, and recovery of the ones left behind.

Two instances sharing one autosave file overwrite each other, and a normal close of one deletes
the other's. So each instance claims a slot: ``autosave-<pid>-<random>.json`` with a companion
``.lock`` file on which it holds an exclusive lock for the slot's life. The lock dies with the
process, so a slot whose lock nobody holds belongs to an instance that crashed or was killed:
those files are what recovery offers (:func:`unclaimed`), never a live instance's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from dropout_studio.core.files import atomic_write_text, release_lock, same_file, try_lock

__all__ = ["LEGACY_NAME", "AutosaveSlot", "claim_slot", "discard", "unclaimed"]

LEGACY_NAME = "autosave.json"  # the one shared file of earlier versions
_PREFIX = "autosave-"


def _lock_path(path: Path) -> Path:
    return path.with_suffix(".lock")


class AutosaveSlot:
    """This instance's autosave file; the claim lasts until :meth:`release` or the process ends."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd

    @property
    def claimed(self) -> bool:
        return self._lock_fd is not None

    def write(self, text: str) -> None:
        """Replace the autosave atomically: a crash mid-write leaves the previous one whole."""
        if self._lock_fd is None:
            raise RuntimeError(f"the autosave slot {self.path.name} was released")
        atomic_write_text(self.path, text)

    def clear(self) -> None:
        """Delete the autosave (the document was saved) but keep the slot for later edits."""
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """Delete the autosave and the lock: a normal close, leaving nothing to recover."""
        if self._lock_fd is None:
            return
        self.clear()  # first: a reader that still sees the .json then finds the lock held
        with contextlib.suppress(OSError):
            _lock_path(self.path).unlink()
        release_lock(self._lock_fd)
        os.close(self._lock_fd)
        self._lock_fd = None

    def __enter__(self) -> AutosaveSlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "claimed" if self.claimed else "released"
        return f"AutosaveSlot({str(self.path)!r}, {state})"


def claim_slot(folder: Path) -> AutosaveSlot:
    """A new slot in ``folder`` (created when missing), locked against every other instance.

    Raises OSError when the folder cannot be written; the caller may then run without autosave.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_orphan_locks(folder)
    for _ in range(100):
        path = folder / f"{_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.json"
        lock = _lock_path(path)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        if try_lock(fd) and same_file(lock, fd):
            return AutosaveSlot(path, fd)
        os.close(fd)  # another instance's cleanup removed it in between: try a new name
    raise OSError(f"could not claim an autosave slot in {folder}")


def _held(path: Path) -> bool:
    """Whether a live process holds ``path``'s slot (its lock file is locked)."""
    lock = _lock_path(path)
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # unreadable: assume someone else's, never offer or delete it
    try:
        return not try_lock(fd, shared=True)
    finally:
        os.close(fd)


def _slot_files(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.glob(f"{_PREFIX}*.json") if p.name != LEGACY_NAME and p.is_file()]
    except OSError:
        return []


def unclaimed(folder: Path) -> list[Path]:
    """Autosave files no running instance owns, newest first: what recovery should offer.

    Includes the shared ``autosave.json`` of earlier versions when it is there.
    """
    folder = Path(folder)
    found = [p for p in _slot_files(folder) if not _held(p)]
    legacy = folder / LEGACY_NAME
    if legacy.is_file():
        found.append(legacy)

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return float("-inf")

    # A slot released while we looked has lost its .json: drop it.
    return sorted((p for p in found if p.exists()), key=mtime, reverse=True)


def discard(path: Path) -> bool:
    """Delete an unclaimed autosave (recovered or declined) and its lock file.

    Returns False, deleting nothing, when a live instance still holds the slot.
    """
    path = Path(path)
    if path.name != LEGACY_NAME:
        lock = _lock_path(path)
        try:
            fd = os.open(lock, os.O_RDONLY)
        except FileNotFoundError:
            fd = None
        if fd is not None:
            try:
                if not try_lock(fd):
                    return False
                path.unlink(missing_ok=True)
                if same_file(lock, fd):
                    lock.unlink(missing_ok=True)
            finally:
                os.close(fd)
            return True
    path.unlink(missing_ok=True)
    return True


def _remove_orphan_locks(folder: Path) -> None:
    """Lock files left by crashed instances whose autosave was already recovered or empty."""
    try:
        locks = list(folder.glob(f"{_PREFIX}*.lock"))
    except OSError:
        return
    for lock in locks:
        if lock.with_suffix(".json").exists():
            continue  # keep it: unclaimed() offers that file
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            continue
        try:
            if try_lock(fd) and same_file(lock, fd):
                lock.unlink(missing_ok=True)
        finally:
            os.close(fd)
