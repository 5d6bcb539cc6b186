"""The versions a result depends on: tsauto, Python and the named libraries (those not
installed are left out).  Shown by the HTML report and the service's ``GET /model``."""

from __future__ import annotations

import platform
from importlib import metadata


def versions(libraries: tuple[str, ...]) -> dict:
    import tsauto

    out = {"tsauto": tsauto.__version__, "python": platform.python_version()}
    for name in libraries:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
