"""Quality rules over the built records: each named, measured, thresholded, overridable.

A rule is a function of a :class:`QualityInput` and the :class:`QualityConfig` to a
:class:`RuleResult` (measured value, threshold, pass/fail, the ids it flags). A failing
rule stops the build unless the config overrides it with a reason; the reason is written
into ``quality.json`` and the audit record. Rules:

``exact_duplicates``     same normalised (prompt, rejected) more than once
``near_duplicates``      (prompt, rejected) pairs with char 4-gram Jaccard >= threshold
``pair_similarity``      chosen vs rejected near-identical (char-bigram Jaccard > high:
                         teaches nothing), unrelated (different languages: teaches the
                         wrong thing) or too different to learn from (token Jaccard below
                         a floor together with a length ratio above a limit)
``length_ratio``         mean len(chosen) / mean len(rejected) per bucket outside
                         [low, high]
                         (DPO learns length when one side is systematically longer)
``class_coverage``       a class the contract requires has fewer pairs than the minimum
                         count, or a smaller share of all pairs than the minimum share
``template_overuse``     one chosen text carries more than a share of all pairs
``residual_pii``         PII or credentials the de-identifier's own recognizers find again
                         in an output text
``residual_scan``        the independent scan (:mod:`posttrain.data.residual`, a detector
                         of another kind) finds a PII shape in a file the build writes;
                         run by the build on the files themselves, after the rules above
``contamination``        a training prompt equals or nearly equals a regression-set or
                         attack-suite prompt
``unlabeled``            share of records no label or rule could classify
"""

from __future__ import annotations

import math
import multiprocessing
import operator
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from functools import cached_property
from typing import Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field

from posttrain.data._minhash import near_duplicate_pairs, normalize
from posttrain.data.config import QualityConfig
from posttrain.data.records import BucketedRecord, PrefPair
from posttrain.data.residual import ResidualHit
from posttrain.data.templates import detect_lang

__all__ = [
    "RULES",
    "RULE_NAMES",
    "EvalPrompt",
    "PairFeatures",
    "PairView",
    "PiiScan",
    "QualityInput",
    "QualityReport",
    "RecordFeatures",
    "RecordView",
    "RuleResult",
    "pair_features",
    "record_features",
    "residual_scan_result",
    "run_rules",
]

# texts -> the entity types the analyzer finds in each (the build passes one that spreads
# the texts over its worker processes; tests pass ``Analyzer.scan``)
PiiScan = Callable[[Sequence[str]], list[list[str]]]

_MAX_FLAGGED = 200


class RuleResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    value: float
    threshold: str
    status: Literal["pass", "fail", "overridden"]
    flagged_count: int = 0
    flagged: list[str] = Field(default_factory=list)  # record ids (first 200)
    details: dict[str, object] = Field(default_factory=dict)
    override_reason: str | None = None


class QualityReport(BaseModel):
    """``data/quality.json``."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    passed: bool
    rules: list[RuleResult]

    @property
    def failing(self) -> list[str]:
        return [r.name for r in self.rules if r.status == "fail"]


class EvalPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    set: str
    id: str
    prompt: str


class RecordView(Protocol):
    """What the rules read of a record: a :class:`BucketedRecord`, or the build's compact
    head of one (its texts are measured where it is made: :class:`RecordFeatures`)."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...


class PairView(Protocol):
    """What the rules read of a preference pair: a :class:`PrefPair` or the build's head
    of one (lengths and similarities are in its :class:`PairFeatures`)."""

    @property
    def id(self) -> str: ...
    @property
    def chosen(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...


class RecordFeatures(NamedTuple):
    """Per-record measurements the rules need (made where the record is made)."""

    norm_pair_text: str  # normalize(prompt + "\n" + bad_answer)
    norm_prompt: str


class PairFeatures(NamedTuple):
    """Per-pair measurements of ``pair_similarity`` (made where the pair is made)."""

    same_lang: bool  # detect_lang(chosen) == detect_lang(rejected)
    bigram_jaccard: float  # char-bigram Jaccard of the normalised texts (0 if not same_lang)
    token_jaccard: float = 1.0  # word (en) / character (zh) Jaccard
    length_ratio: float = 1.0  # longer / shorter, in characters
    chosen_len: int = 0  # in characters (length_ratio's per-bucket means)
    rejected_len: int = 0


def record_features(r: BucketedRecord) -> RecordFeatures:
    return RecordFeatures(normalize(_pair_text(r)), normalize(r.prompt))


# what pair_features measures of one text: its language, normalised bigrams and tokens
TextFeatures = tuple[str, set[str], set[str]]


def pair_features(
    chosen: str, rejected: str, memo: dict[str, TextFeatures] | None = None
) -> PairFeatures:
    """``memo`` keeps what is measured per text (templates and bad answers repeat)."""
    lang, a, ta = _text_features(chosen, memo)
    longer, shorter = max(len(chosen), len(rejected)), max(1, min(len(chosen), len(rejected)))
    lang_b, b, tb = _text_features(rejected, memo)
    lens = len(chosen), len(rejected)
    if lang != lang_b:
        return PairFeatures(False, 0.0, 0.0, longer / shorter, *lens)
    return PairFeatures(
        True,
        len(a & b) / max(1, len(a | b)),
        len(ta & tb) / max(1, len(ta | tb)),
        longer / shorter,
        *lens,
    )


def _text_features(text: str, memo: dict[str, TextFeatures] | None) -> TextFeatures:
    got = memo.get(text) if memo is not None else None
    if got is None:
        got = (detect_lang(text), _bigrams(normalize(text)), _words(text))
        if memo is not None:
            memo[text] = got
    return got


_TOKEN = re.compile(r"[\u4e00-\u9fff]|[A-Za-z0-9]+")


def _words(text: str) -> set[str]:
    return {t.lower() for t in _TOKEN.findall(text)}


class QualityInput:
    """What the rules look at (already de-identified).

    ``output_texts`` are the ``(record id, text)`` pairs the residual-PII rule rescans:
    every text written, except those the de-identification pass already analysed with
    the same analyzer and threshold and left unchanged (a rescan would find nothing
    again). ``scan`` runs the analyzer over a list of texts. ``features`` and
    ``pair_feats`` (one per record / pair) may come precomputed (the build's workers
    make them); otherwise they are computed here on first use.
    """

    def __init__(
        self,
        records: Sequence[RecordView],
        pairs: Sequence[PairView],
        output_texts: list[tuple[str, str]],
        eval_prompts: list[EvalPrompt],
        required_classes: list[str],
        scan: PiiScan,
        *,
        features: list[RecordFeatures] | None = None,
        pair_feats: list[PairFeatures] | None = None,
    ) -> None:
        self.records = records
        self.pairs = pairs
        self.output_texts = output_texts
        self.eval_prompts = eval_prompts
        self.required_classes = required_classes
        self.scan = scan
        if features is not None and len(features) != len(records):
            raise ValueError("one RecordFeatures per record")
        if pair_feats is not None and len(pair_feats) != len(pairs):
            raise ValueError("one PairFeatures per pair")
        # measured here on first use only where the full records and pairs are given
        if features is None and not all(isinstance(r, BucketedRecord) for r in records):
            raise ValueError("records that are not BucketedRecords need their RecordFeatures")
        if pair_feats is None and not all(isinstance(p, PrefPair) for p in pairs):
            raise ValueError("pairs that are not PrefPairs need their PairFeatures")
        self._features = features
        self._pair_feats = pair_feats

    # computed once and shared by the rules that need them
    @cached_property
    def features(self) -> list[RecordFeatures]:
        if self._features is not None:
            return self._features
        return [record_features(r) for r in self.records if isinstance(r, BucketedRecord)]

    @cached_property
    def pair_feats(self) -> list[PairFeatures]:
        if self._pair_feats is not None:
            return self._pair_feats
        memo: dict[str, TextFeatures] = {}
        return [
            pair_features(p.chosen, p.rejected, memo) for p in self.pairs if isinstance(p, PrefPair)
        ]

    @cached_property
    def norm_pair_texts(self) -> list[str]:
        return [f.norm_pair_text for f in self.features]

    @cached_property
    def norm_prompts(self) -> list[str]:
        return [f.norm_prompt for f in self.features]

    @cached_property
    def norm_chosen(self) -> list[str]:
        memo: dict[str, str] = {}  # templated chosen texts repeat
        return [
            memo[c] if c in memo else memo.setdefault(c, normalize(c))
            for c in (p.chosen for p in self.pairs)
        ]


RuleFn = Callable[[QualityInput, QualityConfig], RuleResult]


def _result(
    name: str,
    description: str,
    value: float,
    threshold: str,
    ok: bool,
    flagged: list[str],
    **details: object,
) -> RuleResult:
    return RuleResult(
        name=name,
        description=description,
        value=round(value, 4),
        threshold=threshold,
        status="pass" if ok else "fail",
        flagged_count=len(flagged),
        flagged=flagged[:_MAX_FLAGGED],
        details=details,
    )


def _pair_text(r: BucketedRecord) -> str:
    return f"{r.prompt}\n{r.bad_answer}"


def exact_duplicates(q: QualityInput, c: QualityConfig) -> RuleResult:
    first: dict[str, str] = {}
    flagged = []
    for r, key in zip(q.records, q.norm_pair_texts, strict=True):
        if key in first:
            flagged.append(r.id)
        else:
            first[key] = r.id
    frac = len(flagged) / max(1, len(q.records))
    return _result(
        "exact_duplicates",
        "records whose normalised prompt and bad answer repeat an earlier record",
        frac,
        f"fraction <= {c.max_exact_duplicate_fraction}",
        frac <= c.max_exact_duplicate_fraction,
        flagged,
    )


def near_duplicates(q: QualityInput, c: QualityConfig) -> RuleResult:
    texts = q.norm_pair_texts
    pairs = [
        (i, j, s)
        for i, j, s in near_duplicate_pairs(texts, c.near_duplicate_jaccard, normalized=True)
        if texts[i] != texts[j]  # exact copies are the other rule's
    ]
    later = sorted({j for _, j, _ in pairs})
    flagged = [q.records[j].id for j in later]
    frac = len(flagged) / max(1, len(q.records))
    return _result(
        "near_duplicates",
        f"records whose prompt+bad answer has char 4-gram Jaccard >= "
        f"{c.near_duplicate_jaccard} with an earlier record",
        frac,
        f"fraction <= {c.max_near_duplicate_fraction}",
        frac <= c.max_near_duplicate_fraction,
        flagged,
        examples=[[q.records[i].id, q.records[j].id, s] for i, j, s in pairs[:20]],
    )


def _bigrams(t: str) -> set[str]:
    # of a normalised text (a text of one character or none is its own "bigram"); map
    # over two offsets of the text builds them ~20 % faster than slicing at every index
    return set(map(operator.add, t, t[1:])) if len(t) > 1 else {t}


def pair_similarity(q: QualityInput, c: QualityConfig) -> RuleResult:
    # Near-identical: char-bigram Jaccard above the band. Unrelated: chosen and rejected in
    # different languages. A lexical floor does not work as "unrelated": a good refusal
    # and the compliant bad answer it replaces often share no word at all.
    # Too different: almost no shared token AND one side many times longer (a one-line
    # refusal against a page of compliance shares no word either, but is a fair pair).
    too_close, unrelated, too_far = [], [], []
    for p, f in zip(q.pairs, q.pair_feats, strict=True):
        if not f.same_lang:
            unrelated.append(p.id)
        elif f.bigram_jaccard > c.pair_similarity_high:
            too_close.append(p.id)
        elif (
            f.token_jaccard < c.pair_token_overlap_low and f.length_ratio > c.pair_length_ratio_far
        ):
            too_far.append(p.id)
    bad = too_close + unrelated + too_far
    frac = len(bad) / max(1, len(q.pairs))
    return _result(
        "pair_similarity",
        f"pairs whose chosen/rejected char-bigram Jaccard is above {c.pair_similarity_high} "
        "(near-identical), whose chosen and rejected differ in language (unrelated), or "
        f"whose token Jaccard is below {c.pair_token_overlap_low} with a length ratio above "
        f"{c.pair_length_ratio_far} (too different to learn from)",
        frac,
        f"fraction <= {c.max_out_of_band_pair_fraction}",
        frac <= c.max_out_of_band_pair_fraction,
        bad,
        near_identical=len(too_close),
        unrelated=len(unrelated),
        too_different=len(too_far),
    )


def length_ratio(q: QualityInput, c: QualityConfig) -> RuleResult:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p, f in zip(q.pairs, q.pair_feats, strict=True):
        s = sums[p.tags[0]]
        s[0] += f.chosen_len
        s[1] += f.rejected_len
    ratios = {b: s[0] / max(1, s[1]) for b, s in sorted(sums.items())}
    off = [b for b, m in ratios.items() if not c.length_ratio_low <= m <= c.length_ratio_high]
    worst = max(ratios.values(), key=lambda m: max(m, 1 / max(m, 1e-9)), default=1.0)
    return _result(
        "length_ratio",
        "mean chosen length / mean rejected length, per bucket (DPO's length bias)",
        worst,
        f"every bucket in [{c.length_ratio_low}, {c.length_ratio_high}]",
        not off,
        [f"bucket:{b}" for b in off],
        per_bucket={b: round(m, 3) for b, m in ratios.items()},
    )


def class_coverage(q: QualityInput, c: QualityConfig) -> RuleResult:
    counts = Counter(p.tags[0] for p in q.pairs)
    total = len(q.pairs)
    need = max(c.min_pairs_per_class, math.ceil(c.min_pair_share_per_class * total))
    missing = [k for k in q.required_classes if counts.get(k, 0) < need]
    covered = len(q.required_classes) - len(missing)
    return _result(
        "class_coverage",
        "classes the contract requires (labels tied to its clauses) with enough pairs",
        covered / max(1, len(q.required_classes)),
        f"every required class has >= {c.min_pairs_per_class} pairs and >= "
        f"{c.min_pair_share_per_class:.0%} of all pairs (here: >= {need})",
        not missing,
        [f"class:{k}" for k in missing],
        pairs_per_class={k: counts.get(k, 0) for k in q.required_classes},
        share_per_class={k: round(counts.get(k, 0) / max(1, total), 4) for k in q.required_classes},
    )


def template_overuse(q: QualityInput, c: QualityConfig) -> RuleResult:
    counts = Counter(q.norm_chosen)
    if not counts:
        return _result(
            "template_overuse",
            "share of the most reused chosen text",
            0.0,
            f"share <= {c.max_template_share}",
            True,
            [],
        )
    text, top = counts.most_common(1)[0]
    share = top / len(q.pairs)
    flagged = (
        [p.id for p, n in zip(q.pairs, q.norm_chosen, strict=True) if n == text]
        if share > c.max_template_share
        else []
    )
    return _result(
        "template_overuse",
        "share of all pairs whose chosen text is the single most reused one",
        share,
        f"share <= {c.max_template_share}",
        share <= c.max_template_share,
        flagged,
        distinct_chosen=len(counts),
    )


def residual_pii(q: QualityInput, c: QualityConfig) -> RuleResult:
    flagged: list[str] = []
    kinds: Counter[str] = Counter()
    unique = list(dict.fromkeys(text for _, text in q.output_texts))  # each text once
    found = dict(zip(unique, q.scan(unique), strict=True))
    for rid, text in q.output_texts:
        types = found[text]
        if types:
            flagged.append(rid)
            kinds.update(types)
    return _result(
        "residual_pii",
        "output texts in which the analyzer still finds PII or credentials",
        len(flagged),
        f"count <= {c.max_residual_pii}",
        len(flagged) <= c.max_residual_pii,
        sorted(set(flagged)),
        entity_types=dict(sorted(kinds.items())),
    )


def contamination(q: QualityInput, c: QualityConfig) -> RuleResult:
    evals = q.eval_prompts
    norm_evals = [normalize(e.prompt) for e in evals]
    exact = dict(zip(norm_evals, evals, strict=True))
    hits: dict[str, str] = {}
    for r, prompt in zip(q.records, q.norm_prompts, strict=True):
        e = exact.get(prompt)
        if e is not None:
            hits.setdefault(r.id, f"{e.set}:{e.id}")
    texts = norm_evals + q.norm_prompts
    for i, j, _ in near_duplicate_pairs(
        texts, c.contamination_jaccard, query_from=len(evals), normalized=True
    ):
        r = q.records[j - len(evals)]
        hits.setdefault(r.id, f"{evals[i].set}:{evals[i].id}")
    flagged = sorted(hits)
    return _result(
        "contamination",
        "training prompts equal or near-equal (char 4-gram Jaccard >= "
        f"{c.contamination_jaccard}) to a regression or attack-suite prompt",
        len(flagged),
        f"count <= {c.max_contaminated}",
        len(flagged) <= c.max_contaminated,
        flagged,
        eval_prompts=len(evals),
        matches={k: hits[k] for k in flagged[:_MAX_FLAGGED]},
    )


def unlabeled(q: QualityInput, c: QualityConfig) -> RuleResult:
    flagged = [r.id for r in q.records if r.label == "unlabeled"]
    frac = len(flagged) / max(1, len(q.records))
    return _result(
        "unlabeled",
        "records neither labelled nor recognised by a label rule",
        frac,
        f"fraction <= {c.max_unlabeled_fraction}",
        frac <= c.max_unlabeled_fraction,
        flagged,
    )


RULES: dict[str, RuleFn] = {
    "exact_duplicates": exact_duplicates,
    "near_duplicates": near_duplicates,
    "pair_similarity": pair_similarity,
    "length_ratio": length_ratio,
    "class_coverage": class_coverage,
    "template_overuse": template_overuse,
    "residual_pii": residual_pii,
    "contamination": contamination,
    "unlabeled": unlabeled,
}


# Rules the build runs on the written files after the ones above (overridable the same way).
RULE_NAMES: tuple[str, ...] = (*RULES, "residual_scan")


def residual_scan_result(
    hits: Sequence[ResidualHit], overrides: dict[str, str], files: int
) -> RuleResult:
    """``residual_scan``: any hit of the independent scan fails it (file, line and field
    in ``flagged``, never the value)."""
    where = list(dict.fromkeys(h.where() for h in hits))
    res = _result(
        "residual_scan",
        "PII shapes (e-mail, phone-like, card, ID number, name, address; Presidio's "
        f"predefined recognizers) found by the independent scan in the {files} files the "
        "build writes",
        len(where),
        "count <= 0",
        not where,
        where,
        by_kind=dict(sorted(Counter(h.kind for h in hits).items())),
        by_file=dict(sorted(Counter(h.file for h in hits).items())),
        by_detector=dict(sorted(Counter(h.detector for h in hits).items())),
    )
    if res.status == "fail" and "residual_scan" in overrides:
        res.status = "overridden"
        res.override_reason = overrides["residual_scan"]
    return res


# The costliest rules, in that order: with ``processes > 1`` the first ``processes - 1``
# of them run in forked processes while this one runs the rest.
_HEAVY = ("near_duplicates", "contamination", "pair_similarity")


def run_rules(
    q: QualityInput,
    cfg: QualityConfig,
    overrides: dict[str, str],
    on_rule: Callable[[str], None] | None = None,
    *,
    processes: int = 1,
    meanwhile: Callable[[], None] | None = None,
) -> QualityReport:
    """Run every rule; a failing rule with an override becomes ``overridden``.

    ``processes > 1`` (Linux) runs the heaviest rules in forked copies of this process
    (they read ``q`` as it is, nothing is pickled but the results); the report is the
    same as with ``processes=1``. ``q.scan`` always runs here (it may use a pool of its
    own, which a fork cannot share). ``meanwhile`` (the caller's own work, independent of
    the rules) is called once this process has run its rules, before it waits for the
    forked ones.
    """
    forked: dict[str, Future[RuleResult]] = {}
    pool = None
    if processes > 1 and sys.platform.startswith("linux"):
        offload = [n for n in _HEAVY if n in RULES][: processes - 1]
        # computed once here, before the fork, rather than in every process that needs them
        q.norm_pair_texts, q.norm_prompts, q.norm_chosen, q.pair_feats  # noqa: B018
        global _FORKED_INPUT
        _FORKED_INPUT = (q, cfg)
        try:  # with "fork", the first submit forks every worker: they see _FORKED_INPUT
            pool = ProcessPoolExecutor(len(offload), mp_context=multiprocessing.get_context("fork"))
            forked = {n: pool.submit(_run_forked, n) for n in offload}
        finally:
            _FORKED_INPUT = None
    done: dict[str, RuleResult] = {}
    try:
        # the rules run here first, the forked ones are collected last (they run meanwhile)
        for name in [n for n in RULES if n not in forked] + list(forked):
            if name in forked and meanwhile is not None:
                meanwhile()
                meanwhile = None
            if on_rule:
                on_rule(name)
            done[name] = forked[name].result() if name in forked else RULES[name](q, cfg)
        if meanwhile is not None:
            meanwhile()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    results = []
    for name in RULES:  # the report lists the rules in their order, however they ran
        res = done[name]
        if res.status == "fail" and name in overrides:
            res.status = "overridden"
            res.override_reason = overrides[name]
        results.append(res)
    return QualityReport(passed=all(r.status != "fail" for r in results), rules=results)


_FORKED_INPUT: tuple[QualityInput, QualityConfig] | None = None


def _run_forked(name: str) -> RuleResult:
    # runs in a child forked while _FORKED_INPUT was set
    assert _FORKED_INPUT is not None
    q, cfg = _FORKED_INPUT
    return RULES[name](q, cfg)
