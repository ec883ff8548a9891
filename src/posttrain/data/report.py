"""The build's paperwork: manifest, datasheet and audit record.

The manifest and the datasheet hold no wall-clock time, so the same inputs and config
give byte-identical files; the build time lives only in the audit record, which is
appended (never rewritten) to ``data/audit.jsonl`` and, as the payload of a ``data_build``
event, to the workspace's hash-chained audit log (``reports/audit-log.jsonl``), which is
the record ``posttrain log verify`` checks.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from posttrain import __version__
from posttrain.core.provenance import Provenance, provenance
from posttrain.data.ingest import InputFile
from posttrain.data.quality import QualityReport

__all__ = ["AuditRecord", "BuildCounts", "EvalSetInfo", "Manifest", "render_datasheet"]

MANIFEST_SCHEMA_VERSION = 1


class BuildCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    read: int
    accepted: int
    quarantined: int
    dropped_by_policy: int
    buckets: dict[str, int]
    label_sources: dict[str, int]
    languages: dict[str, int]
    sft: int
    prefs: int
    no_chosen: int  # accepted records for which no chosen answer could be written
    # the contract's checks on both sides of each pair (posttrain.data.pairs)
    pairs_judged: int = 0
    pairs_quarantined: int = 0  # chosen no better than rejected: pairs_quarantine.jsonl
    pair_quarantine_clauses: dict[str, int] = Field(default_factory=dict)
    pairs_unconfirmed: int = 0  # no check found the rejected answer failing
    pair_unjudged_clauses: dict[str, int] = Field(default_factory=dict)
    pii_replaced: dict[str, int]
    quarantine_reasons: dict[str, int]
    # Torn last lines of live capture files (a server crash mid-append), skipped: not
    # read, not quarantined (see posttrain.data.ingest).
    torn_live_lines: int = 0


class EvalSetInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str
    prompts: int
    unreadable_lines: int = 0


class PolicyInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    policy_id: str
    version: int
    sha256: str
    score_threshold: float
    actions: dict[str, str]


class ContractRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None
    sha256: str | None
    clauses: list[str]
    required_classes: list[str]


class Manifest(BaseModel):
    """``data/manifest.json``; the schema is documented in :mod:`posttrain.data`.

    It holds what the build's output depends on (``packages`` from
    :func:`posttrain.core.provenance.package_versions`), not where or when it ran, so
    rebuilding unchanged inputs gives a byte-identical file; the git revisions and dirty
    flags go to the build's :class:`AuditRecord`.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = MANIFEST_SCHEMA_VERSION
    kind: str = "posttrain.dataset"
    data_version: str
    posttrain_version: str = __version__
    packages: dict[str, str]
    policy: PolicyInfo
    counts: BuildCounts
    inputs: list[InputFile]
    contract: ContractRef
    eval_sets: list[EvalSetInfo]
    files: dict[str, str]  # path relative to the data dir -> sha256
    config: dict[str, object]
    config_sha256: str
    quality: dict[str, str]  # rule -> pass | overridden
    overrides: dict[str, str]


class AuditRecord(BaseModel):
    """One line of ``data/audit.jsonl`` per build, successful or blocked."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    action: str = "data.build"
    ts: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    actor: str = Field(default_factory=lambda: _safe(getpass.getuser))
    status: str  # built | blocked
    data_version: str | None
    config_sha256: str
    policy: str
    inputs: dict[str, str]  # path -> sha256
    counts: dict[str, int]
    failing_rules: list[str]
    overrides: dict[str, str]
    # posttrain's source checkout (== provenance.posttrain_revision / _dirty), not the
    # workspace: that is provenance.workspace_revision. Filled from provenance if not given.
    git_revision: str | None = None
    git_dirty: bool | None = None
    posttrain_version: str = __version__
    # Where the build ran; default: posttrain's side only (no workspace revision).
    provenance: Provenance = Field(default_factory=lambda: provenance(None))

    @model_validator(mode="after")
    def _git_from_provenance(self) -> AuditRecord:
        if "git_revision" not in self.model_fields_set:
            self.git_revision = self.provenance.posttrain_revision
        if "git_dirty" not in self.model_fields_set:
            self.git_dirty = self.provenance.posttrain_dirty
        return self


def _safe(fn: Callable[[], object]) -> str:
    try:
        return str(fn())
    except (ImportError, KeyError, OSError):  # getpass: no login name in some containers
        return "unknown"


def data_version(dataset_files: dict[str, str], policy_sha: str) -> str:
    """Content hash over the dataset files (path + sha256) and the policy."""
    payload = json.dumps({"files": dataset_files, "policy": policy_sha}, sort_keys=True)
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()


def _table(rows: Sequence[Sequence[object]], head: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _pair_checks(counts: BuildCounts) -> str:
    if not counts.pairs_judged:
        return "Preference pairs were not checked against a contract (built without one).\n"
    by = ", ".join(f"{k} {v}" for k, v in counts.pair_quarantine_clauses.items()) or "none"
    unjudged = ", ".join(f"{k} {v}" for k, v in counts.pair_unjudged_clauses.items()) or "none"
    return (
        f"Preference pairs checked with the contract's own checks (both answers judged as "
        f"evaluation judges them): {counts.pairs_judged} pairs judged, "
        f"{counts.pairs_quarantined} quarantined as preference pairs "
        "(`pairs_quarantine.jsonl`: the chosen answer does not pass a clause its rejected "
        f"answer failed, or a hard clause), by clause: {by}. {counts.pairs_unconfirmed} "
        "pairs have a rejected answer no check found failing (the label says it failed; no "
        "check of the contract can tell). Clause verdicts neither answer could get (not "
        f"held against a pair): {unjudged}.\n"
    )


def render_datasheet(
    *,
    product: str,
    version: str,
    counts: BuildCounts,
    inputs: list[InputFile],
    sources: dict[str, int],
    ts_range: tuple[str, str] | None,
    policy: PolicyInfo,
    quality: QualityReport,
    contract: ContractRef,
    eval_sets: list[EvalSetInfo],
) -> str:
    """``DATASHEET.md`` with the headings of Gebru et al., *Datasheets for Datasets*."""
    q_rows = [
        (
            r.name,
            r.value,
            r.threshold,
            r.status + (f" ({r.override_reason})" if r.override_reason else ""),
            r.flagged_count,
        )
        for r in quality.rules
    ]
    reasons = sorted(counts.quarantine_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [
        f"# Datasheet: {product} post-training data\n",
        f"Data version `{version}`, built by posttrain {__version__} under de-identification "
        f"policy `{policy.label}` (sha256 `{policy.sha256[:16]}`).\n",
        "## Motivation\n",
        f"Supervised fine-tuning records and preference pairs that teach the {product} "
        "assistant the behaviour its contract requires, built from observed failures "
        "(production logs, tickets, red-teaming). Each record traces back to one failure "
        "sample; the contract clauses it serves are in its tags.\n",
        "## Composition\n",
        f"{counts.accepted} accepted failure records in {len(counts.buckets)} buckets, "
        f"{counts.sft} SFT records and {counts.prefs} preference pairs "
        f"({counts.no_chosen} records have no chosen answer: no ideal answer and no template "
        "for their label). Languages: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.languages.items()))
        + ".\n",
        _table(sorted(counts.buckets.items()), ("bucket", "records")) + "\n",
        "Label sources (given in the input / inferred by rule / none): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.label_sources.items()))
        + ".\n",
        "Classes the contract requires: "
        + (", ".join(contract.required_classes) or "(no contract)")
        + ".\n",
        "## Collection process\n",
        "Input files (sha256):\n",
        "\n".join(f"- `{f.path}` ({f.format}, {f.read} records, `{f.sha256[:16]}`)" for f in inputs)
        + "\n",
        "Sources: " + ", ".join(f"{k} ({v})" for k, v in sorted(sources.items())) + ".\n",
        (f"Sample times from {ts_range[0]} to {ts_range[1]}.\n" if ts_range else ""),
        "## Preprocessing / cleaning / labelling\n",
        f"{counts.read} records read, {counts.accepted} accepted, {counts.quarantined} "
        f"quarantined (`quarantine.jsonl`: file, line and reason, no content), of which "
        f"{counts.dropped_by_policy} were dropped by the de-identification policy.\n",
        _table(
            reasons,
            ("quarantine reason", "records"),
        )
        + "\n",
        f"De-identification: policy `{policy.label}`; Presidio analyzer with offline pattern "
        "recognizers (mainland ID numbers with checksum, mobiles with and without +86, "
        "16-19 digit bank cards with Luhn, e-mails, IPs) and credential detectors "
        "(detect-secrets plugins, cloud access keys, sk- keys, JWTs, private keys, "
        "password assignments), person names and postal addresses in English and Chinese "
        "(given + family names with titles, Faker's name lists, jieba's `nr` tag, "
        "street / unit / city / postcode and 省/市/区/路/号 addresses), and every value "
        "under a personal key (name, recipient, address, phone, email, id number, card, "
        f"account...) of JSON inside a field; score threshold {policy.score_threshold}. "
        "Retention per entity type (placeholder: a typed placeholder numbered within the "
        "record; hash: HMAC-SHA256 under the workspace secret `.posttrain/deid.key`; drop: "
        "a short non-identifying summary such as `an address in Shanghai`; quarantine: the "
        "record is quarantined) and spans replaced:\n",
        _table(
            [
                (etype, action, counts.pii_replaced.get(etype, 0))
                for etype, action in sorted(policy.actions.items())
            ],
            ("entity", "retention", "spans"),
        )
        + "\n",
        "Labels come from the input; missing ones are inferred by the configured rules, "
        "and records no rule recognises are bucketed as `unlabeled`. Chosen answers are the "
        "reviewed ideal answers where given, else contract-derived templates.\n",
        _pair_checks(counts),
        "Quality rules (`quality.json`; `residual_scan` is the independent scan of every "
        "file written here: e-mail, phone-like, card, ID-number, name and address shapes "
        "and Presidio's predefined recognizers, with the contract's own contact points "
        "allowed):\n",
        _table(q_rows, ("rule", "value", "threshold", "status", "flagged")) + "\n",
        "## Uses\n",
        "SFT (`sft.jsonl`, `messages` column) and DPO (`prefs.jsonl`, `trl` column) of the "
        f"{product} assistant. Not for evaluation: prompts of the regression set and the "
        "attack suites are checked against this data ("
        + (", ".join(f"`{e.path}` {e.prompts}" for e in eval_sets) or "none found")
        + ").\n",
        "## Distribution\n",
        "Internal to the team that owns the contract. Files carry no personal data by "
        "construction (see the residual_pii and residual_scan rules); the raw failure files "
        "do and stay where "
        "they are.\n",
        "## Maintenance\n",
        "Rebuilt with `posttrain data build` when new failures arrive; every build appends "
        "an audit record to `audit.jsonl` and a `data_build` event (with every override and "
        "its reason) to the workspace's hash-chained `reports/audit-log.jsonl`, and "
        "`manifest.json` binds this data version to "
        "its inputs, config and policy.\n",
    ]
    return "\n".join(parts)
