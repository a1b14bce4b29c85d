"""`segment-many` over datasets (DAVIS, YouTube-VOS, a folder of videos) and `eval` in parallel:
the same masks as `segment` per clip, resuming, bad sequences skipped, shards, worker plans."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from xmem_demo.batch.datasets import SequenceSpec, list_sequences, parse_shard, shard
from xmem_demo.batch.engines import plan_local_workers
from xmem_demo.batch.summary import DONE_MARKER, FAILED_MARKER
from xmem_demo.batch.synthetic_dataset import write_davis
from xmem_demo.errors import InputError
from xmem_demo.synthetic import make_clip
from xmem_demo.video import read_index_mask, write_index_mask

from .support import run_cli, write_clip

SMALL = ("--weights", "mini", "--size", "-1", "--no-progress")


def masks_of(folder):
    return {p.name: read_index_mask(p) for p in sorted(folder.glob("*.png"))}


def assert_same_masks(a, b):
    ma, mb = masks_of(a), masks_of(b)
    assert ma.keys() == mb.keys() and ma
    for name in ma:
        assert np.array_equal(ma[name], mb[name]), f"{a.name}/{name} differs"


@pytest.fixture(scope="module")
def davis(tmp_path_factory):
    root = tmp_path_factory.mktemp("davis")
    write_davis(root, sequences=3, frames=5, height=48, width=64)
    return root


def test_davis_layout_matches_segment_per_clip(davis, tmp_path, capsys):
    run = run_cli(["segment-many", str(davis), "--out", str(tmp_path / "pred"), "--workers", "2", *SMALL], capsys)
    assert run.code == 0, run.err
    assert "local engine: 2 workers x 1 thread" in run.out and "3 to segment" in run.out
    rows = json.loads((tmp_path / "pred" / "summary.json").read_text())["sequences"]
    assert [r["sequence"] for r in rows] == ["synth-000", "synth-001", "synth-002"]
    assert all(r["status"] == "done" and r["frames"] == 5 and r["fps"] > 0 and r["peak_rss_mib"] > 0 for r in rows)
    assert all(0 <= r["JF"] <= 1 for r in rows)  # ground truth present: scored
    assert len(set(r["worker"] for r in rows)) >= 1
    csv_lines = (tmp_path / "pred" / "summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("sequence,status,frames") and len(csv_lines) == 4
    for name in ("synth-000", "synth-002"):
        images = davis / "JPEGImages" / "480p" / name
        one = tmp_path / f"one-{name}"
        run = run_cli(["segment", str(images), "--mask", str(davis / "Annotations" / "480p" / name / "00000.png"),
                       "--out", str(one), "--weights", "mini", "--size", "-1"], capsys)
        assert run.code == 0, run.err
        assert_same_masks(one / "masks", tmp_path / "pred" / name)


def test_resume_skips_finished_and_redoes_a_half_written_sequence(davis, tmp_path, capsys):
    pred = tmp_path / "pred"
    assert run_cli(["segment-many", str(davis), "--out", str(pred), "--workers", "1", *SMALL], capsys).code == 0
    before = masks_of(pred / "synth-001")
    # A run stopped half-way through synth-001: no marker, one mask missing, one torn.
    (pred / "synth-001" / DONE_MARKER).unlink()
    (pred / "synth-001" / "00004.png").unlink()
    (pred / "synth-001" / "00002.png").write_bytes(b"torn")
    run = run_cli(["segment-many", str(davis), "--out", str(pred), "--workers", "1", *SMALL], capsys)
    assert run.code == 0, run.err
    assert "2 already done, 1 to segment" in run.out
    after = masks_of(pred / "synth-001")
    assert after.keys() == before.keys() and all(np.array_equal(after[k], before[k]) for k in before)
    # Other settings are not mixed into the same results: everything is redone.
    run = run_cli(["segment-many", str(davis), "--out", str(pred), "--workers", "1", "--mem-every", "2", *SMALL], capsys)
    assert "0 already done, 3 to segment" in run.out


def test_youtube_layout_adds_only_new_objects_from_later_annotations(tmp_path, capsys):
    from xmem_demo.config import MemoryConfig
    from xmem_demo.pipeline import track
    from xmem_demo.video import open_video
    from xmem_demo.weights import resolve_model

    clip = make_clip(1_000_123, height=48, width=64, num_frames=6, num_objects=2)
    frames, gt = clip.arrays()
    images, annotations = tmp_path / "yt" / "JPEGImages" / "v1", tmp_path / "yt" / "Annotations" / "v1"
    images.mkdir(parents=True)
    annotations.mkdir(parents=True)
    for t, f in enumerate(frames):  # YouTube-VOS names frames by their number in the full video
        Image.fromarray(f).save(images / f"{5 * t:05d}.jpg", quality=95)
    first = np.where(gt[0] == 1, 1, 0).astype(np.uint8)  # object 2 "appears" on the frame named 00015
    write_index_mask(annotations / "00000.png", first)
    write_index_mask(annotations / "00015.png", gt[3])  # holds object 1 again, which must not be re-imposed
    run = run_cli(["segment-many", str(tmp_path / "yt"), "--out", str(tmp_path / "pred"), "--workers", "1",
                   "--precision", "fp32", *SMALL], capsys)
    assert run.code == 0, run.err
    assert "youtube layout" in run.out
    got = masks_of(tmp_path / "pred" / "v1")
    assert sorted(got) == [f"{5 * t:05d}.png" for t in range(6)]
    model, _ = resolve_model("mini")
    only_new = np.where(gt[3] == 2, 2, 0).astype(np.uint8)
    with open_video(images) as source:
        expected = {r.index: r.mask for r in track(model, source, {0: first, 3: only_new}, MemoryConfig(),
                                                   working_size=None, backward_first=True)}
    for t in range(6):
        assert np.array_equal(got[f"{5 * t:05d}.png"], expected[t])
    assert 2 not in np.unique(got["00010.png"]) and 2 in np.unique(got["00015.png"])
    row = json.loads((tmp_path / "pred" / "summary.json").read_text())["sequences"][0]
    assert row["objects"] == 2 and row["JF"] is None  # no full ground truth in this layout


def test_videos_folder_bad_sequences_reported_and_skipped(tmp_path, capsys):
    clip = make_clip(1_000_321, height=48, width=64, num_frames=5)
    frames, gt = clip.arrays()
    ds = tmp_path / "videos"
    ds.mkdir()
    for name in ("good", "wrongsize", "nomask"):
        write_clip(ds / f"{name}.mp4", list(frames))
    write_index_mask(ds / "good_mask_00002.png", gt[2])  # a mask for frame 2: propagated both ways
    write_index_mask(ds / "wrongsize.png", np.ones((20, 30), np.uint8))
    pred = tmp_path / "pred"
    run = run_cli(["segment-many", str(ds), "--out", str(pred), "--workers", "2", *SMALL], capsys)
    assert run.code == 1
    assert "failed: nomask: InputError: no mask for 'nomask.mp4'" in run.err
    assert "failed: wrongsize: MaskError:" in run.err and "2 sequence(s) failed" in run.err
    assert sorted(masks_of(pred / "good")) == [f"{t:05d}.png" for t in range(5)]
    rows = {r["sequence"]: r for r in json.loads((pred / "summary.json").read_text())["sequences"]}
    assert rows["good"]["status"] == "done" and rows["nomask"]["status"] == "failed"
    assert (pred / "wrongsize" / FAILED_MARKER).exists()
    # Fixed input: only the failed sequences run again.
    write_index_mask(ds / "wrongsize.png", gt[0])
    write_index_mask(ds / "nomask.png", gt[0])
    run = run_cli(["segment-many", str(ds), "--out", str(pred), "--workers", "1", *SMALL], capsys)
    assert run.code == 0, run.err
    assert "1 already done, 2 to segment" in run.out
    assert not (pred / "wrongsize" / FAILED_MARKER).exists() and (pred / "wrongsize" / DONE_MARKER).exists()


def test_shards_partition_the_dataset_and_the_last_run_summarises_all(davis, tmp_path, capsys):
    pred = tmp_path / "pred"
    for i in (0, 1):
        run = run_cli(["segment-many", str(davis), "--out", str(pred), "--shard", f"{i}/2", *SMALL], capsys)
        assert run.code == 0, run.err
    assert "shard 1/2: 1" in run.out
    rows = json.loads((pred / "summary.json").read_text())["sequences"]
    assert [r["sequence"] for r in rows] == ["synth-000", "synth-001", "synth-002"]
    specs = [SequenceSpec(f"s{i}", davis) for i in range(7)]
    parts = [shard(specs, i, 3) for i in range(3)]
    assert sorted(s.name for p in parts for s in p) == sorted(s.name for s in specs)
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "1", "-1/2", "a/b"):
        with pytest.raises(InputError, match="--shard"):
            parse_shard(bad)


def test_refuses_to_write_over_the_annotations(davis, tmp_path, capsys):
    run = run_cli(["segment-many", str(davis), "--out", str(davis / "Annotations" / "480p"), *SMALL], capsys)
    assert run.code == 2 and "would write over the dataset's annotations" in run.error
    assert len(list((davis / "Annotations" / "480p" / "synth-000").glob("*.png"))) == 5


def test_not_a_dataset(tmp_path, capsys):
    run = run_cli(["segment-many", str(tmp_path), "--out", str(tmp_path / "p"), *SMALL], capsys)
    assert run.code == 2 and "is not a dataset" in run.error
    with pytest.raises(InputError, match="not found"):
        list_sequences(tmp_path / "missing")


def test_worker_plan_from_the_hardware():
    plenty = 64 * 1024
    p = plan_local_workers("cpu", 30, cores=2, free_mib=plenty)
    assert (p.workers, p.threads) == (2, 1) and "2 CPU cores" in p.describe()
    p = plan_local_workers("cpu", 1, cores=8, free_mib=plenty)  # one sequence: its threads get the cores
    assert (p.workers, p.threads) == (1, 8)
    p = plan_local_workers("cpu", 30, cores=16, free_mib=4000, size=480)  # memory caps the workers
    assert p.workers == 2 and p.threads == 8 and "memory for 2" in p.reason
    p = plan_local_workers("cuda", 30, cores=16, gpus=4)
    assert p.devices == ("cuda:0", "cuda:1", "cuda:2", "cuda:3") and (p.workers, p.threads) == (4, 4)
    assert plan_local_workers("cpu", 30, workers=3, cores=2).workers == 3
    with pytest.raises(InputError, match="--workers"):
        plan_local_workers("cpu", 3, workers=0)


def test_eval_in_parallel_equals_serial_and_writes_csv(davis, tmp_path, capsys):
    from xmem_demo.metrics import evaluate_folders

    pred = tmp_path / "pred"
    shutil.copytree(davis / "Annotations" / "480p", pred)
    rng = np.random.default_rng(0)
    for p in pred.rglob("*.png"):  # damage the copies so the scores are not all 1
        m = read_index_mask(p)
        m[rng.random(m.shape) < 0.2] = 0
        write_index_mask(p, m)
    gt = davis / "Annotations" / "480p"
    serial, parallel = evaluate_folders(pred, gt, workers=1), evaluate_folders(pred, gt, workers=2)
    assert serial == parallel and 0 < serial["synth-000"]["J"] < 1
    run = run_cli(["eval", str(pred), str(gt), "--workers", "2", "--csv", str(tmp_path / "csv")], capsys)
    assert run.code == 0, run.err
    per_seq = (tmp_path / "csv" / "per-sequence.csv").read_text().splitlines()
    assert per_seq[0] == "sequence,objects,frames,J,F,J&F" and per_seq[-1].startswith("all,")
    assert per_seq[1].startswith("synth-000,") and f"{serial['synth-000']['J&F']:.6f}" in per_seq[1]
    per_obj = (tmp_path / "csv" / "per-object.csv").read_text().splitlines()
    assert per_obj[0] == "sequence,object,J,F,J&F"
    assert len(per_obj) - 1 == sum(len(v["per_object"]) for v in serial.values())


def test_thirty_sequence_synthetic_dataset_segmented_and_evaluated_end_to_end(tmp_path, capsys):
    """The issue's target: 30 sequences in the DAVIS layout, one command to write them, one to
    segment them all, one to evaluate them all; the two commands' scores agree."""
    from xmem_demo.batch import synthetic_dataset

    root, pred = tmp_path / "synthetic", tmp_path / "pred"
    assert synthetic_dataset.main([str(root), "--sequences", "30", "--frames", "4", "--size", "32x48"]) == 0
    capsys.readouterr()
    run = run_cli(["segment-many", str(root), "--out", str(pred), *SMALL], capsys)
    assert run.code == 0, run.err
    assert "30 sequences (davis layout); 0 already done, 30 to segment" in run.out
    assert "local engine:" in run.out  # the default, chosen from this machine, is printed
    summary = json.loads((pred / "summary.json").read_text())
    assert summary["overall"]["done"] == 30 and summary["overall"]["frames"] == 120
    run = run_cli(["eval", str(pred), str(root / "Annotations" / "480p"), "--csv", str(tmp_path / "scores")], capsys)
    assert run.code == 0, run.err
    rows = (tmp_path / "scores" / "per-sequence.csv").read_text().splitlines()
    assert len(rows) == 1 + 30 + 1
    by_name = {r["sequence"]: r for r in summary["sequences"]}
    for line in rows[1:-1]:
        name, _, _, j, f, jf = line.split(",")
        assert abs(float(jf) - by_name[name]["JF"]) < 1e-6, name
    total = rows[-1].split(",")
    assert abs(float(total[-1]) - summary["overall"]["JF"]) < 1e-6


def test_sigterm_stops_promptly_writes_the_summary_and_the_next_run_finishes(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    root, pred = tmp_path / "ds", tmp_path / "pred"
    write_davis(root, sequences=12, frames=12, height=48, width=64)
    argv = [sys.executable, "-m", "xmem_demo.cli", "segment-many", str(root), "--out", str(pred), "--workers", "2", *SMALL]
    env = {**os.environ, "XMEM_DEMO_OFFLINE": "1"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(pred.glob(f"*/{DONE_MARKER}")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    summary = json.loads((pred / "summary.json").read_text())
    assert 1 <= summary["overall"]["done"] < 12  # what was finished when it stopped
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "already done" in run.stdout and json.loads((pred / "summary.json").read_text())["overall"]["done"] == 12
