"""``posttrain serve``: an OpenAI-compatible gateway that enforces the behaviour contract.

``build_gateway(workspace)`` reads ``serve.yaml`` (:class:`ServeConfig`), resolves what
to serve (``--model``, else the registry's champion, else the base model), and puts an
upstream (:mod:`~posttrain.serve.upstream`: in-process ``hf``, an OpenAI-compatible
engine by URL, or a stub) behind the runtime guard (:mod:`~posttrain.serve.guard`), API
keys (:mod:`~posttrain.serve.keys`), limits, Prometheus metrics and the live failure
capture (:mod:`~posttrain.serve.capture`); ``create_app(gateway)`` is the FastAPI app
(:mod:`~posttrain.serve.app`), ``run_server`` runs it on uvicorn. The wire format is in
:mod:`~posttrain.serve.protocol`.

Nothing heavy is imported here: FastAPI loads with :mod:`posttrain.serve.app`, the model
with the ``hf`` upstream, Presidio when the capture starts.
"""

from __future__ import annotations

from posttrain.serve.config import ServeConfig, load_serve_config, parse_serve_config
from posttrain.serve.keys import KeyStore
from posttrain.serve.protocol import GuardDecision
from posttrain.serve.server import build_gateway, resolve_model, run_server

__all__ = [
    "GuardDecision",
    "KeyStore",
    "ServeConfig",
    "build_gateway",
    "load_serve_config",
    "parse_serve_config",
    "resolve_model",
    "run_server",
]
