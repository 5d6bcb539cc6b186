"""A worker imports the module of its job (the fork server preloads it before the first trial
starts), so the forecasting task's module must stay cheap: scikit-learn only where a learner or
the tabular task needs it."""

import subprocess
import sys


def test_the_forecasting_task_module_does_not_import_scikit_learn():
    code = ("import sys, tsauto.tasks.forecasting as f; "
            "print(f.run_trial.__module__, f.refit_learner.__module__, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["tsauto.tasks.forecasting", "tsauto.tasks.forecasting", "False"]
