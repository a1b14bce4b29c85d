"""Long-video benchmarks for xmem-demo (not part of the installed package).

Run them from the repository root, e.g. `python3 benchmarks/long_video.py --help`;
see benchmarks/README.md.
"""
