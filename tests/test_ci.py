"""CI runs exactly the README's test command, and that command (scripts/test.sh) installs
Chromium for the browser test when it can and never fails for want of it (issue 16)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")


def _readme_test_command() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"whole test suite.*?```bash\n(.*?)\n```", text, re.S)
    assert found, "README: no ```bash block after 'whole test suite'"
    return found.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    assert commands[-1] == _readme_test_command() == "bash scripts/test.sh"
    assert commands[:-1] == ["set -euo pipefail", 'cd "$(dirname "$0")/.."']


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _run_script(
    tmp_path: Path, *, apt: str | None, uid: int = 0, ci: str = "", workers: str | None = None
) -> tuple:
    """Run scripts/test.sh on a copy of the repo's scripts with a PATH of stubs only: `pip` and
    `python` record their arguments, `id -u` prints `uid`, `apt-get` runs `apt` (or is absent)."""
    repo, bin_ = tmp_path / "repo", tmp_path / "bin"
    (repo / "scripts").mkdir(parents=True)
    bin_.mkdir()
    shutil.copy(REPO / "scripts" / "test.sh", repo / "scripts" / "test.sh")
    log = tmp_path / "log"
    _stub(bin_, "pip", f'echo "pip $*" >> {log}')
    _stub(bin_, "python", f'echo "python $*" >> {log}')
    _stub(bin_, "id", f"echo {uid}")
    _stub(bin_, "dirname", 'echo "${1%/*}"')
    if apt is not None:
        _stub(bin_, "apt-get", f'echo "apt-get $*" >> {log}\n{apt}')
    env = {"PATH": str(bin_), "HOME": str(tmp_path), "CI": ci}
    if workers is not None:
        env["RISKMODEL_TEST_WORKERS"] = workers
    out = subprocess.run(
        [BASH, "scripts/test.sh", "-q", "-k", "x"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return out, log.read_text().splitlines() if log.exists() else []


#: the suite runs on two worker processes, a test file's tests in one of them
PYTEST = "python -m pytest -n 2 --dist loadgroup"


@pytest.mark.skipif(BASH is None or os.name != "posix", reason="needs bash on a POSIX system")
def test_without_apt_the_browser_test_is_skipped_and_the_suite_runs(tmp_path):
    out, log = _run_script(tmp_path, apt=None)
    assert out.returncode == 0, out.stderr
    assert "browser test of the reports will be skipped" in out.stderr
    assert log == ["pip install -e .[test]", f"{PYTEST} -q -k x"]


@pytest.mark.skipif(BASH is None or os.name != "posix", reason="needs bash on a POSIX system")
def test_a_failed_install_does_not_fail_the_run(tmp_path):
    out, log = _run_script(tmp_path, apt="exit 100")
    assert out.returncode == 0, out.stderr
    assert "will be skipped" in out.stderr
    assert log[0] == "apt-get update -qq" and log[-1] == f"{PYTEST} -q -k x"


@pytest.mark.skipif(BASH is None or os.name != "posix", reason="needs bash on a POSIX system")
def test_as_root_chromium_is_installed_from_the_system_packages(tmp_path):
    # the stub apt-get "installs" chromium by writing a stub browser next to itself
    chmod = shutil.which("chmod")
    browser = tmp_path / "bin" / "chromium"
    install = f'[ "$1" = install ] && printf "#!{BASH}\\n" > {browser} && {chmod} +x {browser}'
    out, log = _run_script(tmp_path, apt=install + "; exit 0")
    assert out.returncode == 0, out.stderr
    assert log[:2] == ["apt-get update -qq", "apt-get install -y -qq chromium"]
    assert "will be skipped" not in out.stderr


@pytest.mark.skipif(BASH is None or os.name != "posix", reason="needs bash on a POSIX system")
def test_not_root_and_not_ci_nothing_is_installed(tmp_path):
    out, log = _run_script(tmp_path, apt="exit 0", uid=1000)
    assert out.returncode == 0 and "will be skipped" in out.stderr
    assert not any(line.startswith("apt-get") for line in log)


@pytest.mark.skipif(BASH is None or os.name != "posix", reason="needs bash on a POSIX system")
def test_the_number_of_workers_can_be_set(tmp_path):
    out, log = _run_script(tmp_path, apt=None, workers="0")
    assert out.returncode == 0, out.stderr
    assert log[-1] == "python -m pytest -n 0 --dist loadgroup -q -k x"
