"""The HTML reports: a whole run (``run_report``) and one model's backtest (``backtest_report``).

Both read data objects only -- the run's datasets, guardrail report, leaderboard, stored
out-of-fold predictions, the ``Backtest`` and the model's explanation -- and lay them out as one
self-contained file.  For many series the plots show a sample (the best, the worst and a few
random series) and the tables list every series.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.guardrails import FALLBACK_CHAIN
from tsauto.data.io import check_output_path
from tsauto.errors import check_int
from tsauto.reports import figures
from tsauto.reports.html import Document, escape, figure_html, mapping_table, table_html
from tsauto.versions import versions

# Libraries whose versions the report lists (those installed).
LIBRARIES = ("pandas", "numpy", "scikit-learn", "lightgbm", "statsforecast", "prophet", "torch",
             "optuna", "matplotlib", "onnxruntime")
# Every series is listed in the per-series table up to this many rows.
MAX_SERIES_ROWS = 5_000


def run_report(run, path: str | Path, max_series: int = 12) -> Path:
    """Write the report of a ``Run``: data, featurization, settings and versions, leaderboard
    and ensembles, backtest (forecasting) or validation plots (tabular), explanation."""
    path = check_output_path(path, "the report", "report.html")
    max_series = check_int(max_series, "max_series")
    s = run.settings
    best = run.result.best()
    doc = Document(f"tsauto report: {s.task}",
                   f"{len(run.result.trials)} trials in {run.elapsed:.1f}s, stopped: "
                   f"{run.result.stopped_because}; best: "
                   f"{run.best_model.description if run.best_model else 'none'}. "
                   + (f"Note: {run.refit_note}. " if run.refit_note else "") +
                   f"Written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.")
    _data_section(doc, run.dataset.summary(), run.guardrails)
    _featurization_section(doc, run.best_model, "No model: no trial could be refitted.")
    _settings_section(doc, s.model_dump(), {"validation": run.validation,
                                            "stopped because": run.result.stopped_because,
                                            "seconds": round(run.elapsed, 1)})
    _leaderboard_section(doc, run)
    if s.task == "forecasting":
        if best is not None and best.oof is not None:
            label = f"trial {best.trial_id} ({best.learner}), out-of-fold on {run.validation}"
            _backtest_sections(doc, run.backtest(best.trial_id), label, max_series)
        else:
            doc.section("backtest", "Backtest").append(
                '<p class="note">No completed trial: nothing to backtest.</p>')
    else:
        _tabular_section(doc, run, best)
    _explanation_section(doc, run.best_model)
    return doc.write(path)


def backtest_report(bt, path: str | Path, title: str = "tsauto backtest",
                    max_series: int = 12) -> Path:
    """Write the report of a ``Backtest`` (with its model's guardrails, settings and
    explanation when it came from ``ForecastModel.backtest``)."""
    path = check_output_path(path, "the report", "report.html")
    max_series = check_int(max_series, "max_series")
    model = bt.model
    cutoffs = bt.by_cutoff["cutoff"].astype(str).tolist()
    doc = Document(title, f"{len(cutoffs)} cutoff(s): {', '.join(cutoffs)}. Written "
                          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.")
    history = bt.history if bt.history is not None else bt.forecasts
    lengths = history.groupby(SERIES_ID, observed=True).size()
    summary = {"series": len(lengths), "rows": len(history),
               "length_min": int(lengths.min()), "length_median": float(lengths.median()),
               "length_max": int(lengths.max()),
               "start": str(history[bt.time_column].min()),
               "end": str(history[bt.time_column].max())}
    if model is not None:
        summary.update(freq=model.schema.grid.freq, season_length=model.schema.grid.season_length)
    _data_section(doc, summary, getattr(model, "guardrails", None))
    _featurization_section(doc, model)
    _settings_section(doc, getattr(model, "settings", {}) or {},
                      {"model": getattr(model, "description", ""), "cutoffs": len(cutoffs)})
    _backtest_sections(doc, bt, getattr(model, "description", "") or "the backtested model",
                       max_series)
    _explanation_section(doc, model)
    return doc.write(path)


# -- sections -----------------------------------------------------------------------------------
def _data_section(doc: Document, summary: dict, guardrails) -> None:
    parts = doc.section("data", "Data")
    parts.append(mapping_table({k: v for k, v in summary.items()
                                if v not in (None, [], "")}, "fact", "value"))
    parts.append("<h3>Guardrails</h3>")
    if guardrails is None:
        parts.append('<p class="note">No guardrail report came with this object.</p>')
        return
    frame = guardrails.to_frame()
    parts.append(table_html(frame, None))
    fixes = frame[frame["status"] == "fixed"]
    parts.append("<h3>Fixes applied</h3>")
    parts.append(table_html(fixes[["check", "fix"]], None) if len(fixes) else
                 '<p class="note">None: the data needed no fix.</p>')
    affected = [(r.check, r.status, getattr(r, "columns", None) or r.series)
                for r in guardrails.results if r.status != "passed"]
    for check, status, names in affected:
        if names:
            parts.append(f"<details><summary>{escape(check)} ({escape(status)}): "
                         f"{len(names):,} affected</summary><p>"
                         f"{escape(', '.join(map(str, names[:500])))}"
                         f"{' …' if len(names) > 500 else ''}</p></details>")


def _featurization_section(doc: Document, model, no_model: str = "") -> None:
    """The featurizers of ``model``'s learner; ``no_model``: what to say when there is none
    (a backtest of a bare learner has no model to read)."""
    parts = doc.section("featurization", "Featurization")
    found = _featurizations(getattr(model, "learner", None))
    if model is None:
        if no_model:
            parts.append(f'<p class="note">{escape(no_model)}</p>')
    elif not found:
        parts.append('<p class="note">The model uses no featurizer (statistical learners read '
                     'the target series directly).</p>')
    for name, summary in found:
        parts.append(f"<h3>{escape(name)}</h3>")
        frame = summary if isinstance(summary, pd.DataFrame) else pd.DataFrame(summary)
        parts.append(table_html(frame, 300))


def _featurizations(learner) -> list[tuple[str, object]]:
    """(learner name, summary) of the learner, or of each ensemble member that has one."""
    if learner is None:
        return []
    members = getattr(learner, "members", None)
    if members is not None and not hasattr(learner, "featurization_summary"):
        return [item for m in members for item in _featurizations(m)]
    summary = getattr(learner, "featurization_summary", None)
    if not callable(summary):
        return []
    return [(getattr(learner, "name", type(learner).__name__), summary())]


def _settings_section(doc: Document, settings: dict, facts: dict) -> None:
    parts = doc.section("settings", "Settings and versions")
    parts.append(mapping_table({**facts, **{k: _plain(v) for k, v in settings.items()}},
                               "setting", "value"))
    parts.append("<h3>Versions</h3>")
    parts.append(mapping_table(versions(LIBRARIES), "package", "version"))



def _leaderboard_section(doc: Document, run) -> None:
    parts = doc.section("leaderboard", "Leaderboard")
    board = run.leaderboard()
    metric = run.settings.primary_metric
    if board.empty:
        parts.append('<p class="note">No trial ran.</p>')
    else:
        parts.append(f'<p>Validation: {escape(run.validation)}. Primary metric: '
                     f'<b>{escape(metric)}</b>; columns <code>{escape(metric)}_foldN</code> are '
                     f'the folds.</p>')
        if (board["status"] == "completed").any():
            parts.append(figure_html(figures.leaderboard_figure(board, metric), "leaderboard"))
        parts.append(table_html(board, 500))
    parts.append("<h3>Skipped learners</h3>")
    skipped = run.result.skipped_learners
    parts.append(mapping_table(skipped, "learner", "why") if skipped else
                 '<p class="note">None: every allowed learner was searched.</p>')
    parts.append("<h3>Ensembles</h3>")
    by_id = {t.trial_id: t for t in run.result.trials}
    ensembles = [t for t in run.result.trials if t.learner.endswith("_ensemble")]
    if not ensembles:
        parts.append('<p class="note">No ensemble was built (fewer than two completed trials, '
                     'or ensembles are off).</p>')
    for t in ensembles:
        members = pd.DataFrame({
            "trial": t.params["members"],
            "learner": [by_id[i].learner if i in by_id else "?" for i in t.params["members"]],
            "weight": t.params["weights"],
            "params": [json.dumps(by_id[i].params, default=str) if i in by_id else ""
                       for i in t.params["members"]]})
        score = t.metrics.get(metric, np.nan)
        parts.append(f"<p>Trial {t.trial_id}: <b>{escape(t.learner)}</b>, {escape(metric)} "
                     f"{score:.4g}</p>")
        parts.append(table_html(members, None))


def _backtest_sections(doc: Document, bt, label: str, max_series: int) -> None:
    parts = doc.section("backtest", "Backtest")
    parts.append(f"<p>Forecasts of {escape(label)}.</p>")
    fallbacks = getattr(bt, "fallbacks", None)  # backtests pickled before it have none
    if fallbacks is not None and len(fallbacks):
        parts.append(f'<p class="note">{len(fallbacks):,} series forecast(s) by the fallback '
                     f'({FALLBACK_CHAIN}): each had fewer periods before its cutoff than the model '
                     f'trains on.</p>')
        parts.append(table_html(fallbacks.assign(cutoff=fallbacks["cutoff"].astype(str)),
                                MAX_SERIES_ROWS))
    parts.append("<h3>Overall (mean over cutoffs)</h3>")
    parts.append(mapping_table({k: v for k, v in bt.overall.items()}, "metric", "value"))
    parts.append("<h3>By cutoff</h3>")
    parts.append(table_html(bt.by_cutoff.assign(cutoff=bt.by_cutoff["cutoff"].astype(str)), None))
    parts.append("<h3>By horizon step</h3>")
    parts.append(figure_html(figures.error_by_step_figure(bt.by_step), "error by horizon step"))
    parts.append(table_html(bt.by_step, None))
    parts.append("<h3>Actuals against forecasts</h3>")
    n_series = bt.by_series[SERIES_ID].nunique()
    chosen = figures.series_to_show(bt.by_series, max(2, (max_series * 2) // 3))
    parts.append(f'<p class="note">{n_series:,} series; the plots show the best, the worst and '
                 f'a few random ones by MASE (dashed lines: cutoffs). The table below lists '
                 f'every series.</p>')
    for group, ids in chosen.items():
        if ids:
            fig = figures.backtest_series_figure(bt, ids[: max(1, max_series // 3)],
                                                 title=f"{group} series")
            parts.append(figure_html(fig, f"{group} series"))
    parts.append("<h3>Per-series MASE against seasonal naive</h3>")
    parts.append(figure_html(figures.mase_distribution_figure(bt.by_series),
                             "per-series MASE distribution"))
    parts.append("<h3>Interval coverage</h3>")
    if len(bt.coverage):
        parts.append(figure_html(figures.coverage_figure(bt.coverage), "interval coverage"))
        parts.append(table_html(bt.coverage, None))
    else:
        parts.append('<p class="note">The forecasts have no symmetric quantile pair: no '
                     'interval to check.</p>')
    parts.append("<h3>By series</h3>")
    by_series = bt.by_series.sort_values("mase" if "mase" in bt.by_series else "mae",
                                         ascending=False, kind="stable")
    parts.append(table_html(by_series, MAX_SERIES_ROWS, "worst first"))


def _tabular_section(doc: Document, run, best) -> None:
    parts = doc.section("validation", "Validation predictions")
    if best is None or best.oof is None:
        parts.append('<p class="note">No completed trial: no predictions to show.</p>')
        return
    classes = run.dataset.classes
    oof = best.oof
    scores = (oof["prediction"].to_numpy() if classes is None else
              oof[[f"p{i}" for i in range(len(classes))]].to_numpy())
    parts.append(f"<p>Out-of-fold predictions of trial {best.trial_id} ({escape(best.learner)}) "
                 f"on {escape(run.validation)}: {len(oof):,} rows.</p>")
    parts.append(figure_html(figures.tabular_figure(oof["actual"].to_numpy(), scores, classes),
                             "validation plots"))
    parts.append("<h3>Metrics by fold</h3>")
    parts.append(table_html(pd.DataFrame(best.fold_metrics).rename_axis("fold").reset_index(),
                            None))


def _explanation_section(doc: Document, model) -> None:
    parts = doc.section("explanation", "Explanation")
    if model is None:
        parts.append('<p class="note">No model to explain.</p>')
        return
    try:
        explained = model.explain()
    except Exception as exc:  # noqa: BLE001 - a report is written even if explain fails
        parts.append(f'<p class="note">explain() failed: {escape(exc)}</p>')
        return
    parts.extend(_explained_html(explained, 3))


def _explained_html(exp: dict, level: int) -> list[str]:
    """An ``explain()`` dict: parameters, importances (table and chart), fitted model forms,
    ensemble members (recursively, with their weights)."""
    out = [f"<h{level}>{escape(exp.get('learner', 'model'))}</h{level}>"]
    scalars = {k: _plain(v) for k, v in exp.items()
               if k not in ("learner", "feature_importance", "column_importance", "fitted",
                            "members", "weights", "features", "intervals")
               and not isinstance(v, pd.DataFrame)}
    if scalars:
        out.append(mapping_table(scalars, "item", "value"))
    if exp.get("intervals"):
        out.extend(_intervals_html(exp["intervals"]))
    for key, title in (("column_importance", "Importance per raw column"),
                       ("feature_importance", "Feature importance")):
        values = _series(exp.get(key))
        if values is not None and len(values):
            out.append(f"<p><b>{title}</b></p>")
            out.append(figure_html(figures.importance_figure(values, title=title), title))
            out.append(table_html(values.rename("importance").rename_axis("name").reset_index(),
                                  50))
    fitted = exp.get("fitted")
    if fitted:
        forms = pd.DataFrame([{"series": sid, **{k: _plain(v) for k, v in state.items()}}
                              for sid, state in fitted.items()])
        out.append(f"<p><b>Fitted models</b> (first {len(forms)} series)</p>")
        out.append(table_html(forms, None))
    if "fitted_error" in exp:
        out.append(f'<p class="note">fitted models: {escape(exp["fitted_error"])}</p>')
    for weight, member in zip(exp.get("weights", []), exp.get("members", [])):
        member = dict(member)
        member["learner"] = f"{member.get('learner', 'member')} (weight {weight:.3f})"
        out.extend(_explained_html(member, min(level + 1, 5)))
    return out


def _intervals_html(intervals: dict) -> list[str]:
    """The model's interval calibration: its method, and how the learner's own and the
    calibrated intervals covered the validation windows."""
    out = ["<p><b>Intervals</b>: " + escape(intervals.get("method", "")) + "</p>",
           '<p class="note">Validation coverage: the share of actuals of the validation '
           'windows inside each interval, for the learner\'s own quantiles and for the '
           'calibrated ones (cross-fitted: each window calibrated on the others); '
           'calibrated_min and calibrated_max: the lowest and highest of one window, whose '
           'series all share its period\'s shocks, so a new period\'s coverage may stray as '
           'far (none with one window).</p>']
    coverage = pd.DataFrame(intervals.get("validation_coverage", []))
    if len(coverage):
        out.append(table_html(coverage, None))
    scores = {k: v for k, v in intervals.items() if k not in ("method", "validation_coverage")}
    if scores:
        out.append(mapping_table(scores, "score", "value"))
    return out


def _series(value) -> pd.Series | None:
    """Importances as a name -> value series, from a dict or a two-column frame."""
    if value is None:
        return None
    if isinstance(value, dict):
        return pd.Series(value, dtype="float64")
    if isinstance(value, pd.DataFrame):
        return value.set_index(value.columns[0])[value.columns[-1]].astype("float64")
    return None


def _plain(value):
    """A setting or parameter as a short text for a table cell."""
    if isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 300 else text[:300] + " …"
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value
