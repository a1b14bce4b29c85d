"""Give each notebook a first markdown cell (an "Open in Colab" badge) and a first code cell that
installs xmem-demo on Google Colab, keeping Colab's own torch; outside Colab the code cell does
nothing. Run once after a notebook is added; running it again replaces the two cells (no
duplicates). It only edits the files: execute the notebooks afterwards (scripts/run_notebooks.py).

    python scripts/add_colab_cell.py              # every notebooks/*.ipynb
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
TAG = "colab-install"  # marks the two cells, so that a second run replaces them


def repository_url() -> str:
    """The GitHub repository, from pyproject.toml's [project.urls] (one place to change it)."""
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def colab_cells(notebook: Path) -> list[nbformat.NotebookNode]:
    repo = repository_url()
    owner_name = repo.removeprefix("https://github.com/")
    badge = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             f"(https://colab.research.google.com/github/{owner_name}/blob/main/notebooks/{notebook.name})")
    markdown = nbformat.v4.new_markdown_cell(
        f"{badge}\n\nOn Colab, the next cell installs xmem-demo (about a minute) and keeps Colab's own "
        "torch; anywhere else it does nothing (install the kit as the README says)."
    )
    code = nbformat.v4.new_code_cell(
        "# On Google Colab only: install xmem-demo without replacing Colab's torch (a no-op elsewhere).\n"
        "import sys\n"
        "\n"
        "if \"google.colab\" in sys.modules:\n"
        "    import subprocess\n"
        "\n"
        "    import torch\n"
        "\n"
        "    with open(\"/tmp/keep-colab-torch.txt\", \"w\") as constraint:\n"
        "        constraint.write(f\"torch=={torch.__version__}\\n\")  # pip may not replace it\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\", \"-c\", \"/tmp/keep-colab-torch.txt\",\n"
        f"                    \"xmem-demo[notebooks] @ git+{repo}\"], check=True)"
    )
    for cell in (markdown, code):
        cell.metadata["tags"] = [TAG]
    return [markdown, code]


def add_cells(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    kept = [c for c in nb.cells if TAG not in c.metadata.get("tags", [])]
    nb.cells = colab_cells(path) + kept
    nbformat.validate(nb)
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv else sorted(map(str, (REPO / "notebooks").glob("*.ipynb"))))]
    for path in paths:
        add_cells(path)
        print(f"{path.name}: Colab badge and install cell first")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
