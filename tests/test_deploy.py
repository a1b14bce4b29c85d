"""The Space deployment's file selection and upload calls, offline (scripts/deploy_space.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import deploy_space  # noqa: E402


def test_the_space_gets_what_it_runs_and_no_training_runs():
    files = deploy_space.space_files()
    assert set(deploy_space.REQUIRED) <= set(files)
    assert not [f for f in files if f.startswith(deploy_space.EXCLUDED)]
    tracked = deploy_space.tracked_files()
    assert any(f.startswith("training_runs/") for f in tracked)  # there is something to leave out
    assert [f for f in tracked if f.startswith("xmem_demo/")] == [f for f in files if f.startswith("xmem_demo/")]


def is_binary(path: Path) -> bool:
    return b"\0" in path.read_bytes()[:8000]


def test_every_binary_the_space_gets_is_stored_with_lfs_or_xet():
    """A git push of plain binary files is refused by the Hub: .gitattributes must cover them all."""
    binaries = [f for f in deploy_space.space_files() if is_binary(REPO / f)]
    assert "xmem_demo/assets/weights/xmem-mini.pth" in binaries and "xmem_demo/assets/examples/judo.mp4" in binaries
    attrs = subprocess.run(["git", "check-attr", "filter", "--", *binaries], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    uncovered = [line for line in attrs if not line.endswith(": filter: lfs")]
    assert uncovered == []


def test_only_tracked_files_are_selected(tmp_path):
    repo = tmp_path / "checkout"
    for rel in (*deploy_space.REQUIRED, "training_runs/x/state.pth", "docs/a.md"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(b"x")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    (repo / "outputs").mkdir()
    (repo / "outputs" / "run.mp4").write_bytes(b"local result, never committed")
    (repo / "docs" / "a.md").unlink()  # deleted in the work tree: not uploaded
    files = deploy_space.space_files(repo)
    assert files == sorted(deploy_space.REQUIRED)
    (repo / "app.py").unlink()
    with pytest.raises(SystemExit, match="the Space needs app.py"):
        deploy_space.space_files(repo)


def test_deploy_uploads_the_selection_as_a_gradio_space(monkeypatch):
    """The calls to the Hub, with a stand-in for HfApi (no network here)."""
    import huggingface_hub

    calls = {}

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            calls["create"] = (repo_id, kwargs)

        def upload_folder(self, *, repo_id, folder_path, **kwargs):
            folder = Path(folder_path)
            calls["upload"] = (repo_id, kwargs)
            calls["staged"] = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
            calls["same_bytes"] = all((folder / f).read_bytes() == (REPO / f).read_bytes()
                                      for f in ("app.py", "xmem_demo/assets/weights/xmem-mini.pth"))
            return "https://huggingface.co/spaces/u/s/commit/abc"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    files = deploy_space.space_files()
    assert deploy_space.deploy("u/s", files).endswith("/commit/abc")
    assert calls["create"] == ("u/s", {"repo_type": "space", "space_sdk": "gradio", "private": False, "exist_ok": True})
    assert calls["upload"][0] == "u/s" and calls["upload"][1]["repo_type"] == "space"
    assert calls["upload"][1]["delete_patterns"] == ["*"]
    assert calls["staged"] == files and calls["same_bytes"]


def test_dry_run_lists_and_uploads_nothing(capsys, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: pytest.fail("dry run must not touch the Hub"))
    assert deploy_space.main(["--dry-run"]) == 0
    out = capsys.readouterr()
    assert "app.py" in out.out.splitlines() and "files," in out.err
