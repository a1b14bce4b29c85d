"""Train the bundled `mini` XMem on synthetic videos, following the official recipe's ideas.

    python -m xmem_demo.training.train --out xmem_demo/assets/weights/xmem-mini.pth   # the shipped model's recipe

Recipe (Sec. 4 of the paper and the official trainer, rewritten here):
* each sample is a short clip (T frames) with 1-3 objects; frame 0's ground-truth mask
  is given; every later frame is segmented by reading a memory of earlier frames (frame 0
  plus randomly sampled others, always the previous one) and written back with the
  model's own prediction, so the network learns to recover from its errors;
* the sensory memory is updated every frame, with a random deep update;
* loss = bootstrapped cross-entropy (hardest pixels, fraction annealed 1.0 -> 0.15)
  + soft Dice, over all frames but the first.
Training data comes only from `xmem_demo.synthetic` with seeds below the benchmark range.
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
from ..config import ModelConfig
from ..memory.similarity import anisotropic_l2, readout
from ..model import XMem
from ..session import IMAGENET_MEAN, IMAGENET_STD
from .losses import bootstrap_fraction, bootstrapped_ce, dice_loss

MINI_CONFIG = ModelConfig(
    key_dim=32,
    value_dim=64,
    hidden_dim=16,
    key_width=16,
    key_blocks=(1, 2, 2),
    value_width=16,
    value_blocks=(1, 1, 1),
    decoder_dims=(64, 32),
)


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 4
    num_frames: int = 6  # T: frames per training clip
    num_ref_frames: int = 3  # memory frames read per step (frame 0, the previous one, random others)
    height: int = 96
    width: int = 96
    max_objects: int = 3
    lr: float = 1e-3
    weight_decay: float = 1e-4
    deep_update_prob: float = 0.2
    warm_start_frac: float = 0.25  # bootstrapped CE: fraction of training before annealing starts
    warm_end_frac: float = 0.75
    seed: int = 0
    threads: int = 0  # 0 = torch default


def normalise(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ... x H x W x 3 -> float ... x 3 x H x W, ImageNet-normalised."""
    x = frames.float().div(255).movedim(-1, -3)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
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


def sequence_loss(model: XMem, frames_u8, masks_u8, num_objects, cfg: TrainConfig, step: int, rng: random.Random):
    """One forward pass over a batch of clips; returns (loss, stats)."""
    b, t = masks_u8.shape[:2]
    k = cfg.max_objects
    frames = normalise(frames_u8)  # B x T x 3 x H x W
    target = masks_u8.long()  # B x T x H x W
    onehot = torch.stack([(target == obj + 1) for obj in range(k)], 2).float()  # B x T x K x H x W
    selector = torch.stack([torch.arange(k) < n for n in num_objects]).float()  # B x K

    key, shrinkage, selection, (f16, f8, f4) = model.encode_key(frames.flatten(0, 1))
    unflat = lambda x: x.view(b, t, *x.shape[1:])  # noqa: E731
    key, shrinkage, selection, f16, f8, f4 = map(unflat, (key, shrinkage, selection, f16, f8, f4))
    h16, w16 = key.shape[-2:]

    hidden = torch.zeros(b, k, model.config.hidden_dim, h16, w16)
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
            torch.cat([torch.ones(b, 1), selector], 1)[..., None, None] == 0, -1e4
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


def train(cfg: TrainConfig, out: Path, log_every: int = 50, model_config: ModelConfig = MINI_CONFIG) -> dict:
    from .. import synthetic  # imported here: training data only

    torch.manual_seed(cfg.seed)
    np_rng = np.random.default_rng(cfg.seed)
    py_rng = random.Random(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    model = XMem(model_config).train()
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / 200) * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps))
    )
    started = time.time()
    history = []
    for step in range(cfg.steps):
        frames, masks, num_objects = synthetic.training_batch(
            np_rng, cfg.batch_size, cfg.num_frames, cfg.height, cfg.width
        )
        frames = torch.from_numpy(frames)
        masks = torch.from_numpy(masks)
        num_objects = [min(int(n), cfg.max_objects) for n in num_objects]
        loss, stats = sequence_loss(model, frames, masks, num_objects, cfg, step, py_rng)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 3.0)
        optim.step()
        sched.step()
        history.append(stats)
        if step % log_every == 0 or step == cfg.steps - 1:
            recent = history[-log_every:]
            print(
                f"step {step:6d}/{cfg.steps}  loss {np.mean([h['loss'] for h in recent]):.4f}  "
                f"train IoU {np.mean([h['iou'] for h in recent]):.3f}  top_p {stats['top_p']:.2f}  "
                f"lr {sched.get_last_lr()[0]:.2e}  {time.time() - started:7.0f}s",
                flush=True,
            )
        if (step + 1) % 500 == 0 and step + 1 < cfg.steps:
            _save(model, out.with_suffix(".partial.pth"), cfg, started, step + 1, history)
    info = _save(model, out, cfg, started, cfg.steps, history)
    return info


def _save(model: XMem, path: Path, cfg: TrainConfig, started: float, steps_done: int, history: list) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "steps_done": steps_done,
        "train_seconds": round(time.time() - started, 1),
        "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}",
        "train_config": json.dumps(cfg.__dict__),
        "final_train_loss": float(np.mean([h["loss"] for h in history[-100:]])),
        "final_train_iou": float(np.mean([h["iou"] for h in history[-100:]])),
    }
    card = (
        "xmem-demo mini: a small XMem trained by this project on synthetic videos only "
        "(procedural textured shapes). NOT the official XMem weights; for offline demos and tests."
    )
    was_training = model.training
    model.eval()
    save_checkpoint(model, path, model_card=card, training=json.dumps(info))
    model.train(was_training)
    return info


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = TrainConfig()
    for name, value in defaults.__dict__.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    p.add_argument("--out", type=Path, default=Path("xmem_demo/assets/weights/xmem-mini.pth"))
    p.add_argument("--log-every", type=int, default=50)
    args = p.parse_args(argv)
    cfg = TrainConfig(**{k: getattr(args, k) for k in defaults.__dict__})
    info = train(cfg, args.out, args.log_every)
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
