"""Score the de-identifier on marked-up files of Chinese names in context.

    .venv/bin/python scripts/pii/score_names_file.py --blind      # every blind file
    .venv/bin/python scripts/pii/score_names_file.py --misses tune7_zh_names.txt

(a bare file name is looked up in ``src/posttrain/resources/pii``)

For each file (``[[P:name]]``, ``[[A:address]]``, ``[[T:phone]]`` marks, as
``make_labelled.zh_name_rows`` reads them): PERSON and ADDRESS recall and precision as
``posttrain data pii-eval`` scores them (what the de-identifier would replace, JSON values
too). ``--misses`` lists the missed names and the false positives, and is refused for a
``blind*`` file: those are only ever scored, never read for what they miss (issue 14's
protocol: a rule is written from a tune file, and a blind file written apart says how far
it carries).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posttrain.data.deid import Analyzer, Deidentifier, DeidPolicy
from posttrain.data.pii_eval import _covered
from posttrain.resources.pii.make_labelled import OUT, zh_name_rows

PII = OUT.parent


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
    deid = Deidentifier(DeidPolicy().model_copy(update={"actions": {}}), Analyzer())
    for path in args.files:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            return 2
        counts = {t: [0, 0, 0, 0] for t in ("PERSON", "ADDRESS")}  # expected found det correct
        lines: list[str] = []
        for row in zh_name_rows(path, "score"):
            text, ents = str(row["text"]), list(row["entities"])  # type: ignore[call-overload]
            located = deid.locate(text)
            for typ, c in counts.items():
                spans = [(a, b) for t, a, b in located if t == typ]
                for e in ents:
                    if e["type"] == typ:
                        c[0] += 1
                        hit = _covered(e["start"], e["end"], spans)
                        c[1] += hit
                        if not hit:
                            lines.append(f"  miss {typ} {e['value']} | {text}")
                for a, b in spans:
                    c[2] += 1
                    ok = any(a < e["end"] and e["start"] < b for e in ents if e["type"] == typ)
                    c[3] += ok
                    if not ok:
                        lines.append(f"  false {typ} {text[a:b]} | {text}")
        parts = [
            f"{t} recall {c[1]}/{c[0]} = {c[1] / max(c[0], 1):.4f}, "
            f"precision {c[3]}/{c[2]} = {c[3] / max(c[2], 1):.4f}"
            for t, c in counts.items()
        ]
        print(f"{path.name}: " + "; ".join(parts))
        if args.misses:
            print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
