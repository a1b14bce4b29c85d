#!/usr/bin/env python3
"""Winograd F(4x4, 3x3) with matrix products, one layer at a time, against oneDNN's direct
convolution (NCHW and NHWC) and NNPACK's F(6x6, 3x3) (issue 22, item 2, second half).

    OMP_NUM_THREADS=1 python3 benchmarks/winograd_f4_layers.py

A measured experiment, not used by the library: the input transform is one 36 x 36 matrix
product over all 6x6 tiles (Kronecker product of B^T with itself), the 36 tile positions are
36 (C_out x C_in) x (C_in x tiles) products (torch.bmm), the output transform a 16 x 36
product (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks"). Relative
error against a float64 convolution is ~1e-5 (NNPACK's F(6x6): ~1e-5; direct: ~3e-7). On the
Intel AVX-512 machine of issue 22 it was 1.07-1.15x the best direct layout on the decoder's
stride-8/16 shapes and 0.65x at stride 4 of 480p (the tile gather and scatter are memory
passes that the direct convolution does not make), so the library does not use it.
"""

import os
import time

import torch
import torch.nn.functional as F

BT = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                   [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=torch.float64)
G = torch.tensor([[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6],
                  [1/24, 1/12, 1/6], [1/24, -1/12, 1/6], [0, 0, 1]], dtype=torch.float64)
AT = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], dtype=torch.float64)
KIN = torch.kron(BT, BT).float()    # 36 x 36: tile (a,b) flattened -> (i,j)
KOUT = torch.kron(AT, AT).float()   # 16 x 36

def weight_transform(w):  # K, C, 3, 3 -> 36, K, C
    u = torch.einsum("ia,kcab,jb->ijkc", G, w.double(), G)
    return u.reshape(36, w.shape[0], w.shape[1]).float().contiguous()

def conv_f4(x, u, bias):
    n, c, h, w = x.shape
    th, tw = -(-h // 4), -(-w // 4)
    xp = F.pad(x, (1, 4 * tw + 1 - w, 1, 4 * th + 1 - h))
    tiles = xp.unfold(2, 6, 4).unfold(3, 6, 4)  # n c th tw 6 6
    d = tiles.permute(4, 5, 1, 0, 2, 3).reshape(36, c * n * th * tw)
    v = (KIN @ d).view(36, c, n * th * tw)
    m = torch.bmm(u, v)  # 36, K, P
    k = u.shape[1]
    y = (KOUT @ m.view(36, -1)).view(4, 4, k, n, th, tw)
    y = y.permute(3, 2, 4, 0, 5, 1).reshape(n, k, 4 * th, 4 * tw)[:, :, :h, :w]
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y.contiguous()



def main() -> None:
    torch._nnpack_available()
    shapes = [(512, 30, 54), (256, 60, 108), (256, 120, 216), (512, 15, 27), (256, 30, 54)]
    res = {}
    fns = {}
    for c, h, w in shapes:
        x = torch.randn(1, c, h, w); wt = torch.randn(c, c, 3, 3) / 50; b = torch.randn(c); u = weight_transform(wt)
        xl = x.contiguous(memory_format=torch.channels_last); wl = wt.contiguous(memory_format=torch.channels_last)
        fns[(c, h, w)] = {'f4': (lambda x=x, u=u, b=b: conv_f4(x, u, b)),
                          'nnpack': (lambda x=x, wt=wt, b=b: torch._nnpack_spatial_convolution(x, wt, b, (1, 1))),
                          'nchw': (lambda x=x, wt=wt, b=b: F.conv2d(x, wt, b, padding=1)),
                          'nhwc': (lambda xl=xl, wl=wl, b=b: F.conv2d(xl, wl, b, padding=1))}
        for f in fns[(c, h, w)].values(): f()
    l0 = os.getloadavg()[0]
    for rep in range(7):
        for s, fs in fns.items():
            for k, f in fs.items():
                t = time.perf_counter(); f(); res.setdefault(s, {}).setdefault(k, []).append(time.perf_counter() - t)
    for s, r in res.items():
        med = {k: sorted(v)[len(v) // 2] * 1000 for k, v in r.items()}
        best_direct = min(med['nchw'], med['nhwc'])
        print(s, {k: round(v, 1) for k, v in med.items()}, "direct/f4 %.2fx" % (best_direct / med['f4']))
    print("load", l0, "->", os.getloadavg()[0])


if __name__ == "__main__":
    main()
