"""The per-frame memory read at inference: `similarity.read_memory`, arranged for speed.

The mathematics is the reference's (Sec. 3.3: anisotropic L2 similarity, top-k softmax,
readout); what differs is only the arrangement, and a randomised test
(tests/test_memory.py::test_fast_read_equals_reference_read) holds the two equal, with
long-term memory and object groups that joined later:

* similarities are laid out queries x elements (Q x N), so each query's top-k runs along a
  contiguous row;
* they are computed tier by tier into column blocks of one matrix, [long-term | working],
  without concatenating the tiers' keys;
* an object group that joined later reads only the last n_g elements of each tier (its
  values are right-aligned, see store.py): the top-k of that union of column ranges is
  the top-k of each range's top-k;
* the readout fetches only the k value rows each query uses (a sparse CSR product, or a
  gather where sparse products are missing) instead of multiplying the values by a dense,
  mostly-zero N x Q affinity.

Speed work on the memory read belongs here; `similarity.py` stays the readable definition.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch


@dataclass
class GroupReads:
    """The result of `read_groups`: one readout per object group, and group 0's attention."""

    readouts: list[torch.Tensor]  # per group: Q x (objects in group * CV)
    weights: torch.Tensor  # group 0: Q x k softmax weights, largest first
    indices: torch.Tensor  # group 0: Q x k element indices into [long-term, working]
    long_term_size: int  # n_lt: elements [0, n_lt) are long-term, [n_lt, N) working
    size: int  # N


def read_groups(query_key, query_selection, tiers, num_groups: int, top_k: int) -> GroupReads:
    """query_key / query_selection CK x Q (float32); tiers: the non-empty stores to read, in
    the order [long-term, working]. Each store gives `key` (CK x n), `shrinkage` (1 x n),
    `group_key_range(g)` and `value_rows(g)`."""
    sizes = [t.size for t in tiers]
    firsts = [sum(sizes[:i]) for i in range(len(tiers))]
    n = sum(sizes)
    similarity = query_key.new_empty((query_key.shape[1], n), dtype=torch.promote_types(query_key.dtype, tiers[-1].key.dtype))
    for tier, first, size in zip(tiers, firsts, sizes):
        # key.T / shrinkage.T: the tiers' element-major buffers themselves (no copy).
        query_similarity(tier.key.T, tier.shrinkage.T, query_key, query_selection, out=similarity[:, first : first + size])

    readouts, weights0, indices0 = [], None, None
    for g in range(num_groups):
        ranges, parts = [], []
        for tier, first in zip(tiers, firsts):
            start, end = tier.group_key_range(g)
            if end > start:
                ranges.append((first + start, first + end))
                parts.append((tier.value_rows(g), first + start))
        values, indices = topk_columns(similarity, ranges, top_k)
        weights = softmax_rows(values)
        if g == 0:
            weights0, indices0 = weights, indices
        readouts.append(sparse_readout(weights, indices, parts))
    n_lt = sizes[0] if len(tiers) > 1 else 0
    return GroupReads(readouts, weights0, indices0, n_lt, n)


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
        with warnings.catch_warnings():
            # torch says once per process that CSR tensors are "beta"; the product used here is
            # stable. Silenced here only, not for the whole process.
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
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
