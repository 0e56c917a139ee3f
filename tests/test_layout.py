"""The test tree's own layout (issue 12): shared test code lives in ``tests/support``, and no
module under ``tests/`` imports a test module (``tests/test_*.py``).

Imports are read with ``ast``, so a string or a comment that names a test module does not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    """``tests.test_x`` (or a name inside it): a test module, not ``tests.support…``."""
    parts = dotted.split(".")
    return len(parts) >= 2 and parts[0] == "tests" and parts[1].startswith("test_")


def imported_test_modules(source: str, package: str = "tests") -> list[str]:
    """Every test module that ``source`` (a module in ``package``) imports, in source order."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:  # relative: ``from .test_x import y``, ``from . import test_x``
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *filter(None, [node.module])])
            else:
                module = node.module or ""
            if _is_test_module(module):
                found.append(module)
            else:
                found += [
                    f"{module}.{alias.name}"
                    for alias in node.names
                    if _is_test_module(f"{module}.{alias.name}")
                ]
    return found


def test_no_module_under_tests_imports_a_test_module() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        package = ".".join(path.relative_to(TESTS.parent).parent.parts)
        for module in imported_test_modules(path.read_text(encoding="utf-8"), package):
            offenders.append(f"{path.relative_to(TESTS.parent)} imports {module}")
    assert not offenders, (
        "test modules import each other; move the shared piece to tests/support/:\n"
        + "\n".join(offenders)
    )


def test_every_import_form_is_caught_and_a_mere_mention_is_not() -> None:
    source = '''
import tests.test_a
import tests.test_b as b
from tests.test_c import X
from tests import test_d, support
from .test_e import Y
from . import test_f
from tests.support.senders import CASES
import tests.support.daemon
"""from tests.test_g import Z"""  # a string, not an import
# from tests.test_h import W
'''
    assert imported_test_modules(source) == [
        "tests.test_a",
        "tests.test_b",
        "tests.test_c",
        "tests.test_d",
        "tests.test_e",
        "tests.test_f",
    ]
    # From inside tests/support, ``..test_x`` is a test module; ``.daemon`` is not.
    nested = "from ..test_x import A\nfrom .daemon import spawn\n"
    assert imported_test_modules(nested, "tests.support") == ["tests.test_x"]
