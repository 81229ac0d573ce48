"""Compiling kernels on the machine's other cores: helper processes, started once.

llvmlite runs one LLVM call at a time in a process (a global lock), so distinct
kernels optimise in parallel only in other processes. A helper is a Python
process running `_serve`: it reads pickled jobs (an emitter function and its
arguments, such as a canonical kernel and its symbol) from its stdin and answers
each with the host object code (or an error message). The parent starts its
helpers when a build begins, from the threads that feed them, so that their
start-up overlaps simplifying and lowering; it keeps them for its life and shares
a build's kernels between them and itself, the heaviest waiting job going to
whoever is free; a helper that fails or dies only means its kernel is compiled
in the parent. Object code is the same wherever it was made: same LLVM, same
host, same loop IR.

A helper runs the parent's own graphc (its package directory first on the path,
ahead of the working directory) and checks it: its first frame is the parent's
build identity (runtime.host_key: host, toolchain and a digest of graphc's source),
and a helper whose own differs exits at once, so that no kernel made by other code
is ever cached under this code's keys.

Frames on both pipes are an 8-byte little-endian length and a payload; an
answer's payload starts with b"+" (object code follows) or b"-" (a message).
"""
from __future__ import annotations

import gc
import itertools
import math
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, Optional

_LENGTH = struct.Struct("<Q")
#: What a helper process runs: this module of the parent's graphc (argv[1], the directory
#: holding the package), whatever the working directory holds.
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from graphc.backend.llvm.helpers import _serve; _serve()"


def _send(pipe: BinaryIO, payload: bytes) -> None:
    pipe.write(_LENGTH.pack(len(payload)) + payload)
    pipe.flush()


def _receive(pipe: BinaryIO) -> Optional[bytes]:
    """The next frame, or None at the end of the stream."""
    head = pipe.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (n,) = _LENGTH.unpack(head)
    data = pipe.read(n)
    return data if len(data) == n else None


class Helper:
    """One helper process and the pipe to it; `compile` is called by one thread at a time."""

    def __init__(self, identity: bytes) -> None:
        package_root = str(Path(__file__).resolve().parents[3])
        self.proc = subprocess.Popen([sys.executable, "-c", _BOOT, package_root], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        _send(self.proc.stdin, identity)

    def compile(self, job: Any) -> Optional[bytes]:
        """Object code of `job`, or None if the helper could not make it (it is then closed)."""
        try:
            _send(self.proc.stdin, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            answer = _receive(self.proc.stdout)
        except OSError:
            answer = None
        if answer is None or answer[:1] != b"+":
            self.close()
            return None
        return answer[1:]

    def forget(self) -> None:
        """Close this process's copies of the pipes (in a forked child), leaving the helper
        to the parent that started it."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Pool:
    """The helpers of this process (none in a forked child until it starts its own)."""

    def __init__(self) -> None:
        self._helpers: list[Helper] = []
        self._identity = b""
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def start(self, count: int, identity: bytes) -> list[Helper]:
        """At least `count` live helpers running the code `identity` names (started now if
        missing), or fewer if they cannot start."""
        with self._lock:
            if self._pid != os.getpid():          # inherited over fork: not ours to use or keep open
                for h in self._helpers:
                    h.forget()
                self._helpers, self._pid = [], os.getpid()
            if identity != self._identity:
                for h in self._helpers:
                    h.close()
                self._helpers, self._identity = [], identity
            self._helpers = [h for h in self._helpers if h.alive()]
            while len(self._helpers) < count:
                try:
                    self._helpers.append(Helper(identity))
                except OSError:
                    break
            return self._helpers[:count]

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                for h in self._helpers:
                    h.close()
            self._helpers = []


POOL = Pool()


class Compiles:
    """The kernels of one build, compiled by the helpers from the moment they are offered
    (while the rest of the program is still being lowered) and, once `finish` is called,
    by this thread too, whoever is free taking the next: the heaviest waiting job first
    (by the weight it was offered with), so that the last ones to finish are small and
    neither process waits long for the other. A job a helper fails is compiled here.
    Call `finish` (or `close`, on the way out of a failed build) exactly once."""

    def __init__(self, helpers: int, identity: bytes, compile_here: Callable[[Any], bytes]):
        self._compile_here = compile_here
        #: (-weight, order offered, key, job); a feeder stops at a key of None (weight inf)
        self._todo: "queue.PriorityQueue[tuple[float, int, Optional[str], Any]]" = queue.PriorityQueue()
        self._count = itertools.count()
        self._offered: set[str] = set()
        self._done: dict[str, bytes] = {}
        self._failed: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._feeders = [threading.Thread(target=self._feed, args=(k, identity), daemon=True) for k in range(helpers)]
        for t in self._feeders:
            t.start()

    def offer(self, key: str, job: Any, weight: float = 0.0) -> None:
        """Compile `job` for `key` (once per key); heavier jobs are taken first."""
        if key not in self._offered:
            self._offered.add(key)
            self._todo.put((-weight, next(self._count), key, job))

    def _feed(self, k: int, identity: bytes) -> None:
        """Hand jobs to the k-th helper, started here if it is not running yet (the caller goes
        on lowering meanwhile); jobs it cannot take are compiled by the caller at the end."""
        started = POOL.start(k + 1, identity)
        helper = started[k] if len(started) > k else None
        while (item := self._todo.get())[2] is not None:
            _, _, key, job = item
            obj = helper.compile(job) if helper is not None and helper.alive() else None
            with self._lock:
                (self._failed.append((key, job)) if obj is None else self._done.__setitem__(key, obj))

    def _take(self) -> Optional[tuple[str, Any]]:
        try:
            _, _, key, job = self._todo.get_nowait()
        except queue.Empty:
            return None
        return key, job

    def close(self) -> None:
        """Let the helpers' feeders go once the queue is empty, and wait for them (once)."""
        if self._closed:
            return
        self._closed = True
        for _ in self._feeders:
            self._todo.put((math.inf, next(self._count), None, None))
        for t in self._feeders:
            t.join()

    def finish(self, jobs: Mapping[str, tuple[Any, float]]) -> tuple[dict[str, bytes], set[str]]:
        """Object code for every key offered and every key of `jobs` (job, weight; offered
        now if not yet), and the keys the helpers compiled."""
        for key, (job, weight) in jobs.items():
            self.offer(key, job, weight)
        here: dict[str, bytes] = {}
        while (item := self._take()) is not None:
            here[item[0]] = self._compile_here(item[1])
        self.close()
        by_helpers = set(self._done)
        for key, job in self._failed:
            here[key] = self._compile_here(job)
        return {**self._done, **here}, by_helpers


def _serve() -> None:
    """The helper's loop: after the parent's identity (exit unless it is this code's), a
    job in (an emitter function of the backend and its arguments, such as emit_kernel and
    (kernel, symbol)), object code out, until stdin closes."""
    from . import jit
    from .runtime import CompileTimes, build_identity, job_object
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    if _receive(stdin) != build_identity():
        return
    gc.disable()            # collections would double the time of building IR (as in the parent's builds)
    while True:
        request = _receive(stdin)
        if request is None:
            return
        try:
            job = pickle.loads(request)
            with jit.lock:
                answer = b"+" + job_object(job, CompileTimes())
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which compiles it itself
            answer = b"-" + repr(exc).encode()
        _send(stdout, answer)
        gc.collect(1)       # the job's garbage (llvmlite's IR holds cycles), all young: no collection ran
