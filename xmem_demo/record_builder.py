"""Builds the `FrameRecord` of a step (only when a hook listens).

Kept out of `InferenceSession.step` so that the step reads as the protocol alone. The one
piece of state it keeps is the previous frame's sensory memory h, to report how much each
step rewrote it (`FrameRecord.sensory_change`).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from .geometry import FrameGeometry
from .memory import MemoryManager, WriteEvents
from .records import AffinityProbe, FrameRecord
from .step_plan import StepPlan


class FrameRecorder:
    def __init__(self) -> None:
        self._sensory_prev: tuple[int, torch.Tensor] | None = None  # (t, h) of the last record

    def record(
        self,
        t: int,
        object_ids: list[int],
        mask_given: bool,
        plan: StepPlan,
        memory: MemoryManager,
        events: WriteEvents | None,
        probe: AffinityProbe | None,
        geometry: FrameGeometry,
        seconds: float,
    ) -> FrameRecord:
        """The state after step t, as plain data (events and probe converted here)."""
        lt = memory.long_term
        state = memory.sensory.get()
        return FrameRecord(
            index=t,
            object_ids=list(object_ids),
            mask_given=mask_given,
            segmented=plan.segment,
            memory_frame=plan.memory_frame,
            deep_update=plan.deep_update,
            sensory_updated_by_decoder=plan.decoder_updates_hidden,
            working_size=memory.working.size,
            working_frames=memory.working.num_frames,
            working_group_sizes=memory.working.group_sizes,
            long_term_size=lt.size if lt is not None else 0,
            long_term_group_sizes=lt.group_sizes if lt is not None else [],
            sensory_shape=tuple(state.shape) if state is not None else (),
            **self._sensory_summary(t, state),
            memory_bytes=memory.memory_bytes(),
            elements_per_frame=memory.working.frame_size,
            seconds=seconds,
            # Converted here, only when a hook listens (a device sync on GPU).
            consolidation=events.consolidation.to_host() if events and events.consolidation else None,
            forgetting=events.forgetting.to_host() if events and events.forgetting else None,
            affinity=replace(probe, geometry=geometry) if probe is not None else None,
            geometry=geometry,
        )

    def _sensory_summary(self, t: int, state: torch.Tensor | None) -> dict:
        """FrameRecord's sensory_norm / sensory_change / sensory_map from h (1 x K x C^h x h x w).

        A few reductions per frame; keeps a float32 copy of h for the next frame's change.
        """
        if state is None:
            self._sensory_prev = None
            return dict(sensory_norm=[], sensory_change=[], sensory_map=None)
        h = state[0].detach().to(torch.float32, copy=True)  # K x C^h x rows x cols
        magnitude = h.abs().mean(1)  # K x rows x cols
        norm = magnitude.mean((1, 2))
        change = torch.zeros_like(norm)
        prev = self._sensory_prev
        if prev is not None and prev[0] == t - 1 and prev[1].shape[1:] == h.shape[1:]:
            k = min(prev[1].shape[0], h.shape[0])  # objects added on this frame have no previous h
            change[:k] = (h[:k] - prev[1][:k]).abs().mean((1, 2, 3))
        self._sensory_prev = (t, h)
        norm_change = torch.stack([norm, change]).cpu().tolist()
        return dict(sensory_norm=norm_change[0], sensory_change=norm_change[1],
                    sensory_map=magnitude.cpu().numpy())
