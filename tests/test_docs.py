"""The README is the way in: it links every page of docs/ and every notebook, and every relative
link in the README and docs/ points to a file that exists (issue 16)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _links(page: Path) -> set[str]:
    return {m for m in LINK.findall(page.read_text(encoding="utf-8")) if "://" not in m}


def test_readme_links_every_docs_page_and_every_notebook():
    links = _links(REPO / "README.md")
    pages = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    notebooks = {f"notebooks/{p.name}" for p in (REPO / "notebooks").glob("*.ipynb")}
    assert pages and notebooks
    assert pages - links == set(), "add these pages to the README's Documentation table"
    assert notebooks - links == set(), "add these notebooks to the README's Notebooks table"


@pytest.mark.parametrize(
    "page", [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))], ids=lambda p: p.name
)
def test_relative_links_resolve(page):
    missing = sorted(link for link in _links(page) if not (page.parent / link).exists())
    assert missing == [], f"{page.name}: links to missing files"


def test_notebooks_extra_installs_jupyterlab_and_a_kernel():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[<>=\[ ]", r)[0] for r in project["optional-dependencies"]["notebooks"]}
    assert {"jupyterlab", "ipykernel"} <= names


def test_results_page_lists_every_variable_and_dimension_of_a_run(tiny_config):
    import riskmodel as rm

    scenario = rm.scenario_from_dict(tiny_config)
    ds = rm.simulate(scenario, paths=200, seed=0, progress=False).data
    text = (REPO / "docs" / "results.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \|", text, re.M))
    names = set(ds.data_vars) | set(ds.dims) | set(ds.attrs)
    assert names - listed == set(), "regenerate the tables: python scripts/results_reference.py"


def _project_pages() -> list[Path]:
    return [
        REPO / "README.md",
        REPO / "scenarios" / "README.md",
        *sorted((REPO / "docs").glob("*.md")),
    ]


@pytest.mark.parametrize("page", _project_pages(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_documentation_points_nowhere_outside_the_repository(page):
    """Users read the project, not the team's notes beside it (issue 12)."""
    text = page.read_text(encoding="utf-8")
    outside = sorted(
        link
        for link in _links(page)
        if not (page.parent / link).resolve().is_relative_to(REPO.resolve())
    )
    assert outside == [], f"{page.name}: links outside the repository"
    assert "../shared" not in text, f"{page.name} refers to ../shared (outside the repository)"


def test_the_issue_12_pages_exist_and_are_linked():
    """design and engine, scenario format, sensitivity config and model config each have a page."""
    links = _links(REPO / "README.md")
    for page in (
        "docs/design.md",
        "docs/scenario_format.md",
        "docs/sensitivity.md",
        "docs/model_config.md",
    ):
        assert (REPO / page).is_file() and page in links, page
