"""Train the bundled `mini` XMem on synthetic videos, following the official recipe's ideas.

    python -m xmem_demo.training.train --max-minutes 110 --out /tmp/xmem-mini.pth   # a new run
    python -m xmem_demo.training.train --resume training_runs/mini-cpu/state.pth           # continue it

Recipe (Sec. 4 of the paper and the official trainer, rewritten here):
* each sample is a short clip (T = 8 frames, random gaps) with 1-3 objects; frame 0's
  ground-truth mask is given; every later frame is segmented by reading a memory of earlier
  frames (frame 0, the previous one and random others: up to 4) and written back with the
  model's own prediction, so the network learns to recover from its errors;
* the sensory memory is updated every frame, with a random deep update;
* loss = bootstrapped cross-entropy (hardest pixels, fraction annealed 1.0 -> 0.15)
  + soft Dice, over all frames but the first;
* clips follow a curriculum (`data.CURRICULUM`: look-alikes, objects leaving the frame,
  faster motion and larger frames come in stages) and half of the backgrounds and object
  textures are crops of the bundled real clip (`data.RealTextures`).
Training data comes only from `xmem_demo.synthetic` with training seeds; learning curves
use validation seeds (`synthetic.VALIDATION_SEED_BASE`), never the benchmark's.
The run is resumable: `--state` is rewritten every few minutes (`state.py`).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import save_checkpoint
from ..config import MemoryConfig, ModelConfig
from ..memory.similarity import anisotropic_l2, readout
from ..model import XMem
from ..config import IMAGENET_MEAN, IMAGENET_STD
from .. import synthetic
from ..checkpoint import TRUNK_PREFIX
from ..model.efficientnet_lite import LICENSE_NOTICE, load_trunk_state
from .data import CURRICULUM, RealTextures, Stage, curriculum_batch, stage_at
from .features import FeaturePool
from .real_clips import background_photos, keep_some_targets, shipped_masked_frames, static_image_clip

# The team's golden data (judo frames with spectators annotated); used for training if present.
GOLDEN_NPZ = Path(__file__).resolve().parents[2].parent / "shared" / "golden" / "xmem-judo" / "golden.npz"
from .evaluate import BenchmarkSpec, evaluate
from .losses import bootstrap_fraction, bootstrapped_ce, dice_loss
from .state import read_state, restore_rngs, rng_states, write_state

# Learning curves: 6 clips x 50 frames of the benchmark's kind, with validation seeds.
VALIDATION_SPEC = BenchmarkSpec(clips=6, frames=50, first_seed=synthetic.VALIDATION_SEED_BASE)

MINI_CONFIG = ModelConfig(
    # Narrow enough for >= 10 FPS at 240p on a 2-core CPU (benchmarks: `speed` below).
    key_dim=32,
    value_dim=32,
    hidden_dim=16,
    key_width=8,
    key_blocks=(1, 1, 1),
    value_width=8,
    value_blocks=(1, 1, 1),
    decoder_dims=(32, 16),
)

# The `lite` model (issue 19): XMem's heads on the frozen ImageNet EfficientNet-Lite0 trunk.
# Widths chosen by measurement (one thread, 240 x 432): trunk 22 ms, decoder 14 ms with
# (96, 48) against 9 ms with (64, 32) and 23 ms with (128, 64); value encoder 7 ms.
LITE_CONFIG = ModelConfig(
    backbone="efficientnet-lite0",
    key_dim=64,
    value_dim=64,
    hidden_dim=32,
    value_width=16,
    value_blocks=(1, 1, 1),
    decoder_dims=(96, 48),
)
MODEL_CONFIGS = {"mini": MINI_CONFIG, "lite": LITE_CONFIG}

# The lite model trains on larger frames from the start (its trunk needs them: 96 px is a
# 6 x 6 grid at stride 16) and on the same difficulties as mini, in fewer stages.
LITE_CURRICULUM: tuple[Stage, ...] = (
    Stage(0, (1, 2), (0, 1), 0.2, (0.5, 1.5), 3, (128,)),
    Stage(600, (1, 3), (0, 2), 0.5, (0.5, 2.0), 4, (96, 128, 160)),
)


@dataclass
class TrainConfig:
    steps: int = 4000  # length of the learning-rate schedule (training may stop before, and resume)
    batch_size: int = 4
    num_frames: int = 8  # T: frames per training clip
    num_ref_frames: int = 4  # memory frames read per step (frame 0, the previous one, random others)
    max_objects: int = 3
    lr: float = 1e-3
    weight_decay: float = 1e-4
    deep_update_prob: float = 0.2
    warm_start_frac: float = 0.25  # bootstrapped CE: fraction of training before annealing starts
    warm_end_frac: float = 0.75
    p_real_texture: float = 0.5  # chance that a background / an object gets a real texture
    seed: int = 0
    threads: int = 1
    device: str = "cpu"  # "cuda" on a GPU machine: everything else stays the same
    model: str = "mini"  # "mini" (trained from scratch) or "lite" (heads on a frozen ImageNet trunk)
    pool_size: int = 256  # lite: clips per frame size whose trunk features are kept (features.py)
    refresh_per_step: int = 1  # lite: new clips computed per step (the oldest leave the pool)
    static_image_prob: float = 0.3  # lite: chance that a new clip is a static-image clip (real_clips.py)
    target_subset_prob: float = 0.0  # lite: chance that a multi-object clip keeps only some objects as targets


def normalise(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ... x H x W x 3 -> float ... x 3 x H x W, ImageNet-normalised."""
    x = frames.float().div(255).movedim(-1, -3)
    mean = torch.tensor(IMAGENET_MEAN, device=frames.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=frames.device).view(3, 1, 1)
    return (x - mean) / std


def read_memory(qk, qe, mk, ms, mv):
    """Training-time readout: softmax over all memory elements (no top-k), per batch item.

    qk, qe: B x CK x h x w; mk: B x CK x N; ms: B x 1 x N; mv: B x K x CV x N.
    """
    b, _, h, w = qk.shape
    outs = []
    for i in range(b):
        sim = anisotropic_l2(mk[i], ms[i], qk[i].flatten(1), qe[i].flatten(1))
        affinity = torch.softmax(sim, dim=0)
        outs.append(readout(affinity, mv[i]))
    out = torch.stack(outs)  # B x K x CV x hw
    return out.view(b, out.shape[1], out.shape[2], h, w)


def sequence_loss(model: XMem, frames_u8, masks_u8, num_objects, cfg: TrainConfig, step: int, rng: random.Random,
                  features=None):
    """One forward pass over a batch of clips; returns (loss, stats).

    features: the query encoder's (f16, f8, f4), B x T x ..., when they were computed before
    (a frozen trunk, `features.FeaturePool`); otherwise the query encoder runs here.
    """
    b, t = masks_u8.shape[:2]
    # Object channels: as many as the batch's largest count (padding objects cost a value
    # encoder and decoder pass each and are masked out anyway), at most cfg.max_objects.
    k = min(cfg.max_objects, max(num_objects))
    frames = normalise(frames_u8)  # B x T x 3 x H x W
    target = masks_u8.long()  # B x T x H x W
    onehot = torch.stack([(target == obj + 1) for obj in range(k)], 2).float()  # B x T x K x H x W
    device = frames.device
    selector = torch.stack([torch.arange(k, device=device) < n for n in num_objects]).float()  # B x K

    if features is None:
        key, shrinkage, selection, (f16, f8, f4) = model.encode_key(frames.flatten(0, 1))
    else:
        f16, f8, f4 = (f.flatten(0, 1) for f in features)
        key, shrinkage, selection = model.key_proj(f16)
    unflat = lambda x: x.view(b, t, *x.shape[1:])  # noqa: E731
    key, shrinkage, selection, f16, f8, f4 = map(unflat, (key, shrinkage, selection, f16, f8, f4))
    h16, w16 = key.shape[-2:]

    hidden = torch.zeros(b, k, model.config.hidden_dim, h16, w16, device=device)
    value, hidden = model.encode_value(frames[:, 0], f16[:, 0], hidden, onehot[:, 0] * selector[..., None, None])
    values = [value]
    top_p = bootstrap_fraction(step, int(cfg.warm_start_frac * cfg.steps), int(cfg.warm_end_frac * cfg.steps))
    losses, ious = [], []
    for ti in range(1, t):
        if ti <= cfg.num_ref_frames:
            ref = list(range(ti))
        else:
            others = rng.sample(range(1, ti - 1), cfg.num_ref_frames - 2) if ti > 2 else []
            ref = sorted({0, ti - 1, *others})
        mk = key[:, ref].transpose(1, 2).flatten(2)  # B x CK x (n*hw)
        ms = shrinkage[:, ref].transpose(1, 2).flatten(2)
        mv = torch.stack([values[r] for r in ref], 3).flatten(3)  # B x K x CV x (n*hw)
        mem = read_memory(key[:, ti], selection[:, ti], mk, ms, mv)
        hidden, logits, prob = model.segment((f16[:, ti], f8[:, ti], f4[:, ti]), mem, hidden, True, selector)
        # Padding objects must not compete: drop their logit channels from the CE.
        masked_logits = logits.masked_fill(
            torch.cat([torch.ones(b, 1, device=device), selector], 1)[..., None, None] == 0, -1e4
        )
        losses.append(bootstrapped_ce(masked_logits, target[:, ti], top_p) + dice_loss(prob[:, 1:], onehot[:, ti], selector))
        with torch.no_grad():
            pred = prob.argmax(1)
            inter = ((pred > 0) & (target[:, ti] > 0) & (pred == target[:, ti])).sum().item()
            union = ((pred > 0) | (target[:, ti] > 0)).sum().item()
            ious.append(inter / max(union, 1))
        if ti < t - 1:
            deep = rng.random() < cfg.deep_update_prob
            value, hidden = model.encode_value(frames[:, ti], f16[:, ti], hidden, prob[:, 1:], deep)
            values.append(value)
    loss = torch.stack(losses).mean()
    return loss, {"loss": loss.item(), "iou": float(np.mean(ious)), "top_p": top_p}


class Trainer:
    """Holds one training run; `step()` trains on one batch, `save()` / `resume()` persist it."""

    def __init__(self, cfg: TrainConfig, model_config: ModelConfig | None = None) -> None:
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.np_rng = np.random.default_rng(cfg.seed)
        self.py_rng = random.Random(cfg.seed)
        self.device = torch.device(cfg.device)
        model_config = model_config or MODEL_CONFIGS[cfg.model]
        self.model = XMem(model_config).to(self.device).train()
        self.curriculum = LITE_CURRICULUM if model_config.pretrained_trunk else CURRICULUM
        self.pool: FeaturePool | None = None
        if model_config.pretrained_trunk:
            load_trunk_state(self.model.key_encoder.trunk)  # frozen ImageNet weights, from their package
            self.model.key_encoder.trunk.to(self.device)
            self.pool = FeaturePool(self.model.key_encoder.trunk, normalise, cfg.pool_size, self.device)
            self.masked_frames = shipped_masked_frames(GOLDEN_NPZ)
            self.backgrounds = background_photos()
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optim = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps = cfg.steps
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.optim, lambda s: min(1.0, (s + 1) / 200) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
        )
        self.steps_done = 0
        self.train_seconds = 0.0  # time spent in training steps, summed over sessions (no validation)
        self.curve: list[dict] = []  # validation J&F against steps and training time
        self.recent: list[dict] = []
        self.textures = RealTextures.from_video() if cfg.p_real_texture > 0 else None

    def _trained_state(self) -> dict:
        """The weights this run trains (a frozen trunk ships in its own package, not in our files)."""
        return {k: v for k, v in self.model.state_dict().items() if not k.startswith(TRUNK_PREFIX)}

    # ---- data ----------------------------------------------------------------------------------
    def _make_clip(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, int]:
        """One new training clip of `size` px: a static-image clip or a synthetic one."""
        cfg = self.cfg
        if rng.random() < cfg.static_image_prob:
            source = self.masked_frames[int(rng.integers(len(self.masked_frames)))]
            return static_image_clip(rng, source, self.backgrounds, size, cfg.num_frames)
        stage = stage_at(self.steps_done, self.curriculum)
        stage = Stage(0, stage.num_objects, stage.num_distractors, stage.exit_prob, stage.speed, stage.max_gap, (size,))
        frames, masks, counts = curriculum_batch(rng, 0, 1, cfg.num_frames, self.textures, cfg.p_real_texture, (stage,))
        masks, count = keep_some_targets(rng, masks[0], int(counts[0]), cfg.target_subset_prob)
        return frames[0], masks, count

    def _pooled_batch(self):
        sizes = stage_at(self.steps_done, self.curriculum).sizes
        missing = [s for s in sizes if len(self.pool.pools.get(s, ())) < self.cfg.pool_size // 4]
        if missing:  # a new run, or a new stage's sizes: compute a first quarter of their pools
            print(f"computing trunk features for {self.cfg.pool_size // 4} clips at sizes {missing} ...", flush=True)
            self.pool.fill(self.np_rng, self._make_clip, tuple(missing), len(missing) * (self.cfg.pool_size // 4))
        self.pool.fill(self.np_rng, self._make_clip, (int(self.np_rng.choice(sizes)),), self.cfg.refresh_per_step)
        return self.pool.sample(self.np_rng, self.cfg.batch_size, sizes)

    # ---- persistence -------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        write_state(path, {
            "model_config": self.model.config.to_dict(),
            "train_config": json.dumps(self.cfg.__dict__),
            "state_dict": self._trained_state(),
            "optimizer": self.optim.state_dict(),
            "scheduler": self.sched.state_dict(),
            "steps_done": self.steps_done,
            "train_seconds": self.train_seconds,
            "rng": rng_states(self.np_rng, self.py_rng),
            "curve": [json.dumps(c) for c in self.curve],
        })

    @classmethod
    def resume(cls, path: Path, **overrides) -> "Trainer":
        """Continue a saved run; `overrides` change TrainConfig fields (e.g. steps, threads)."""
        state = read_state(path)
        cfg = TrainConfig(**{**json.loads(state["train_config"]), **overrides})
        trainer = cls(cfg, ModelConfig.from_dict(state["model_config"]))
        # load_state_dict copies onto the model's device; a frozen trunk came from its package
        trainer.model.load_state_dict(state["state_dict"], strict=not trainer.model.config.pretrained_trunk)
        trainer.optim.load_state_dict(state["optimizer"])
        trainer.sched.load_state_dict(state["scheduler"])
        trainer.steps_done = int(state["steps_done"])
        trainer.train_seconds = float(state["train_seconds"])
        trainer.curve = [json.loads(c) for c in state["curve"]]
        restore_rngs(state["rng"], trainer.np_rng, trainer.py_rng)
        return trainer

    def export(self, path: Path) -> dict:
        """The network alone, in the format the app, CLI and notebooks load (`mini`)."""
        info = {
            "steps_done": self.steps_done,
            "train_seconds": round(self.train_seconds, 1),
            "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}",
            "train_config": json.dumps(self.cfg.__dict__),
            "final_train_loss": float(np.mean([h["loss"] for h in self.recent[-100:]])) if self.recent else None,
            "validation": self.curve[-1] if self.curve else None,
        }
        if self.model.config.pretrained_trunk:
            card = (
                "xmem-demo lite: XMem's key projection, value encoder, decoder and sensory memory trained by "
                "this project on a frozen ImageNet EfficientNet-Lite0 trunk, on synthetic videos and "
                "static-image clips of the bundled judo frame. NOT the official XMem weights; for offline use. "
                + LICENSE_NOTICE
            )
        else:
            card = (
                "xmem-demo mini: a small XMem trained by this project on synthetic videos (procedural "
                "shapes, partly textured with crops of the bundled judo clip). NOT the official XMem "
                "weights; for offline demos and tests."
            )
        was_training = self.model.training
        self.model.eval()
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(self.model, path, model_card=card, training=json.dumps(info))
        self.model.train(was_training)
        return info

    # ---- training ----------------------------------------------------------------------------
    def step(self) -> dict:
        cfg = self.cfg
        started = time.perf_counter()
        features = None
        if self.pool is not None:
            frames_t, masks_t, num_objects, features = self._pooled_batch()
        else:
            frames, masks, num_objects = curriculum_batch(
                self.np_rng, self.steps_done, cfg.batch_size, cfg.num_frames, self.textures, cfg.p_real_texture
            )
            frames_t, masks_t = torch.from_numpy(frames).to(self.device), torch.from_numpy(masks).to(self.device)
        num_objects = [min(int(n), cfg.max_objects) for n in num_objects]
        loss, stats = sequence_loss(self.model, frames_t, masks_t, num_objects, cfg, self.steps_done, self.py_rng,
                                    features)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 3.0)
        self.optim.step()
        self.sched.step()
        self.steps_done += 1
        self.train_seconds += time.perf_counter() - started
        stats["size"] = frames_t.shape[2]
        self.recent = (self.recent + [stats])[-500:]
        return stats

    def validate(self, spec: BenchmarkSpec = VALIDATION_SPEC) -> dict:
        """J&F on validation clips (seeds of their own, neither training nor benchmark)."""
        self.model.eval()
        with torch.no_grad():
            result = evaluate(self.model, spec, MemoryConfig(), verbose=False)["summary"]
        self.model.train()
        recent = self.recent[-100:]
        point = {
            "step": self.steps_done,
            "train_seconds": round(self.train_seconds, 1),
            "train_loss": float(np.mean([h["loss"] for h in recent])) if recent else None,
            "train_iou": float(np.mean([h["iou"] for h in recent])) if recent else None,
            "val_J&F": round(result["J&F"], 4),
            "val_J&F_by_quarter": [round(v, 4) for v in result["J&F_by_segment"]],
            "val_seconds": result["seconds"],
        }
        self.curve.append(point)
        return point


def run(
    trainer: Trainer, state_path: Path, out: Path | None, max_minutes: float, log_every: int = 25,
    save_every_s: float = 300, val_every_s: float = 600, curve_path: Path | None = None,
) -> None:
    """Train until cfg.steps or `max_minutes` of wall time, saving and validating periodically."""
    wall0 = time.time()
    last_save = last_val = trainer.train_seconds
    cfg = trainer.cfg

    def checkpoint(validate: bool) -> None:
        if validate:
            point = trainer.validate()
            print(f"validation  step {point['step']}  {point['train_seconds']:.0f}s  J&F {point['val_J&F']:.3f}  "
                  f"by quarter {point['val_J&F_by_quarter']}  ({point['val_seconds']:.0f}s)", flush=True)
            if curve_path is not None:
                curve_path.parent.mkdir(parents=True, exist_ok=True)
                curve_path.write_text(json.dumps(trainer.curve, indent=1) + "\n")
        trainer.save(state_path)
        if out is not None:
            trainer.export(out)

    while trainer.steps_done < cfg.steps and time.time() - wall0 < max_minutes * 60:
        stats = trainer.step()
        if trainer.steps_done % log_every == 0:
            recent = trainer.recent[-log_every:]
            print(f"step {trainer.steps_done:6d}/{cfg.steps}  loss {np.mean([h['loss'] for h in recent]):.4f}  "
                  f"train IoU {np.mean([h['iou'] for h in recent]):.3f}  size {stats['size']}  "
                  f"lr {trainer.sched.get_last_lr()[0]:.2e}  {trainer.train_seconds:7.0f}s", flush=True)
        if trainer.train_seconds - last_val >= val_every_s:
            checkpoint(validate=True)
            last_val = last_save = trainer.train_seconds
        elif trainer.train_seconds - last_save >= save_every_s:
            checkpoint(validate=False)
            last_save = trainer.train_seconds
    checkpoint(validate=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = TrainConfig()
    for name, value in defaults.__dict__.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=None, help=f"default {value}")
    p.add_argument("--resume", type=Path, help="continue the run saved in this training-state file")
    p.add_argument("--state", type=Path, default=None,
                   help="training-state file written every --save-every seconds (resumable); default training_runs/<model>-cpu/state.pth")
    p.add_argument("--out", type=Path, help="also export the network (mini checkpoint format) here")
    p.add_argument("--curve", type=Path, default=None, help="default training_runs/<model>-cpu/curve.json")
    p.add_argument("--max-minutes", type=float, default=float("inf"), help="stop (and save) after this wall time")
    p.add_argument("--save-every", type=float, default=300, help="seconds of training between saves")
    p.add_argument("--val-every", type=float, default=600, help="seconds of training between validations")
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--export-only", action="store_true", help="with --resume and --out: write the network and stop")
    args = p.parse_args(argv)
    given = {k: getattr(args, k) for k in defaults.__dict__ if getattr(args, k) is not None}
    trainer = Trainer.resume(args.resume, **given) if args.resume else Trainer(TrainConfig(**given))
    if args.export_only:
        if not (args.resume and args.out):
            p.error("--export-only needs --resume STATE and --out PATH")
        print(json.dumps(trainer.export(args.out), indent=1))
        return
    run_dir = Path(f"training_runs/{trainer.cfg.model}-cpu")
    args.state = args.state or run_dir / "state.pth"
    args.curve = args.curve or run_dir / "curve.json"
    torch.set_num_threads(trainer.cfg.threads)
    print(f"{'resumed at step ' + str(trainer.steps_done) if args.resume else 'new run'}; {trainer.cfg}", flush=True)
    run(trainer, args.state, args.out, args.max_minutes, args.log_every, args.save_every, args.val_every, args.curve)


if __name__ == "__main__":
    main()
