"""Brian2's private interfaces are used in one module, which refuses untested Brian2 versions."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bioplaus.errors import BackendUnavailable

PACKAGE = Path(__file__).resolve().parent.parent / "bioplaus"
PRIVATE = re.compile(r"_prepare_variableview_run_arg|\.results_dir\s*=|has_been_run|array_cache|_last_run_time"
                     r"|\.code_objects\b|\._network\s*=")


def test_only_one_module_touches_brian2_internals():
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if PRIVATE.search(p.read_text()) and p.name != "brian2_internals.py")
    assert users == [], users


def test_untested_brian2_version_is_refused_with_the_fix():
    from bioplaus.brian2_internals import TESTED, check_version

    assert check_version(TESTED[0]) == TESTED[0]
    with pytest.raises(BackendUnavailable, match=r"Brian2 2\.11\.0 is installed: install brian2==2\.10\.1"):
        check_version("2.11.0")


def test_installed_brian2_is_the_pinned_one():
    import brian2

    from bioplaus.brian2_internals import TESTED

    pin = re.search(r"brian2==([\d.]+)", (PACKAGE.parent / "setup.cfg").read_text()).group(1)
    assert brian2.__version__ == pin == TESTED[0]
