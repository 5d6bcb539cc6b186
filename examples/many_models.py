"""One AutoML per Australian state on the retail panel (8 partitions of ~19 series), fitted in
parallel on local processes, then forecast together; rerunning resumes (finished states are
skipped).

    .venv/bin/python examples/many_models.py            # local processes, one per core
    .venv/bin/python examples/many_models.py dask       # a Dask LocalCluster
"""

import sys

from tsauto import AutoML, ForecastSettings, ManyModels, datasets

if __name__ == "__main__":
    engine = sys.argv[1] if len(sys.argv) > 1 else None
    frame = datasets.load_frame("aus_retail")
    frame = frame[frame["Month"] >= "2010-01-01"]  # the recent years: a quick example
    settings = ForecastSettings(time_column="Month", target_column="Turnover",
                                grain_columns=["State", "Industry"], horizon=12,
                                allowed_models=["seasonal_naive", "auto_ets", "auto_theta"],
                                time_budget="1m", n_cross_validations=2)
    many = AutoML(settings).fit_many(frame, partition_by=["State"], engine=engine,
                                     output_dir="out/example_many")
    board = many.leaderboard()
    print(board[["State", "status", "best_learner", "mase", "smape", "trials", "seconds"]])
    print(many.failed)                                  # empty when every state has a model
    print(many.models["Victoria"])                      # one state's ForecastModel
    forecast = ManyModels.load("out/example_many").forecast()
    print(forecast.head(12))                            # State, Industry, series_id, Month, ...
    print(many.backtest().by_partition[["State", "mase", "smape"]])
