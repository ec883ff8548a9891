"""Provenance: posttrain's and the workspace's git state, packages, input hashes."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

import posttrain
from posttrain.core.provenance import git_state, provenance

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    _git(ws, "init", "-q")
    (ws / "contract.yaml").write_text("product: ShopMate\n")
    _git(ws, "add", "contract.yaml")
    _git(ws, "commit", "-q", "-m", "first")
    return ws


@needs_git
def test_workspace_revision_and_dirty_flag(repo: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    clean = provenance(repo)
    assert clean.workspace_revision == head and clean.workspace_dirty is False

    (repo / "untracked.txt").write_text("not part of the tree\n")
    assert provenance(repo).workspace_dirty is False  # untracked files do not count

    (repo / "contract.yaml").write_text("product: Other\n")
    dirty = provenance(repo)
    assert dirty.workspace_revision == head and dirty.workspace_dirty is True


@needs_git
def test_a_subfolder_of_a_repository_has_its_revision(repo: Path) -> None:
    (repo / "data").mkdir()
    assert provenance(repo / "data").workspace_revision == _git(repo, "rev-parse", "HEAD")


def test_outside_git_and_without_workspace_the_revision_is_none(tmp_path: Path) -> None:
    outside = provenance(tmp_path)  # pytest's tmp_path is not inside a repository
    assert outside.workspace_revision is None and outside.workspace_dirty is None
    none = provenance(None)
    assert none.workspace_revision is None and none.workspace_dirty is None
    assert git_state(tmp_path / "missing") == (None, None)


@needs_git
def test_posttrain_revision_is_its_source_checkout_not_the_workspace(repo: Path) -> None:
    p = provenance(repo)
    assert p.posttrain_revision != p.workspace_revision
    source = Path(posttrain.__file__).resolve().parent
    expected, _ = git_state(source, tracked=source / "__init__.py")
    assert p.posttrain_revision == expected


@needs_git
def test_a_repository_that_does_not_track_posttrain_is_not_its_checkout(repo: Path) -> None:
    # posttrain installed into a git-ignored virtualenv inside some repository.
    pkg = repo / ".venv" / "posttrain"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    assert git_state(pkg) == (_git(repo, "rev-parse", "HEAD"), False)
    assert git_state(pkg, tracked=pkg / "__init__.py") == (None, None)


def test_versions_and_packages_are_recorded(tmp_path: Path) -> None:
    p = provenance(tmp_path)
    assert p.posttrain_version == posttrain.__version__
    assert p.packages["posttrain"] == posttrain.__version__
    assert {"pydantic", "torch", "transformers"} <= set(p.packages)
    assert all(v and v[0].isdigit() for v in p.packages.values())
    assert p.python.count(".") == 2 and p.platform


def test_input_files_are_hashed_and_a_missing_one_is_none(tmp_path: Path) -> None:
    f = tmp_path / "failures.jsonl"
    f.write_bytes(b'{"prompt": "hi"}\n')
    p = provenance(None, {"failures": f, "gone": tmp_path / "gone.jsonl"})
    assert p.inputs == {"failures": hashlib.sha256(f.read_bytes()).hexdigest(), "gone": None}
    assert provenance(None).inputs == {}
