"""The human review queue: people label the judge's answers, and their labels count.

* :mod:`.sample` - :func:`sample_for_review` picks every uncertain item of an evaluation,
  then a stratified random sample (class × language × verdict, fixed seed), into a queue
  file (:func:`write_queue`);
* :mod:`.record` - :func:`import_queue` records a filled-in queue file; :func:`to_label`
  one answer labelled in the terminal (``posttrain review label``);
* :mod:`.store` - ``reports/review/labels.jsonl``, append-only (:func:`append_labels`,
  :func:`read_labels`, :func:`labels_by_key`: the latest label of each answer, which
  :func:`posttrain.evaluate.evaluate` applies with ``EvalConfig.review_labels``);
* :mod:`.agreement` - :func:`agreement`: Cohen's kappa, precision and recall of the judge
  against the people, per month, week or batch.
"""

from __future__ import annotations

from posttrain.review.agreement import (
    AgreementReport,
    AgreementRow,
    GroupBy,
    agreement,
    cohen_kappa,
)
from posttrain.review.record import ImportResult, import_queue, to_label
from posttrain.review.sample import (
    ReviewItem,
    ReviewQueue,
    read_queue,
    sample_for_review,
    write_queue,
)
from posttrain.review.store import (
    LABELS,
    LABELS_FILE,
    ReviewLabel,
    answer_sha256,
    append_labels,
    labels_by_key,
    read_labels,
)

__all__ = [
    "LABELS",
    "LABELS_FILE",
    "AgreementReport",
    "AgreementRow",
    "GroupBy",
    "ImportResult",
    "ReviewItem",
    "ReviewLabel",
    "ReviewQueue",
    "agreement",
    "answer_sha256",
    "append_labels",
    "cohen_kappa",
    "import_queue",
    "labels_by_key",
    "read_labels",
    "read_queue",
    "sample_for_review",
    "to_label",
    "write_queue",
]
