"""Where an artifact came from: the code that made it, the workspace it was made in, the
packages and interpreter, and the hashes of the files it read.

Two git revisions, never confused:

* ``posttrain_revision`` / ``posttrain_dirty``: the git checkout holding posttrain's own
  source (None when posttrain is installed from a wheel, not run from a checkout).
* ``workspace_revision`` / ``workspace_dirty``: the git repository holding the workspace
  (None when there is no workspace or it is not in a git repository).

"Dirty" means tracked files differ from ``HEAD`` (untracked files do not count).
Every manifest (data build, training run, evaluation, gate verdict) records one
:class:`Provenance` built by :func:`provenance`.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from posttrain import __version__
from posttrain.core.hashing import file_sha256

__all__ = ["PACKAGES", "Provenance", "git_state", "package_versions", "provenance"]

# The packages whose versions change what posttrain produces (those not installed are
# left out): training, evaluation, de-identification and the models' file formats.
PACKAGES = (
    "posttrain",
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "safetensors",
    "pydantic",
    "presidio-analyzer",
    "presidio-anonymizer",
    "detect-secrets",
)
_SOURCE = Path(__file__).resolve().parents[1]  # src/posttrain
_GIT_TIMEOUT_S = 10


class Provenance(BaseModel):
    """The code, workspace, packages and inputs behind one artifact."""

    model_config = ConfigDict(extra="forbid")

    posttrain_version: str
    # git HEAD of the checkout holding posttrain's source; None outside a checkout.
    posttrain_revision: str | None
    posttrain_dirty: bool | None
    # git HEAD of the repository holding the workspace; None outside git or no workspace.
    workspace_revision: str | None
    workspace_dirty: bool | None
    python: str
    platform: str
    packages: dict[str, str]
    # Input files the caller named -> sha256 (None: the file did not exist).
    inputs: dict[str, str | None] = Field(default_factory=dict)


def provenance(workspace: Path | None, inputs: dict[str, Path] | None = None) -> Provenance:
    """The :class:`Provenance` of an artifact made now in ``workspace`` from ``inputs``
    (names -> files, hashed here). Never raises for a missing git or a folder outside git:
    those revisions are None."""
    own_rev, own_dirty = git_state(_SOURCE, tracked=_SOURCE / "__init__.py")
    ws_rev, ws_dirty = git_state(Path(workspace)) if workspace is not None else (None, None)
    return Provenance(
        posttrain_version=__version__,
        posttrain_revision=own_rev,
        posttrain_dirty=own_dirty,
        workspace_revision=ws_rev,
        workspace_dirty=ws_dirty,
        python=platform.python_version(),
        platform=platform.platform(),
        packages=package_versions(),
        inputs={
            name: file_sha256(path) if Path(path).is_file() else None
            for name, path in (inputs or {}).items()
        },
    )


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` (read from metadata; nothing is imported)."""
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_state(folder: Path, *, tracked: Path | None = None) -> tuple[str | None, bool | None]:
    """(HEAD revision, dirty) of the git repository holding ``folder``; (None, None) when
    it is not in one or git is missing. With ``tracked``, also (None, None) unless that
    file is tracked there (posttrain installed in a git-ignored virtualenv inside some
    repository is not that repository's code)."""
    if not folder.is_dir():
        return None, None
    revision = _git(folder, "rev-parse", "HEAD")
    if revision is None:
        return None, None
    if tracked is not None and _git(folder, "ls-files", "--error-unmatch", str(tracked)) is None:
        return None, None
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return revision, None if status is None else bool(status)


def _git(folder: Path, *args: str) -> str | None:
    """git's stdout (stripped), or None when it fails or cannot run."""
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None
