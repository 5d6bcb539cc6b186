"""Tabular AutoML on the bundled Titanic passenger list: missing ages, categories, free-text
names.  Run: python examples/classify_titanic.py"""

from tsauto import AutoML, ClassificationSettings, datasets

if __name__ == "__main__":
    frame = datasets.load_frame("titanic").sample(frac=1.0, random_state=0)
    train, test = frame.iloc[:1000], frame.iloc[1000:]
    settings = ClassificationSettings(target_column="Survived", time_budget="1min",
                                      primary_metric="accuracy")
    run = AutoML(settings).fit(train)
    print(run.guardrails)
    print(run.leaderboard()[["learner", "accuracy", "log_loss", "auc_weighted", "seconds"]].head(10))
    model = run.best_model
    print(model.featurization_summary()[["column", "kind", "action"]])
    print("holdout:", {k: round(v, 3) for k, v in model.evaluate(test).items()})
    print(model.predict_proba(test.head()))
    print(model.explain()["column_importance"] if "column_importance" in model.explain()
          else model.explain()["weights"])
