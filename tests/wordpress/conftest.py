"""Running the import command as a person would, and the corpus of real exports."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.conftest import corpus


def wxr(name: str):
    """A file of WordPress's importer test data (../shared/corpora/wxr/wordpress-importer)."""
    return corpus("wxr", "wordpress-importer", name)


def theme_unit_test():
    return corpus("wxr", "theme-unit-test", "themeunittestdata.wordpress.xml")


class Result:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


def run_import(path, *args: str, user: str = "ada") -> Result:
    """`manage.py wordpress_import PATH ARGS`: its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("wordpress_import", str(path), "--user", user, *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def importer(administrator):
    """The administrator an import runs as."""
    return administrator
