"""Data build benchmark: 100k synthetic failures end to end, beside Presidio used the usual way.

    .venv/bin/python bench/bench_data.py [--n 100000] [--baseline-n 2000] [--write-md]
                                         [--before-rev GIT_REV ...] [--contract FILE]

1. generates the records (bench/gen_failures.py, fixed seed) unless present;
2. times ``posttrain data build`` on them as a user runs it (a fresh process, imports
   included): wall and CPU seconds (the build and its worker processes), with the load
   average around it, as other jobs share the 2 cores; with ``--before-rev`` (repeatable) the same
   build with the data stage as it was at that git revision first (``git archive`` of
   ``src/`` into a temporary folder; no git state changes); the table says whether both
   gave the same data version (a change to what the build writes changes it);
3. runs Presidio's ``AnalyzerEngine`` the usual way (all predefined recognizers through
   the engine, spaCy pipeline) on the texts of the first ``--baseline-n`` records and
   extrapolates to N; our analyzer runs on the same texts for a direct ratio;
4. recall of both on the PII planted in those records and on the labelled PII set.

The official spaCy model wheels are not on PyPI (only unvetted re-uploads), so the spaCy
pipeline is ``spacy.blank("en")`` wired into Presidio's ``SpacyNlpEngine`` (no NER: the
baseline is *faster* than with ``en_core_web_lg``, and misses names it could find).
"""

# ruff: noqa: E501  (tables of literal data: regexes, templates, test strings)

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def presidio_baseline():
    """AnalyzerEngine with every predefined recognizer and a spaCy pipeline, offline."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    nlp_engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank-en"}])
    nlp_engine.nlp = {"en": spacy.blank("en")}  # load() would try to download the model
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


def texts_of(rec: dict[str, object]) -> list[str]:
    return [
        str(rec[k])
        for k in ("id", "prompt", "bad_answer", "ideal_answer", "context", "source")
        if rec.get(k)
    ]


def covered(text: str, value: str, spans: list[tuple[int, int]]) -> bool:
    start = text.find(value)
    if start < 0:
        return True  # not in this text
    pos, end = start, start + len(value)
    for s, e in sorted(spans):
        if s <= pos < e:
            pos = e
    return pos >= end


class Timed:
    """One timed ``posttrain data build`` run."""

    def __init__(self, wall: float, cpu: float, load: tuple[float, float], build: dict) -> None:
        self.wall, self.cpu, self.load, self.build = wall, cpu, load, build

    def line(self) -> str:
        return (
            f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU, load average {self.load[0]:.1f} "
            f"before / {self.load[1]:.1f} after, stages {self.build.get('seconds')}"
        )


def timed_build(
    cmd: list[str], ws: Path, env: dict[str, str], extra: tuple[str, ...] = ()
) -> Timed:
    """Run ``cmd data build -w ws --json [extra]``; wall and CPU seconds (children
    included)."""
    load0 = os.getloadavg()[0]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*cmd, "data", "build", "-w", str(ws), "--json", *extra],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of the build process and its workers: robust to other jobs on the cores
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if proc.returncode not in (0, 1):
        sys.exit(f"build failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return Timed(wall, cpu, (load0, os.getloadavg()[0]), json.loads(proc.stdout))


def _ratio_words(base: float, ours: float) -> str:
    """How the baseline's time compares with ours, in words: "**3.1x** slower" or "**2.2x**
    faster" (with few records our first call's dictionary loading can dominate)."""
    r = base / max(ours, 1e-9)
    return f"**{r:.1f}x** slower" if r >= 1 else f"**{1 / r:.1f}x** faster"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--baseline-n", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/posttrain-bench/ws"))
    ap.add_argument(
        "--write-md",
        action="store_true",
        help='replace the "## Data build" section of BENCHMARKS.md',
    )
    ap.add_argument(
        "--before-rev",
        action="append",
        default=[],
        help="also time the build at this git revision (e.g. 4454fc7), first; repeatable",
    )
    ap.add_argument(
        "--contract",
        type=Path,
        help="copy this contract into the workspace (e.g. examples/support-bot/contract.yaml)",
    )
    args = ap.parse_args()

    failures = args.out / "data" / "failures.jsonl"
    if not failures.exists() or sum(1 for _ in failures.open()) != args.n:
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "gen_failures.py"),
                "--n",
                str(args.n),
                "--out",
                str(args.out),
            ],
            check=True,
        )

    # --- ours, end to end, as a user runs it ---------------------------------------------
    # The generated workspace has no contract (class coverage off, no pair checks), as in
    # every earlier run of this benchmark, unless --contract copies one in; either way the
    # build before and the build now run the same way.
    no_contract: tuple[str, ...] = ("--no-contract",)
    if args.contract is not None:
        shutil.copyfile(args.contract, args.out / "contract.yaml")
        catalog = args.contract.parent / "data" / "catalog.jsonl"  # what its checks read
        if catalog.is_file():
            shutil.copyfile(catalog, args.out / "data" / "catalog.jsonl")
        no_contract = ()
    else:
        (args.out / "contract.yaml").unlink(missing_ok=True)
        (args.out / "data" / "catalog.jsonl").unlink(missing_ok=True)
    befores: list[tuple[str, Timed]] = []
    for rev in args.before_rev:
        src = Path(f"/tmp/posttrain-bench/rev-{rev}")
        if not (src / "src").is_dir():
            src.mkdir(parents=True, exist_ok=True)
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", rev, "src"],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        old_cli = [
            sys.executable,
            "-c",
            "import sys; from posttrain.cli import main; sys.exit(main(sys.argv[1:]))",
        ]
        env = {**os.environ, "PYTHONPATH": str(src / "src")}
        befores.append((rev, timed_build(old_cli, args.out, env, no_contract)))
        print(f"before ({rev}): {befores[-1][1].line()}", flush=True)
    run = timed_build(
        [str(Path(sys.executable).with_name("posttrain"))], args.out, dict(os.environ), no_contract
    )
    build = run.build
    print(f"posttrain data build: {run.line()}", flush=True)
    for rev, before in befores:
        if before.build["data_version"] != build["data_version"]:
            # a change that rewrites outputs (new templates, quarantined pairs) changes it
            # too: said in the table, not an error
            print(
                f"data version at {rev}: {before.build['data_version']}, now {build['data_version']}"
            )

    # Presidio's loader instantiates every PatternRecognizer subclass it can see, ours
    # included, so the baseline engine is built before posttrain.data.deid is imported.
    engine = presidio_baseline()

    # --- the same texts through both analyzers -------------------------------------------
    from posttrain.data.deid import Analyzer
    from posttrain.data.pii_eval import evaluate_pii, load_labelled

    recs = []
    for line in failures.open(encoding="utf-8"):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "prompt" in obj:
            recs.append(obj)
        if len(recs) >= args.baseline_n:
            break
    truth = {}
    for line in (args.out / "pii_truth.jsonl").open(encoding="utf-8"):
        t = json.loads(line)
        truth[t["id"]] = t["values"]
    texts = [t for r in recs for t in texts_of(r)]

    ours = Analyzer()
    t0 = time.perf_counter()
    ours_found = [[(x.start, x.end) for x in ours.analyze(t)] for t in texts]
    ours_sub = time.perf_counter() - t0

    t0 = time.perf_counter()
    base_found = [
        [(x.start, x.end) for x in engine.analyze(t, language="en", score_threshold=0.5)]
        for t in texts
    ]
    base_sub = time.perf_counter() - t0

    def recall(found: list[list[tuple[int, int]]]) -> tuple[float, int]:
        hit = total = 0
        i = 0
        for r in recs:
            ts = texts_of(r)
            spans = found[i : i + len(ts)]
            i += len(ts)
            for v in truth.get(str(r["id"]), []):
                total += 1
                hit += all(covered(t, v, s) for t, s in zip(ts, spans, strict=True))
        return (hit / total if total else 1.0), total

    ours_rec, planted = recall(ours_found)
    base_rec, _ = recall(base_found)
    labelled = load_labelled()
    ours_lab = evaluate_pii(analyzer=ours)
    hit = total = 0
    for item in labelled:
        spans = [
            (x.start, x.end) for x in engine.analyze(item.text, language="en", score_threshold=0.5)
        ]
        for e in item.entities:
            total += 1
            hit += covered(item.text, e.value, spans)
    base_lab = hit / total

    per_rec_base = base_sub / len(recs)
    lines = [
        "## Data build",
        "",
        f"`{' '.join([os.path.relpath(sys.executable), *sys.argv])}` on {platform.machine()}, "
        f"{os.cpu_count()} cores (shared), python {platform.python_version()}. "
        f"{args.n} synthetic failures from `bench/gen_failures.py` (seed 7; ~30 % carry PII).",
        "",
        "| | posttrain data build | Presidio AnalyzerEngine (usual way) |",
        "|---|---|---|",
        f"| end to end, {args.n} records | **{run.wall:.1f} s wall, {run.cpu:.1f} s CPU** "
        f"(fresh process, imports and worker processes included; load average "
        f"{run.load[0]:.1f} before / {run.load[1]:.1f} after, from other jobs on the 2 "
        f"cores; status {build['status']}) | analysis alone ≈ {per_rec_base * args.n:.0f} s "
        f"(extrapolated from {len(recs)} records) |",
        *(
            f"| the same build at `{rev}` (run first, same records) | "
            f"{before.wall:.1f} s wall, {before.cpu:.1f} s CPU (load average "
            f"{before.load[0]:.1f} / {before.load[1]:.1f}); stages {before.build.get('seconds')}; "
            f"same data version: {before.build['data_version'] == build['data_version']} | |"
            for rev, before in befores
        ),
        f"| analysis of the same {len(texts)} texts ({len(recs)} records; ours includes its "
        f"first call's loading of jieba's dictionary, ~1 s) | {ours_sub:.2f} s | "
        f"{base_sub:.2f} s ({_ratio_words(base_sub, ours_sub)}) |",
        f"| recall on planted PII ({planted} values) | {ours_rec:.4f} | {base_rec:.4f} |",
        f"| recall on the labelled set ({sum(len(i.entities) for i in labelled)} entities, en+zh) | "
        f"{ours_lab.recall:.4f} (precision {ours_lab.precision:.4f}) | {base_lab:.4f} |",
        "",
        f"**Target (≤ 60 s end to end on this 2-core machine): "
        f"{'met' if run.wall <= 60 else 'not met'}** in this run: {run.wall:.1f} s wall, "
        f"{run.cpu:.1f} s CPU over the build process and its workers (wall depends on what "
        "else runs on the 2 cores: compare the load averages).",
        "",
        f"Build stages (s): {json.dumps(build.get('seconds', {}))}. Data version "
        f"`{build['data_version']}`. Counts: read "
        f"{build['counts']['read']}, accepted {build['counts']['accepted']}, quarantined "
        f"{build['counts']['quarantined']}, prefs {build['counts']['prefs']}.",
        "",
        "Baseline: Presidio "
        "`AnalyzerEngine` with `load_predefined_recognizers()` (all predefined recognizers) and "
        '`SpacyNlpEngine` over `spacy.blank("en")`: the official spaCy model wheels are not on '
        "PyPI (only unvetted third-party re-uploads, not installed), and Presidio's `load()` "
        "would download one. Without NER "
        "the baseline is faster than with `en_core_web_lg`, so the ratio is conservative. Ours: "
        "the same Presidio recognizer/anonymizer structure with our recognizers, cheap trigger "
        "prefilters and direct recognizer calls (the engine's per-call overhead alone is "
        "~75 µs/text); the build de-identifies in one worker process per core (forked at "
        "start, so their start-up overlaps the ingest), rescans for residual PII only the "
        "texts de-identification changed plus the ones it never saw, and runs the "
        "near-duplicate rule in a forked process beside the other rules. Both sides see the same texts; the labelled set is ours "
        "(`src/posttrain/resources/pii/labelled.jsonl`), not an independent benchmark.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_md:
        md = ROOT / "BENCHMARKS.md"
        old = md.read_text(encoding="utf-8") if md.exists() else "# Benchmarks\n\n"
        section = re.compile(r"## Data build\n.*?(?=\n## |\Z)", flags=re.S)
        if section.search(old):  # replaced in place: the other sections stay as they are
            new = section.sub(lambda _: text.rstrip() + "\n", old, count=1)
        else:
            new = old.rstrip() + "\n\n" + text
        md.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
