"""The shared report writer never loses a file the user wrote (issue 11, DESIGN.md §5).

Data-loss cases first: foreign files next to a report marker, old-format reports without a
manifest, edited files, symbolic links, protected places. Then interrupts, stale temporary
folders, concurrent writers and errors of the operating system. These tests use a cheap `fill`;
`tests/test_cli_safety.py` drives the same cases through the command line.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from riskmodel.errors import OutputDirError
from riskmodel.report import files
from riskmodel.report.files import check_output_dir, clean_stale, folder_lock, write_folder_atomic
from riskmodel.report.safety import MANIFEST, TMP_MARKER, file_sha256


def _fill(seed: str = "1"):
    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text(json.dumps({"seed": seed}) + "\n")
        (tmp / "figures").mkdir()
        (tmp / "figures" / "loss.png").write_bytes(b"\x89PNG" + seed.encode())

    return fill


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --------------------------------------------------------------------------- the manifest
def test_manifest_lists_every_file_with_its_hash(tmp_path):
    out = write_folder_atomic(tmp_path / "r", _fill())
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["riskmodel_manifest"] == 1 and manifest["kind"] == "run"
    assert manifest["files"] == {
        "summary.json": file_sha256(out / "summary.json"),
        "figures/loss.png": file_sha256(out / "figures" / "loss.png"),
    }
    assert _hidden(tmp_path) == []  # no lock file, no temporary folder


def test_an_own_report_is_replaced_cleanly(tmp_path):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill("1"))
    write_folder_atomic(out, _fill("2"))
    assert json.loads((out / "summary.json").read_text()) == {"seed": "2"}
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("marker", ["summary.json", "comparison.json", "sensitivity.json"])
def test_marker_next_to_user_files_is_refused_and_nothing_deleted(tmp_path, marker):
    out = tmp_path / "mine"
    out.mkdir()
    (out / marker).write_text("{}")
    (out / "thesis.tex").write_text("years of work")
    (out / "data").mkdir()
    (out / "data" / "panel.csv").write_text("a,b\n")
    before = _snapshot(out)
    with pytest.raises(OutputDirError) as info:
        write_folder_atomic(out, _fill())
    message = str(info.value)
    assert f"holds {marker} but no {MANIFEST}" in message
    assert "thesis.tex" in message and "data/" in message and "--out" in message
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_old_report_without_manifest_is_refused_and_kept(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    (out / "results.nc").write_bytes(b"CDF")
    with pytest.raises(OutputDirError, match="an older riskmodel, or not a riskmodel report"):
        check_output_dir(out)
    assert sorted(p.name for p in out.iterdir()) == ["results.nc", "summary.json"]


@pytest.mark.parametrize(
    ("add", "named"),
    [
        (lambda d: (d / "NOTES.md").write_text("my notes"), "NOTES.md"),
        (lambda d: (d / "archive").mkdir(), "archive/"),
        (lambda d: (d / "figures" / "stale.png").write_bytes(b"x"), "figures/stale.png"),
        (lambda d: (d / "summary.json").write_text("{}"), "summary.json (changed"),
        (lambda d: (d / "link").symlink_to(d.parent), "link (a symbolic link)"),
    ],
    ids=["file", "folder", "file-in-subfolder", "edited-file", "symlink"],
)
def test_rerun_into_a_report_the_user_added_to_is_refused(tmp_path, add, named):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill("1"))
    add(out)
    before = _snapshot(out)
    with pytest.raises(OutputDirError, match="riskmodel did not write") as info:
        write_folder_atomic(out, _fill("2"))
    assert named in str(info.value)
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_refusal_names_the_first_few_and_counts_the_rest(tmp_path):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill())
    for i in range(12):
        (out / f"user{i:02d}.txt").write_text("x")
    with pytest.raises(OutputDirError, match=r"12 entries .*user00.txt.*user04.txt and 7 more"):
        check_output_dir(out)


def test_forged_manifest_does_not_cover_other_files(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    forged = {"riskmodel_manifest": 1, "files": {"precious.txt": "0" * 64}}
    (out / MANIFEST).write_text(json.dumps(forged))
    with pytest.raises(OutputDirError, match=r"precious.txt \(changed"):
        write_folder_atomic(out, _fill())
    assert (out / "precious.txt").read_text() == "mine"


def test_an_empty_folder_may_be_used(tmp_path):
    (tmp_path / "empty").mkdir()
    write_folder_atomic(tmp_path / "empty", _fill())
    assert (tmp_path / "empty" / MANIFEST).is_file()


# --------------------------------------------------------------------------- places
def test_symlinked_out_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "target"
    write_folder_atomic(target, _fill("1"))  # even riskmodel's own report behind the link
    (target / "NOTES.md").write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    before = _snapshot(target)
    with pytest.raises(OutputDirError, match="is a symbolic link"):
        write_folder_atomic(link, _fill("2"))
    assert _snapshot(target) == before and link.is_symlink()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputDirError, match="is a symbolic link"):
        check_output_dir(tmp_path / "dangling")


def test_protected_places_are_refused(tmp_path, monkeypatch):
    work = tmp_path / "work" / "project"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    cases = {
        "": "output folder is empty",
        ".": "the current folder",
        "..": "a parent of the current folder",
        str(tmp_path): "a parent of the current folder",
        "/": "the root of the file system",
        str(Path.home()): "your home folder",
        "~": "your home folder",
    }
    for out, why in cases.items():
        with pytest.raises(OutputDirError, match=why):
            check_output_dir(out)
    scenario = tmp_path / "data" / "scenarios" / "s.yaml"
    scenario.parent.mkdir(parents=True)
    scenario.write_text("name: s\n")
    with pytest.raises(OutputDirError, match="holding the input file"):
        check_output_dir(scenario.parent, inputs=[scenario])
    with pytest.raises(OutputDirError, match="holding the input file"):
        check_output_dir(tmp_path / "data", inputs=[scenario])
    check_output_dir(scenario.parent / "reports", inputs=[scenario])  # below it: fine


def test_mount_point_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "mnt"
    out.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out or real(p))
    with pytest.raises(OutputDirError, match=r"mount point.*--out .*mnt/report"):
        write_folder_atomic(out, _fill())
    assert list(out.iterdir()) == [] and _hidden(tmp_path) == []


def test_name_too_long_for_the_file_system_is_refused_up_front(tmp_path):
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    fits = "r" * (name_max - len("..riskmodel-lock"))
    write_folder_atomic(tmp_path / fits, _fill())  # the longest name riskmodel can handle
    assert _hidden(tmp_path) == []
    for name in ("r" * (len(fits) + 1), "r" * (name_max + 10)):  # no room for ".r.tmp-..."
        with pytest.raises(OutputDirError, match=f"allows {name_max} bytes per name"):
            write_folder_atomic(tmp_path / name, _fill())
    with pytest.raises(OutputDirError, match="shorter --out"):  # a parent folder too long
        write_folder_atomic(tmp_path / ("p" * (name_max + 1)) / "r", _fill())
    assert sorted(p.name for p in tmp_path.iterdir()) == [fits]


# --------------------------------------------------------------------------- OS errors
def _raise(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "no space left on device; free space or choose another --out"),
        (errno.EDQUOT, "disk quota exceeded"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "permission denied"),
        (errno.ENAMETOOLONG, "longer than the file system allows"),
    ],
)
def test_os_errors_during_the_fill_are_bad_input_and_leave_nothing(tmp_path, code, words):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill("1"))
    before = _snapshot(out)

    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text("partial")
        _raise(code)()

    with pytest.raises(OutputDirError, match=words) as info:
        write_folder_atomic(out, fill)
    assert isinstance(info.value.__cause__, OSError)
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_read_only_parent_is_bad_input(tmp_path, monkeypatch):
    # root ignores permission bits, so the refusal of the operating system is simulated
    monkeypatch.setattr(files.tempfile, "mkdtemp", _raise(errno.EROFS))
    with pytest.raises(OutputDirError, match="the file system is read-only"):
        write_folder_atomic(tmp_path / "r", _fill())
    monkeypatch.setattr(files.os, "access", lambda *a, **k: False)
    with pytest.raises(OutputDirError, match="cannot create the output folder"):
        check_output_dir(tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_library_error_on_a_full_disk_says_no_space(tmp_path, monkeypatch):
    class Usage:
        free = 4096

    monkeypatch.setattr(files.shutil, "disk_usage", lambda p: Usage)

    def fill(tmp: Path) -> None:
        raise RuntimeError("NetCDF: HDF error")

    with pytest.raises(OutputDirError, match=r"no space left on device \(4096 bytes free\)"):
        write_folder_atomic(tmp_path / "r", fill)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EBUSY])
def test_rename_refused_across_file_systems_keeps_the_old_report(tmp_path, monkeypatch, code):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill("1"))
    before = _snapshot(out)
    real = os.rename

    def rename(src, dst):  # the new folder cannot be moved into place; moving back works
        if ".tmp-" in Path(src).name:
            raise OSError(code, os.strerror(code))
        return real(src, dst)

    monkeypatch.setattr(files.os, "rename", rename)
    with pytest.raises(OutputDirError, match="mount point") as info:
        write_folder_atomic(out, _fill("2"))
    assert errno.errorcode[code] in str(info.value)
    assert _snapshot(out) == before and _hidden(tmp_path) == []

    def busy(src, dst):  # the folder itself cannot be moved (a mount point)
        if Path(src) == out:
            raise OSError(code, os.strerror(code))
        return real(src, dst)

    monkeypatch.setattr(files.os, "rename", busy)
    with pytest.raises(OutputDirError, match="write into a folder below it"):
        write_folder_atomic(out, _fill("3"))
    assert _snapshot(out) == before and _hidden(tmp_path) == []


# --------------------------------------------------------------------------- interrupts
@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_interrupt_during_the_fill_keeps_the_old_report(tmp_path, exc):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill("1"))
    before = _snapshot(out)

    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text("partial")
        raise exc

    with pytest.raises(exc):
        write_folder_atomic(out, fill)
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_user_file_added_during_the_fill_stops_the_swap(tmp_path):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill("1"))

    def fill(tmp: Path) -> None:
        _fill("2")(tmp)
        (out / "NOTES.md").write_text("written while riskmodel ran")

    with pytest.raises(OutputDirError, match=r"NOTES\.md"):
        write_folder_atomic(out, fill)
    assert (out / "NOTES.md").read_text() == "written while riskmodel ran"
    assert json.loads((out / "summary.json").read_text()) == {"seed": "1"}
    assert _hidden(tmp_path) == []


# --------------------------------------------------------------------------- stale leftovers
def _leftover(
    parent: Path, name: str, kind: str, pid: int, host: str | None = None, suffix="abcd1234"
) -> Path:
    folder = parent / f".{name}.{kind}-{suffix}"
    folder.mkdir()
    (folder / "results.nc").write_bytes(b"partial")
    marker = {"riskmodel_tmp": 1, "pid": pid, "host": host or socket.gethostname()}
    (folder / TMP_MARKER).write_text(json.dumps(marker))
    return folder


def test_stale_temporary_folders_of_dead_runs_are_removed(tmp_path):
    dead = _dead_pid()
    stale = _leftover(tmp_path, "r", "tmp", dead)
    alive = _leftover(tmp_path, "r", "old", os.getpid())
    elsewhere = _leftover(tmp_path, "r", "tmp", dead, host="another-host", suffix="zzzz9999")
    unmarked = tmp_path / ".r.tmp-efgh5678"
    unmarked.mkdir()
    other_name = _leftover(tmp_path, "rr", "tmp", dead)
    write_folder_atomic(tmp_path / "r", _fill())
    assert not stale.exists()
    for kept in (alive, elsewhere, unmarked, other_name):
        assert kept.exists(), kept.name


def test_report_moved_aside_by_a_killed_run_is_moved_back(tmp_path):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill("1"))
    before = _snapshot(out)
    aside = out.rename(tmp_path / ".r.old-abcd1234")  # killed between the two renames
    marker = {"riskmodel_tmp": 1, "pid": _dead_pid(), "host": socket.gethostname()}
    (aside / TMP_MARKER).write_text(json.dumps(marker))
    assert clean_stale(tmp_path, "r") == []
    assert _snapshot(out) == before and _hidden(tmp_path) == []


# --------------------------------------------------------------------------- concurrency
def test_concurrent_writers_take_turns(tmp_path):
    out = tmp_path / "r"
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def writer(i: int) -> None:
        def fill(tmp: Path) -> None:
            _fill(str(i))(tmp)
            threading.Event().wait(0.02)

        try:
            barrier.wait()
            write_folder_atomic(out, fill)
        except BaseException as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seed = json.loads((out / "summary.json").read_text())["seed"]
    assert (out / "figures" / "loss.png").read_bytes() == b"\x89PNG" + seed.encode()
    check_output_dir(out)  # a complete report with a valid manifest
    assert _hidden(tmp_path) == []


def test_a_writer_that_waits_too_long_gives_up_clearly(tmp_path):
    with folder_lock(tmp_path, "r", "r", timeout=1):
        with pytest.raises(OutputDirError, match=rf"another riskmodel process \(pid {os.getpid()}"):
            write_folder_atomic(tmp_path / "r", _fill(), lock_timeout=0.2)
    assert _hidden(tmp_path) == [] and not (tmp_path / "r").exists()


def test_a_lock_file_riskmodel_did_not_write_is_left_alone(tmp_path):
    lock = tmp_path / ".r.riskmodel-lock"
    lock.write_text("someone else's file")
    with pytest.raises(OutputDirError, match="riskmodel did not write it"):
        write_folder_atomic(tmp_path / "r", _fill())
    assert lock.read_text() == "someone else's file"


def test_ctrl_c_during_the_swap_is_held_back_until_it_is_done(tmp_path, monkeypatch):
    out = tmp_path / "r"
    write_folder_atomic(out, _fill("1"))
    real = os.rename

    def rename(src, dst):  # Ctrl-C arrives between moving the old report aside and the new in
        if ".tmp-" in Path(src).name:
            os.kill(os.getpid(), signal.SIGINT)
        return real(src, dst)

    monkeypatch.setattr(files.os, "rename", rename)
    # Python's own Ctrl-C handler, whatever the caller set (a shell's background job ignores
    # SIGINT, and that disposition is inherited)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            write_folder_atomic(out, _fill("2"))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert json.loads((out / "summary.json").read_text()) == {"seed": "2"}  # swap completed
    check_output_dir(out)
    assert _hidden(tmp_path) == []
