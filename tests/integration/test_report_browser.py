"""The HTML report in a real browser: headless Chromium renders it and the screenshot
must show the plots (their bar colours), which a page without the images does not."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install -y chromium; "
    ".ci/run installs it)",
)


def _results(folder: Path, hit_every: int, fail_every: int) -> Path:
    from posttrain.evaluate.results import ClauseResult, ItemResult

    items = []
    for lang in ("en", "zh"):
        for cls in ("jailbreak", "injection", "privacy", None):
            for i in range(20):
                failed = i % (hit_every if cls else fail_every) == 0
                items.append(
                    ItemResult(
                        id=f"{cls}-{lang}-{i}",
                        suite=cls or "regression",
                        attack_class=cls,
                        lang=lang,
                        key=f"{cls}-{lang}-{i}",
                        completion="ok",
                        latency_s=0.4 + i / 50,
                        refused=False,
                        verdicts=[
                            ClauseResult(
                                clause="c",
                                dimension="safety" if cls else "format",
                                severity="hard",
                                check="no_pii_leak" if cls else "json_schema",
                                status="fail" if failed else "pass",
                            )
                        ],
                    )
                )
    folder.mkdir(parents=True)
    (folder / "items.jsonl").write_text(
        "".join(json.dumps(it.model_dump(mode="json")) + "\n" for it in items)
    )
    return folder


def _screenshot(html_file: Path, tmp: Path) -> Path:
    shot = tmp / f"{html_file.stem}.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,1600",
            html_file.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    return shot


def _count_near(png: Path, colour: str, tol: int = 40) -> int:
    from PIL import Image

    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    img = Image.open(png).convert("RGB")
    return sum(
        1 for px in img.getdata() if all(abs(a - b) <= tol for a, b in zip(px, target, strict=True))
    )


def test_screenshot_of_the_report_shows_the_plots(tmp_path: Path) -> None:
    from posttrain.report import (
        BASELINE_COLOUR,
        CANDIDATE_COLOUR,
        TrainingInfo,
        collect_report,
        write_html_report,
    )

    base = _results(tmp_path / "base", hit_every=2, fail_every=3)
    cand = _results(tmp_path / "cand", hit_every=5, fail_every=6)
    report = collect_report("loop-browser", workspace=tmp_path, baseline=base, candidate=cand)
    report = report.model_copy(
        update={
            "training": [
                TrainingInfo(
                    run_id="sft-x",
                    recipe="sft",
                    status="finished",
                    path=str(tmp_path),
                    loss=[(s, 3.0 / s) for s in range(1, 30)],
                )
            ]
        }
    )
    page = write_html_report(report, tmp_path / "report.html")
    shot = _screenshot(page, tmp_path)

    # The same page with every image taken out: what the text and tables alone paint.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r'src="data:image/png;base64,[^"]+"', 'src=""', page.read_text()))
    bare_shot = _screenshot(bare, tmp_path)

    for colour in (BASELINE_COLOUR, CANDIDATE_COLOUR):
        with_plots = _count_near(shot, colour)
        without = _count_near(bare_shot, colour)
        # The bars and curves of four plots cover thousands of pixels in each colour.
        assert with_plots > 5000, f"{colour}: only {with_plots} pixels in the screenshot"
        assert without < 100, f"{colour}: {without} pixels on the page without images"
