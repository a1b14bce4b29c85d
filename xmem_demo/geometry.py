"""Frame geometry: how a video frame maps onto the network's stride-16 feature grid.

One `FrameGeometry` per video, computed once by `InferenceSession` from the frame size and
the working size, and carried in every `FrameRecord` and `AffinityProbe`, so that figures
read it instead of re-deriving it:

    frame (H x W, the caller's pixels)
      -> resized so that the short side is `working_size` (h x w; up or down, as the
         official evaluation resizes; None keeps the frame size; `allow_upsample=False`
         keeps a frame that is already small: the app's rule, see `resize_target`)
      -> zero-padded to multiples of 16 (smaller half of the padding top/left)
      -> the stride-16 feature grid (rows x cols): one memory element per cell per memory frame.
"""

from __future__ import annotations

from dataclasses import dataclass

STRIDE = 16  # the network's output stride at the memory (key/value) level


def resize_target(height: int, width: int, size: int | None, allow_upsample: bool = True) -> int | None:
    """The short side a frame is resized to, or None when it keeps its own size.

    size None or -1: the frame's own size. The official rule resizes up or down
    (allow_upsample=True: eval.py --size makes every frame's short side `size`).
    allow_upsample=False: a frame whose short side is already `size` or smaller keeps its own
    size. The app uses it: upsampling a small clip multiplies the compute per frame by
    (size / short side)^2 and adds no detail the clip does not have, which on a CPU costs
    the interactivity the app is for.
    """
    if size in (None, -1):
        return None
    if not allow_upsample and int(size) >= min(height, width):
        return None
    return int(size)


def working_shape(height: int, width: int, size: int | None, allow_upsample: bool = True) -> tuple[int, int]:
    """(h, w) with the short side equal to `size` (None or -1: unchanged; see `resize_target`
    for `allow_upsample`).

    The official rule (eval.py --size, through torchvision's `Resize(size)`): the short side
    becomes `size` and the long side `int(size * long / short)`, truncated, not rounded
    (1366x768 at 480 -> 853 x 480, not 854).
    """
    size = resize_target(height, width, size, allow_upsample)
    if size is None:
        return height, width
    if height <= width:
        return int(size), max(1, int(size * width / height))
    return max(1, int(size * height / width)), int(size)


def padding(height: int, width: int, multiple: int = STRIDE) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) zeros that make h x w a multiple of `multiple`; the smaller
    half goes top/left."""
    ph, pw = (-height) % multiple, (-width) % multiple
    return pw // 2, pw - pw // 2, ph // 2, ph - ph // 2


@dataclass(frozen=True)
class FrameGeometry:
    """Frame size, working size and padding of one video (see the module docstring)."""

    frame_hw: tuple[int, int]  # H, W of the frames given to the session
    working_hw: tuple[int, int]  # h, w inside the network, before padding
    pad: tuple[int, int, int, int]  # left, right, top, bottom zero padding

    @classmethod
    def for_frame(
        cls, frame_hw: tuple[int, int], working_size: int | None = None, allow_upsample: bool = True
    ) -> "FrameGeometry":
        """The geometry of frames of size `frame_hw` run with short side `working_size`
        (`allow_upsample`: see `resize_target`)."""
        frame_hw = (int(frame_hw[0]), int(frame_hw[1]))
        working_hw = working_shape(frame_hw[0], frame_hw[1], working_size, allow_upsample)
        return cls(frame_hw, working_hw, padding(*working_hw))

    @property
    def resized(self) -> bool:
        return self.working_hw != self.frame_hw

    @property
    def padded_hw(self) -> tuple[int, int]:
        left, right, top, bottom = self.pad
        return self.working_hw[0] + top + bottom, self.working_hw[1] + left + right

    @property
    def grid_hw(self) -> tuple[int, int]:
        """(rows, cols) of the stride-16 grid: one memory element per cell per memory frame."""
        h, w = self.padded_hw
        return h // STRIDE, w // STRIDE

    @property
    def scale(self) -> float:
        """Working pixels per frame pixel (from the heights)."""
        return self.working_hw[0] / self.frame_hw[0]

    def grid_to_image(self, row: float, col: float) -> tuple[float, float]:
        """Centre of grid cell (row, col), in frame pixel coordinates (y, x)."""
        left, _, top, _ = self.pad
        y = (row * STRIDE + STRIDE / 2 - top) / self.scale
        x = (col * STRIDE + STRIDE / 2 - left) / self.scale
        return y, x

    def image_to_grid(self, y: float, x: float) -> tuple[int, int]:
        """The grid cell (row, col) that frame pixel (y, x) falls into (for `session.set_probe`)."""
        left, _, top, _ = self.pad
        rows, cols = self.grid_hw
        r = int((y * self.scale + top) // STRIDE)
        c = int((x * self.scale + left) // STRIDE)
        return min(max(r, 0), rows - 1), min(max(c, 0), cols - 1)

    def grid_extent(self, grid: tuple[int, int] | None = None) -> tuple[float, float, float, float]:
        """imshow extent (left, right, bottom, top) that puts a grid-shaped map on the frame."""
        left, _, top, _ = self.pad
        rows, cols = grid if grid is not None else self.grid_hw
        x0, y0 = -left / self.scale, -top / self.scale
        return x0 - 0.5, x0 + cols * STRIDE / self.scale - 0.5, y0 + rows * STRIDE / self.scale - 0.5, y0 - 0.5
