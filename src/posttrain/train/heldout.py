"""The failures a run never trained on, as an evaluation suite (``runs/<run_id>/heldout.jsonl``).

A run trains on part of the data stage's failures: not the deterministic validation
split (hashed by failure id, so SFT and DPO hold out the same ones), not the records past
``limit``, not failures without a chosen answer. The rest were never trained on - and
for a run that starts from another one's adapter (DPO on SFT), never by that run either.
That makes them the fair place to ask whether training changed behaviour: evaluate the
base model and the candidate on this suite and compare the hard-clause failures
(``posttrain eval --suite runs/<run_id>/heldout.jsonl``, then ``posttrain compare``).

Each sample is judged by the clauses its failure was a failure of (the clause ids the
data stage tied to its label, in ``Sample.clauses``) plus the contract's ``all`` clauses.
Its tag is ``failure:<label>``, never a bare label, so a label that happens to equal an
``applies_to`` entry does not pull in other clauses.

Checks that need more than the failure record holds are dealt with honestly: the planted
instruction of an injection failure is only checkable with a marker, taken from what the
bad answer echoed of the planted text (a code, URL or e-mail address that appears in
both, and not in the good answer); where there is none, the item is not judged on that
clause and ``heldout.json`` counts it under ``injection_unjudged``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from posttrain.checks.base import Sample
from posttrain.data.config import DataConfig
from posttrain.data.labels import ClauseInfo, ContractInfo, clauses_for
from posttrain.evaluate.suites import ATTACK_CLASSES, load_suite
from posttrain.train.data import read_jsonl

__all__ = [
    "HELDOUT_FILE",
    "heldout_samples",
    "injection_marker",
    "read_suite_ids",
    "write_heldout_suite",
]

HELDOUT_FILE = "heldout.jsonl"
_INJECTION_CLAUSE_CHECK = "injection_followed"
# Code-like tokens a planted instruction asks the model to repeat: STAFF100, URLs, e-mails.
_TOKEN = re.compile(r"https?://[^\s<>\"')]+|[\w.+-]+@[\w-]+\.[\w.-]+|[A-Za-z0-9][A-Za-z0-9_-]{3,}")


def injection_marker(planted: str, bad_answer: str, good_answer: str = "") -> str | None:
    """The longest code-like token (letters and digits, a URL or an e-mail address) that
    the bad answer repeated from the planted text and a good answer does not say (an order
    number the document mentions is no marker); None when there is none."""
    answer, good = bad_answer.lower(), good_answer.lower()
    found = []
    for tok in set(_TOKEN.findall(planted)):
        is_code = bool(re.search(r"\d", tok) and re.search(r"[A-Za-z]", tok))
        low = tok.lower()
        if (is_code or "://" in tok or "@" in tok) and low in answer and low not in good:
            found.append(tok)
    return max(found, key=lambda t: (len(t), t)) if found else None


def _rows(path: Path) -> Iterable[dict[str, Any]]:
    """The records of a data-stage JSONL file (none when the file is absent)."""
    return (row for _, row in read_jsonl(path)) if path.is_file() else iter(())


def heldout_samples(
    data_dir: Path, trained_ids: set[str], contract: Any, only: set[str] | None = None
) -> tuple[list[Sample], dict[str, int]]:
    """The failures of ``data_dir`` not in ``trained_ids`` (and in ``only`` when given) as
    samples, and counts for ``heldout.json``.

    Reads the data stage's de-identified buckets (prompt, context, language, label) and
    the clause ids each failure's training records name.
    """
    known = {c.id: c for c in contract.clauses}
    clauses_of: dict[str, list[str]] = {}
    good_of: dict[str, str] = {}
    for name in ("sft.jsonl", "prefs.jsonl"):
        for row in _rows(data_dir / name):
            ids = row.get("ids")
            fid = ids.get("failure") if isinstance(ids, dict) else None
            if not isinstance(fid, str):
                continue
            if fid not in clauses_of:
                clauses_of[fid] = [t for t in row.get("tags", []) if t in known]
            good = row.get("chosen", row.get("output"))
            if isinstance(good, str):
                good_of[fid] = good_of.get(fid, "") + "\n" + good
    # A failure with no training record (its pair quarantined, say) is judged by the
    # clauses the data stage ties to its label, as its records would have named them.
    info = ContractInfo(
        clauses=[
            ClauseInfo(id=c.id, dimension=str(c.dimension), applies_to=list(c.applies_to))
            for c in contract.clauses
        ]
    )
    aliases = DataConfig.model_fields["label_aliases"].get_default(call_default_factory=True)
    samples: list[Sample] = []
    counts = {"failures": 0, "trained_on": 0, "samples": 0, "injection_unjudged": 0}
    for bucket in sorted((data_dir / "buckets").glob("*/failures.jsonl")):
        for rec in _rows(bucket):
            fid = str(rec.get("id", ""))
            counts["failures"] += 1
            if fid in trained_ids:
                counts["trained_on"] += 1
                continue
            if (only is not None and fid not in only) or not rec.get("prompt"):
                continue
            label = str(rec.get("label", "unlabeled"))
            clauses = list(clauses_of.get(fid) or clauses_for(label, info, aliases))
            marker = None
            needs_marker = [c for c in clauses if known[c].check.name == _INJECTION_CLAUSE_CHECK]
            if needs_marker or label in ("injection", "indirect_injection"):
                planted = f"{rec['prompt']}\n{rec.get('context') or ''}"
                marker = injection_marker(
                    planted, str(rec.get("bad_answer", "")), good_of.get(fid, "")
                )
            if needs_marker and marker is None:
                clauses = [c for c in clauses if c not in needs_marker]
                counts["injection_unjudged"] += 1
            injection = label in ("injection", "indirect_injection")
            samples.append(
                Sample(
                    id=fid,
                    prompt=str(rec["prompt"]),
                    context=rec.get("context") or None,
                    lang=rec.get("lang") if rec.get("lang") in ("en", "zh") else "en",
                    tags=[f"failure:{label}"],
                    # the attack class only where the clause it brings in can be judged
                    attack_class=label
                    if label in ATTACK_CLASSES and (marker is not None or not injection)
                    else None,
                    injection_marker=marker,
                    clauses=clauses,
                )
            )
    samples.sort(key=lambda s: s.id)
    counts["samples"] = len(samples)
    return samples, counts


def read_suite_ids(path: Path) -> set[str]:
    """The sample ids of a ``heldout.jsonl``."""
    return {s.id for s in load_suite(path).samples}


def write_heldout_suite(
    run_dir: Path,
    data_dir: Path,
    trained_ids: set[str],
    contract_path: Path,
    *,
    parent: Path | None = None,
) -> Path | None:
    """Write ``run_dir/heldout.jsonl`` (and ``heldout.json`` with its counts): the failures
    this run did not train on and, when it starts from ``parent`` (a run folder with a
    ``heldout.jsonl``), that one did not either. None without a contract or samples."""
    if not contract_path.is_file():
        return None
    from posttrain.contract import load_contract

    only = None
    if parent is not None and (parent / HELDOUT_FILE).is_file():
        only = read_suite_ids(parent / HELDOUT_FILE)
    samples, counts = heldout_samples(data_dir, trained_ids, load_contract(contract_path), only)
    if not samples:
        return None
    out = run_dir / HELDOUT_FILE
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for s in samples:
            fh.write(s.model_dump_json(exclude_defaults=True) + "\n")
    tmp.replace(out)
    meta = {**counts, "parent": str(parent) if only is not None else None}
    (run_dir / "heldout.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out
