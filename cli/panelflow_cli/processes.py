"""Child processes of the local stack: spawn with a log, wait until they answer, stop them."""

from __future__ import annotations

import collections
import contextlib
import os
import random
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import requests

HOST = "127.0.0.1"


class StackError(RuntimeError):
    """The local stack could not be started; the message says what to do."""


# Ports this process handed out lately: the probe socket is closed before the process it
# is for binds the port, so the kernel may offer the same port again meanwhile, and two of
# a stack's servers would then be given one port (one fails to bind, and the other answers
# its requests).
_handed_out: collections.deque[int] = collections.deque(maxlen=4096)
_handing_out = threading.Lock()


def _listening_ports() -> range:
    """Where to look for ports to listen on: below the kernel's ephemeral range.

    The kernel gives outgoing connections their local port from its ephemeral range (and
    ``bind(0)`` from the same range). A port found free there can be taken by any client's
    connection before the server it was meant for binds it: one stack start in about
    twenty failed that way ("Failed to bind"). Below the range only listeners compete, and
    the probe bind sees them.
    """
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as ranges:
            low = int(ranges.read().split()[0])
    except (OSError, ValueError, IndexError):
        return range(0)
    return range(max(1024, low - 12000), low) if low - 1024 >= 2000 else range(0)


_LISTENING = _listening_ports()
_picker = random.Random()


def free_port() -> int:
    """A port free on ``HOST`` now, not handed out lately by this process, and (where the
    system says which ports outgoing connections use) outside those."""
    with _handing_out:
        for _ in range(200):
            port = _picker.choice(_LISTENING) if _LISTENING else 0
            with socket.socket() as sock:
                try:
                    sock.bind((HOST, port))
                except OSError:
                    continue  # a listener has it
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out.append(port)
                return port
        raise StackError("no free port found on 127.0.0.1; is something holding them all?")


class ProcessGroup:
    """Named child processes, each in a session of its own and logging to ``<name>.log``."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(
        self, name: str, command: list[str], env: Mapping[str, str], cwd: Path | None = None
    ) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        log.write(f"$ {shlex.join(command)}\n".encode())
        log.flush()
        # A session of its own, so stopping kills the whole group (java children included).
        self.processes[name] = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        log.close()

    def logs(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def check_alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            tail = "\n".join(self.logs(name).splitlines()[-15:])
            raise StackError(f"{name} exited with code {process.returncode}:\n{tail}")

    def wait_http(
        self,
        name: str,
        url: str,
        timeout: float = 60.0,
        any_status: bool = False,
        ok_only: bool = False,
    ) -> None:
        """Waits until ``url`` answers: any status, below 500, or (``ok_only``) 2xx only, so
        that another server answering on the port does not pass for this one."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive(name)
            try:
                response = requests.get(url, timeout=2)
                if ok_only and response.ok:
                    return
                if not ok_only and (any_status or response.status_code < 500):
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{name} did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.1)

    def wait_file(self, name: str, path: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            self.check_alive(name)
            if time.monotonic() > deadline:
                raise StackError(f"{name} did not start; see its log")
            time.sleep(0.05)

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def stop(self) -> None:
        stop_processes(self.pids())
        self.processes.clear()


def stop_processes(pids: Mapping[str, int], grace: float = 5.0) -> None:
    """SIGTERM each process group, then SIGKILL what is left after ``grace`` seconds."""
    for pid in pids.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pid) for pid in pids.values()):
        time.sleep(0.05)
    for pid in pids.values():
        _signal_group(pid, signal.SIGKILL)
    for pid in pids.values():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A zombie child counts as gone.
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True
