"""What ``posttrain serve`` serves, and running it on uvicorn.

The model, in this order: ``--model`` (a name or folder, registry or not), serve.yaml's
``model``, the registry's ``champion`` (its files fingerprinted again before they are
served: :meth:`~posttrain.release.registry.Registry.verify_served`), else the loop's
default base model (:class:`~posttrain.pipeline.state.LoopConfig`).
"""

from __future__ import annotations

from pathlib import Path

from posttrain.contract import load_contract
from posttrain.serve.capture import FailureCapture
from posttrain.serve.config import HFUpstreamConfig, ServeConfig, load_serve_config
from posttrain.serve.gateway import Gateway, ServedModel
from posttrain.serve.guard import RuntimeGuard
from posttrain.serve.keys import KeyStore
from posttrain.serve.logs import configure_logging, log
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
) -> Gateway:
    """A gateway on ``workspace`` (serve.yaml read when ``config`` is None); ``upstream``
    replaces the one serve.yaml describes (tests), ``capture`` the failure capture."""
    workspace = Path(workspace)
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
    if upstream is None and isinstance(config.upstream, HFUpstreamConfig):
        from posttrain.models import resolve

        resolve(served.model)  # an unknown name fails here (exit 2), not in the server
    guard = RuntimeGuard(contract, config.guard, config.limits)
    keys = KeyStore(Workspace(workspace).cache) if config.auth.required else None
    if capture is None and config.capture.enabled:
        path = config.capture.path
        capture = FailureCapture(
            path if path.is_absolute() else workspace / path, config.capture.policy
        )
    return Gateway(
        config=config,
        workspace=workspace,
        served=served,
        upstream=upstream or make_upstream(config.upstream, served.model),
        guard=guard,
        keys=keys,
        capture=capture if config.capture.enabled else None,
        log_content=log_content,
    )


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
