"""Progress over sequences and frames, as two bars on stderr (tqdm).

Engines report three kinds of event, from whichever process ran the sequence:
`start(name, frames)` when a sequence begins (its frame count joins the frame bar's total),
`frames(name, k)` as masks are written, and `finished(result)` when its row is known.
"""

from __future__ import annotations

import sys
import threading

from .summary import SequenceResult


class ProgressBars:
    """A sequences bar (done / failed) above a frames bar (frames per second over all workers)."""

    def __init__(self, sequences: int, enabled: bool = True) -> None:
        from tqdm import tqdm

        self._lock = threading.Lock()  # events arrive from a listener thread and the main thread
        self.failed = 0
        self.sequences = tqdm(total=sequences, unit="seq", desc="sequences", file=sys.stderr, position=0,
                              disable=not enabled, dynamic_ncols=True)
        self.frames = tqdm(total=0, unit="frame", desc="frames", file=sys.stderr, position=1,
                           disable=not enabled, dynamic_ncols=True)

    def __call__(self, event: str, name: str, number: int) -> None:
        """The `Progress` callback runners take (runner.py)."""
        with self._lock:
            if event == "start":
                self.frames.total += number
                self.frames.set_postfix_str(name, refresh=False)
                self.frames.refresh()
            elif event == "frames":
                self.frames.update(number)

    def finished(self, result: SequenceResult) -> None:
        with self._lock:
            if result.status != "done":
                self.failed += 1
                self.sequences.set_postfix(failed=self.failed)
            self.sequences.update(1)

    def close(self) -> None:
        self.frames.close()
        self.sequences.close()
