"""Losses of the XMem training recipe: bootstrapped cross-entropy plus soft Dice."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bootstrapped_ce(logits: torch.Tensor, target: torch.Tensor, top_p: float) -> torch.Tensor:
    """Cross-entropy averaged over the hardest `top_p` fraction of pixels (1.0 = plain CE).

    logits B x (K+1) x H x W (with background), target B x H x W class indices.
    """
    raw = F.cross_entropy(logits, target, reduction="none").flatten()
    if top_p >= 1:
        return raw.mean()
    k = max(1, int(raw.numel() * top_p))
    return torch.topk(raw, k, sorted=False).values.mean()


def bootstrap_fraction(step: int, warm_start: int, warm_end: int, final_p: float = 0.15) -> float:
    """1.0 until warm_start, then linearly down to final_p at warm_end (the official schedule)."""
    if step < warm_start:
        return 1.0
    if step >= warm_end:
        return final_p
    return 1.0 - (1.0 - final_p) * (step - warm_start) / (warm_end - warm_start)


def dice_loss(prob: torch.Tensor, target_onehot: torch.Tensor, selector: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice per object, averaged over real (selected) objects.

    prob, target_onehot: B x K x H x W (objects only); selector: B x K (1 = real object).
    """
    inter = (prob * target_onehot).flatten(2).sum(-1)
    denom = prob.flatten(2).sum(-1) + target_onehot.flatten(2).sum(-1)
    dice = 1 - (2 * inter + 1) / (denom + 1)
    return (dice * selector).sum() / selector.sum().clamp(min=1)
