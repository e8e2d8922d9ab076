"""Untrusted programs stay contained, under every isolation tier this machine supports."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import wait_until_gone

from recode.sandbox import Sandbox, SandboxLimits

SHORT = SandboxLimits(timeout_s=1.0, memory_mb=256, output_bytes=10_000)


def test_benign_program_passes(box: Sandbox) -> None:
    result = box.run("import math\nprint(math.factorial(5))\n")
    assert (result.status, result.returncode, result.stdout) == ("ok", 0, "120\n")
    assert result.isolation == box.isolation
    assert result.error_type is None and not result.truncated


def test_exception_is_reported_with_type_and_message(box: Sandbox) -> None:
    result = box.run("def f():\n    return 1 / 0\nf()\n")
    assert (result.status, result.returncode) == ("error", 1)
    assert (result.error_type, result.error_message) == ("ZeroDivisionError", "division by zero")
    assert result.stderr.startswith("Traceback") and "_server.py" not in result.stderr


@pytest.mark.parametrize(
    ("source", "code", "status"),
    [
        ("import sys\nsys.exit(0)\nprint('after')", 0, "ok"),
        ("import sys\nsys.exit(3)", 3, "error"),
        ("import os\nprint('x', flush=True)\nos._exit(7)", 7, "error"),
        ("import os\nos._exit(0)\nprint('after')", 0, "ok"),
        ("raise SystemExit('bye')", 1, "error"),
    ],
)
def test_exits_are_reported_faithfully(box: Sandbox, source: str, code: int, status: str) -> None:
    result = box.run(source)
    assert (result.status, result.returncode) == (status, code)
    assert "after" not in result.stdout  # an early exit never looks like a completed program


def test_infinite_loop_times_out(box: Sandbox) -> None:
    result = box.run("while True:\n    pass\n", SHORT)
    assert (result.status, result.error_type) == ("timeout", "Timeout")
    assert 1.0 <= result.duration_s < 4.0


def test_memory_blow_up_is_stopped(box: Sandbox) -> None:
    limits = SandboxLimits(timeout_s=20.0, memory_mb=256)  # generous: a loaded machine pages in slowly
    result = box.run("chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))\n", limits)
    assert (result.status, result.error_type) == ("memory", "MemoryError")
    assert "256 MB" in (result.error_message or "")


def test_orphaned_setsid_children_ignoring_sigterm_are_killed(box: Sandbox) -> None:
    marker = f"orphan-{secrets.token_hex(6)}"
    source = (
        "import subprocess, sys\n"
        "code = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'\n"
        "for _ in range(3):\n"
        f"    subprocess.Popen([sys.executable, '-c', code, {marker!r}], start_new_session=True)\n"
        "print('spawned')\n"
    )
    result = box.run(source)
    assert (result.status, result.stdout) == ("ok", "spawned\n")
    assert wait_until_gone(marker) == []


def test_fork_bomb_is_contained_and_cleaned_up(box: Sandbox) -> None:
    marker = f"bomb-{secrets.token_hex(6)}"
    source = (
        "import os, sys\n"
        "for _ in range(5):\n"
        "    try:\n        os.fork()\n    except OSError:\n        pass\n"
        "code = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'\n"
        f"os.execv(sys.executable, [sys.executable, '-c', code, {marker!r}])\n"
    )
    result = box.run(source, SHORT)
    assert result.status == "timeout"
    assert wait_until_gone(marker) == []
    assert box.run("print('still fine')").stdout == "still fine\n"


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[object]]]:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_network_is_unreachable(box: Sandbox, loopback_server: tuple[int, list[object]]) -> None:
    port, accepted = loopback_server
    source = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'leak')\n"
    result = box.run(source)
    assert result.status == "error"
    assert result.error_type in {"ConnectionRefusedError", "PermissionError", "OSError", "TimeoutError"}
    assert accepted == []


def test_writes_outside_the_scratch_dir_fail(box: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    result = box.run(f"open({str(target)!r}, 'w').write('x')\n")
    assert result.status == "error"
    assert not target.exists()


def test_scratch_dir_is_private_and_fresh(box: Sandbox) -> None:
    listing = "import os\nprint(os.getcwd(), sorted(set(os.listdir('.')) - {'main.py'}))\n"
    first = box.run("open('note.txt', 'w').write('x')\n" + listing)
    second = box.run(listing)
    assert first.status == second.status == "ok"
    assert "['note.txt']" in first.stdout and second.stdout.rstrip().endswith("[]")
    assert first.stdout.split()[0] != second.stdout.split()[0]


def test_reads_outside_the_scratch_dir_fail(box: Sandbox, tmp_path: Path) -> None:
    if box.isolation != "bwrap":
        pytest.skip(f"the {box.isolation} tier shows the host read-only; only bwrap hides it")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    for path in (secret, Path.home() / ".bashrc", Path("/etc/shadow")):
        result = box.run(f"print(open({str(path)!r}).read())\n")
        assert "top secret" not in result.stdout
        assert result.status == "error" or result.stdout.strip() == "", path


def test_environment_is_scrubbed(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECODE_TEST_SECRET", "hunter2")
    with Sandbox(SHORT, preload=(), workers=1, isolation=box.isolation) as fresh:
        result = fresh.run("import os\nprint(sorted(os.environ))\n")
    assert "RECODE_TEST_SECRET" not in result.stdout and "hunter2" not in result.stdout
    assert "PATH" in result.stdout


def test_a_gigabyte_of_stdout_is_capped_head_and_tail(box: Sandbox) -> None:
    source = (
        "import os\nos.write(1, b'START')\nblock = b'x' * (1 << 20)\n"
        "for _ in range(1024):\n    os.write(1, block)\nos.write(1, b'END')\n"
    )
    result = box.run(source, SandboxLimits(timeout_s=30.0, memory_mb=256, output_bytes=10_000))
    assert (result.status, result.truncated) == ("ok", True)
    assert result.stdout.startswith("START") and result.stdout.endswith("END")
    assert len(result.stdout) < 10_100 and "bytes truncated" in result.stdout


def test_killing_the_parent_does_not_pass_and_the_sandbox_recovers(box: Sandbox) -> None:
    source = "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(5)\nprint('done')\n"
    result = box.run(source, SHORT)
    assert result.status != "ok" and "done" not in result.stdout
    assert box.run("print('next')").stdout == "next\n"


def test_crashing_interpreter_is_reported(box: Sandbox) -> None:
    result = box.run("import ctypes\nctypes.string_at(0)\n")
    assert (result.status, result.error_type) == ("crashed", "SIGSEGV")
    assert result.returncode == -11


def test_run_many_keeps_input_order(box: Sandbox) -> None:
    sources = [f"import time\ntime.sleep({(6 - i) * 0.03})\nprint({i})\n" for i in range(6)]
    results = box.run_many(sources, progress=False)
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(6)]


def test_pid_namespace_hides_the_host(box: Sandbox) -> None:
    if box.isolation == "subprocess":
        pytest.skip("the subprocess tier has no PID namespace")
    result = box.run("import os\nprint(os.getpid(), len([p for p in os.listdir('/proc') if p.isdigit()]))\n")
    pid, visible = map(int, result.stdout.split())
    # /proc belongs to the server's namespace: its init, the server and the program, nothing of the host
    assert pid == 1 and visible <= 3
    assert len([p for p in os.listdir("/proc") if p.isdigit()]) > visible


def test_programs_cannot_pass_files_to_the_next_one(box: Sandbox) -> None:
    if box.isolation == "subprocess":
        pytest.skip("the subprocess tier's guard refuses writes outside the scratch dir outright")
    with Sandbox(SHORT, preload=(), workers=1, isolation=box.isolation) as single:
        first = single.run("open('/tmp/left.txt', 'w').write('x')\nopen('/dev/shm/left', 'w').write('x')\n")
        second = single.run(
            "import os\nprint(os.path.exists('/tmp/left.txt'), os.path.exists('/dev/shm/left'))\n"
        )
    assert first.status == "ok" and second.stdout == "False False\n"
