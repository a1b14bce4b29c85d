"""FrameGeometry: one definition of frame size -> working size -> padding -> stride-16 grid,
computed once by the session and carried in its records."""

from __future__ import annotations

import numpy as np
import torch
import pytest

from xmem_demo import InferenceSession, MemoryConfig, RecordCollector
from xmem_demo.geometry import FrameGeometry, resize_target, working_shape

from .test_session import box_mask, frames


@pytest.mark.parametrize("frame_hw, size, working, pad, grid", [
    ((40, 56), None, (40, 56), (4, 4, 4, 4), (3, 4)),
    ((40, 56), 24, (24, 33), (7, 8, 4, 4), (2, 3)),  # down (long side truncated, as the official)
    ((40, 56), 64, (64, 89), (3, 4, 0, 0), (4, 6)),  # up, as the official evaluation resizes
    ((33, 17), -1, (33, 17), (7, 8, 7, 8), (3, 2)),  # odd padding: the smaller half top/left
])
def test_frame_geometry(frame_hw, size, working, pad, grid):
    g = FrameGeometry.for_frame(frame_hw, size)
    assert (g.working_hw, g.pad, g.grid_hw) == (working, pad, grid)
    assert g.padded_hw == (grid[0] * 16, grid[1] * 16)
    for row in range(grid[0]):
        for col in range(grid[1]):
            assert g.image_to_grid(*g.grid_to_image(row, col)) == (row, col)


@pytest.mark.parametrize("frame_hw, size, upsample, target, working", [
    ((96, 128), 480, True, 480, (480, 640)),  # the official rule: up...
    ((1080, 1920), 480, True, 480, (480, 853)),  # ...or down
    ((96, 128), 480, False, None, (96, 128)),  # the app's: a small clip keeps its own size
    ((96, 128), 96, False, None, (96, 128)),
    ((1080, 1920), 480, False, 480, (480, 853)),  # down either way
    ((1080, 1920), -1, False, None, (1080, 1920)),
])
def test_one_resize_rule_with_or_without_upsampling(frame_hw, size, upsample, target, working):
    assert resize_target(*frame_hw, size, allow_upsample=upsample) == target
    assert FrameGeometry.for_frame(frame_hw, size, allow_upsample=upsample).working_hw == working
    assert working_shape(*frame_hw, size, allow_upsample=upsample) == working


def test_session_computes_geometry_once_and_records_carry_it(tiny_model):
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=2), working_size=32)
    records = RecordCollector()
    session.add_hook(records)
    session.set_probe([(0, 0)])
    clip = frames(4)
    for t in range(4):
        session.step(clip[t], mask=box_mask(1, 5, 5) if t == 0 else None)
    expected = FrameGeometry.for_frame(clip.shape[1:3], 32)
    assert session.geometry == expected
    assert all(r.geometry is session.geometry for r in records.records)
    probed = [r for r in records.records if r.affinity is not None]
    assert probed and all(r.affinity.geometry == expected for r in probed)
    assert all(r.sensory_map.shape[1:] == expected.grid_hw for r in records.records[1:])
    assert probed[0].affinity.feature_shape == expected.grid_hw


def test_a_frame_of_another_size_is_refused_and_changes_nothing(tiny_model):
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=1))
    clip = frames(2)
    session.step(clip[0], mask=box_mask(1, 5, 5))
    with pytest.raises(ValueError, match="one session is one video"):
        session.step(np.zeros((32, 32, 3), np.uint8))
    assert session.frame_index == 0
    session.step(clip[1])
    assert session.frame_index == 1


def test_public_prepare_is_what_the_session_feeds_the_network(tiny_model, monkeypatch):
    from xmem_demo.session import prepare

    clip = frames(1)
    seen = []
    session = InferenceSession(tiny_model, MemoryConfig(), working_size=32)
    original = session.model.encode_key
    monkeypatch.setattr(session.model, "encode_key", lambda image, **kw: (seen.append(image.clone()), original(image, **kw))[1])
    session.step(clip[0], mask=box_mask(1, 5, 5))
    image, geometry = prepare(clip[0], working_size=32)
    assert geometry == session.geometry and tuple(image.shape[-2:]) == geometry.padded_hw
    assert torch.equal(image, seen[0])
