"""The private channel to one ``iron control`` process: JSON lines on its stdin and stdout.

Its stdin and stdout are each one end of a socket pair, not pipes: a pipe can be opened again through
``/proc/<pid>/fd/0`` by any process of the same user (an agent included), which could then send commands or read
the answers; a socket cannot be opened that way. A background thread reads every line: responses wake the caller
waiting for their id, events go to a callback. The process's stderr is this process's (its log lines show up where
ours do). It runs in a session of its own, so a Ctrl-C at the terminal reaches Python alone, which decides:
``close()`` (or exiting) stops the agents.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional

from .errors import ConfigError, IronError, IronNotFound, IronTimeout, error_from

#: The protocol this package speaks (core/cli/control.ts ``CONTROL_PROTOCOL``).
PROTOCOL = 1
IRON_RUNTIME_CLOSED = "IRON_RUNTIME_CLOSED"

Event = Mapping[str, Any]


class _Pending:
    __slots__ = ("done", "message")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.message: Optional[Dict[str, Any]] = None


class Channel:
    def __init__(self, argv: List[str], on_event: Callable[[Event], None], env: Optional[Mapping[str, str]] = None) -> None:
        self._argv = argv
        self._on_event = on_event
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending: Dict[int, _Pending] = {}
        self._next_id = 0
        self._hello: Optional[Dict[str, Any]] = None
        self._said_hello = threading.Event()
        self._ended = False
        # One socket pair per direction (a half-close of one never ends the other).
        self._to_iron, their_in = socket.socketpair()
        self._from_iron, their_out = socket.socketpair()
        try:
            try:
                self._process = subprocess.Popen(
                    argv,
                    stdin=their_in,
                    stdout=their_out,
                    start_new_session=True,
                    env=None if env is None else dict(env),
                )
            except OSError as error:
                self._to_iron.close()
                self._from_iron.close()
                raise IronNotFound(f"could not run {' '.join(argv)}: {error}") from error
        finally:
            their_in.close()
            their_out.close()
        self._input_open = True
        _CHANNELS.add(self)
        self._reader = threading.Thread(target=self._read, name=f"iron-control-{self._process.pid}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def hello(self, timeout: float) -> Dict[str, Any]:
        """The first line ``iron control`` writes; IronNotFound if the process ends (or says nothing) before it."""
        self._said_hello.wait(timeout)
        if self._hello is None:
            code = self._process.poll()
            self.terminate()
            said = f"exited with code {code}" if code is not None else f"said nothing for {timeout:.0f} s"
            raise IronNotFound(
                f"`{' '.join(self._argv)}` {said} before it answered (its message, if any, is above on stderr): "
                "it needs Iron Cage's `iron` with the control mode and Node.js ≥ 22.17"
            )
        if self._hello.get("protocol") != PROTOCOL:
            self.terminate()
            raise IronNotFound(
                f"{' '.join(self._argv)} (Iron Cage {self._hello.get('version')}) speaks control protocol "
                f"{self._hello.get('protocol')}; this iron_runtime speaks {PROTOCOL}: install matching versions"
            )
        return self._hello

    def request(self, cmd: str, fields: Optional[Mapping[str, Any]] = None, timeout: Optional[float] = None) -> Any:
        """Sends one request and returns its result, or raises its error as the typed IronError."""
        pending = _Pending()
        with self._lock:
            if self._ended:
                raise self._closed_error()
            self._next_id += 1
            request_id = self._next_id
            # Strict JSON (no NaN): a line iron cannot parse would never be answered. A TypeError or ValueError here
            # is the caller's argument.
            try:
                line = json.dumps({"id": request_id, "cmd": cmd, **(fields or {})}, allow_nan=False) + "\n"
            except ValueError as error:
                # NaN or infinity somewhere in the arguments (a budget, a config value): no JSON, no YAML has them.
                raise ConfigError("IRON_CONFIG_INVALID", f"{cmd}: NaN and infinity are not values iron accepts ({error})") from None
            self._pending[request_id] = pending
        # Its own lock: a writer blocked on a full pipe must never hold up the reader.
        with self._write_lock:
            try:
                if not self._input_open:
                    raise OSError("the channel's input is closed")
                self._to_iron.sendall(line.encode("utf-8"))
            except (OSError, ValueError):
                with self._lock:
                    self._pending.pop(request_id, None)
                raise self._closed_error() from None
        if not pending.done.wait(timeout):
            with self._lock:
                self._pending.pop(request_id, None)
            raise IronTimeout("IRON_TIMEOUT", f"iron control did not answer {cmd} within {timeout:.0f} s")
        message = pending.message
        if message is None:
            raise self._closed_error()
        if message.get("ok"):
            return message.get("result")
        error = message.get("error")
        raise error_from(error if isinstance(error, Mapping) else {"message": str(error)})

    def end_input(self) -> None:
        """Closes the process's stdin: it stops every agent and exits."""
        with self._write_lock:
            if self._input_open:
                self._input_open = False
                try:
                    self._to_iron.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                self._to_iron.close()

    def forget_in_child(self) -> None:
        """After os.fork(), in the child: its copies of the channel close, so the parent's death still ends iron control."""
        self._input_open = False
        for sock in (self._to_iron, self._from_iron):
            try:
                sock.close()
            except OSError:
                pass

    def wait_exit(self, timeout: float) -> Optional[int]:
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self) -> None:
        """Ends the process now (it stops its agents on SIGTERM too); SIGKILL if it does not go."""
        self.end_input()
        if self._process.poll() is None:
            self._process.terminate()
            if self.wait_exit(10) is None:
                self._process.kill()
                self._process.wait()
        self._reader.join(5)

    def _closed_error(self) -> IronError:
        code = self._process.poll()
        how = f"exited with code {code}" if code is not None else "closed"
        return IronError(IRON_RUNTIME_CLOSED, f"the runtime is closed (the iron control process {how}); create a new Runtime")

    def _read(self) -> None:
        stdout = self._from_iron.makefile("rb")
        try:
            for raw in stdout:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue  # not ours: iron writes only JSON lines here
                if not isinstance(message, dict):
                    continue
                if "event" in message:
                    self._event(message)
                    continue
                with self._lock:
                    pending = self._pending.pop(message.get("id"), None) if isinstance(message.get("id"), int) else None
                if pending is not None:
                    pending.message = message
                    pending.done.set()
        except OSError:
            pass  # the socket closed under the reader (a fork's child closing its copy): the channel ended
        finally:
            stdout.close()
            self._from_iron.close()
            self._process.wait()
            with self._lock:
                self._ended = True
                waiting = list(self._pending.values())
                self._pending.clear()
            for pending in waiting:
                pending.done.set()  # with no message: the process ended
            self._said_hello.set()

    def _event(self, message: Dict[str, Any]) -> None:
        if message.get("event") == "hello":
            self._hello = message
            self._said_hello.set()
            return
        try:
            self._on_event(message)
        except Exception:  # noqa: BLE001 — a failing callback must not stop the reader (and every response with it)
            pass


#: Every open channel, to close their copies in a child after os.fork() (see forget_in_child).
_CHANNELS: "weakref.WeakSet[Channel]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for channel in list(_CHANNELS):
        channel.forget_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
