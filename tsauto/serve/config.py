"""What the service enforces: authentication and the limits on each request."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tsauto.errors import SettingsError, check_int, is_number

TOKEN_ENV = "TSAUTO_TOKEN"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


@dataclass(frozen=True)
class ServeConfig:
    """Limits per request and whether a bearer token is required.

    ``token`` None means no authentication, which ``check`` allows only on a loopback host.
    """

    token: str | None = field(default=None, repr=False)  # never in logs or reprs
    max_body_bytes: int = 10 * 1024 * 1024
    max_rows: int = 200_000
    max_series: int = 10_000
    max_horizon: int = 1_000
    timeout_s: float = 30.0
    threads: int = 4

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_rows", "max_series", "max_horizon", "threads"):
            check_int(getattr(self, name), f"serve: {name}")
        if not (is_number(self.timeout_s) and self.timeout_s > 0):
            raise SettingsError(f"serve: timeout_s must be a positive number of seconds, got "
                                f"{self.timeout_s!r}.")
        if self.token is not None and not self.token.strip():
            raise SettingsError("serve: the token is empty; put a long random string in the "
                                "token file or in TSAUTO_TOKEN.")

    def limits(self) -> dict:
        """The limits, for ``GET /model`` and the logs (never the token)."""
        out = asdict(self)
        out.pop("token")
        return out


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(token_file: str | Path | None, no_auth: bool, host: str) -> str | None:
    """The bearer token from ``token_file`` or the TSAUTO_TOKEN environment variable (never a
    command-line value, which other users of the machine could read); None with ``no_auth``,
    which only a loopback host may use."""
    if no_auth:
        if token_file is not None:
            raise SettingsError("serve: --no-auth and --token-file contradict each other; give "
                                "one.")
        if not is_loopback(host):
            raise SettingsError(f"serve: --no-auth is only allowed on a loopback host "
                                f"(127.0.0.1, ::1, localhost), not on --host {host}; give a token "
                                f"with --token-file or {TOKEN_ENV}.")
        return None
    if token_file is not None:
        path = Path(token_file)
        if not path.is_file():
            raise SettingsError(f"serve: --token-file '{path}' does not exist.")
        token = path.read_text(encoding="utf-8").strip()
        if not token:
            raise SettingsError(f"serve: --token-file '{path}' is empty.")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise SettingsError(f"serve: a bearer token is required: put it in a file passed as "
                            f"--token-file, or in the {TOKEN_ENV} environment variable; or, on "
                            f"a loopback host only, pass --no-auth.")
    return token
