"""The low layer: pieces every stage may import, one copy each.

* :mod:`.auditlog` — the hash-chained audit log (``reports/audit-log.jsonl``) and
  :func:`~posttrain.core.auditlog.append_event`, which every stage records with;
  :mod:`.auditchain` — its format and ``verify_log`` (against anchors and signed
  checkpoints), re-exported by ``auditlog``.
* :mod:`.console` — the rich ``console`` (stdout) and ``err_console`` (stderr).
* :mod:`.provenance` — :func:`~posttrain.core.provenance.provenance`: posttrain's and the
  workspace's git revisions and dirty flags, package versions, input hashes.
* :mod:`.hashing` — ``file_sha256`` (streamed) and ``stable_hash`` (canonical JSON).
* :mod:`.fmt` — ``fmt_rate`` (a rate with its 95% interval) and ``fmt_num``.

``posttrain.core`` imports nothing from the stage packages (contract, data, train, ...,
cli): only :mod:`posttrain.errors`, :mod:`posttrain.paths`, :mod:`posttrain.workspace`,
``posttrain.__version__`` and third-party libraries (``tests/unit/core/test_layers.py``
checks it). The submodules are imported by name (``from posttrain.core.console import
err_console``), so importing one pulls in none of the others.
"""

from __future__ import annotations

__all__: list[str] = []
