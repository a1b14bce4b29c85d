"""What a dataset holds: its sequences, their frames, annotations and ground truth.

Three layouts (`find_layout` tells them apart by their folders):

* **DAVIS** (semi-supervised): `JPEGImages/480p/<seq>/00000.jpg ...` and
  `Annotations/480p/<seq>/00000.png ...`. The first annotation is the given mask; when the
  folder holds more than that one (train/val), it is also the ground truth for J&F.
* **YouTube-VOS**: `JPEGImages/<seq>/*.jpg` and `Annotations/<seq>/*.png`, where objects
  first appear on later frames: each annotation PNG gives the objects that start there. As in
  the official `eval.py` (its `MaskMapper` in non-exhaustive mode), an annotation adds only
  the objects not seen before; labels already tracked are left to the tracker
  (`new_objects_only`). No J&F (the validation split has no full ground truth).
* **videos**: a folder of video files (mp4, mov, webm, avi, mkv, gif), each with one mask
  PNG: `<name>.png`, `<name>_mask.png` or `<name>_mask_<N>.png` for a mask of frame N.

Listing (`list_sequences`) reads folder names only, so a dataset of thousands of
sequences lists in a moment and a broken sequence does not stop the listing: its
`problem` says what is wrong, and the run reports it and goes on. `load_sequence` opens one
sequence's frames and reads its annotations, raising a one-line error for bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import InputError, MaskError
from ..video import SUPPORTED, FrameFolderReader, VideoSource, check_mask_shape, open_video
from ..video.image_files import natural_key

Layout = Literal["davis", "youtube", "videos"]
LAYOUTS: tuple[str, ...] = ("davis", "youtube", "videos")
DAVIS_RESOLUTION = "480p"  # the resolution the DAVIS benchmark is evaluated at
MASK_FRAME = re.compile(r"^(?P<stem>.+)_mask_(?P<frame>\d+)$")


@dataclass(frozen=True)
class SequenceSpec:
    """One sequence of a dataset, as listed (nothing decoded yet)."""

    name: str
    frames: Path  # a folder of frames, or a video file
    annotations: tuple[Path, ...] = ()  # mask PNGs, in frame order
    mask_frame: int | None = None  # videos layout: the frame the one mask belongs to
    ground_truth: Path | None = None  # a folder of full ground truth (J&F is computed against it)
    new_objects_only: bool = False  # YouTube-VOS: each annotation adds only objects not seen before
    problem: str | None = None  # bad input found while listing: reported, the sequence skipped


@dataclass
class LoadedSequence:
    """One sequence opened for segmentation."""

    source: VideoSource
    annotations: dict[int, np.ndarray]  # {frame index: H x W uint8 index mask}
    output_names: list[str]  # the mask file name of each frame ("00000.png", ...)
    labels: list[int]  # every object id, in order of appearance
    warnings: list[str] = field(default_factory=list)


# ---- listing ----------------------------------------------------------------------------------
def find_layout(root: Path) -> Layout:
    """The layout of `root`, from its folders; InputError when it is none of the three."""
    if not root.is_dir():
        raise InputError(f"dataset folder '{root}' not found")
    if (root / "JPEGImages" / DAVIS_RESOLUTION).is_dir():
        return "davis"
    if (root / "JPEGImages").is_dir():
        return "youtube"
    if any(p.suffix.lower() in SUPPORTED for p in root.iterdir() if p.is_file()):
        return "videos"
    raise InputError(
        f"'{root}' is not a dataset: expected JPEGImages/{DAVIS_RESOLUTION}/ (DAVIS), JPEGImages/ and "
        f"Annotations/ (YouTube-VOS), or video files ({', '.join(SUPPORTED)}) each with a mask PNG"
    )


def _pngs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith(".")),
                  key=lambda p: natural_key(p.name))


def _subfolders(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def _davis(root: Path) -> list[SequenceSpec]:
    images, annotations = root / "JPEGImages" / DAVIS_RESOLUTION, root / "Annotations" / DAVIS_RESOLUTION
    specs = []
    for seq in _subfolders(images):
        masks = _pngs(annotations / seq.name)
        if not masks:
            specs.append(SequenceSpec(seq.name, seq, problem=f"no annotation: '{annotations / seq.name}' holds no PNG"))
            continue
        # Semi-supervised DAVIS: the first mask is given; the rest (when present) is ground truth.
        gt = annotations / seq.name if len(masks) > 1 else None
        specs.append(SequenceSpec(seq.name, seq, (masks[0],), ground_truth=gt))
    return specs


def _youtube(root: Path) -> list[SequenceSpec]:
    annotations = root / "Annotations"
    specs = []
    for seq in _subfolders(root / "JPEGImages"):
        masks = _pngs(annotations / seq.name)
        if not masks:
            specs.append(SequenceSpec(seq.name, seq, problem=f"no annotation: '{annotations / seq.name}' holds no PNG"))
            continue
        specs.append(SequenceSpec(seq.name, seq, tuple(masks), new_objects_only=True))
    return specs


def _videos(root: Path) -> list[SequenceSpec]:
    files = sorted((p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")), key=lambda p: p.name)
    pngs = {p.stem: p for p in files if p.suffix.lower() == ".png"}
    specs = []
    for video in (p for p in files if p.suffix.lower() in SUPPORTED):
        found: list[tuple[Path, int]] = []
        for stem, png in pngs.items():
            m = MASK_FRAME.match(stem)
            if stem in (video.stem, f"{video.stem}_mask"):
                found.append((png, 0))
            elif m and m["stem"] == video.stem:
                found.append((png, int(m["frame"])))
        if len(found) == 1:
            specs.append(SequenceSpec(video.stem, video, (found[0][0],), mask_frame=found[0][1]))
        elif not found:
            specs.append(SequenceSpec(video.stem, video, problem=(
                f"no mask for '{video.name}': add {video.stem}.png (frame 0) or {video.stem}_mask_<N>.png (frame N)")))
        else:
            names = ", ".join(p.name for p, _ in found)
            specs.append(SequenceSpec(video.stem, video, problem=f"several masks for '{video.name}' ({names}): keep one"))
    return specs


def list_sequences(root: str | Path, layout: Layout | Literal["auto"] = "auto") -> tuple[Layout, list[SequenceSpec]]:
    """(layout, sequences sorted by name) of the dataset at `root`."""
    root = Path(root)
    chosen: Layout = find_layout(root) if layout == "auto" else layout
    if chosen not in LAYOUTS:
        raise InputError(f"--layout '{layout}': use auto, {', '.join(LAYOUTS)}")
    lister = {"davis": _davis, "youtube": _youtube, "videos": _videos}[chosen]
    specs = sorted(lister(root), key=lambda s: s.name)
    if not specs:
        raise InputError(f"no sequences found in '{root}' ({chosen} layout)")
    return chosen, specs


def select(specs: list[SequenceSpec], names: list[str] | None) -> list[SequenceSpec]:
    """Only the named sequences (e.g. a DAVIS ImageSets list); unknown names are an error."""
    if names is None:
        return specs
    by_name = {s.name: s for s in specs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise InputError(f"--sequences: {len(unknown)} not in the dataset, first {unknown[:3]}")
    return [by_name[n] for n in dict.fromkeys(names)]


def read_names(value: str) -> list[str]:
    """--sequences: a comma-separated list, or @FILE with one name per line (DAVIS ImageSets)."""
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise InputError(f"--sequences: file '{path}' not found")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [n.strip() for n in value.split(",") if n.strip()]


def parse_shard(value: str) -> tuple[int, int]:
    """'i/n' -> (i, n), 0 <= i < n (a SLURM array index, a torchrun rank)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not m or not 0 <= int(m[1]) < int(m[2]):
        raise InputError(f"--shard '{value}': give i/n with 0 <= i < n, e.g. 0/4 ($SLURM_ARRAY_TASK_ID/4)")
    return int(m[1]), int(m[2])


def shard(specs: list[SequenceSpec], index: int, count: int) -> list[SequenceSpec]:
    """Every count-th sequence from `index` (round robin, so long and short ones mix)."""
    return specs[index::count]


# ---- one sequence ---------------------------------------------------------------------------------
def _frame_index(names: list[str], annotation: Path) -> int:
    stems = {Path(n).stem: i for i, n in enumerate(names)}
    if annotation.stem not in stems:
        raise MaskError(f"annotation '{annotation.name}' matches no frame (no frame named '{annotation.stem}.*')")
    return stems[annotation.stem]


def load_sequence(spec: SequenceSpec, void_label: int | None = 255) -> LoadedSequence:
    """Open the frames and read the annotations of one sequence; raises VideoError/MaskError/InputError."""
    from ..masks import read_annotation

    if spec.problem:
        raise InputError(spec.problem)
    source = open_video(spec.frames)
    try:
        reader = source.reader
        if isinstance(reader, FrameFolderReader):  # masks are named after the frames (DAVIS, YouTube-VOS)
            names = [f"{p.stem}.png" for p in reader.files]
        else:
            names = [f"{t:05d}.png" for t in range(len(source))]
        warnings = [source.damage] if source.damage else []
        annotations: dict[int, np.ndarray] = {}
        labels: list[int] = []
        for path in spec.annotations:
            t = spec.mask_frame if spec.mask_frame is not None else _frame_index(names, path)
            if not 0 <= t < len(source):
                raise MaskError(f"mask '{path.name}' is for frame {t}, but the video has {len(source)} frames")
            ann = read_annotation(path, void_label=void_label)
            warnings += ann.warnings
            check_mask_shape(ann.mask, (source.info.height, source.info.width), f"mask '{path.name}'")
            mask = ann.mask
            if spec.new_objects_only:
                new = [lab for lab in ann.labels if lab not in labels]
                if not new:
                    continue  # nothing starts here
                mask = np.where(np.isin(mask, new), mask, 0).astype(np.uint8)
            labels += [lab for lab in ann.labels if lab not in labels]
            annotations[t] = mask
        return LoadedSequence(source, annotations, names, labels, warnings)
    except BaseException:
        source.close()
        raise
