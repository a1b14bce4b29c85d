"""Deploy this checkout to a Hugging Face Space in one command.

    python scripts/deploy_space.py --space USER/NAME     # after `huggingface-cli login` (a write token)
    python scripts/deploy_space.py --dry-run             # list what would be uploaded, upload nothing

What goes up: the files git tracks (nothing ignored or untracked, no local outputs), less what
a Space does not run (EXCLUDED: training runs, tests, benchmarks, notebooks, CI and scripts).
`huggingface_hub.upload_folder` sends the current files only, storing binaries with Xet/LFS, so
the repository's history (old checkpoints over 1 MB) never reaches the Space. The Space is
created (Gradio SDK) if it does not exist; files on the Space that this checkout no longer has
are deleted, so the Space equals the selection.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Folders (and files) a Space does not need: the app runs app.py + xmem_demo/ + requirements.txt.
EXCLUDED = ("training_runs/", "tests/", "benchmarks/", "notebooks/", ".ci/", "scripts/")
# What the Space cannot start without.
REQUIRED = ("README.md", "app.py", "requirements.txt", ".gitattributes", "LICENSE",
            "xmem_demo/__init__.py", "xmem_demo/assets/weights/xmem-mini.pth", "xmem_demo/assets/examples/judo.mp4")


def tracked_files(repo: Path = REPO) -> list[str]:
    """Paths git tracks in `repo` (relative, POSIX separators), those deleted in the work tree left out."""
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    return sorted(p for p in listing.decode().split("\0") if p and (repo / p).is_file())


def space_files(repo: Path = REPO) -> list[str]:
    """The files the Space gets; raises SystemExit naming what is missing."""
    files = [p for p in tracked_files(repo) if not p.startswith(EXCLUDED)]
    missing = [p for p in REQUIRED if p not in files]
    if missing:
        raise SystemExit(f"deploy_space: the Space needs {', '.join(missing)}, which git does not track here")
    return files


def stage(files: list[str], into: Path, repo: Path = REPO) -> Path:
    """Copy the selection into `into` (upload_folder uploads a folder as it is)."""
    for rel in files:
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, target)
    return into


def deploy(space: str, files: list[str], private: bool = False) -> str:
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(space, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        commit = api.upload_folder(
            repo_id=space, repo_type="space", folder_path=stage(files, Path(tmp)),
            commit_message="Deploy from xmem-demo", delete_patterns=["*"],  # the Space equals the selection
        )
    return str(commit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", help="USER/NAME of the Space (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the Space private")
    parser.add_argument("--dry-run", action="store_true", help="list the files and their total size, upload nothing")
    args = parser.parse_args(argv)
    files = space_files()
    total = sum((REPO / p).stat().st_size for p in files)
    if args.dry_run or not args.space:
        print("\n".join(files))
        print(f"{len(files)} files, {total / 2**20:.1f} MiB", file=sys.stderr)
        if not args.dry_run:
            parser.error("give --space USER/NAME to upload (or --dry-run to only list)")
        return 0
    print(f"uploading {len(files)} files ({total / 2**20:.1f} MiB) to the Space {args.space} ...", file=sys.stderr)
    print(deploy(args.space, files, args.private))
    return 0


if __name__ == "__main__":
    sys.exit(main())
