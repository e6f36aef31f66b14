"""A problem folder is fingerprinted when a run first evaluates in it: a file edited,
added or removed during the run stops it (it would judge against other files), a
file merely touched does not; the package nodes get holds the same files, less what
the sandbox hides."""

import io
import os
import shutil
import tarfile
import threading
import time

import pytest
from conftest import FIXTURES

from adrs.loop import Search
from adrs.problem_files import ProblemChanged, ProblemFiles, unpacked
from adrs.runs import resume_run, start_run


def edit_once_stored(ctx, path, count: int) -> threading.Thread:
    """A thread that rewrites `path` once the run has stored `count` candidates."""
    def edit():
        while len(ctx.store.history(ctx.run.id)) < count:
            time.sleep(0.02)
        path.write_text('{"seconds": 0.0}')

    editor = threading.Thread(target=edit)
    editor.start()
    return editor


@pytest.fixture
def folder(tmp_path):
    shutil.copytree(FIXTURES / "waiting_number", tmp_path / "problem")
    return tmp_path / "problem"


def test_an_edit_a_new_file_or_a_removal_is_a_change_and_a_touch_is_not(folder):
    files = ProblemFiles(str(folder))
    os.utime(folder / "wait.json")  # same bytes
    time.sleep(0.3)
    files.check()
    for change in (lambda: (folder / "wait.json").write_text('{"seconds": 0.01}'),
                   lambda: (folder / "extra.csv").write_text("1,2\n"),
                   lambda: (folder / "initial_program.py").unlink()):
        files = ProblemFiles(str(folder))
        change()
        time.sleep(0.3)
        with pytest.raises(ProblemChanged, match="changed during the run"):
            files.check()


def test_the_package_holds_the_files_but_not_hidden_ones_or_byte_code(folder, tmp_path):
    (folder / "private").mkdir()
    (folder / "private" / "answers.txt").write_text("secret")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "evaluate.cpython-311.pyc").write_bytes(b"\0")
    files = ProblemFiles(str(folder), hidden=(str(folder / "private"),))
    names = tarfile.open(fileobj=io.BytesIO(files.package)).getnames()
    assert "wait.json" in names and "evaluate.py" in names
    assert not [n for n in names if "private" in n or "pycache" in n]
    where = unpacked(files.digest, files.package, str(tmp_path / "cache"))
    assert ProblemFiles(where).digest == files.digest  # the same bytes arrive
    assert unpacked(files.digest, b"not even a tar", str(tmp_path / "cache")) == where


def test_a_folder_edited_mid_run_stops_the_run_and_resume_refuses_nothing_stored(
        folder, tmp_path):
    ctx = start_run(str(folder), name="edited", db=None, archive=tmp_path, config_file=None,
                    overrides={"iterations": 40, "workers": 2})

    editor = edit_once_stored(ctx, folder / "wait.json", 4)
    with pytest.raises(ProblemChanged, match=r"wait.json.*put it back as it was"):
        Search(ctx, progress=False).run()
    editor.join()
    stored = len(ctx.store.history(ctx.run.id))
    assert 4 <= stored < 41
    (folder / "wait.json").write_text('{"seconds": 0.3}\n')  # put back as it was
    again = resume_run("edited", db=None, archive=tmp_path, iterations=40)
    Search(again, progress=False).run()
    assert len(again.store.history(again.run.id)) == 41


def test_a_resume_after_the_folder_was_edited_is_refused_until_it_is_put_back(
        folder, tmp_path):
    from adrs.errors import UserError

    ctx = start_run(str(folder), name="paused", db=None, archive=tmp_path, config_file=None,
                    overrides={"iterations": 3})
    Search(ctx, progress=False).run()
    original = (folder / "evaluate.py").read_text()
    (folder / "evaluate.py").write_text(original.replace("TARGET = 3.7", "TARGET = 9.0"))
    with pytest.raises(UserError, match="changed since run paused began.*put it back"):
        resume_run("paused", db=None, archive=tmp_path, iterations=6)
    (folder / "evaluate.py").write_text(original)
    again = resume_run("paused", db=None, archive=tmp_path, iterations=6)
    Search(again, progress=False).run()
    assert len(again.store.history(again.run.id)) == 7


def test_the_initial_program_is_packed_but_its_edits_are_not_a_change(folder):
    files = ProblemFiles(str(folder), unjudged=(str(folder / "initial_program.py"),))
    (folder / "initial_program.py").write_text("def guess(scale):\n    return 2.0\n")
    time.sleep(0.3)
    files.check()
    names = tarfile.open(fileobj=io.BytesIO(files.package)).getnames()
    assert "initial_program.py" in names
