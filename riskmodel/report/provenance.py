"""Provenance of a report: software versions, the git commit, the command line, input hashes.

Results depend on numpy's random streams and on the versions of the numerical libraries, so a
report records them beside the seed and entropy. Input files are named relative to the scenario
file's folder, so no absolute path (a user's home folder, a build machine's layout) leaks into
a report that is passed around.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["GIT_TIMEOUT", "git_commit", "provenance", "relative_inputs", "software_versions"]

GIT_TIMEOUT = 2.0
"""Seconds `git_commit` waits for ``git rev-parse`` before giving up (None)."""

_PACKAGES = ("numpy", "scipy", "xarray", "pandas", "pymc", "arviz")


def _version(name: str) -> str | None:
    module = sys.modules.get(name)
    if module is not None and isinstance(getattr(module, "__version__", None), str):
        return module.__version__
    try:  # reads the installed metadata; never imports the package (PyMC is slow to import)
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def software_versions() -> dict[str, str | None]:
    """Versions of riskmodel, Python and the numerical libraries (None if not installed)."""
    from riskmodel import __version__

    out: dict[str, str | None] = {
        "riskmodel": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    out.update({name: _version(name) for name in _PACKAGES})
    return out


def git_commit() -> str | None:
    """Return the commit of the riskmodel checkout this code runs from, or None.

    None when riskmodel is installed from a wheel, git is missing, the call takes longer than
    `GIT_TIMEOUT` seconds, or the enclosing repository is not riskmodel's own checkout. A
    ``+dirty`` suffix marks uncommitted changes to tracked files.
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / "riskmodel" / "__init__.py").is_file() or not (root / ".git").exists():
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            env=env,
            check=False,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "riskmodel"],
            cwd=root,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    return commit + ("+dirty" if dirty.returncode == 1 else "") if commit else None


def relative_inputs(inputs: Mapping[str, str], base: str | Path | None) -> dict[str, str]:
    """Input files → SHA-256, each file named relative to `base` (the scenario's folder).

    Without a `base` (a scenario built in memory) files are named by their file name only.
    """
    out = {}
    for path, digest in inputs.items():
        if base is None:
            name = Path(path).name
        else:
            name = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
        out[Path(name).as_posix()] = digest
    return out


def _arg(text: str) -> str:
    """Show a command-line argument without leaking an absolute path.

    An absolute path is shown like `riskmodel.report.files.shown_path` (relative to the current
    folder, or the file name).
    """
    if not os.path.isabs(text):
        return text
    path = Path(text)
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def provenance(
    *,
    seed: int | None,
    entropy: str | int | None,
    inputs: Mapping[str, str],
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Return the ``provenance`` entry of ``summary.json`` / ``comparison.json``.

    Parameters
    ----------
    seed : int or None
        The seed given (None: fresh entropy was drawn).
    entropy : str or int or None
        The entropy of the run's ``SeedSequence``: with it the run is reproducible even without
        a seed (``numpy.random.SeedSequence(entropy)`` restores the random streams).
    inputs : mapping of str to str
        Relative input file → SHA-256 (`relative_inputs`).
    command : sequence of str, optional
        The command line (``riskmodel`` and its arguments), when run from the command line.

    Returns
    -------
    dict
        ``versions``, ``git_commit``, ``command``, ``seed``, ``entropy``, ``inputs``.
    """
    return {
        "versions": software_versions(),
        "git_commit": git_commit(),
        "command": None if command is None else shlex.join(["riskmodel", *map(_arg, command)]),
        "seed": seed,
        "entropy": None if entropy in (None, "") else str(entropy),
        "inputs": dict(inputs),
    }
