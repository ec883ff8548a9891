"""Reports of a run: the HTML report, the experiment log and the model card.

:func:`collect_report` gathers a :class:`RunReport` from the files the stages wrote
(evaluation results, gate verdict, training runs); the three writers render it:

* :func:`write_html_report` - one self-contained HTML page with plots (matplotlib, base64
  PNG): loss curves, attack hit rate per class and language with intervals, over-refusal,
  regression pass rate, latency, the flips and the gate table;
* :func:`upsert_entry` - the run's entry in ``reports/posttrain/experiment-log.md``
  (written again, it replaces the entry: one entry per run);
* :func:`write_model_card` - the card of a registered version (Mitchell et al.).
"""

from __future__ import annotations

from posttrain.report.explog import read_entry_ids, render_entry, upsert_entry
from posttrain.report.html import render_html, write_html_report
from posttrain.report.model import (
    KEY_METRICS,
    EvalSide,
    ReleaseInfo,
    RunReport,
    TrainingInfo,
    collect_report,
    training_info,
)
from posttrain.report.modelcard import CardContext, render_model_card, write_model_card
from posttrain.report.plots import BASELINE_COLOUR, CANDIDATE_COLOUR, Plot, render_plots

__all__ = [
    "BASELINE_COLOUR",
    "CANDIDATE_COLOUR",
    "KEY_METRICS",
    "CardContext",
    "EvalSide",
    "Plot",
    "ReleaseInfo",
    "RunReport",
    "TrainingInfo",
    "collect_report",
    "read_entry_ids",
    "render_entry",
    "render_html",
    "render_model_card",
    "render_plots",
    "training_info",
    "upsert_entry",
    "write_html_report",
    "write_model_card",
]
