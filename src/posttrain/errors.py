"""The exception tree of posttrain, in one place.

Every error a user can cause derives from :class:`PosttrainError` and carries an exit code
and, where we know one, a hint that says how to fix it. The CLI prints ``message`` and
``hint`` and exits with ``exit_code``; it never shows a traceback for these.

Exit codes (documented in README):

* 0 - success
* 1 - a verdict that blocks (a broken hard threshold, a BLOCK gate)
* 2 - usage or input error (bad flag, unreadable file, invalid config, unknown model)
* 3 - evaluation or backend error (the model server failed, generation crashed)
* 4 - inconclusive: too few samples to decide (a gate or a rollout step); a person decides

The tree (exit code in brackets; a subclass keeps its parent's unless it says otherwise)::

    PosttrainError [2]
    ├── UsageError [2]
    │   ├── ConfigError
    │   ├── InputError
    │   └── ModelNotFoundError
    ├── MissingDependencyError [2]
    ├── ConversionError [3]
    ├── BackendError [3]
    │   ├── BackendTimeoutError
    │   └── UpstreamUnavailable
    ├── NetworkAccessError [3]
    ├── TrainingDivergedError [1]
    ├── SafetyStopError [1]
    ├── LoopStopped [1]
    ├── PromotionRefused [1]
    ├── FingerprintMismatch [1]
    └── AuditLogBroken [1]

Packages re-export the errors they raise (``posttrain.train.SafetyStopError`` is
``posttrain.errors.SafetyStopError``), so either import works.
"""

from __future__ import annotations

__all__ = [
    "AuditLogBroken",
    "BackendError",
    "BackendTimeoutError",
    "ConfigError",
    "ConversionError",
    "FingerprintMismatch",
    "InputError",
    "LoopStopped",
    "MissingDependencyError",
    "ModelNotFoundError",
    "NetworkAccessError",
    "PosttrainError",
    "PromotionRefused",
    "SafetyStopError",
    "TrainingDivergedError",
    "UpstreamUnavailable",
    "UsageError",
]


class PosttrainError(Exception):
    """Base of every error posttrain raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(PosttrainError):
    """The command line or the arguments of a library call are wrong."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file (contract, training config, gate policy...) does not validate."""


class InputError(UsageError):
    """A user-supplied file cannot be read or parsed; says file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}" + (f" line {line}" if line is not None else "") + ": "
        if field is not None:
            message = f'field "{field}": {message}'
        super().__init__(where + message, hint=hint)
        self.path = path
        self.line = line
        self.field = field


class ModelNotFoundError(UsageError):
    """A model name is neither a known name nor a local model folder."""


class MissingDependencyError(PosttrainError):
    """An optional package is not installed; the hint holds the exact install command."""

    exit_code = 2


class ConversionError(PosttrainError):
    """Converting the embedded GGUF model into a trainable checkpoint failed."""

    exit_code = 3


class BackendError(PosttrainError):
    """A generation backend failed (server errors after retries, bad responses)."""

    exit_code = 3


class UpstreamUnavailable(BackendError):
    """The gateway's upstream engine cannot be reached (refused connection, DNS, not
    started): ``posttrain serve`` answers 503."""


class BackendTimeoutError(BackendError):
    """A generation request did not answer within its timeout."""


class NetworkAccessError(PosttrainError):
    """Something tried to reach the network while de-identification must run offline."""

    exit_code = 3


# -- stops and refusals: a state the user must look at, exit 1 like a BLOCK verdict ------


class TrainingDivergedError(PosttrainError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""

    exit_code = 1


class SafetyStopError(PosttrainError):
    """The safety probe's attack hit rate rose above the base model's plus the margin."""

    exit_code = 1


class LoopStopped(PosttrainError):
    """A stage ended in a state the loop cannot go on from (blocked data, a stopped run)."""

    exit_code = 1


class PromotionRefused(PosttrainError):
    """A promotion without a PASS verdict or a valid waiver; exits 1 like a BLOCK."""

    exit_code = 1


class FingerprintMismatch(PosttrainError):
    """The model files are not the ones the gate judged (at registration) or registered (at
    promotion or a rollout step): their content hash differs; exits 1 like a BLOCK."""

    exit_code = 1


class AuditLogBroken(PosttrainError):
    """The audit log does not verify (an entry edited or missing, a checkpoint signature
    wrong), so it is not signed as it is; exits 1 like a BLOCK."""

    exit_code = 1
