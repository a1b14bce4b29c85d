"""What the machine can do, read at run time: the default device, the default precision and why.

Device (`pick_device`): CUDA if PyTorch sees a GPU, else Apple MPS, else the CPU.

Reduced precision pays only where the hardware computes it natively:

* CPU: bfloat16 matrix instructions (AVX512_BF16 on Intel Cooper Lake / Sapphire Rapids and
  AMD Zen 4+, or Intel AMX). Without them PyTorch emulates bf16 with float32 arithmetic plus
  conversions, which is slower than float32 alone, so bf16 is off by default there.
* CUDA: bf16 where the GPU supports it (compute capability 8.0+, `torch.cuda.is_bf16_supported`),
  else fp16 (tensor cores from 7.0).

fp32 is always available and is the only mode that matches the official outputs to float32
rounding; the memory arithmetic stays float32 in every mode (see memory/manager.py).
Mask agreement of bf16 with fp32 is measured by benchmarks/golden_check.py.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import torch

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def pick_device(preference: str | torch.device | None = None) -> torch.device:
    """'auto'/None: CUDA if present, else Apple MPS, else CPU; anything else is taken as a device name."""
    if preference not in (None, "auto"):
        return torch.device(preference)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags the kernel reports (Linux); empty where they cannot be read."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_name(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a session will use, and the reason, for the CLI and the app to show."""

    precision: str  # "fp32", "bf16" or "fp16"
    reason: str
    native_reduced: bool  # the hardware computes the reduced precision natively

    def describe(self) -> str:
        return f"{self.precision}: {self.reason}"


def native_bf16_cpu(flags: set[str] | None = None) -> tuple[bool, str]:
    """(True, flag) if the CPU has native bf16 arithmetic, else (False, what it has)."""
    flags = cpu_flags() if flags is None else flags
    found = [f for f in NATIVE_BF16_FLAGS if f in flags]
    if found:
        return True, found[0]
    capability = torch.backends.cpu.get_cpu_capability()
    if not flags:
        # No /proc/cpuinfo (macOS, Windows): trust torch's dispatch level only for AMX.
        return ("AMX" in capability.upper()), f"CPU flags unreadable; torch dispatch {capability}"
    return False, f"{capability}, no {' / '.join(f.upper() for f in NATIVE_BF16_FLAGS)}"


def choose_precision(device: torch.device | str, requested: str = "auto", flags: set[str] | None = None) -> PrecisionChoice:
    """The precision for `device`: the fastest one the hardware runs natively (auto), or the
    requested one with a note when it would be emulated."""
    device = torch.device(device)
    if requested not in ("auto", "fp32", "bf16", "fp16"):
        raise ValueError(f"precision must be auto, fp32, bf16 or fp16, got '{requested}'")
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        native = "bf16" if bf16 else "fp16"
        if requested == "auto":
            return PrecisionChoice(native, f"CUDA GPU: {native} autocast ({'bf16 supported' if bf16 else 'no bf16: fp16'})", True)
        if requested == "fp32":
            return PrecisionChoice("fp32", "requested; matches the official outputs", False)
        ok = requested == "fp16" or bf16
        return PrecisionChoice(requested, "requested" + ("" if ok else " (this GPU has no native bf16: emulated)"), ok)
    if device.type == "cpu":
        has, what = native_bf16_cpu(flags)
        if requested == "auto":
            if has:
                return PrecisionChoice("bf16", f"CPU has native bf16 ({what}): decoder and value encoder in bf16 "
                                               "(weights cast once at load), query encoder and memory in fp32", True)
            return PrecisionChoice("fp32", f"bf16 off: this CPU has no native bf16 ({what}), emulated bf16 "
                                           "is slower than fp32", False)
        if requested == "fp32":
            return PrecisionChoice("fp32", "requested; matches the official outputs", False)
        if requested == "fp16":
            return PrecisionChoice("fp16", "requested; fp16 on CPU is emulated (slow)", False)
        return PrecisionChoice("bf16", "requested" + ("" if has else f" (no native bf16 on this CPU: {what}; "
                                                      "emulated, slower than fp32)"), has)
    # MPS and others: fp32 (autocast support varies).
    if requested in ("auto", "fp32"):
        return PrecisionChoice("fp32", f"{device.type}: fp32 (reduced precision not tuned here)", False)
    return PrecisionChoice(requested, "requested", False)


def describe_device(device: torch.device | str) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return f"{cpu_name()} ({torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()})"
    return device.type


__all__ = ["PrecisionChoice", "choose_precision", "cpu_flags", "native_bf16_cpu", "describe_device", "pick_device"]
