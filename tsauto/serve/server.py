"""Starting the service: checks first (token, host, model), then uvicorn.

With one worker the loaded model is handed to uvicorn directly.  With several, uvicorn starts
worker processes that each build the app with ``app_from_env``: the settings travel in an
environment variable and the token in TSAUTO_TOKEN, never on a command line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tsauto.errors import SettingsError, check_int, is_int
from tsauto.serve.config import TOKEN_ENV, ServeConfig, resolve_token

SETTINGS_ENV = "TSAUTO_SERVE_SETTINGS"


def prepare(model_path: str | Path, host: str = "127.0.0.1", workers: int = 1,
            token_file: str | Path | None = None, no_auth: bool = False, **limits):
    """The loaded model and the service config, or a SettingsError saying what is wrong."""
    from tsauto.model import load_model

    check_int(workers, "serve: --workers")
    config = ServeConfig(token=resolve_token(token_file, no_auth, host), **limits)
    return load_model(model_path), config


def serve(model_path: str | Path, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          token_file: str | Path | None = None, no_auth: bool = False,
          log_level: str = "info", **limits) -> None:
    """Serve ``model_path`` until interrupted (``tsauto serve``)."""
    if not (is_int(port, 0) and port <= 65535):
        raise SettingsError(f"serve: --port must be 0..65535, got {port!r}.")
    model, config = prepare(model_path, host, workers, token_file, no_auth, **limits)
    import uvicorn

    from tsauto.serve.app import create_app

    if workers == 1:
        uvicorn.run(create_app(model, config), host=host, port=port, log_level=log_level)
        return
    os.environ[SETTINGS_ENV] = json.dumps({"model": str(Path(model_path).resolve()),
                                           "auth": config.token is not None, **config.limits()})
    if config.token is not None:
        os.environ[TOKEN_ENV] = config.token
    uvicorn.run("tsauto.serve.server:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level=log_level)


def app_from_env():
    """The app of one worker process (uvicorn factory), from what ``serve`` left in the
    environment."""
    from tsauto.model import load_model
    from tsauto.serve.app import create_app

    settings = json.loads(os.environ[SETTINGS_ENV])
    model = load_model(settings.pop("model"))
    token = os.environ[TOKEN_ENV] if settings.pop("auth") else None
    return create_app(model, ServeConfig(token=token, **settings))
