"""The step plan as a truth table: the four decisions of the official InferenceCore.step."""

from __future__ import annotations

import itertools

import pytest

from xmem_demo import MemoryConfig
from xmem_demo.step_plan import StepPlan, plan_step

SYNCED = MemoryConfig(mem_every=5)  # official: deep update synchronised with memory frames
EVERY_3 = MemoryConfig(mem_every=2, deep_update_every=3)

# config, t, last_memory_frame, last_deep_update, has_memory, objects, mask_given, all_given, end
#   -> segment, memory_frame, deep_update, decoder_updates_hidden
TABLE = [
    # first frame with a mask: nothing to read; every object given; write memory + deep update
    (SYNCED, 0, 0, -1, False, 1, True, True, False, (False, True, True, False)),
    # no object yet: nothing at all
    (SYNCED, 0, 0, -1, False, 0, False, False, False, (False, False, False, False)),
    # ordinary frame between memory frames: segment, the decoder updates h
    (SYNCED, 3, 0, 0, True, 1, False, False, False, (True, False, False, True)),
    # r frames after the last memory frame: memory frame, synced deep update, decoder keeps out
    (SYNCED, 5, 0, 0, True, 1, False, False, False, (True, True, True, False)),
    # a mask for a new object on a non-memory frame: segment the old ones, write memory
    (SYNCED, 7, 5, 5, True, 2, True, False, False, (True, True, True, False)),
    # a mask naming every object: no segmentation, memory written
    (SYNCED, 7, 5, 5, True, 2, True, True, False, (False, True, True, False)),
    # the last frame: segment only, no memory, no hidden update
    (SYNCED, 10, 5, 5, True, 1, False, False, True, (True, False, False, False)),
    # d = 3, r = 2: memory frame at t = 2 but only 2 frames since the deep update at 0
    (EVERY_3, 2, 0, 0, True, 1, False, False, False, (True, True, False, True)),
    # t = 4: memory frame and 4 >= 3 frames since the deep update: deep update, decoder still updates
    (EVERY_3, 4, 2, 0, True, 1, False, False, False, (True, True, True, True)),
    # t = 3: d frames passed but not a memory frame: no deep update (it needs a value)
    (EVERY_3, 3, 2, 0, True, 1, False, False, False, (True, False, False, True)),
]


@pytest.mark.parametrize("row", TABLE, ids=[f"row{i}" for i in range(len(TABLE))])
def test_step_plan_truth_table(row):
    *args, expected = row
    assert plan_step(*args) == StepPlan(*expected)


@pytest.mark.parametrize("config", [SYNCED, EVERY_3])
def test_step_plan_invariants(config):
    for t, last_mem, last_deep, has_memory, objects, mask, all_given, end in itertools.product(
        range(0, 12), range(0, 6), range(-1, 6), (False, True), (0, 1, 2), (False, True), (False, True), (False, True)
    ):
        p = plan_step(config, t, last_mem, last_deep, has_memory, objects, mask, all_given, end)
        assert not p.deep_update or p.memory_frame
        assert not p.decoder_updates_hidden or (p.segment and not end)
        assert not (end and p.memory_frame)
        assert p.segment == (has_memory and not all_given)
        if config.deep_update_synced:
            assert p.deep_update == p.memory_frame and not (p.deep_update and p.decoder_updates_hidden)
