"""What ``posttrain serve`` serves, and running it on uvicorn.

The model, in this order: ``--model`` (a name or folder, registry or not), serve.yaml's
``model``, the registry's ``champion`` (its files fingerprinted again before they are
served: :meth:`~posttrain.release.registry.Registry.verify_served`), else the loop's
default base model (:class:`~posttrain.pipeline.state.LoopConfig`).

Serving the registry's champion (no ``--model``, no serve.yaml ``model``), the gateway
follows the workspace's staged rollout (:mod:`posttrain.serve.router`): each version it
routes to gets serve.yaml's ``versions.<version>.upstream``, else its ``upstream`` on the
version's model folder (whose files are fingerprinted again before an in-process load).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from posttrain.contract import load_contract
from posttrain.release.live import LiveStore
from posttrain.release.rollout import STATE_FILE as ROLLOUT_STATE
from posttrain.release.rollout import RolloutState
from posttrain.serve.capture import FailureCapture
from posttrain.serve.config import HFUpstreamConfig, ServeConfig, load_serve_config
from posttrain.serve.gateway import Gateway, ServedModel
from posttrain.serve.guard import RuntimeGuard
from posttrain.serve.keys import KeyStore
from posttrain.serve.logs import configure_logging, log
from posttrain.serve.metrics import ServeMetrics
from posttrain.serve.recorder import LiveRecorder, RolloutController
from posttrain.serve.router import Router
from posttrain.serve.upstream import Upstream, make_upstream
from posttrain.workspace import Workspace

__all__ = ["build_gateway", "resolve_model", "run_server"]


def resolve_model(workspace: Path, config: ServeConfig, model: str | None = None) -> ServedModel:
    """The model to serve (see the module docstring). Raises
    :class:`~posttrain.errors.FingerprintMismatch` when the champion's files changed."""
    name = model or config.model
    if name:
        return ServedModel(
            id=Path(name).name if Path(name).is_dir() else name, model=name, aliases=(name,)
        )
    ws = Workspace(workspace)
    from posttrain.release.registry import Registry

    registry = Registry(ws.registry)
    if "champion" in registry.state().aliases:
        mv = registry.verify_served("champion")
        return ServedModel(
            id=mv.version,
            model=mv.model_path or mv.model,
            version=mv.version,
            contract_hash=mv.contract_hash,
            aliases=("champion", mv.model),
        )
    from posttrain.pipeline.state import LoopConfig

    base = LoopConfig().model
    return ServedModel(id=base, model=base, aliases=(base,))


def build_gateway(
    workspace: Path,
    config: ServeConfig | None = None,
    *,
    model: str | None = None,
    upstream: Upstream | None = None,
    log_content: bool = False,
    capture: FailureCapture | None = None,
    upstreams: dict[str, Upstream] | None = None,
    follow_rollout: bool | None = None,
    live_store: LiveStore | None = None,
    rollout_tick: Callable[[LiveStore], RolloutState | None] | None = None,
) -> Gateway:
    """A gateway on ``workspace`` (serve.yaml read when ``config`` is None); ``upstream``
    replaces the one serve.yaml describes (tests), ``capture`` the failure capture.
    Tests also give other versions' ``upstreams`` (by version), ``follow_rollout`` (the
    default: when serving the registry's champion), the ``live_store`` (default: the
    workspace's) and ``rollout_tick`` (in place of ``Rollout.auto_tick``)."""
    workspace = Path(workspace)
    ws = Workspace(workspace)
    config = config or load_serve_config(workspace)
    contract = load_contract(
        config.contract if config.contract.is_absolute() else workspace / config.contract
    )
    served = resolve_model(workspace, config, model)
    if served.contract_hash and served.contract_hash != contract.content_hash:
        log.warning(
            "the served version was gated under another contract than the workspace's",
            extra={"version": served.version, "contract_hash": contract.content_hash},
        )
    default_config = _upstream_config(config, served.version)
    if upstream is None and isinstance(default_config, HFUpstreamConfig):
        from posttrain.models import resolve

        resolve(served.model)  # an unknown name fails here (exit 2), not in the server
    generation, dtype = _generation(workspace, config)
    default_config = _with_dtype(default_config, dtype)
    guard = RuntimeGuard(contract, config.guard, config.limits)
    keys = KeyStore(Workspace(workspace).cache) if config.auth.required else None
    if capture is None and config.capture.enabled:
        path = config.capture.path
        capture = FailureCapture(
            path if path.is_absolute() else workspace / path, config.capture.policy
        )
    follow = follow_rollout if follow_rollout is not None else not (model or config.model)
    router = Router(ws.rollout / ROLLOUT_STATE, served.version or served.id, follow=follow)
    metrics = ServeMetrics()
    store = live_store or LiveStore.for_workspace(ws)
    controller = (
        RolloutController(workspace, store, config.rollout_tick_s, tick=rollout_tick)
        if config.rollout == "auto" and follow
        else None
    )
    recorder = LiveRecorder(store, metrics, max_queue=config.live_queue, controller=controller)

    def load_version(version: str) -> Upstream:
        from posttrain.release.registry import Registry

        registry = Registry(ws.registry)
        chosen = _with_dtype(_upstream_config(config, version), dtype)
        # In-process weights are fingerprinted again: the files must be the gated ones.
        is_hf = isinstance(chosen, HFUpstreamConfig)
        mv = registry.verify_served(version) if is_hf else registry.get(version)
        return make_upstream(chosen, mv.model_path or mv.model)

    return Gateway(
        config=config,
        workspace=workspace,
        served=served,
        upstream=upstream or make_upstream(default_config, served.model),
        guard=guard,
        keys=keys,
        capture=capture if config.capture.enabled else None,
        log_content=log_content,
        router=router,
        upstreams=upstreams,
        load_version=load_version,
        recorder=recorder,
        metrics=metrics,
        generation=generation,
    )


def _generation(workspace: Path, config: ServeConfig) -> tuple[Any, str]:
    """The workspace's generation.yaml's parameters and dtype (resolved), with serve.yaml's
    ``limits.default_max_tokens`` as an explicit, logged override; raises
    :class:`ConfigError` when the length is above the server's cap."""
    from posttrain.errors import ConfigError
    from posttrain.generation.params import resolve_generation

    resolved = resolve_generation(workspace, max_new_tokens=config.limits.default_max_tokens)
    if resolved.overrides:
        log.warning(
            "serve.yaml overrides the workspace's generation parameters",
            extra={"source": resolved.source, "overrides": resolved.overrides},
        )
    else:
        log.info("generation parameters", extra={"source": resolved.source})
    cap = config.limits.max_tokens_cap
    if resolved.params.max_new_tokens > cap:
        raise ConfigError(
            f"max_new_tokens {resolved.params.max_new_tokens} ({resolved.source}) is above "
            f"serve.yaml limits.max_tokens_cap ({cap})",
            hint="raise limits.max_tokens_cap, or lower max_new_tokens in generation.yaml",
        )
    return resolved.params, resolved.dtype


def _with_dtype(upstream: Any, dtype: str) -> Any:
    """An hf upstream without a dtype of its own gets the workspace's (the one evaluation
    judged the model in); one with another dtype keeps it, logged as an override."""
    if not isinstance(upstream, HFUpstreamConfig):
        return upstream
    if upstream.dtype is None:
        return upstream.model_copy(update={"dtype": dtype})
    from posttrain.models.loading import resolve_dtype

    if resolve_dtype(upstream.dtype) != dtype:
        log.warning(
            "serve.yaml's upstream dtype overrides the workspace's generation.yaml",
            extra={"workspace_dtype": dtype, "upstream_dtype": upstream.dtype},
        )
    return upstream


def _upstream_config(config: ServeConfig, version: str | None) -> Any:
    """serve.yaml's upstream for ``version``: its ``versions`` entry, else ``upstream``."""
    override = config.versions.get(version) if version else None
    return override.upstream if override is not None else config.upstream


def run_server(gateway: Gateway, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``gateway`` on uvicorn until interrupted (JSON logs on stderr)."""
    import uvicorn

    from posttrain.serve.app import create_app

    configure_logging()
    uvicorn.run(
        create_app(gateway),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
