"""The four decisions of one inference step, as a pure function (the official `InferenceCore.step`).

    plan = plan_step(config, t, last_memory_frame, last_deep_update,
                     has_memory, num_objects, mask_given, all_given, end)

`InferenceSession.step` computes the plan first and then only carries it out, so the
protocol can be read (and tested, as a truth table: tests/test_step_plan.py) without a network:

1. segment?        memory holds something and not every object is annotated on this frame;
2. memory frame?   objects exist, not the last frame, and r frames since the last memory
                   frame or a mask is given (Sec. 3.2: "every r-th frame");
3. deep update?    on a memory frame: synchronised with memory frames (the official default,
                   d = -1), else when d frames passed since the last deep update (Sec. 3.2);
4. decoder updates h?  on a segmented frame that is not the last and not a synchronised
                   deep update (the value encoder refreshes h instead).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import MemoryConfig


@dataclass(frozen=True)
class StepPlan:
    segment: bool  # read memory, decode, soft-aggregate
    memory_frame: bool  # encode a value and write a working-memory frame
    deep_update: bool  # the value encoder refreshes the sensory memory (only on memory frames)
    decoder_updates_hidden: bool  # the decoder's new hidden state is kept (only when segmenting)


def plan_step(
    config: MemoryConfig,
    t: int,
    last_memory_frame: int,
    last_deep_update: int,
    has_memory: bool,
    num_objects: int,
    mask_given: bool,
    all_given: bool,
    end: bool,
) -> StepPlan:
    """What step t does. num_objects counts the objects after this frame's mask; all_given:
    the mask names every known object (nothing left to segment)."""
    segment = has_memory and not all_given
    memory_frame = num_objects > 0 and not end and (t - last_memory_frame >= config.mem_every or mask_given)
    if config.deep_update_synced:
        deep_update = memory_frame
    else:
        deep_update = memory_frame and t - last_deep_update >= config.deep_update_every
    decoder_updates_hidden = segment and not end and not (config.deep_update_synced and deep_update)
    return StepPlan(segment, memory_frame, deep_update, decoder_updates_hidden)
