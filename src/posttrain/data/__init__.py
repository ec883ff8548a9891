"""The data stage: failure samples -> de-identified buckets, SFT records, preference pairs.

``build_dataset(DataConfig(workspace=...)) -> DatasetBuild`` reads ``data/failures.jsonl``
(or CSV / Parquet), quarantines unusable records, de-identifies PII and credentials
offline (:mod:`posttrain.data.deid`), buckets by label, writes SFT records and preference
pairs, runs the quality rules (:mod:`posttrain.data.quality`) and writes, under the
workspace's ``data/``::

    sft.jsonl            SftRecord per line: instruction, input, output, why, ids, tags,
                         lang, messages (TRL conversational SFT form)
    prefs.jsonl          PrefPair per line: id, prompt, chosen, rejected, reason, tags
                         (tags[0] = bucket), source, ts, lang, chosen_from, ids, and
                         trl = {prompt, chosen, rejected} as chat messages (TRL DPO form)
    buckets/<label>/failures.jsonl, buckets/index.json
    quarantine.jsonl     file, line, reason, field, hint, raw_sha256 (never content)
    pairs_quarantine.jsonl  PairQuarantineItem per line: a pair the contract's checks
                         found no better than its rejected answer (file, line, record id,
                         chosen_from, clauses, evidence); the record stays in its bucket
    quality.json         QualityReport: every rule with value, threshold, status, flagged
    DATASHEET.md         Gebru et al. headings
    manifest.json        see below
    audit.jsonl          one AuditRecord appended per build (the only file with a time;
                         with the build's provenance: git revisions of posttrain and
                         the workspace, dirty flags, packages); the same record is the
                         payload of a ``data_build`` event in the workspace's chained
                         audit log, reports/audit-log.jsonl (the one that is verified)

Manifest schema (``manifest.json``, ``schema_version`` 1; what the training stage reads)::

    schema_version   1
    kind             "posttrain.dataset"
    data_version     "sha256:<hex>": hash of {dataset file path -> sha256} (sft.jsonl,
                     prefs.jsonl, buckets/**) and the policy hash; equal inputs + config
                     give an equal data_version
    posttrain_version, packages {name: version}
    policy           {label "posttrain-deid@v1", policy_id, version, sha256,
                      score_threshold, actions {entity type: placeholder|hash|drop}}
    counts           {read, accepted, quarantined (read = accepted + quarantined),
                      dropped_by_policy, buckets {label: n}, label_sources, languages,
                      sft, prefs, no_chosen, pii_replaced {entity: n}, quarantine_reasons}
    inputs           [{path, format, sha256, bytes, read}]
    contract         {path, sha256, clauses [ids], required_classes [labels]}
    eval_sets        [{path, sha256, prompts, unreadable_lines}]
    files            {path relative to data/: sha256} for every file above except
                     manifest.json and audit.jsonl
    config           the DataConfig as JSON (workspace recorded as "."), config_sha256
    quality          {rule: pass | overridden}, overrides {rule: reason}

A training run should check ``files[...]`` against the files it reads and record
``data_version``. The manifest is written only when every quality rule passed or was
overridden; a blocked build removes it.
"""

from posttrain.data.build import DatasetBuild, build_dataset
from posttrain.data.config import DataConfig, QualityConfig, load_data_config
from posttrain.data.deid import DeidPolicy
from posttrain.data.pii_eval import PiiEvalResult, evaluate_pii
from posttrain.data.quality import RULE_NAMES, RULES, QualityReport
from posttrain.data.records import PrefPair, SftRecord
from posttrain.data.report import AuditRecord, Manifest

__all__ = [
    "RULES",
    "RULE_NAMES",
    "AuditRecord",
    "DataConfig",
    "DatasetBuild",
    "DeidPolicy",
    "Manifest",
    "PiiEvalResult",
    "PrefPair",
    "QualityConfig",
    "QualityReport",
    "SftRecord",
    "build_dataset",
    "evaluate_pii",
    "load_data_config",
]
