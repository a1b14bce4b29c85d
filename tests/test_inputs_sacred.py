"""Inputs are never written over or deleted (issue 20): an output that is, holds, or lies inside
an input is refused before any work; the stale-results sweep removes only files a run of this
tool recorded as its own (OUT/.xmem-demo-manifest.json), never a file it did not create.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xmem_demo.errors import InputError
from xmem_demo.outdir import MANIFEST_NAME, OutputDir
from xmem_demo.video import write_index_mask

from . import bad_inputs_table as table
from .support import run_cli, save_tiny_checkpoint, square_frames, square_mask, write_clip


@pytest.fixture(scope="module", autouse=True)
def write_table():
    yield
    table.write_if_asked()


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def d(tmp_path):
    frames = square_frames(4)
    (tmp_path / "vid").mkdir()
    write_clip(tmp_path / "vid" / "overlay.mp4", frames)  # a video named like our overlay
    write_index_mask(tmp_path / "vid" / "mask.png", square_mask())
    (tmp_path / "run" / "masks").mkdir(parents=True)  # frames named like our masks
    for i, fr in enumerate(frames):
        Image.fromarray(fr).save(tmp_path / "run" / "masks" / f"{i:05d}.png")
    write_index_mask(tmp_path / "run" / "mask.png", square_mask())
    write_clip(tmp_path / "clip.mp4", frames)
    write_index_mask(tmp_path / "mask.png", square_mask())
    save_tiny_checkpoint(tmp_path / "tiny.pth")
    return tmp_path


def _segment(d: Path, video, mask, out, *extra) -> list[str]:
    return ["segment", str(video), "--mask", str(mask), "--out", str(out), "--weights", str(d / "tiny.pth"), *map(str, extra)]


REFUSED = {
    # id: (argv from the folder, expected text, the table's label, folder whose files must not change)
    "out holds the video": (lambda d: _segment(d, d / "vid/overlay.mp4", d / "vid/mask.png", d / "vid"),
                            "contains the input video", "--out DIR with the video DIR/overlay.mp4", "vid"),
    "out holds the frames": (lambda d: _segment(d, d / "run/masks", d / "run/mask.png", d / "run"),
                             "contains the input video", "--out DIR with the frames DIR/masks/00000.png...", "run"),
    "out is the frame folder": (lambda d: _segment(d, d / "run/masks", d / "mask.png", d / "run/masks"),
                                "is the input video", "--out the frame folder itself", "run"),
    "out inside the frame folder": (lambda d: _segment(d, d / "run/masks", d / "mask.png", d / "run/masks/res"),
                                    "lies inside the input video", "--out a folder inside the frame folder", "run"),
    "out holds the mask": (lambda d: _segment(d, d / "clip.mp4", d / "run/mask.png", d / "run"),
                           "contains the input --mask", "--out DIR with --mask DIR/mask.png", "run"),
    "out via a symlink": (lambda d: (os.symlink(d / "vid", d / "link"), _segment(d, d / "vid/overlay.mp4", d / "mask.png", d / "link"))[1],
                          "contains the input video", "--out a symlink to the video's folder", "vid"),
    "out via ..": (lambda d: _segment(d, d / "vid/overlay.mp4", d / "mask.png", d / "vid/../vid/."),
                   "contains the input video", "--out DIR/../DIR (the video's folder spelled otherwise)", "vid"),
    "out holds the weights": (lambda d: _segment(d, d / "clip.mp4", d / "mask.png", d),
                              "contains the input", "--out the folder holding every input", "vid"),
    "save-probs in the frame folder": (lambda d: _segment(d, d / "run/masks", d / "mask.png", d / "o", "--save-probs", d / "run/masks/p.npz"),
                                       "--save-probs", "--save-probs inside the frame folder", "run"),
    "out empty": (lambda d: _segment(d, d / "clip.mp4", d / "mask.png", ""), "give a folder name",
                  "--out '' (would mean the current folder)", "vid"),
    "out blank": (lambda d: _segment(d, d / "clip.mp4", d / "mask.png", "  "), "give a folder name", "--out '  '", "vid"),
    "save-probs empty": (lambda d: _segment(d, d / "clip.mp4", d / "mask.png", d / "o", "--save-probs", ""),
                         "give a file name ending in .npz", "--save-probs ''", "vid"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_output_on_an_input_is_refused_before_any_work(d, case, capsys, monkeypatch):
    build, expected, label, keep = REFUSED[case]
    monkeypatch.chdir(d / "vid")
    argv = build(d)
    before = _digests(d)
    run = run_cli(argv, capsys)
    assert run.code == 2 and expected in run.error and "Traceback" not in run.err, run.err
    assert run.err.count("\n") == 1, run.err  # one line, nothing before it
    assert _digests(d) == before  # not a byte changed, not a file added (no --out created)
    table.record("CLI", label, run.error.replace(str(d), "<tmp>"), "exit 2, inputs untouched, nothing written")


def test_the_sweep_removes_only_files_this_tool_recorded(d, capsys):
    out = d / "res"
    assert run_cli(_segment(d, d / "clip.mp4", d / "mask.png", out), capsys).code == 0
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["masks"] == {"first": 0, "count": 4} and "overlay.mp4" in manifest["files"]
    (out / "notes.txt").write_text("mine")  # not one of our names: never looked at
    (out / "masks" / "README").write_text("mine")
    run = run_cli(_segment(d, d / "clip.mp4", d / "mask.png", out), capsys)
    assert run.code == 0 and "4 masks removed" in run.err
    assert (out / "notes.txt").read_text() == "mine" and (out / "masks" / "README").read_text() == "mine"
    assert sorted(p.name for p in (out / "masks").glob("*.png")) == [f"{i:05d}.png" for i in range(4)]


@pytest.mark.parametrize("name", ["masks/00042.png", "masks/00000.png", "overlay.mp4", "summary.json"])
def test_a_file_with_our_name_that_we_did_not_write_is_refused_not_deleted(d, capsys, name):
    out = d / "res"
    (out / "masks").mkdir(parents=True)
    (out / name).write_bytes(b"the user's own file")
    run = run_cli(_segment(d, d / "clip.mp4", d / "mask.png", out), capsys)
    assert run.code == 2 and "which xmem-demo did not write" in run.error and name in run.error, run.err
    assert (out / name).read_bytes() == b"the user's own file"
    assert not (out / MANIFEST_NAME).exists()
    if name == "masks/00042.png":
        table.record("CLI", "--out holding a masks/00042.png this tool did not write", run.error.replace(str(d), "<tmp>"),
                     "exit 2, the file kept, nothing written")


def test_a_file_added_after_a_run_with_a_name_outside_its_manifest_is_kept(d, capsys):
    """A run of 4 frames claims masks 00000..00003; a 00042.png copied in later is not ours."""
    out = d / "res"
    assert run_cli(_segment(d, d / "clip.mp4", d / "mask.png", out), capsys).code == 0
    (out / "masks" / "00042.png").write_bytes(b"mine")
    run = run_cli(_segment(d, d / "clip.mp4", d / "mask.png", out), capsys)
    assert run.code == 2 and "masks/00042.png" in run.error
    assert (out / "masks" / "00042.png").read_bytes() == b"mine"
    assert len(list((out / "masks").glob("0000?.png"))) == 4  # the earlier results untouched too


def test_an_unreadable_manifest_deletes_nothing(tmp_path):
    out = OutputDir(tmp_path)
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "00000.png").write_bytes(b"x")
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with out, pytest.raises(InputError, match="did not write"):
        out.clear_previous()
    assert (tmp_path / "masks" / "00000.png").exists()


def test_orphaned_temporaries_of_dead_runs_are_swept_live_ones_kept(tmp_path):
    (tmp_path / "masks").mkdir()
    dead = tmp_path / "masks" / ".00003.png.part999999999.png"
    live = tmp_path / "masks" / f".00004.png.part{os.getppid()}.png"
    user = tmp_path / ".notes.partial"
    for p in (dead, live, user):
        p.write_bytes(b"x")
    with OutputDir(tmp_path) as out:
        out.clear_previous()
    assert not dead.exists() and live.exists() and user.exists()
