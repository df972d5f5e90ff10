"""Each app instance autosaves into its own locked slot; recovery offers only orphaned ones."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dropout_studio.core.autosave import AutosaveSlot, claim_slot, discard, unclaimed

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock")


def test_a_slot_writes_clears_and_releases(tmp_path):
    slot = claim_slot(tmp_path / "autosave")
    assert slot.path.parent == tmp_path / "autosave"
    assert slot.path.name.startswith(f"autosave-{os.getpid()}-")
    assert slot.path.suffix == ".json"
    slot.write('{"a": 1}')
    assert slot.path.read_text() == '{"a": 1}'
    slot.clear()
    assert not slot.path.exists()
    assert slot.claimed
    slot.write('{"a": 2}')  # the claim outlives a clear
    assert unclaimed(slot.path.parent) == []
    slot.release()
    assert list(slot.path.parent.iterdir()) == []
    with pytest.raises(RuntimeError, match="released"):
        slot.write("{}")
    slot.release()  # twice is harmless


def test_two_slots_in_one_process_are_separate_and_locked(tmp_path):
    a, b = claim_slot(tmp_path), claim_slot(tmp_path)
    try:
        assert a.path != b.path
        a.write("a")
        b.write("b")
        assert unclaimed(tmp_path) == []  # both held, by separate opens of their lock files
        assert discard(a.path) is False  # a live slot is never deleted
        assert a.path.read_text() == "a"
        a.release()  # a normal close of one ...
        assert b.path.read_text() == "b"  # ... leaves the other's file alone
        assert unclaimed(tmp_path) == []
    finally:
        a.release()
        b.release()


_INSTANCE = """
import sys
from pathlib import Path
from dropout_studio.core.autosave import claim_slot
slot = claim_slot(Path(sys.argv[1]))
slot.write(sys.argv[2])
print(slot.path, flush=True)
if sys.stdin.read() == "release":
    slot.release()
"""


def start_instance(folder, text):
    proc = subprocess.Popen(
        [sys.executable, "-c", _INSTANCE, str(folder), text],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, Path(proc.stdout.readline().strip())


def test_another_live_instance_is_not_offered_and_a_crashed_one_is(tmp_path):
    mine = claim_slot(tmp_path)
    mine.write("mine")
    proc, theirs = start_instance(tmp_path, "theirs")
    try:
        assert theirs.read_text() == "theirs"
        assert unclaimed(tmp_path) == []
        assert discard(theirs) is False
        assert theirs.exists()
    finally:
        proc.kill()  # a crash: no release, the lock dies with the process
        proc.communicate(timeout=30)
    assert unclaimed(tmp_path) == [theirs]
    assert theirs.read_text() == "theirs"
    assert discard(theirs) is True
    assert not theirs.exists()
    assert not theirs.with_suffix(".lock").exists()
    assert unclaimed(tmp_path) == []
    assert mine.path.read_text() == "mine"
    mine.release()


def test_a_normal_close_of_another_instance_leaves_nothing(tmp_path):
    proc, theirs = start_instance(tmp_path, "theirs")
    assert theirs.exists()
    proc.communicate("release", timeout=30)
    assert proc.returncode == 0
    assert list(tmp_path.iterdir()) == []
    assert unclaimed(tmp_path) == []


def test_unclaimed_is_newest_first_and_includes_the_legacy_file(tmp_path):
    legacy = tmp_path / "autosave.json"
    legacy.write_text("legacy")
    old = time.time() - 100
    os.utime(legacy, (old, old))
    orphans = []
    for i in range(2):
        path = tmp_path / f"autosave-999999-{i:08x}.json"  # a crashed instance without a lock
        path.write_text(str(i))
        os.utime(path, (old + 10 * (i + 1), old + 10 * (i + 1)))
        orphans.append(path)
    orphans[1].with_suffix(".lock").write_text("")  # an unlocked lock file: also crashed
    slot = claim_slot(tmp_path)
    slot.write("live")
    try:
        assert unclaimed(tmp_path) == [orphans[1], orphans[0], legacy]
        assert discard(legacy) is True
        assert not legacy.exists()
    finally:
        slot.release()


def test_orphan_lock_files_are_removed_when_a_slot_is_claimed(tmp_path):
    orphan = tmp_path / "autosave-999999-deadbeef.lock"
    orphan.write_text("")
    kept = tmp_path / "autosave-999999-cafebabe.lock"  # its .json is still to be recovered
    kept.write_text("")
    kept.with_suffix(".json").write_text("{}")
    with claim_slot(tmp_path) as slot:
        assert isinstance(slot, AutosaveSlot)
        assert not orphan.exists()
        assert kept.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [kept.name, kept.with_suffix(".json").name]
    )
