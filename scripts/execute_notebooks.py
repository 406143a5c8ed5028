"""Re-execute the tutorial notebooks in place, at their small default size, and save the outputs.

Run from the repository root after a change that alters what the notebooks show::

    python scripts/execute_notebooks.py                 # all of notebooks/*.ipynb
    python scripts/execute_notebooks.py 02 03           # the notebooks whose names start so

Each notebook is written atomically (a temporary file beside it, then a rename), so an error or
Ctrl-C leaves the saved notebook as it was. A cell that raises stops that notebook with the cell's
error and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(path: Path) -> None:
    """Execute `path` top to bottom and replace it with the executed copy."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="notebook name prefixes (default: all)")
    args = parser.parse_args(argv)
    os.environ["RISKMODEL_FULL"] = "0"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.prefixes:
        paths = [p for p in paths if any(p.name.startswith(x) for x in args.prefixes)]
    for path in paths:
        print(f"executing {path.name} ...", flush=True)
        try:
            execute(path)
        except CellExecutionError as exc:
            print(f"{path.name}: a cell failed:\n{exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
