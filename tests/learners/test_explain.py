from tsauto import datasets
from tsauto.learners import create


def test_statistical_explain_reports_fitted_models():
    ds = datasets.load("aus_retail")
    ds = ds._replace(ds.frame[ds.frame["series_id"].cat.codes < 3])
    learner = create("auto_ets", quantiles=[0.1, 0.9]).fit(ds)
    explained = learner.explain(max_series=2)
    assert explained["learner"] == "auto_ets" and explained["season_length"] == 12
    assert len(explained["fitted"]) == 2
    for model in explained["fitted"].values():
        assert len(model["components"]) == 4  # e.g. 'MAM' + damping flag: the chosen ETS form
        assert "aic" in model
