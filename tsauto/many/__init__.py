"""Many models: one AutoML per partition (a store, a region), fitted in parallel through Fugue
on local processes, Dask, Ray or Spark, stored per partition with one index.

    many = AutoML(settings).fit_many(df, partition_by=["State"], output_dir="out/many")
    many.leaderboard(); many.models["Victoria"]; many.forecast(); many.failed
    ManyModels.load("out/many").forecast()
"""

from tsauto.many.models import ManyBacktest, ManyModels, fit_many

__all__ = ["ManyModels", "ManyBacktest", "fit_many"]
