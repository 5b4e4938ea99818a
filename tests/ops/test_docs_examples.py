"""Every shell example in README.md and docs/*.md runs as written against the seed data.

The examples of one document run in order in one ``bash -eo pipefail`` process (so a ``KEY``
set by one block is there for the next), from the checkout, against a server started as
``make run`` starts it: ``DJANGO_DEBUG=1``, migrated, with the seed data loaded. Two things
differ, both outside the examples' text: the database is a throwaway SQLite file (never the
checkout's ``db.sqlite3``), and the server listens on a free port that replaces ``8000`` in
the examples. Every ``curl`` reports its HTTP status; the status must be the one the example
documents on a following ``# =>`` line (``# => 201 ...``, ``# => HTTP/1.1 304 ...``, or a JSON
body for 200) and 2xx where it documents none. Where that line shows a body, every
``"key": value`` in it with a literal value (a number, ``true``/``false``/``null``, or a string
without ``...``) must be in what the server answered.

A block that cannot run here (it starts a long-running server, needs a deployment's own
hosts and secrets, or is a benchmark against PostgreSQL) is preceded by
``<!-- not run: REASON -->``; the reason is required, and every such block is listed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(
    r"(?P<before>(?:^[^\n]*\n){0,2})^```(?:sh|bash|shell|console)\n(?P<body>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>.*?)\s*-->")
EXPECTED = re.compile(r"#\s*=>\s*(?:HTTP/[\d.]+\s+)?(?P<status>\d{3}\b)?(?P<rest>.*)")
LITERAL = re.compile(
    r'"(?P<key>\w+)":\s*(?P<value>"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)'
)
CURL = re.compile(r"(?:^|[\s(|;&]|\$\()curl\s")


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    body: str
    not_run: str | None

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks(document: Path) -> list[Block]:
    text = document.read_text()
    found = []
    for match in FENCE.finditer(text):
        reason = None
        marker = NOT_RUN.search(match["before"])
        if marker:
            reason = marker["reason"]
        line = text.count("\n", 0, match.start("body"))
        found.append(Block(document, line, match["body"], reason))
    return found


ALL_BLOCKS = [block for document in DOCUMENTS for block in blocks(document)]
RUN = [block for block in ALL_BLOCKS if block.not_run is None]


@dataclass
class Expected:
    status: int | None = None  # None: any 2xx
    literals: tuple[tuple[str, str], ...] = ()


def expected_answers(script: str) -> list[Expected]:
    """What each ``curl`` of ``script`` should answer, in order, from its ``# =>`` line."""
    expected: list[Expected] = []
    pending = False
    for raw in script.splitlines():
        line = raw.strip()
        comment = EXPECTED.match(line)
        if comment and pending:
            status, rest = comment["status"], comment["rest"].strip()
            if status is None and rest.startswith(("{", "[")):
                status = "200"
            literals = tuple(
                (m["key"], m["value"]) for m in LITERAL.finditer(rest) if "..." not in m["value"]
            )
            expected[-1] = Expected(int(status) if status else None, literals)
            pending = False
            continue
        code = line.split(" #", 1)[0]
        for _ in CURL.findall(" " + code):
            expected.append(Expected())
            pending = True
    return expected


def test_every_not_run_block_says_why():
    assert ALL_BLOCKS, "no shell examples were found"
    for block in ALL_BLOCKS:
        if block.not_run is not None:
            assert len(block.not_run) >= 10, f"{block.where}: give the reason it is not run"


def test_the_examples_that_talk_to_the_server_are_run():
    """The walk is not vacuous: the API's and the feed's examples are among those run."""
    run = {block.document.name for block in RUN if CURL.search(" " + block.body)}
    assert {"README.md", "api.md", "feed.md"} <= run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server as ``make run`` starts it, on a throwaway SQLite database with the seed data."""
    folder = tmp_path_factory.mktemp("examples")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_DEBUG": "1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    for command in (["migrate", "--no-input", "-v0"], ["load_seed"]):
        subprocess.run(
            [python, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    port = free_port()
    server = subprocess.Popen(
        [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                os.killpg(server.pid, signal.SIGTERM)
                pytest.fail("the server did not start")
            time.sleep(0.2)
    # The shell the examples run in has what a user's shell has: no DJANGO_DEBUG (the
    # examples set what they need), the database the server uses, the checkout's venv.
    shell_env = {k: v for k, v in env.items() if k != "DJANGO_DEBUG"}
    yield port, shell_env
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)


@pytest.fixture(scope="module")
def curl_shim(tmp_path_factory):
    """A ``curl`` first on PATH that runs the real one, reports each status on stderr and
    keeps a copy of what it printed in ``$EXAMPLE_ANSWERS/NNNN`` (the example still sees it)."""
    real = shutil.which("curl")
    assert real is not None, "the examples call curl: install it (Debian package curl)"
    folder = tmp_path_factory.mktemp("bin")
    shim = folder / "curl"
    shim.write_text(
        "#!/bin/sh\n"
        'answer="$EXAMPLE_ANSWERS/$(printf %04d "$(ls "$EXAMPLE_ANSWERS" | wc -l)")"\n'
        f'{real} --write-out \'%{{stderr}}example-status %{{http_code}}\\n\' "$@" > "$answer"\n'
        "status=$?\n"
        'cat "$answer"\n'
        "exit $status\n"
    )
    shim.chmod(0o755)
    return folder


@pytest.mark.parametrize(
    "document",
    sorted({block.document for block in RUN}),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_examples_run_as_written(document, served, curl_shim, tmp_path):
    port, env = served
    answers = tmp_path / "answers"
    answers.mkdir()
    chosen = [block for block in RUN if block.document == document]
    script = "\n".join(block.body for block in chosen)
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    env = {**env, "PATH": f"{curl_shim}:{env['PATH']}", "EXAMPLE_ANSWERS": str(answers)}
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
        handle.write("set -eo pipefail\n" + script)
    try:
        result = subprocess.run(
            ["bash", handle.name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        os.unlink(handle.name)
    where = ", ".join(block.where for block in chosen)
    assert result.returncode == 0, (
        f"{where} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    got = [int(code) for code in re.findall(r"^example-status (\d{3})$", result.stderr, re.M)]
    bodies = [path.read_text() for path in sorted(answers.iterdir())]
    want = expected_answers(script)
    assert len(got) == len(want) == len(bodies), (
        f"{where}: {len(want)} curl calls written, {len(got)} ran"
    )
    for index, (status, body, expected) in enumerate(zip(got, bodies, want, strict=True)):
        name = f"{where}: curl #{index + 1}"
        if expected.status is None:
            assert 200 <= status < 300, f"{name} answered {status}: {body[:500]}"
        else:
            assert status == expected.status, f"{name} answered {status}: {body[:500]}"
        for key, value in expected.literals:
            pattern = rf'"{re.escape(key)}":\s*{re.escape(value)}'
            assert re.search(pattern, body), f"{name}: no {key}: {value} in {body[:500]}"
