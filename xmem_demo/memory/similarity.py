"""Memory reading: anisotropic L2 similarity, top-k softmax and readout (Sec. 3.3).

Shapes: memory keys CK x N, memory shrinkage 1 x N, query keys/selection CK x Q.
A similarity matrix is N x Q (one column per query pixel).
"""

from __future__ import annotations

import math
import warnings

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


# ---- the inference read path: queries x elements, top-k, sparse readout --------------------
# The functions above are the readable definitions (and are used for consolidation and in
# training). Reading memory on every frame uses the same mathematics arranged for speed:
# similarities are laid out queries x elements (top-k along contiguous rows), computed tier by
# tier into one output (no concatenation of the tiers' keys), and the readout reads only the
# k values each query uses (a sparse product) instead of multiplying by a dense, mostly-zero
# N x Q affinity.


def query_similarity(
    mem_key_rows: torch.Tensor,
    mem_shrinkage_rows: torch.Tensor | None,
    query_key: torch.Tensor,
    query_selection: torch.Tensor | None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """anisotropic_l2 transposed: memory keys N x CK (rows), shrinkage N x 1 -> Q x N.

    `out` (Q x N, may be a column block of a larger matrix) receives the result.
    """
    n, ck = mem_key_rows.shape
    q = query_key.shape[1]
    if out is None:
        out = mem_key_rows.new_empty((q, n))
    if query_selection is not None:
        torch.mm(query_selection.T, mem_key_rows.pow(2).T, out=out)  # sum_c e k^2
        out.addmm_((query_key * query_selection).T, mem_key_rows.T, beta=-1, alpha=2)  # - a + 2 ab
        out.sub_((query_selection * query_key.pow(2)).sum(0).unsqueeze(1))  # - b
    else:
        torch.mm(query_key.T, mem_key_rows.T, out=out)
        out.mul_(2).sub_(mem_key_rows.pow(2).sum(1).unsqueeze(0))
    scale = 1 / math.sqrt(ck)
    if mem_shrinkage_rows is not None:
        out.mul_(mem_shrinkage_rows.reshape(1, -1) * scale)
    else:
        out.mul_(scale)
    return out


def topk_columns(similarity: torch.Tensor, ranges: list[tuple[int, int]], top_k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k over the union of column ranges of a Q x N similarity, per row.

    Returns (values Q x k, sorted descending; column indices Q x k into `similarity`).
    """
    ranges = [(a, b) for a, b in ranges if b > a]
    total = sum(b - a for a, b in ranges)
    k = min(top_k, total)
    if len(ranges) == 1:
        a, b = ranges[0]
        values, indices = torch.topk(similarity[:, a:b], k, dim=1)
        return values, indices + a if a else indices
    # Top-k of a union = top-k of the union of each part's top-k.
    parts = [torch.topk(similarity[:, a:b], min(k, b - a), dim=1) for a, b in ranges]
    values = torch.cat([p.values for p in parts], 1)
    indices = torch.cat([p.indices + a for p, (a, _) in zip(parts, ranges)], 1)
    values, pick = torch.topk(values, k, dim=1)
    return values, indices.gather(1, pick)


def softmax_rows(sorted_values: torch.Tensor) -> torch.Tensor:
    """Softmax of each row of top-k values (largest first), max subtracted (as topk_softmax)."""
    weights = torch.exp(sorted_values - sorted_values[:, :1])
    return weights / weights.sum(1, keepdim=True)


def sparse_readout(
    weights: torch.Tensor,
    indices: torch.Tensor,
    tiers: list[tuple[torch.Tensor, int]],
) -> torch.Tensor:
    """out[q] = sum_j weights[q, j] * row(indices[q, j])  ->  Q x D.

    `tiers` is a list of (rows n_t x D, first_index_t): index i lies in the tier with
    first_t <= i < first_t + n_t and means its row i - first_t. Equivalent to a dense
    readout with the top-k affinity (values @ affinity), without materialising the mostly
    zero N x Q affinity or concatenating the tiers.
    """
    rows0 = tiers[0][0]
    if rows0.dtype == torch.float32 and rows0.device.type in ("cpu", "cuda"):
        return _csr_readout(weights, indices, tiers)
    return _gathered_readout(weights, indices, tiers)


# torch says once per process that CSR tensors are "beta"; the product used here is stable.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _csr_readout(weights, indices, tiers) -> torch.Tensor:
    """Each tier's share of the top-k affinity as a sparse Q x n_t CSR matrix (k entries per
    row in all), times that tier's rows: a sparse-dense product that reads only the rows the
    queries use, with no Q*k x D buffer of gathered rows."""
    q = indices.shape[0]
    out = None
    for rows, first in tiers:
        inside = (indices >= first) & (indices < first + rows.shape[0])
        crow = indices.new_zeros(q + 1)
        torch.cumsum(inside.sum(1), 0, out=crow[1:])
        affinity = torch.sparse_csr_tensor(
            crow, indices[inside] - first, weights[inside].to(rows.dtype), size=(q, rows.shape[0]),
            check_invariants=False,
        )
        part = affinity @ rows
        out = part if out is None else out.add_(part)
    return out


def _gathered_readout(weights, indices, tiers, max_bytes: int = 64 * 2**20) -> torch.Tensor:
    """The same by gathering the k rows of each query (dtypes/devices without sparse CSR
    products, e.g. bfloat16 on CPU); queries in chunks of at most `max_bytes` gathered."""
    q, k = indices.shape
    d = tiers[0][0].shape[1]
    out = tiers[0][0].new_empty((q, d))
    chunk = max(1, max_bytes // max(1, k * d * tiers[0][0].element_size()))
    for s in range(0, q, chunk):
        idx = indices[s : s + chunk].reshape(-1)
        w = weights[s : s + chunk]
        gathered = tiers[0][0].new_empty((idx.shape[0], d))
        for rows, first in tiers:
            where = ((idx >= first) & (idx < first + rows.shape[0])).nonzero().squeeze(1)
            gathered.index_copy_(0, where, rows.index_select(0, idx[where] - first))
        out[s : s + chunk] = torch.bmm(w.unsqueeze(1).to(gathered.dtype), gathered.view(w.shape[0], k, d)).squeeze(1)
    return out
