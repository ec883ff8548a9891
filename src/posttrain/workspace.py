"""A workspace: the folder a product team works in (contract, data, configs, outputs).

Layout::

    contract.yaml            the behaviour contract
    data/failures.jsonl      failure samples (prompt, bad_answer, label, ...)
    data/regression.jsonl    the business regression set
    configs/                 training configs (sft.yaml, align/dpo.yaml, ...)
    runs/                    training runs (one folder per run_id)
    reports/                 evaluation, safety and run reports
    .posttrain/              caches (generation cache, locks)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from posttrain.errors import UsageError

__all__ = ["EXAMPLE_NAME", "TRAINING_CONFIGS", "Workspace", "example_dir", "init_workspace"]

EXAMPLE_NAME = "support-bot"
# Outputs of the example's own runs (git-ignored there) are not part of a new workspace.
_IGNORED = shutil.ignore_patterns(
    "runs",
    "reports",
    ".posttrain",
    "__pycache__",
    "*.pyc",
    "buckets",
    "sft.jsonl",
    "prefs.jsonl",
    "quarantine.jsonl",
    "pairs_quarantine.jsonl",
    "quality.json",
    "DATASHEET.md",
    "manifest.json",
    "audit.jsonl",
    "live",
)

# Each training recipe's config file, relative to the workspace (reward and ppo: rung 4).
TRAINING_CONFIGS: dict[str, Path] = {
    "sft": Path("configs/sft.yaml"),
    "dpo": Path("configs/align/dpo.yaml"),
    "reward": Path("configs/align/reward.yaml"),
    "ppo": Path("configs/align/ppo.yaml"),
}


@dataclass(frozen=True)
class Workspace:
    """Paths inside a workspace folder."""

    root: Path

    @property
    def contract(self) -> Path:
        return self.root / "contract.yaml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def failures(self) -> Path:
        return self.data / "failures.jsonl"

    @property
    def regression(self) -> Path:
        return self.data / "regression.jsonl"

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def cache(self) -> Path:
        return self.root / ".posttrain"

    @property
    def registry(self) -> Path:
        """The local model registry (versions, aliases and their history)."""
        return self.cache / "registry"

    @property
    def rollout(self) -> Path:
        """The staged-rollout state."""
        return self.cache / "rollout"

    @property
    def audit_log(self) -> Path:
        """The hash-chained audit log of builds, runs, evaluations, verdicts and releases."""
        return self.reports / "audit-log.jsonl"


def example_dir() -> Path:
    """The example workspace shipped with the source tree (``examples/support-bot``).

    Raises :class:`UsageError` when posttrain runs from an install without the examples.
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / EXAMPLE_NAME
        if (candidate / "contract.yaml").is_file():
            return candidate
    raise UsageError(
        f"the example workspace examples/{EXAMPLE_NAME} was not found next to the package",
        hint="install posttrain from its source checkout (`make setup`), which carries it",
    )


def init_workspace(dest: Path, *, force: bool = False) -> Workspace:
    """Create a new workspace at ``dest`` from the example; raises :class:`UsageError`
    when ``dest`` exists and is not empty (unless ``force``)."""
    if dest.exists() and any(dest.iterdir()) and not force:
        raise UsageError(
            f"{dest} exists and is not empty",
            hint="choose a new folder, or pass --force to copy the example over it",
        )
    shutil.copytree(example_dir(), dest, ignore=_IGNORED, dirs_exist_ok=True)
    return Workspace(dest)
