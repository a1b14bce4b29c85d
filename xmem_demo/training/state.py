"""A resumable training run: model, optimiser, schedule, step, random states and learning curve.

One file (`torch.save`, read back with `weights_only=True`) holds everything needed to
continue exactly where a run stopped, in a later session or on another machine:

    python -m xmem_demo.training.train --resume training_runs/mini-cpu/state.pth

Random generator states are stored as JSON text (plain strings load safely), the learning
curve as a list of JSON records. The file is small (the mini network and Adam's two moments,
about 5.5 MB) so that it can be committed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch

STATE_FORMAT = "xmem-demo-training-state"


def rng_states(np_rng: np.random.Generator, py_rng: random.Random) -> dict:
    return {
        "numpy": json.dumps(np_rng.bit_generator.state),
        "python": json.dumps(py_rng.getstate()),
        "torch": torch.get_rng_state(),
    }


def restore_rngs(states: dict, np_rng: np.random.Generator, py_rng: random.Random) -> None:
    np_rng.bit_generator.state = json.loads(states["numpy"])
    version, internal, gauss = json.loads(states["python"])
    py_rng.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(states["torch"])


def write_state(path: Path, payload: dict) -> None:
    """Atomic write (a crash mid-save leaves the previous state intact)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": STATE_FORMAT, **payload}, tmp)
    tmp.replace(path)


def read_state(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ValueError(f"{path} is not an xmem-demo training state (expected format '{STATE_FORMAT}')")
    return state
