"""One video, frame by frame: the official XMem inference protocol.

    session = InferenceSession(model, MemoryConfig())
    for t, frame in enumerate(frames):
        prob = session.step(frame, mask=index_mask if t == 0 else None)
        label_map = session.to_index_mask(prob)

Per frame (Sec. 3 and the official `InferenceCore.step`):
1. normalise (ImageNet mean/std), optionally resize to the working resolution, zero-pad
   to a multiple of 16 (the video's `FrameGeometry`, fixed by its first frame, geometry.py);
2. encode the query key (and selection; shrinkage only on memory frames);
3. if memory holds objects: read memory, decode, soft-aggregate over objects; the decoder
   updates the sensory memory except on deep-update frames;
4. a given mask adds or corrects objects: it overrides the prediction where it is drawn;
5. every r frames, or when a mask is given, encode a value and write a memory frame
   (never on the last frame, `end=True`); deep-update the sensory memory with it.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from contextlib import nullcontext
from typing import Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import IMAGENET_MEAN, IMAGENET_STD, MemoryConfig
from .errors import InputError
from .geometry import FrameGeometry, padding
from .memory import MemoryManager
from .model import XMem
from .model.inference import InferenceOptions, make_inference_network
from .objects import VideoObjects
from .record_builder import FrameRecorder
from .records import FrameHook
from .step_plan import plan_step
from .threads import default_thread_policy
from .validate import check_frame, check_memory_config, check_optional_count, check_precision, check_working_size

Precision = Literal["fp32", "fp16", "bf16"]


def pad_to_multiple(x: torch.Tensor, d: int = 16) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Zero-pad the last two dims to multiples of d; the smaller half goes top/left."""
    pad = padding(*x.shape[-2:], d)  # left, right, top, bottom
    return F.pad(x, pad), pad


def unpad(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    left, right, top, bottom = pad
    h, w = x.shape[-2:]
    return x[..., top : h - bottom, left : w - right]


def uses_channels_last(model: torch.nn.Module) -> bool:
    """Whether the model's first convolution weight is stored channels-last (NHWC)."""
    weight = next((p for p in model.parameters() if p.ndim == 4), None)
    return weight is not None and weight.is_contiguous(memory_format=torch.channels_last)


_NETWORKS: "weakref.WeakKeyDictionary[torch.nn.Module, dict[str, XMem]]" = weakref.WeakKeyDictionary()
_NETWORKS_LOCK = threading.Lock()


def _weights_dtype(model: torch.nn.Module, precision: str) -> str:
    """The dtype a session in `precision` wants the decoder's and value encoder's weights in:
    its autocast dtype on CUDA, bf16 on CPU (autocast fp16 on a CPU keeps float32 weights)."""
    device = next(model.parameters()).device.type
    if precision == "bf16" and device in ("cpu", "cuda"):
        return "bf16"
    if precision == "fp16" and device == "cuda":
        return "fp16"
    return "fp32"


def inference_network(model: XMem, channels_last: bool | None = None, precision: str = "fp32") -> XMem:
    """The inference-only copy of `model` that sessions run (model/inference.py: BatchNorm
    folded, image features shared, ...), made once per model and layout in this process and
    shared read-only by every session on it; it lives as long as `model` does.

    This is the one place that makes it: `pipeline.track` and the app hand sessions the
    network as loaded. A network that already is such a copy is used as it is, and a layout it
    was not made with is refused rather than ignored.

    precision: with bf16 (fp16 on CUDA) the copy holds the decoder's and value encoder's
    weights in that dtype, cast once here instead of by autocast on every frame (same outputs;
    issue 22); the query encoder and the memory stay float32."""
    report = getattr(model, "inference_report", None)
    if report is not None:
        if channels_last is not None and (report.layout == "channels_last") != channels_last:
            raise InputError(
                f"channels_last={channels_last}: this network is already an inference copy laid out "
                f"'{report.layout}'; pass the network as loaded to choose its layout"
            )
        if report.weights_dtype != "fp32" and report.weights_dtype != precision:
            raise InputError(
                f"precision '{precision}': this network is already an inference copy with "
                f"{report.weights_dtype} weights, which runs only in {report.weights_dtype}; pass the network as loaded"
            )
        return model
    layout = "auto" if channels_last is None else ("channels_last" if channels_last else "contiguous")
    dtype = _weights_dtype(model, precision)
    key = layout if dtype == "fp32" else f"{layout}/{dtype}"
    with _NETWORKS_LOCK:  # two visitors' first sessions on one model: one copy, not two
        copies = _NETWORKS.setdefault(model, {})
        if key not in copies:
            copies[key] = make_inference_network(model, InferenceOptions(layout=layout, weights_dtype=dtype))
        return copies[key]


def normalise(image: torch.Tensor, geometry: FrameGeometry, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """H x W x 3 RGB (uint8, or float in [0, 1]) -> 3 x h x w: resized to the working size
    (bilinear, antialiased when shrinking) and normalised with the ImageNet mean/std."""
    image = image.permute(2, 0, 1)
    image = image.float() / 255 if image.dtype == torch.uint8 else image.float()
    if geometry.resized:
        # The official eval.py --size: bilinear, antialiased when shrinking (torchvision Resize).
        shrink = geometry.working_hw[0] < geometry.frame_hw[0]
        image = F.interpolate(image[None], size=geometry.working_hw, mode="bilinear", align_corners=False,
                              antialias=shrink)[0]
    return (image - mean) / std


def _frame_tensor(frame: object) -> torch.Tensor:
    """A frame array as a tensor without copying when it can: a BGR view (`frame[..., ::-1]`,
    negative strides), a strided crop or a read-only array is copied once, as torch needs."""
    return torch.from_numpy(np.require(np.asarray(frame), requirements=("C", "W")))


def prepare(frame: np.ndarray | torch.Tensor, working_size: int | None = None) -> tuple[torch.Tensor, FrameGeometry]:
    """What the network sees of one frame (step 1 of the protocol), for teaching and checks:
    H x W x 3 RGB -> (1 x 3 x H' x W' float32, its FrameGeometry), normalised, resized so
    that the short side is `working_size` (None: unchanged), zero-padded to multiples of 16.
    `InferenceSession.step` prepares every frame exactly so."""
    check_frame(frame)
    working_size = check_working_size(working_size, name="working_size")
    image = frame if isinstance(frame, torch.Tensor) else _frame_tensor(frame)
    geometry = FrameGeometry.for_frame(tuple(image.shape[:2]), working_size)
    mean = torch.tensor(IMAGENET_MEAN, device=image.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=image.device).view(3, 1, 1)
    return F.pad(normalise(image, geometry, mean, std), geometry.pad)[None], geometry


class InferenceSession:
    """Inference state for one video. Not thread-safe; create one per video (and per user)."""

    def __init__(
        self,
        model: XMem,
        config: MemoryConfig = MemoryConfig(),
        *,
        num_frames: int | None = None,
        working_size: int | None = None,
        precision: Precision = "fp32",
        channels_last: bool | None = None,
        optimize: bool = True,
    ) -> None:
        """
        model: an XMem network (eval mode); the session runs on the model's device.
        num_frames: length of the video if known (decides long-term usage counting, as the
            official eval.py does; unknown = count).
        working_size: resize frames so that the short side has this many pixels before
            inference (the official default is 480); None or -1 keeps the input size.
            Probabilities are returned at the input size.
        precision: "fp32" (default, matches the official outputs), or "fp16"/"bf16" autocast (the
            decoder and value encoder, with their weights cast once: `inference_network`).
        channels_last: the layout of the inference network's convolutions (None: chosen by
            `make_inference_network`, see xmem_demo/model/inference.py; True: channels-last
            (NHWC); False: NCHW).
        optimize: run an inference-only copy of the network (BatchNorm folded, image features
            shared between objects, Winograd 3x3 layers where they pay; same outputs up to
            float rounding), made once per model and layout and shared by every session
            (`inference_network`). `model` itself is never changed.
        """
        # Arguments are checked before the network is copied, with messages that name them.
        config = check_memory_config(config)
        num_frames = check_optional_count("num_frames", num_frames)
        working_size = check_working_size(working_size, name="working_size")
        precision = check_precision(precision)  # "int8" is refused, not run as bf16
        if optimize:
            model = inference_network(model, channels_last, precision)
        elif model.training:
            # BatchNorm in training mode would normalise with each frame's own statistics; the
            # session never flips the caller's mode, so it asks (the optimized copy is eval).
            raise ValueError("InferenceSession(optimize=False) runs the model as given: call model.eval() first")
        elif channels_last is not None and uses_channels_last(model) != channels_last:
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            model = copy.deepcopy(model).to(memory_format=fmt)  # never the caller's model in place
        self.model = model
        self.config = config
        self.device = next(model.parameters()).device
        if self.device.type == "cpu":
            default_thread_policy()  # notebooks and scripts: torch's thread count, lowered to the usable cores
        self.working_size = working_size  # None: the frames' own size (check_working_size reads -1 so)
        self.geometry: FrameGeometry | None = None  # set by the first frame (frame size, working size, padding)
        self.precision = precision
        self.memory = MemoryManager(
            config, model.config.hidden_dim, config.resolve_count_usage(num_frames)
        )
        self.objects = VideoObjects()  # label ids <-> channels (objects.py)
        self.frame_index = -1
        self.last_memory_frame = 0
        self.last_deep_update = -config.deep_update_every
        self.probe_pixels: list[tuple[int, int]] | None = None
        self._hooks: list[FrameHook] = []
        self._recorder = FrameRecorder()  # builds each FrameRecord when a hook listens
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(3, 1, 1)
        self._mean, self._std = mean, std

    # ---- observability --------------------------------------------------------------------
    def add_hook(self, hook: FrameHook) -> FrameHook:
        """Call hook(FrameRecord) after every step. Returns the hook (for remove_hook)."""
        self._hooks.append(hook)
        return hook

    def remove_hook(self, hook: FrameHook) -> None:
        self._hooks.remove(hook)

    def set_probe(self, pixels: Sequence[tuple[int, int]] | None) -> None:
        """Record the affinity of these query pixels ((row, col) on the stride-16 feature grid,
        padded frame) on every segmented frame, in FrameRecord.affinity."""
        self.probe_pixels = [tuple(map(int, p)) for p in pixels] if pixels else None

    # ---- input handling -------------------------------------------------------------------
    def _frame_geometry(self, frame_hw: tuple[int, int]) -> FrameGeometry:
        """The video's geometry, computed on its first frame; every later frame must match."""
        if self.geometry is None:
            self.geometry = FrameGeometry.for_frame(frame_hw, self.working_size)
        elif self.geometry.frame_hw != frame_hw:
            raise ValueError(
                f"frame {self.frame_index + 1} is {frame_hw[0]}x{frame_hw[1]} (HxW) but this video's frames are "
                f"{self.geometry.frame_hw[0]}x{self.geometry.frame_hw[1]}: one session is one video"
            )
        return self.geometry

    def _prepare_image(self, frame: np.ndarray | torch.Tensor) -> torch.Tensor:
        """H x W x 3 RGB -> normalised 3 x h x w at the working size (not padded)."""
        check_frame(frame, self.frame_index + 1)  # dtype, shape and range (float 0..255 is refused, not read as 0..1)
        image = frame if isinstance(frame, torch.Tensor) else _frame_tensor(frame)
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"frame must be an H x W x 3 RGB array, got shape {tuple(image.shape)}")
        geometry = self._frame_geometry(tuple(image.shape[:2]))
        return normalise(image.to(self.device), geometry, self._mean, self._std)

    def _autocast(self):
        if self.precision == "fp32":
            return nullcontext()
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype)

    # ---- the step ------------------------------------------------------------------------
    @torch.inference_mode()
    def step(
        self,
        frame: np.ndarray | torch.Tensor,
        mask: np.ndarray | torch.Tensor | None = None,
        objects: Sequence[int] | None = None,
        end: bool = False,
    ) -> torch.Tensor:
        """Process the next frame.

        frame: H x W x 3 RGB, uint8 (or float in [0, 1]).
        mask: optional annotation for this frame: an H x W index mask of label ids
            (0 = not annotated here), or an N x H x W stack with `objects` naming each
            channel. Labels not seen before become new objects; labels seen before are
            corrected; objects absent from the mask keep their prediction.
        objects: with an index mask, the labels to take from it (default: all non-zero).
        end: True on the last frame (no memory is written).

        Returns (K + 1) x H x W float32 probabilities on the session's device: channel 0
        is background, channel k is `self.object_ids[k - 1]`.
        """
        started = time.perf_counter()
        # Bad input raises here, before anything changes (the frame is not counted).
        image = self._prepare_image(frame)
        geometry = self.geometry
        frame_hw, work_hw = geometry.frame_hw, geometry.working_hw
        onehot, given = (None, [])
        if mask is not None:
            onehot, given = self.objects.annotate(mask, objects, frame_hw, work_hw, self.device)
        self.frame_index += 1
        t = self.frame_index
        num_objects = len(self.objects)

        image = F.pad(image, geometry.pad)[None]
        cfg = self.config
        has_memory = not self.memory.is_empty
        # Everything was annotated on this frame: nothing to segment.
        all_given = mask is not None and len(set(given)) == num_objects
        plan = plan_step(cfg, t, self.last_memory_frame, self.last_deep_update, has_memory, num_objects,
                         mask_given=mask is not None, all_given=all_given, end=end)
        segment, memory_frame = plan.segment, plan.memory_frame

        # The query encoder runs in float32 even in bf16/fp16 mode: its key decides which memory
        # elements each pixel reads, and in reduced precision those matches drift (mask
        # agreement with fp32 0.96 -> 0.98 on the golden clip with the mini model; see
        # benchmarks/README.md). The decoder and value encoder, most of the time, use autocast.
        key, shrinkage, selection, features = self.model.encode_key(
            image, need_shrinkage=memory_frame, need_selection=cfg.enable_long_term or segment
        )
        with self._autocast():
            probe = None
            prob = None
            if segment:
                readout, probe = self.memory.read(key, selection, self.probe_pixels)
                hidden, _, prob = self.model.segment(
                    features, readout, self.memory.sensory.get(), update_hidden=plan.decoder_updates_hidden
                )
                prob = prob[0]
                if plan.decoder_updates_hidden:
                    self.memory.sensory.set(hidden)

            if onehot is not None:
                prob = self.objects.merge(F.pad(onehot, geometry.pad), given, prob)
                self.memory.add_objects(num_objects, key)

            if prob is None:  # nothing known yet: all background
                prob = torch.ones((1, *image.shape[-2:]), device=self.device)

            events = None
            if memory_frame:
                value, hidden = self.model.encode_value(
                    image, features[0], self.memory.sensory.get(), prob[1:][None].to(image.dtype), plan.deep_update
                )
                events = self.memory.write(key, shrinkage, selection, value, t)
                self.last_memory_frame = t
                if plan.deep_update:
                    self.memory.sensory.set(hidden)
                    self.last_deep_update = t

        prob = unpad(prob.float(), geometry.pad)
        if geometry.resized:
            prob = F.interpolate(prob[None], size=frame_hw, mode="bilinear", align_corners=False)[0]

        if self._hooks:
            record = self._recorder.record(t, self.objects.ids, mask is not None, plan, self.memory, events, probe,
                                           geometry, time.perf_counter() - started)
            for hook in self._hooks:
                hook(record)
        return prob

    # ---- outputs -------------------------------------------------------------------------
    def to_index_mask(self, prob: torch.Tensor) -> np.ndarray:
        """Argmax over channels, mapped back to the user's label ids (uint8 or uint16).

        prob: what `step` returned, (K + 1) x H x W for this session's K objects."""
        return self.objects.to_index_mask(prob)

    @property
    def object_ids(self) -> list[int]:
        """The user's label of each object, in channel order (channel k + 1 is `object_ids[k]`)."""
        return self.objects.ids
