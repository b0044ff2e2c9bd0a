"""`jobs_store` is checked at start-up: anything but a PostgreSQL URL, a URL libpq cannot read, and a
server that does not answer are each one line on stderr naming the setting, exit 2, no traceback
(the URL's password never shown)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SynthModels
from tests.core.test_config_errors import one_line, run
from tests.hardening.conftest import free_port


@pytest.fixture(scope="module")
def folder(synth_models: SynthModels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("jobs-store")
    (target / "embed.gguf").symlink_to(synth_models.embedding["Q8_0"])
    return target


def test_a_url_of_another_database_is_refused(folder: Path) -> None:
    result = run("serve", "--models", str(folder), "--jobs-store", "mysql://root:secret@db/jobs")
    assert one_line(result) == (
        "embedroute serve: jobs_store (--jobs-store, EMBEDROUTE_JOBS_STORE): must be empty or a PostgreSQL URL "
        "(postgresql://user:password@host/db)")


def test_a_url_libpq_cannot_read_is_refused_without_its_password(folder: Path) -> None:
    result = run("serve", "--models", str(folder), "--jobs-store", "postgresql://u:se cret@host:notaport/db")
    line = one_line(result)
    assert line == ("embedroute serve: jobs_store: is not a PostgreSQL URL libpq can read "
                    "(postgresql://user:password@host:5432/db, special characters %-encoded)")
    assert "se cret" not in result.stderr + result.stdout


def test_a_server_that_does_not_answer_is_refused_at_start(folder: Path) -> None:
    result = run("serve", "--models", str(folder), "--jobs-store",
                 f"postgresql://u:hunter2@127.0.0.1:{free_port()}/jobs")
    line = one_line(result)
    assert line.startswith("embedroute serve: jobs_store: cannot reach the PostgreSQL server: "), line
    assert "hunter2" not in result.stderr + result.stdout
