"""The built wheel, installed as a new user would: a fresh venv, an empty folder, and
`wcofeed init`, `publish` and `serve` answering over HTTP. Nothing of the clone may be
on the path, so a template or sample the wheel forgot fails here."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError

import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.slow

#: What a clone holds that a build must not read (and copying would only slow down).
_TOP_LEVEL_OUTPUT = {".git", ".venv", "venv", "dist", "build", "feeds", "outbox"}
_ANYWHERE = shutil.ignore_patterns(
    "__pycache__",
    "*.db",
    "*.db-*",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "*.egg-info",
    ".wcofeed-secret",
)


def _not_sources(folder: str, names: list[str]) -> set[str]:
    ignored = set(_ANYWHERE(folder, names))
    if Path(folder) == REPO:
        ignored |= _TOP_LEVEL_OUTPUT & set(names)
    return ignored


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of a copy of the sources, with a message catalog dropped into locale/."""
    root = tmp_path_factory.mktemp("wheel")
    sources = root / "sources"
    shutil.copytree(REPO, sources, ignore=_not_sources)
    (sources / "src" / "wcofeed" / "locale" / "xx.po").write_text('msgid ""\nmsgstr ""\n')
    (sources / "src" / "wcofeed" / "locale" / "xx.mo").write_bytes(b"\xde\x12\x04\x95")
    # No build isolation: the backend (hatchling) is a test dependency, so no download.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(root / "dist"),
            str(sources),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (built,) = (root / "dist").glob("wcofeed-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its dependencies (from the pip cache when warm)."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=120)
    subprocess.run(
        [str(folder / "bin" / "pip"), "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
        env=_clean_env(),
    )
    return folder


def _clean_env() -> dict[str, str]:
    """The environment minus anything that could put the clone on the path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def test_the_wheel_carries_templates_samples_and_catalogs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*.*")}
    samples = {p.relative_to(REPO).as_posix() for p in (REPO / "samples").glob("*.*")}
    for name in templates | samples:
        assert f"wcofeed/{name}" in names, name
    for name in ("wcofeed/locale/xx.po", "wcofeed/locale/xx.mo", "wcofeed/py.typed"):
        assert name in names, name


@pytest.fixture
def served(venv: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """`init`, `publish`, then `serve`, from an empty folder; the folder and the base URL."""
    folder = tmp_path / "empty"
    folder.mkdir()
    wcofeed = str(venv / "bin" / "wcofeed")
    where = _run(
        venv / "bin" / "python", "-c", "import wcofeed; print(wcofeed.__file__)", cwd=folder
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    init = _run(wcofeed, "init", cwd=folder)
    assert "wrote a starter config to config.toml" in init.stdout
    assert "schema version" in init.stdout
    publish = _run(wcofeed, "publish", cwd=folder)
    assert "feeds in" in publish.stdout
    port = free_port()
    process = subprocess.Popen(
        [wcofeed, "serve", "--port", str(port)],
        cwd=folder,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/healthz", process)
        yield folder, base
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_installed_copy_inits_publishes_and_serves_from_an_empty_folder(
    served: tuple[Path, str],
) -> None:
    folder, base = served
    assert (folder / "config.toml").is_file()
    assert (folder / "feeds" / "index.html").is_file()
    assert (folder / "feeds" / "en" / "all.atom").is_file()
    for path, kind in (
        ("/", "text/html"),
        ("/calls", "text/html"),
        ("/static/style.css", "text/css"),
        ("/feeds/index.html", "text/html"),
        ("/subscribe", "text/html"),
    ):
        with urllib.request.urlopen(base + path, timeout=10) as response:
            assert response.status == 200, path
            assert response.headers["Content-Type"].startswith(kind), path
            assert response.read(), path


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def _wait_for(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve stopped: {process.communicate()[0]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within 60 s")
