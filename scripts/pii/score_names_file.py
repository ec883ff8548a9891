"""Score the de-identifier on marked-up files of Chinese names in context.

    .venv/bin/python scripts/pii/score_names_file.py --blind      # every blind file
    .venv/bin/python scripts/pii/score_names_file.py --misses tune7_zh_names.txt

(a bare file name is looked up in ``src/posttrain/resources/pii``)

For each file (``[[P:name]]``, ``[[A:address]]``, ``[[T:phone]]`` marks, as
``make_labelled.zh_name_rows`` reads them): PERSON and ADDRESS recall and precision as
``posttrain data pii-eval`` scores them (``pii_eval.score_names_file``: what the
de-identifier would replace, JSON values too). ``--misses`` lists the missed names and
the false positives, and is refused for a ``blind*`` file: those are only ever scored,
never read for what they miss (issue 14's protocol: a rule is written from a tune file,
and a blind file written apart says how far it carries).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posttrain.data.deid import Analyzer, Deidentifier, DeidPolicy
from posttrain.data.pii_eval import _covered, score_names_file
from posttrain.resources.pii.make_labelled import OUT, zh_name_rows

PII = OUT.parent


def _misses(path: Path, deid: Deidentifier) -> list[str]:
    """The names and addresses missed and the detections that overlap no mark."""
    out: list[str] = []
    for row in zh_name_rows(path, "score"):
        text, ents = str(row["text"]), list(row["entities"])  # type: ignore[call-overload]
        found = [(t, a, b) for t, a, b in deid.locate(text) if t in ("PERSON", "ADDRESS")]
        for e in ents:
            spans = [(a, b) for t, a, b in found if t == e["type"]]
            if e["type"] in ("PERSON", "ADDRESS") and not _covered(e["start"], e["end"], spans):
                out.append(f"  miss {e['type']} {e['value']} | {text}")
        for t, a, b in found:
            if not any(a < e["end"] and e["start"] < b for e in ents):
                out.append(f"  false {t} {text[a:b]} | {text}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--blind", action="store_true", help="every blind*_zh_names.txt file")
    ap.add_argument("--misses", action="store_true", help="list misses (tune files only)")
    args = ap.parse_args()
    args.files = [f if f.exists() or f.parent != Path() else PII / f for f in args.files]
    if args.blind:
        args.files += sorted(PII.glob("blind*_zh_names.txt"))
    if not args.files:
        ap.error("name a file or give --blind")
    if args.misses and any(f.name.startswith("blind") for f in args.files):
        print("--misses is for tune files: a blind file is only ever scored", file=sys.stderr)
        return 2
    analyzer = Analyzer()
    deid = Deidentifier(DeidPolicy().model_copy(update={"actions": {}}), analyzer)
    for path in args.files:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            return 2
        scores = score_names_file(path, analyzer)
        parts = [
            f"{t} recall {c.found}/{c.expected} = {c.recall:.4f}, "
            f"precision {c.correct}/{c.detections} = {c.precision:.4f}"
            for t, c in scores.items()
        ]
        print(f"{path.name}: " + "; ".join(parts))
        if args.misses:
            for line in _misses(path, deid):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
