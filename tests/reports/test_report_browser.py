"""The report as a person opens it: headless Chromium renders it offline with no console error.

Needs the Debian package ``chromium`` (``.ci/run`` installs it); skipped, saying so, without it.
"""

import shutil
import subprocess

import pytest

from tests.conftest import make_panel
from tests.reports.checks import FORECAST_SECTIONS
from tsauto import AutoML, ForecastSettings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                "(apt-get install chromium; .ci/run does it)")


def open_in_chromium(page, tmp_path, *extra):
    """Chromium's stdout and its console lines for ``page``, with no network and no profile."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", *extra,
         page.as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


def test_console_errors_are_caught(tmp_path):
    # The check below would see a broken page: a script error reaches the console log.
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script>"
                    "</body></html>")
    _, console = open_in_chromium(page, tmp_path, "--dump-dom")
    assert any("undefinedFunction" in line for line in console)


def test_report_renders_without_console_errors(tmp_path):
    settings = ForecastSettings(time_column="date", target_column="sales", grain_columns="store",
                                horizon=6, max_trials=2, time_budget=60, verbosity=0,
                                allowed_models=["seasonal_naive", "auto_ets"])
    page = AutoML(settings).fit(make_panel(n_series=4)).report(tmp_path / "report.html")
    dom, console = open_in_chromium(page, tmp_path, "--dump-dom")
    assert not console, console
    for section in FORECAST_SECTIONS:
        assert f'<section id="{section}">' in dom
    assert dom.count("<img") >= 5
    shot = tmp_path / "report.png"
    _, console = open_in_chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    assert not console, console
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
