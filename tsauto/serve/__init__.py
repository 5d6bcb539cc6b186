"""The REST service over ``load_model`` and ``forecast``/``predict`` (docs/serving.md).

FastAPI and uvicorn are imported by the modules of this package only: ``import tsauto`` and the
rest of the CLI stay as fast as before.
"""

from tsauto.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app", "serve"]


def __getattr__(name: str):
    if name == "create_app":
        from tsauto.serve.app import create_app

        return create_app
    if name == "serve":
        from tsauto.serve.server import serve

        return serve
    raise AttributeError(f"module 'tsauto.serve' has no attribute {name!r}")
