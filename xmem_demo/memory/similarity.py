"""Memory reading, the reference: anisotropic L2 similarity, top-k softmax, readout (Sec. 3.3).

Shapes: memory keys CK x N, memory shrinkage 1 x N, query keys/selection CK x Q.
A similarity matrix is N x Q (one column per query pixel).

These are the definitions to read and teach from; consolidation (long_term.py) and training
use them directly. The per-frame read at inference uses the same mathematics arranged for
speed in `fast_read.py`, and is tested equal to `read_memory` below.
"""

from __future__ import annotations

import math

import torch


def anisotropic_l2(
    mem_key: torch.Tensor,
    mem_shrinkage: torch.Tensor | None,
    query_key: torch.Tensor,
    query_selection: torch.Tensor | None,
) -> torch.Tensor:
    """S(k_i, q_j) = -s_i * sum_c e_cj (k_ci - q_cj)^2 / sqrt(C^k)   (Eq. 3).

    Expanded as -sum(e k^2) + 2 sum(e k q) - sum(e q^2) so that it is three matrix
    products instead of an N x Q x C^k tensor. Without selection, the query-only term
    is dropped (it is constant per query and cancels in the softmax), as in STCN.
    """
    ck = mem_key.shape[0]
    mk = mem_key.transpose(0, 1)  # N x CK
    if query_selection is not None:
        a_sq = mk.pow(2) @ query_selection
        two_ab = 2 * (mk @ (query_key * query_selection))
        b_sq = (query_selection * query_key.pow(2)).sum(0, keepdim=True)
        similarity = -a_sq + two_ab - b_sq
    else:
        a_sq = mk.pow(2).sum(1, keepdim=True)
        similarity = -a_sq + 2 * (mk @ query_key)
    if mem_shrinkage is not None:
        similarity = similarity * mem_shrinkage.reshape(-1, 1)
    return similarity / math.sqrt(ck)


def topk_softmax(similarity: torch.Tensor, top_k: int) -> torch.Tensor:
    """Keep the top-k similarities per query (column), softmax over them, zero elsewhere.

    The official code exponentiates the raw similarities; subtracting each column's
    maximum first is mathematically identical and cannot overflow or give 0/0.
    """
    k = min(top_k, similarity.shape[0])
    values, indices = torch.topk(similarity, k=k, dim=0)
    weights = torch.exp(values - values[:1])
    weights = weights / weights.sum(0, keepdim=True)
    return torch.zeros_like(similarity).scatter_(0, indices, weights)


def softmax(similarity: torch.Tensor) -> torch.Tensor:
    """Plain softmax over memory elements (used by memory potentiation, no top-k)."""
    return torch.softmax(similarity, dim=0)


def readout(affinity: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """values (..., C, N) @ affinity (N, Q) -> (..., C, Q), in the values' dtype."""
    return values @ affinity.to(values.dtype)


def read_memory(
    mem_key: torch.Tensor,
    mem_shrinkage: torch.Tensor | None,
    mem_values: torch.Tensor,
    query_key: torch.Tensor,
    query_selection: torch.Tensor | None,
    top_k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One memory read, as the paper writes it (Sec. 3.3): the reference definition.

    mem_key CK x N, mem_shrinkage 1 x N, mem_values (..., CV, N), query CK x Q ->
    (readout (..., CV, Q), affinity N x Q).

        S = anisotropic_l2(k, s, q, e)     # N x Q, Eq. 3
        W = topk_softmax(S, k)             # keep each query's top-k, softmax over them
        readout = v @ W                    # each query's weighted average of values

    The column sums of W over queries are the *usage* each element received (Sec. 3.4).
    Inference runs the same mathematics arranged for speed in `fast_read.py`; a randomised
    test (tests/test_memory.py) holds the two equal.
    """
    affinity = topk_softmax(anisotropic_l2(mem_key, mem_shrinkage, query_key, query_selection), top_k)
    return readout(affinity, mem_values), affinity
