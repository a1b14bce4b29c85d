"""`xmem-demo segment --help` shows every default, and why --size is 480."""

from __future__ import annotations

import re

from xmem_demo.cli import build_parser


def segment_help() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return re.sub(r"\s+", " ", sub.choices["segment"].format_help())


def test_segment_help_shows_defaults():
    text = segment_help()
    for shown in ("(default: auto)", "(default: 480)", "(default: 0)", "auto (default)", "(default 5)",
                  "(default 10000)"):
        assert shown in text, shown
    assert "(default: None)" not in text  # required options and flags get no made-up default


def test_size_help_says_why_480_and_the_app_360():
    text = segment_help()
    assert "official eval.py" in text and "360 on CPU" in text
