"""The fork-server: runs *inside* the isolation, preloads heavy modules once, forks one child per program.

Why a separate, standard-library-only script: it is started by whatever interpreter the caller names
(`python=`, e.g. a per-library-version venv that has no `recode` installed), so it may import nothing from
`recode` and must stay valid on older Pythons (no `match`, no runtime `X | Y`). It is started with
`python -I` so neither the environment nor this directory leaks onto the program's `sys.path`.

Protocol: length-prefixed JSON over the server's original stdin/stdout (moved to private descriptors at
start so nothing a preloaded module prints can corrupt it). The first message is `{"ready": ...}`; then
each request `{"source", "timeout_s", "memory_mb", "output_bytes"}` gets one raw outcome back. The host
(`recode.sandbox.forkserver`) turns outcomes into `SandboxResult`s; this file only measures.

Containment, per program:
- the child starts a new session, resets descriptors (stdin=/dev/null, stdout/stderr=pipes, fd 3=status),
  drops every capability when it runs as root, sets rlimits (address space, core, file size, processes),
  and runs in a fresh scratch directory that is deleted afterwards;
- where the server may create PID namespaces (root inside bwrap/unshare) every program is PID 1 of its
  own namespace: when it exits or is killed the kernel kills all its descendants at once, and it cannot
  see (hence cannot signal) the server;
- otherwise the server is a child subreaper: after the program ends it SIGKILLs every remaining
  descendant (setsid'd orphans included), found by walking /proc.
Faithfulness: each child reseeds torch's and numpy's global generators (`_reseed`), so forked programs
draw independent random numbers, as fresh interpreters would.
"""

from __future__ import annotations

import argparse
import atexit
import builtins
import collections
import contextlib
import ctypes
import gc
import io
import json
import os
import resource
import selectors
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
import traceback
import types

_HEADER = struct.Struct(">I")
_STATUS_FD = 3
_STATUS_CAP = 64 * 1024
_DRAIN_S = 2.0
_FILE_SIZE_LIMIT = 1 << 30
_NPROC_LIMIT = 512
_CLONE_NEWPID = 0x20000000
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAPBSET_DROP = 24
_PR_SET_CHILD_SUBREAPER = 36
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_NETWORK_EVENTS = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg")
_PATH_EVENTS = (
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.link",
    "os.symlink",
    "os.truncate",
)

_libc = ctypes.CDLL(None, use_errno=True)


# ----------------------------------------------------------------------------------------------- protocol
def _send(fd: int, message: dict) -> None:
    data = json.dumps(message).encode("utf-8")
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv(fd: int) -> dict | None:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body.decode("utf-8"))


def _take_protocol_fds() -> tuple[int, int]:
    """Move the protocol pipes off 0/1 so stray prints (preloaded modules, C libraries) go to /dev/null."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    return proto_in, proto_out


# ------------------------------------------------------------------------------------------ output capture
class CappedBuffer:
    """Keeps the first and last `limit // 2` bytes of a stream and counts what fell in between."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail: collections.deque = collections.deque()
        self.tail_size = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail.append(data)
        self.tail_size += len(data)
        while self.tail and self.tail_size - len(self.tail[0]) >= self.tail_limit:
            self.dropped += len(self.tail[0])
            self.tail_size -= len(self.tail.popleft())

    def text(self) -> tuple[str, bool]:
        """Decoded text (head, a marker, tail when something was dropped) and whether anything was."""
        tail = b"".join(self.tail)
        excess = max(0, len(tail) - self.tail_limit)
        dropped = self.dropped + excess
        head = self.head.decode("utf-8", errors="replace")
        rest = tail[excess:].decode("utf-8", errors="replace")
        if not dropped:
            return head + rest, False
        return f"{head}\n... [{dropped} bytes truncated] ...\n{rest}", True


# ------------------------------------------------------------------------------------- isolation helpers
def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def _mount_points() -> list[tuple[str, set[str]]]:
    points = []
    with open("/proc/self/mounts") as handle:
        for line in handle:
            fields = line.split()
            point = fields[1].replace("\\040", " ")
            points.append((point, set(fields[3].split(","))))
    return points


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def isolate_mounts(tmpfs_bytes: int, keep: list[str]) -> None:
    """Inside a fresh mount namespace: private /tmp and /dev/shm, every other mount read-only.

    `keep` lists host directories under /tmp (e.g. a venv) that must stay visible, read-only; they are
    opened before the tmpfs hides them and bound back through /proc/self/fd.
    """
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)
    kept = [(path, os.open(path, os.O_RDONLY | os.O_DIRECTORY)) for path in keep]
    for target in ("/tmp", "/dev/shm"):
        os.makedirs(target, exist_ok=True)
        _mount("tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={tmpfs_bytes},mode=1777")
    for path, fd in kept:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC, None)
        os.close(fd)
    writable = ("/tmp", "/dev/shm", "/proc", "/dev/pts")
    for point, options in reversed(_mount_points()):
        if any(_under(point, w) for w in writable) and not any(_under(point, k) for k in keep):
            continue
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        flags |= sum(bit for name, bit in (("nosuid", 2), ("nodev", 4), ("noexec", 8)) if name in options)
        try:
            _mount(None, point, None, flags, None)
        except OSError:
            if point == "/":
                raise


class PidNamespacer:
    """Makes the next fork land as PID 1 of a brand-new PID namespace (needs CAP_SYS_ADMIN).

    `unshare(CLONE_NEWPID)` only changes the namespace of *future* children and may not be repeated until
    the server re-enters its own namespace with `setns`, hence the pair before every fork.
    """

    def __init__(self) -> None:
        self.own = os.open("/proc/self/ns/pid", os.O_RDONLY)
        self.prepare()
        self.reset()

    def prepare(self) -> None:
        _check(_libc.unshare(_CLONE_NEWPID), "unshare(CLONE_NEWPID)")

    def reset(self) -> None:
        _check(_libc.setns(self.own, _CLONE_NEWPID), "setns(pid)")


def _pid_namespacer() -> PidNamespacer | None:
    try:
        return PidNamespacer()
    except OSError:
        return None


def _become_subreaper() -> None:
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _drop_privileges() -> None:
    """Root inside the sandbox keeps uid 0 (the stdlib may live in a root-only home) but loses every
    capability, now and across exec, so it cannot remount, load modules, or signal other namespaces."""
    for cap in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    header = struct.pack("Ii", _LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)
    _libc.capset(ctypes.c_char_p(header), ctypes.c_char_p(data))
    _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _address_space() -> int:
    """Bytes of address space mapped right now (0 if unknown): the preloaded baseline."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _set_limits(memory_mb: int) -> None:
    """The memory limit is counted on top of what the (preloaded) interpreter already maps: torch alone
    maps ~0.7 GB, shared copy-on-write with the server, which the program must not be charged for."""
    limits = [
        (resource.RLIMIT_AS, _address_space() + memory_mb * 1024 * 1024),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, _FILE_SIZE_LIMIT),
        (resource.RLIMIT_NPROC, _NPROC_LIMIT),
    ]
    for kind, value in limits:
        hard = resource.getrlimit(kind)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def _install_guard(scratch: str) -> None:
    """Last-resort tier only: refuse sockets and file writes outside the scratch dir via an audit hook.

    A determined program can bypass it (ctypes, exec), which is why the result says `subprocess`.
    """

    def allowed(path: object) -> bool:
        if isinstance(path, int):
            return True
        full = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        return _under(full, scratch) or full == os.devnull

    def hook(event: str, args: tuple) -> None:
        if event in _NETWORK_EVENTS:
            raise PermissionError("network access is disabled in the sandbox")
        if event == "open" and args[2] is not None and args[2] & _WRITE_FLAGS and not allowed(args[0]):
            raise PermissionError(f"writing outside the sandbox scratch dir is not allowed: {args[0]!r}")
        if event in _PATH_EVENTS and not all(allowed(a) for a in args if isinstance(a, (str, bytes))):
            raise PermissionError(f"{event} outside the sandbox scratch dir is not allowed")

    sys.addaudithook(hook)


# ----------------------------------------------------------------------------------------------- the child
def _close_other_fds() -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > _STATUS_FD:
            with contextlib.suppress(OSError):
                os.close(fd)


def _reseed() -> None:
    """Give the program fresh random state, as a fresh interpreter would have.

    Forked children inherit the server's generators: torch seeds its default generator at import, so
    without this every program forked from one server draws the same "random" numbers from torch, and
    tests that draw random inputs all see one sample instead of independent ones. numpy's global state
    is seeded on first use, so it is shared as soon as anything in the server touched it (the warm-up
    call in `main` does). The stdlib's `random` reseeds itself on `os.fork`.
    """
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        with contextlib.suppress(Exception):
            numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        with contextlib.suppress(Exception):
            torch.default_generator.seed()


def _prepare_child(request: dict, scratch: str, fds: tuple[int, int, int], guard: bool) -> None:
    os.setsid()
    _reseed()
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for target, fd in zip((1, 2, _STATUS_FD), fds, strict=False):
        os.dup2(fd, target)
    _close_other_fds()
    os.set_inheritable(_STATUS_FD, False)
    if os.geteuid() == 0:
        _drop_privileges()
    _set_limits(int(request["memory_mb"]))
    os.chdir(scratch)
    os.environ.update(HOME=scratch, TMPDIR=scratch, PWD=scratch, MPLCONFIGDIR=scratch)
    tempfile.tempdir = None
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace")
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    # exit hooks the preloaded modules registered in the server are not the program's, and cost ~100 ms
    # per program with torch (multiprocessing, logging, torch's own); only the program's hooks run
    atexit._clear()
    if guard:
        _install_guard(scratch)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _describe(exc: BaseException) -> dict:
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable exception>"
    lowered = message.lower()
    memory = isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "allocate" in lowered and "memory" in lowered
    )
    return {"exc_type": type(exc).__name__, "exc_message": message[:4000], "memory": memory}


def _execute(source: str, path: str) -> tuple[int, dict]:
    """Run the program as `__main__` the way `python path` would; return (exit code, exception info)."""

    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=path, __builtins__=builtins, __cached__=None)
    sys.modules["__main__"] = module
    sys.argv = [path]
    sys.path[0:0] = [os.path.dirname(path)]
    try:
        exec(compile(source, path, "exec"), module.__dict__)
        return 0, {}
    except SystemExit as exc:
        code = _exit_code(exc)
        return code, ({"exc_type": "SystemExit", "exc_message": f"exit code {code}"} if code else {})
    except BaseException as exc:
        info = _describe(exc)
        # drop this function's own frame: the traceback should start at the program, as with `python file`
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        return 1, info


def _finish(code: int, info: dict) -> None:
    """Shut down like the interpreter would (non-daemon threads, atexit, flush), then leave at once:
    `os._exit` so nothing inherited from the server (its buffers, its atexit hooks) runs in the child."""

    try:
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    if info:
        with contextlib.suppress(OSError):
            os.write(_STATUS_FD, json.dumps(info).encode("utf-8"))
    os._exit(code)


def _child(request: dict, scratch: str, path: str, fds: tuple[int, int, int], guard: bool) -> None:
    try:
        _prepare_child(request, scratch, fds, guard)
        code, info = _execute(request["source"], path)
    except BaseException as exc:  # setup itself failed: report it rather than run unconfined
        with contextlib.suppress(OSError):
            os.write(2, f"sandbox setup failed: {exc!r}\n".encode())
        os._exit(71)
    _finish(code, info)


# ------------------------------------------------------------------------------------------ supervision
def _proc_table() -> dict[int, tuple[int, str]]:
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        table[int(name)] = (int(fields[1]), fields[0].decode())
    return table


def _reap_all() -> bool:
    """Reap every exited child; True when some child (hence maybe a deeper descendant) is still alive."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def kill_descendants(root: int, rounds: int = 200) -> int:
    """SIGKILL every live descendant of `root` until none is left; returns how many were killed.

    Fast path: the server is a subreaper, so when it has no child left it has no descendant at all and
    the /proc walk (milliseconds on a busy host) is skipped.
    """
    killed = 0
    if root == os.getpid() and not _reap_all():
        return 0
    for _ in range(rounds):
        table = _proc_table()
        children: dict[int, list[int]] = collections.defaultdict(list)
        for pid, (ppid, _state) in table.items():
            children[ppid].append(pid)
        stack, victims = list(children[root]), []
        while stack:
            pid = stack.pop()
            stack.extend(children[pid])
            if table[pid][1] != "Z":
                victims.append(pid)
        _reap_all()
        if not victims:
            return killed
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.002)
    return killed


def _kill_program(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return None


def _pump(selector: selectors.BaseSelector, buffers: dict, timeout: float) -> bool:
    """Read whatever is ready into the capped buffers; True when some registered fd was the pidfd."""
    exited = False
    for key, _ in selector.select(timeout):
        if key.data is None:
            exited = True
            continue
        data = os.read(key.fd, 65536)
        if data:
            key.data.add(data)
        else:
            selector.unregister(key.fd)
            os.close(key.fd)
    return exited


def _supervise(pid: int, pipes: dict[int, CappedBuffer], deadline: float) -> tuple[int, bool]:
    """Wait for the program (pumping its output) until it exits or the deadline; (wait status, timed out)."""
    selector = selectors.DefaultSelector()
    for fd, buffer in pipes.items():
        selector.register(fd, selectors.EVENT_READ, buffer)
    pidfd = _pidfd(pid)
    if pidfd is not None:
        selector.register(pidfd, selectors.EVENT_READ, None)
    status, timed_out = None, False
    while status is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            _kill_program(pid)
            status = os.waitpid(pid, 0)[1]
            break
        _pump(selector, pipes, remaining if pidfd is not None else min(remaining, 0.01))
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            status = wait_status
    if pidfd is not None:
        selector.unregister(pidfd)
        os.close(pidfd)
    _drain(selector, pipes, pid)
    return status, timed_out


def _drain(selector: selectors.BaseSelector, pipes: dict, pid: int) -> None:
    """After the program ended: kill what it left behind, then read its pipes to EOF (bounded)."""
    _kill_program(pid)
    kill_descendants(os.getpid())
    end = time.monotonic() + _DRAIN_S
    while selector.get_map() and time.monotonic() < end:
        _pump(selector, pipes, 0.05)
    for key in list(selector.get_map().values()):
        selector.unregister(key.fd)
        os.close(key.fd)
    selector.close()


class Server:
    """Runs one program per request; state is the preloaded interpreter, nothing else survives a request."""

    def __init__(self, scratch_root: str, guard: bool, pid_ns: bool, wipe: list[str]) -> None:
        self.scratch_root = scratch_root
        self.guard = guard
        self.namespacer = _pid_namespacer() if pid_ns else None
        self.wipe = {root: set(_listdir(root)) for root in wipe}

    def run(self, request: dict) -> dict:
        scratch = tempfile.mkdtemp(prefix="run-", dir=self.scratch_root)
        try:
            return self._run_in(request, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            self._wipe()

    def _wipe(self) -> None:
        """Empty the server's private /tmp and /dev/shm of whatever the program left outside its scratch
        dir, so no program can pass files to the next one. What was there when the server became ready
        (read-only binds of venvs, the preloaded modules' own files) stays."""
        for root, keep in self.wipe.items():
            for name in set(_listdir(root)) - keep:
                path = os.path.join(root, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(path)

    def _run_in(self, request: dict, scratch: str) -> dict:
        path = os.path.join(scratch, "main.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(request["source"])
        cap = int(request["output_bytes"])
        (out_r, out_w), (err_r, err_w), (st_r, st_w) = os.pipe(), os.pipe(), os.pipe()
        pipes = {out_r: CappedBuffer(cap), err_r: CappedBuffer(cap), st_r: CappedBuffer(_STATUS_CAP)}
        if self.namespacer is not None:
            self.namespacer.prepare()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                _child(request, scratch, path, (out_w, err_w, st_w), self.guard)
            finally:
                os._exit(70)
        if self.namespacer is not None:
            self.namespacer.reset()
        for fd in (out_w, err_w, st_w):
            os.close(fd)
        status, timed_out = _supervise(pid, pipes, start + float(request["timeout_s"]))
        duration = time.monotonic() - start
        return self._outcome(pipes[out_r], pipes[err_r], pipes[st_r], status, timed_out, duration)

    @staticmethod
    def _outcome(out, err, st, status: int, timed_out: bool, duration: float) -> dict:
        stdout, out_cut = out.text()
        stderr, err_cut = err.text()
        try:
            info = json.loads(st.text()[0] or "{}")
        except ValueError:
            info = {}
        return {
            "returncode": os.waitstatus_to_exitcode(status),
            "timed_out": timed_out,
            "duration_s": duration,
            "stdout": stdout,
            "stderr": stderr,
            "truncated": out_cut or err_cut,
            "exc_type": info.get("exc_type"),
            "exc_message": info.get("exc_message"),
            "memory": bool(info.get("memory")),
        }


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _preload(names: list[str]) -> list[str]:
    """Import what is importable; a module this interpreter lacks (or that fails to import) is skipped."""
    loaded = []
    for name in names:
        try:
            __import__(name)
        except BaseException:
            continue
        loaded.append(name)
    return loaded


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="recode-sandbox-server")
    parser.add_argument("--preload", default="")
    parser.add_argument("--scratch-root", default="/tmp")
    parser.add_argument("--guard", action="store_true", help="audit-hook guard (no OS isolation)")
    parser.add_argument("--pid-ns", action="store_true", help="one PID namespace per program if permitted")
    parser.add_argument("--isolate-mounts", action="store_true", help="set up mounts (unshare tier)")
    parser.add_argument("--tmpfs-bytes", type=int, default=2 << 30)
    parser.add_argument("--keep", action="append", default=[])
    parser.add_argument("--wipe", action="append", default=[], help="private dir to empty after each program")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _parse(argv)
    proto_in, proto_out = _take_protocol_fds()
    if args.isolate_mounts:
        isolate_mounts(args.tmpfs_bytes, args.keep)
    _become_subreaper()
    loaded = _preload([name for name in args.preload.split(",") if name])
    _reseed()  # once here, so its lazy imports (numpy's entropy source: secrets, hashlib) are preloaded too
    server = Server(args.scratch_root, args.guard, args.pid_ns, args.wipe)
    gc.freeze()
    _send(
        proto_out,
        {"ready": True, "preloaded": loaded, "pid_ns": server.namespacer is not None, "pid": os.getpid()},
    )
    while True:
        request = _recv(proto_in)
        if request is None:
            return 0
        _send(proto_out, server.run(request))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
