"""The app's rough edges a new user hit (issue 9, item 7), each pinned by a test."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from xmem_demo.app.clip_tab import actions
from xmem_demo.clicks import GrabCutSegmenter
from xmem_demo.app.clip_tab.plots import memory_figure
from xmem_demo.app.render import DISPLAY_COLOURS, display_overlay, object_color
from xmem_demo.app.clip_tab.state import AppState, ObjectEdit, RunResult
from xmem_demo.app.clip_tab.events import DOWNLOAD_TITLES, download_labels

from .app_fixtures import CLIP_FRAMES, disc_centre


# ---- download buttons ----------------------------------------------------------------------
def test_download_labels_carry_sizes_only_with_a_run(tmp_path):
    files = {}
    for key in DOWNLOAD_TITLES:
        files[key] = tmp_path / f"{key}.bin"
        files[key].write_bytes(b"x" * 3000)
    result = RunResult(str(tmp_path), 0, 3, 4, 1.0, False)
    for key, path in files.items():
        setattr(result, key, str(path))
    with_run = download_labels(result)
    assert all(with_run[key] == f"{title} (3 KB)" for key, title in DOWNLOAD_TITLES.items())
    assert download_labels(None) == DOWNLOAD_TITLES  # after a new clip: plain titles, no old sizes


# ---- memory plot -----------------------------------------------------------------------------
def trace_rows(n: int) -> list[dict]:
    """Working memory in MiB, long-term memory a few KiB, sensory a few hundred bytes."""
    return [
        {
            "memory_bytes": {"sensory": 512, "working": 2**20 * (1 + i % 5), "long_term": 0 if i < 6 else 4096 + 64 * i},
            "working_size": 1000, "long_term_size": 0 if i < 6 else 16,
            "consolidation": i == 6, "direction": "forward",
        }
        for i in range(n)
    ]


def test_memory_plot_spans_the_run_and_shows_every_tier():
    fig = memory_figure(trace_rows(20), total=30)  # a run of 30 frames in a clip of, say, 500
    ax = fig.axes[0]
    assert ax.get_xlim() == (0, 30)
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    tiers = ("sensory memory", "working memory", "long-term memory", "working + long-term")
    lines = {line.get_label(): np.asarray(line.get_ydata(), float) for line in ax.get_lines()}
    lines = {label: lines[label] for label in tiers}  # the figure is viz.occupancy_figure's
    for label, y in lines.items():
        shown = y[np.isfinite(y)]
        assert len(shown) and low <= shown.min() and shown.max() <= high, label  # each tier inside the axis
    lt = lines["long-term memory"]
    # On the log axis the KiB-sized long-term memory sits well above the bottom, not on it.
    assert np.log(np.nanmin(lt) / low) / np.log(high / low) > 0.1
    assert np.isnan(lt[:6]).all()  # before the first consolidation: nothing drawn (0 has no log)


# ---- colours ---------------------------------------------------------------------------------
def test_display_colours_are_bright_and_distinct():
    colours = DISPLAY_COLOURS[1:].astype(float)
    luminance = colours @ [0.2126, 0.7152, 0.0722]
    assert luminance.min() > 70 and luminance[0] > 150  # object 1 is no longer DAVIS's dark red (128, 0, 0)
    nearest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(colours, 2))
    assert nearest > 50
    assert object_color(1) == tuple(DISPLAY_COLOURS[1]) and object_color(21) == object_color(1)


@pytest.mark.parametrize("obj_id", [1, 2, 3, 7])
def test_an_object_stays_visible_on_a_background_of_its_own_colour(obj_id):
    colour = np.array(object_color(obj_id), np.uint8)
    frame = np.broadcast_to(colour, (60, 80, 3)).copy()
    labels = np.zeros((60, 80), np.uint8)
    labels[20:40, 25:55] = obj_id
    out = display_overlay(frame, labels)
    inside, outside = out[30, 40], out[10, 10]
    assert (inside == colour).all() and (outside == colour).all()  # tint of a colour on itself, background
    white, black = out[20, 40], out[19, 40]  # the outline on the boundary, the ring just outside
    assert (white == 255).all() and (black == 0).all()
    assert max(np.abs(white.astype(int) - colour).max(), np.abs(black.astype(int) - colour).max()) >= 128


# ---- corrections -----------------------------------------------------------------------------
def square_mask(loaded: AppState, t: int) -> np.ndarray:
    mask = np.zeros(loaded.clip.hw, bool)
    mask[62 - t : 84 - t, 90:112] = True  # the blue square of the tiny clip on frame t
    return mask


def test_correcting_one_object_does_not_freeze_the_others(loaded, tmp_path):
    from xmem_demo.video import write_index_mask

    seg = GrabCutSegmenter()
    actions.add_click(loaded, *disc_centre(0), True, seg)
    loaded.add_object("square")
    loaded.edits[0].objects[2] = ObjectEdit(click_mask=square_mask(loaded, 0))
    # A finished run whose result on every frame holds both objects (the disc and the square).
    run = tmp_path / "run"
    (run / "masks").mkdir(parents=True)
    for t in range(CLIP_FRAMES):
        labels = np.zeros(loaded.clip.hw, np.uint8)
        labels[square_mask(loaded, t)] = 2
        x, y = disc_centre(t)
        labels[y - 10 : y + 10, x - 10 : x + 10] = 1
        write_index_mask(run / "masks" / f"{t:05d}.png", labels)
    loaded.result = RunResult(str(run), 0, CLIP_FRAMES - 1, CLIP_FRAMES, 1.0, False)
    tracked = actions.result_mask(loaded, 6)
    actions.set_frame(loaded, 6)
    loaded.active = 1
    actions.add_click(loaded, *disc_centre(6), True, seg)  # correct object 1 on frame 6
    assert loaded.edits[6].base_source == "result"
    shown = actions.shown_labels(loaded, 6)
    assert ((shown == 2) == ((tracked == 2) & (shown != 1))).all()  # object 2 still shown there...
    given = loaded.annotations()
    assert 1 in given[6] and 2 not in given[6]  # ...but not handed to the tracker as an annotation
    assert set(np.unique(given[0])) == {0, 1, 2}  # the visitor's own annotations are untouched


def test_a_correction_before_an_objects_first_annotation_keeps_it(loaded):
    """Objects annotated on frame 6; corrections on frames 2 and 8 made over tracking results."""
    from xmem_demo.app.clip_tab.state import FrameEdit

    hw = loaded.clip.hw
    loaded.add_object("square")
    loaded.edits[6] = FrameEdit(objects={1: ObjectEdit(click_mask=np.eye(*hw, dtype=bool)),
                                         2: ObjectEdit(click_mask=square_mask(loaded, 6))})
    for t in (2, 8):
        result = np.zeros(hw, np.uint8)
        result[square_mask(loaded, t)] = 2
        result[40:56, 10:40] = 1
        loaded.edits[t] = FrameEdit(base=result, base_source="result",
                                    objects={1: ObjectEdit(click_mask=result == 1)})
    given = loaded.annotations()
    assert set(np.unique(given[2])) == {0, 1, 2}  # frame 2 comes before object 2's first annotation: kept
    assert set(np.unique(given[8])) == {0, 1}  # frame 8 does not: object 2 is left to the tracker
