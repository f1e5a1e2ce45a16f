"""The product never imports the sandbox: ``restrat_sandbox`` is a test instrument.

Data flows one way: the sandbox (and the demo, the tests, the benchmarks) import the product's
public pieces, never the reverse. The one door is the command line: the ``sandbox`` and
``demo`` commands import the sandbox inside their own functions in cli.py, so that it is
loaded only when one of them is chosen (the sandbox's options are parsed by its own parser).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PRODUCT = Path(__file__).resolve().parents[1] / "src" / "restrat_sync"
SANDBOX = "restrat_sandbox"
# (module, top-level function) pairs where the product may import the sandbox.
DOORS = frozenset({("cli.py", "_run_sandbox"), ("cli.py", "_run_demo")})


def sandbox_imports(source: str, module: str) -> list[tuple[int, str]]:
    """(line, enclosing top-level function or "") of each import of the sandbox in ``source``
    that is not behind one of the DOORS; ``module`` is the file's path inside the product."""
    found = []
    for function, node in _walk(ast.parse(source), ""):
        if _imports_sandbox(node) and (module, function) not in DOORS:
            found.append((node.lineno, function))
    return found


def _walk(node: ast.AST, function: str) -> list[tuple[str, ast.AST]]:
    """Every node under ``node``, with the top-level function it sits in ("" for none)."""
    nodes = []
    for child in ast.iter_child_nodes(node):
        inside = function
        if not function and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            inside = child.name if isinstance(node, ast.Module) else ""
        nodes.append((inside, child))
        nodes.extend(_walk(child, inside))
    return nodes


def _imports_sandbox(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(_is_sandbox(alias.name) for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and _is_sandbox(node.module or "")
    if isinstance(node, ast.Call) and node.args:  # importlib.import_module("...") and kin
        name = node.args[0]
        called = ast.unparse(node.func)
        return (
            called.endswith(("import_module", "__import__"))
            and isinstance(name, ast.Constant)
            and isinstance(name.value, str)
            and _is_sandbox(name.value)
        )
    return False


def _is_sandbox(module: str) -> bool:
    return module == SANDBOX or module.startswith(SANDBOX + ".")


def test_no_product_module_imports_the_sandbox() -> None:
    """Walk every module of restrat_sync: the sandbox is imported only behind the doors."""
    modules = sorted(PRODUCT.rglob("*.py"))
    assert len(modules) > 50  # the walk found the product
    problems = [
        f"src/restrat_sync/{path.relative_to(PRODUCT)}:{line}: imports {SANDBOX}"
        + (f" in {function}()" if function else " at module level")
        for path in modules
        for line, function in sandbox_imports(
            path.read_text(encoding="utf-8"), path.relative_to(PRODUCT).as_posix()
        )
    ]
    assert not problems, (
        "the product must not import the sandbox (only the sandbox and demo commands in "
        "cli.py may, inside their functions):\n" + "\n".join(problems)
    )


def test_the_doors_are_where_the_commands_import_the_sandbox() -> None:
    """Each door is in use: a door left open after its import went would hide a new one."""
    source = (PRODUCT / "cli.py").read_text(encoding="utf-8")
    used = {
        ("cli.py", function)
        for function, node in _walk(ast.parse(source), "")
        if _imports_sandbox(node)
    }
    assert used == DOORS


@pytest.mark.parametrize(
    ("module", "source", "found"),
    [
        ("publish.py", "import restrat_sandbox\n", [(1, "")]),
        ("publish.py", "x = 1\nfrom restrat_sandbox.model import Issue\n", [(2, "")]),
        ("cli.py", "from restrat_sandbox import demo\n", [(1, "")]),
        ("cli.py", "if True:\n    import restrat_sandbox.cli as c\n", [(2, "")]),
        ("cli.py", "def _run_other():\n    from restrat_sandbox import cli\n", [(2, "_run_other")]),
        ("publish.py", "def _run_demo():\n    import restrat_sandbox\n", [(2, "_run_demo")]),
        (
            "cli.py",
            "class C:\n    def _run_demo(self):\n        import restrat_sandbox\n",
            [(3, "")],
        ),
        ("jobs.py", "import importlib\nimportlib.import_module('restrat_sandbox.x')\n", [(2, "")]),
        ("cli.py", "def _run_demo():\n    from restrat_sandbox.demo import run_demo\n", []),
        ("cli.py", "def _run_sandbox():\n    def inner():\n        import restrat_sandbox\n", []),
        ("publish.py", "import restrat_sandboxes\nfrom restrat_sync import sandbox\n", []),
    ],
)
def test_the_rule_finds_every_import_outside_the_doors(
    module: str, source: str, found: list[tuple[int, str]]
) -> None:
    """Top-level, conditional, in-another-function, in-a-method and importlib imports are
    found, with their line; the doors, and names that only look alike, are not."""
    assert sandbox_imports(source, module) == found


def test_commands_other_than_sandbox_and_demo_never_load_the_sandbox() -> None:
    """Building the parser and running `check --help` (any command but the two doors) leaves
    ``restrat_sandbox`` unimported: checked in a fresh interpreter."""
    script = (
        "import sys\n"
        "from restrat_sync.cli import main\n"
        "try:\n"
        "    main(['check', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('restrat_sandbox')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
