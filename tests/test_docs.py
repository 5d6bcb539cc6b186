"""The README's and the docs' snippets against the code, so that they cannot drift: every
`tsauto ...` command line parses with the real CLI, every Python block compiles and its imports
exist, and the README's Python tour runs (on a capped budget: one cheap learner)."""

import ast
import re
import shlex
from pathlib import Path

import pytest
import typer

import tsauto
from tsauto.cli import app

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI = typer.main.get_command(app)


def blocks(page: Path, languages: tuple[str, ...]) -> list[str]:
    text = page.read_text()
    return [m.group(2) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)
            if m.group(1) in languages]


def command_lines() -> list[tuple[str, str]]:
    """(page, command) for every `tsauto ...` command in a shell or plain block; a synopsis'
    continuation lines (starting with '[') join their command; 'a; b' and 'a | b' split."""
    found = []
    for page in PAGES:
        for block in blocks(page, ("bash", "", "sh")):
            current = None
            for raw in block.splitlines():
                line = raw.split("  #")[0].rstrip()
                if line.lstrip().startswith("[") and current is not None:
                    found[-1] = (found[-1][0], found[-1][1] + " " + line.strip())
                    continue
                current = None
                for part in re.split(r";|\s\|\s(?=tsauto)", line):
                    part = part.strip()
                    if part.startswith("tsauto "):
                        current = part
                        found.append((page.name, part))
    return found


def resolve(words: list[str]):
    """The click command a command line names, and the words after its name."""
    command = CLI
    words = words[1:]
    while isinstance(command, typer.core.TyperGroup) and words:
        command = command.commands[words[0].split("|")[0]]
        words = words[1:]
    return command, words


COMMANDS = command_lines()


def test_the_docs_have_command_lines():
    pages = {page for page, _ in COMMANDS}
    assert {"README.md", "automl.md", "guide.md"} <= pages and len(COMMANDS) > 15


@pytest.mark.parametrize("page,line", COMMANDS, ids=[f"{p}:{l[:40]}" for p, l in COMMANDS])
def test_every_documented_command_line_parses(page, line):
    words = shlex.split(line.replace("|", " | ") if "[" in line else line)
    command, args = resolve(words)
    options = {"--help"} | {o for p in command.params for o in [*p.opts, *p.secondary_opts]}
    for option in re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", line):
        assert option in options, f"{page}: '{option}' is not an option of '{command.name}'"
    if not re.search(r"[\[\]|]|\.\.\.|[A-Z]{2,}", line):  # a concrete line: parse it whole
        command.make_context(command.name, list(args), resilient_parsing=False)


def python_blocks() -> list[tuple[str, str]]:
    """Every Python block but the call signatures shown as Python ('f(a, *, b=None, ...)')."""
    return [(page.name, block) for page in PAGES for block in blocks(page, ("python",))
            if not re.match(r"\w+\([^)]*\*,", block)]


@pytest.mark.parametrize("page,code", python_blocks(),
                         ids=[f"{p}:{i}" for i, (p, _) in enumerate(python_blocks())])
def test_every_python_block_compiles_and_its_imports_exist(page, code):
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tsauto"):
            module = __import__(node.module, fromlist=["_"])
            for alias in node.names:
                assert hasattr(module, alias.name), f"{page}: {node.module}.{alias.name}"


def test_the_readme_tour_runs(tmp_path, monkeypatch):
    """The README's Python blocks as written, with the budget capped to one cheap learner."""
    monkeypatch.chdir(tmp_path)
    cheap = {"forecasting": {"allowed_models": ["seasonal_naive"]},
             "classification": {"allowed_models": ["logistic_regression"]}}
    for name in ("ForecastSettings", "ClassificationSettings"):
        cls = getattr(tsauto, name)

        def capped(*args, _cls=cls, **kw):
            return _cls(*args, **{**kw, "max_trials": 1, "verbosity": 0,
                                  **cheap[_cls.task]})
        monkeypatch.setattr(tsauto, name, capped)
    for _, code in python_blocks()[:2]:
        assert "from tsauto import" in code
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own README
    assert (tmp_path / "model.pkl").exists() and (tmp_path / "out" / "retail").is_dir()


def test_the_inspect_example_without_arguments_prints_its_usage():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "examples" / "inspect_your_data.py")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.startswith("usage: ")
    assert "Traceback" not in result.stderr
