"""The fork server preloads what each executor asks for, not only what the first one did: a
statistical fit after a tabular one in the same process must not import statsforecast in every
trial's worker."""

import os
import subprocess
import sys
import textwrap


def loaded(extra, names):
    return {name: name in sys.modules for name in names}


def test_a_later_executor_finds_its_modules_preloaded_in_the_workers(tmp_path):
    # A fresh process, so that the fork server starts here with the first executor's list
    # (the pytest process may have one running already); two small stdlib modules that neither
    # the server's own imports nor this module pull in stand for learners' libraries.
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from tsauto.search.executor import Executor
        from tests.search.test_executor_preload import loaded

        def modules_in_a_worker(folder, preload):
            executor = Executor(Path(folder), loaded, (("colorsys", "wave"),), 1, preload)
            executor.submit(0, None, 120)
            [(_, status, payload, _)] = executor.wait_any()
            assert status == "ok", payload
            return payload

        print(modules_in_a_worker(sys.argv[1] + "/a", ("colorsys",)))
        print(modules_in_a_worker(sys.argv[1] + "/b", ("wave",)))
    """)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                            text=True, timeout=300, cwd=os.getcwd())
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == str({"colorsys": True, "wave": False})
    assert second == str({"colorsys": True, "wave": True})  # what was served stays served
