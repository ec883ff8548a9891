"""A stand-in for the data stage's output, for the training benchmark and the example
measurements only: SFT records and preference pairs from ``failures.jsonl``.

``chosen`` is the record's ``ideal_answer`` or the data stage's contract-derived template
(``posttrain.data.templates``); ``rejected`` is the bad answer. Records that look like they
carry PII or credentials are left out rather than de-identified (the real data stage does
that properly). A fixed fifth of the records (by a hash of the id) is held out as the
evaluation suite of "held-out failure prompts" and never trained on.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

__all__ = ["build_standin"]

_PII = re.compile(
    r"@|sk-|AKIA|LTAI|AKID|eyJ|password|passwd|://\S+:\S+@|\d{7,}|\d{3,4}[- ]\d{3,4}[- ]\d{3,4}",
    re.I,
)


def _held_out(record_id: str) -> bool:
    return int(hashlib.sha256(record_id.encode()).hexdigest(), 16) % 5 == 0


def build_standin(failures: Path, out: Path) -> dict[str, int]:
    """Write sft.jsonl, prefs.jsonl, manifest.json into ``out`` and the held-out suite
    ``heldout_suite.jsonl`` (evaluation samples); return counts."""
    from posttrain.data.config import _default_templates
    from posttrain.data.templates import detect_lang, render_template

    kinds = _default_templates()
    out.mkdir(parents=True, exist_ok=True)
    sft, prefs, suite = [], [], []
    raw = failures.read_bytes()
    for line in raw.decode("utf-8").splitlines():
        row = json.loads(line)
        lang = detect_lang(row["prompt"])
        prompt = row["prompt"]
        if row.get("context"):
            prompt = f"{prompt}\n\n<<<Document>>>\n{row['context']}\n<<<end Document>>>"
        if _held_out(row["id"]):
            sample = {
                "id": row["id"],
                "prompt": row["prompt"],
                "lang": lang,
                "tags": [row["label"]],
            }
            if row.get("context"):
                sample.update(context=row["context"], context_kind="document")
            suite.append(sample)
            continue
        chosen = row.get("ideal_answer")
        if not chosen:
            template = render_template(
                kinds.get(row["label"], "none"), row["label"], lang, row["id"]
            )
            chosen = template.text if template else None
        if not chosen or _PII.search(prompt + chosen + row["bad_answer"]):
            continue
        sft.append(
            {
                "id": row["id"],
                "messages": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": chosen},
                ],
            }
        )
        prefs.append(
            {
                "id": row["id"],
                "prompt": [{"role": "user", "content": prompt}],
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": row["bad_answer"]}],
            }
        )
    (out / "sft.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sft))
    (out / "prefs.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in prefs)
    )
    (out / "heldout_suite.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in suite)
    )
    version = "standin-" + hashlib.sha256(raw).hexdigest()[:12]
    (out / "manifest.json").write_text(_manifest(version, len(sft), len(prefs)))
    return {"sft": len(sft), "prefs": len(prefs), "heldout": len(suite)}


def _manifest(data_version: str, n_sft: int, n_prefs: int) -> str:
    """A ``posttrain.data.Manifest`` (what training reads) for the stand-in's output."""
    from posttrain.data import Manifest

    counts: dict[str, object] = {"sft": n_sft, "prefs": n_prefs}
    counts |= dict.fromkeys(("read", "accepted", "quarantined", "dropped_by_policy"), 0)
    counts |= {"no_chosen": 0, "buckets": {}, "label_sources": {}, "languages": {}}
    counts |= {"pii_replaced": {}, "quarantine_reasons": {}}
    manifest = Manifest.model_validate(
        {
            "data_version": data_version,
            "packages": {},
            # No de-identification: records that look like PII are left out instead.
            "policy": {
                "label": "none (bench stand-in)",
                "policy_id": "none",
                "version": 0,
                "sha256": "",
                "score_threshold": 0.0,
                "actions": {},
            },
            "counts": counts,
            "inputs": [],
            "contract": {"path": None, "sha256": None, "clauses": [], "required_classes": []},
            "eval_sets": [],
            "files": {},
            "config": {"builder": "bench/_train_data.py"},
            "config_sha256": "",
            "quality": {},
            "overrides": {},
        }
    )
    return manifest.model_dump_json(indent=2)


if __name__ == "__main__":
    import sys

    print(build_standin(Path(sys.argv[1]), Path(sys.argv[2])))
