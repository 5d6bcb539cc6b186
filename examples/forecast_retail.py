"""Forecast Australian retail turnover 12 months ahead with a 2-minute AutoML search.

    .venv/bin/python examples/forecast_retail.py
"""

from tsauto import AutoML, ForecastSettings, datasets

if __name__ == "__main__":
    frame = datasets.load_frame("aus_retail")
    settings = ForecastSettings(time_column="Month", target_column="Turnover",
                                grain_columns=["State", "Industry"], horizon=12,
                                time_budget="2min", quantiles=[0.1, 0.5, 0.9])
    run = AutoML(settings).fit(frame, output_dir="out/example_retail")
    print(run.guardrails)
    print(run.leaderboard()[["learner", "status", "mase", "smape", "seconds"]].head(10))
    forecast = run.best_model.forecast()
    print(forecast.head(12))
    backtest = run.best_model.backtest(frame, n_windows=2)
    print(backtest.overall)
    # One HTML file each, with plots, that opens offline.
    print(run.report("out/example_retail/report.html"))
    print(backtest.to_html("out/example_retail/backtest.html"))
