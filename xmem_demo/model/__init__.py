"""The XMem network: encoders, decoder and their building blocks."""

from .xmem import XMem

__all__ = ["XMem"]
