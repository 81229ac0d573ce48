"""The native worker pool that runs parallel loops: LLVM IR added to the runner's module.

Kernels do not start threads. A parallel loop is outlined into a body
`(args, lo, hi, tid)` and handed to `parallel_for(body, args, start, extent,
nthreads)`, whose address every kernel finds in its argument table (the slot
after the status record). The pool's threads are created once per process, on
the first loop that wants them. Between loops a worker spins for about a tenth of
a millisecond (SPIN_TICKS), then sleeps on a condition variable: the kernels of a
step follow one another closer than that, and a sleeping thread on a virtual CPU
can take most of a millisecond to wake (a halted vCPU is rescheduled by the host).
The caller likewise spins a little while it waits for workers to finish.

Work is handed out dynamically: iterations go in chunks taken from a shared atomic
counter, by the calling thread and by whichever workers wake in time, so a core
that is busy with other work slows a loop instead of stalling it. The caller waits
only for workers that joined the loop, never for one that has not woken yet.
Each participant has its own `tid` below `nthreads` (its per-thread scratch).

One loop runs on the pool at a time. A second caller (another Python thread
calling another compiled function) runs its loop alone, on its own thread, with
tid 0 (its function's own scratch). After `fork`, the child finds the pool's
process id changed and starts afresh: its parent's threads do not exist there.
(Two threads of a forked child making their first parallel call at the same
instant could both start it afresh; forking a process that runs threads is
unsafe in Python anyway.)

The lock and condition variables are glibc's pthread objects, zero-initialised
(their static initialisers are all zeros on Linux).
"""
from __future__ import annotations

from typing import Callable

from . import textir as ir

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
I8P = I8.as_pointer()
ARGS = I8P.as_pointer()
#: An outlined loop body: (args, lo, hi, tid).
BODY_TYPE = ir.FunctionType(ir.VoidType(), [ARGS, I64, I64, I64])
#: parallel_for(body, args, start, extent, nthreads)
PARALLEL_FOR_TYPE = ir.FunctionType(ir.VoidType(), [BODY_TYPE.as_pointer(), ARGS, I64, I64, I64])
#: Bytes reserved for a pthread_mutex_t or pthread_cond_t (40 and 48 on x86-64 glibc).
SYNC_BYTES = 64
#: Chunks per participant: small enough to balance a busy core, large enough to keep order.
CHUNKS_PER_THREAD = 4
#: Time-stamp counter ticks a waiting thread spins before it sleeps (0.05-0.15 ms at 2-5 GHz).
SPIN_TICKS = 1 << 18


class _Pool:
    """The pool's state (module globals) and the libc functions it calls."""

    def __init__(self, module: ir.Module, prefix: str):
        def var(name: str, ty: ir.Type, init=None) -> ir.GlobalVariable:
            g = ir.GlobalVariable(module, ty, f"{prefix}.{name}")
            g.linkage, g.initializer = "internal", ir.Constant(ty, init)
            if isinstance(ty, ir.ArrayType):
                g.align = 64
            return g

        sync = ir.ArrayType(I8, SYNC_BYTES)
        self.lock, self.wake, self.idle = (var(n, sync) for n in ("lock", "wake", "idle"))
        self.pid = var("pid", I32, 0)
        self.workers, self.generation, self.open, self.active, self.busy = (
            var(n, I64, 0) for n in ("workers", "generation", "open", "active", "busy"))
        self.body = var("body", BODY_TYPE.as_pointer(), None)
        self.args = var("args", ARGS, None)
        self.next, self.end, self.chunk, self.limit = (var(n, I64, 0) for n in ("next", "end", "chunk", "limit"))

        def libc(name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
            return ir.Function(module, ir.FunctionType(ret, args), name)

        self.mutex_lock = libc("pthread_mutex_lock", I32, [I8P])
        self.mutex_unlock = libc("pthread_mutex_unlock", I32, [I8P])
        self.cond_wait = libc("pthread_cond_wait", I32, [I8P, I8P])
        self.cond_broadcast = libc("pthread_cond_broadcast", I32, [I8P])
        worker_ty = ir.FunctionType(I8P, [I8P])
        self.create = libc("pthread_create", I32, [I64.as_pointer(), I8P, worker_ty.as_pointer(), I8P])
        self.detach = libc("pthread_detach", I32, [I64])
        self.getpid = libc("getpid", I32, [])
        self.memset = module.declare_intrinsic("llvm.memset.p0i8.i64", [I8P, I8, I64, ir.IntType(1)])
        self.ticks = module.declare_intrinsic("llvm.readcyclecounter", [], I64)
        self.pause = module.declare_intrinsic("llvm.x86.sse2.pause", [])


def _ptr(b: ir.IRBuilder, g: ir.GlobalVariable) -> ir.Value:
    return b.bitcast(g, I8P)


def _loop(fn: ir.Function, name: str) -> tuple[ir.Block, ir.Block]:
    """(head block, exit block) of a loop whose body the caller writes at `head`."""
    return fn.append_basic_block(f"{name}.head"), fn.append_basic_block(f"{name}.exit")


def _spin_until(fn: ir.Function, b: ir.IRBuilder, pool: _Pool, ready: Callable[[ir.IRBuilder], ir.Value],
                name: str) -> None:
    """Spin (pausing) until `ready(b)` holds or SPIN_TICKS have passed; `b` ends after the spin."""
    start = b.call(pool.ticks, [])
    head, done = _loop(fn, name)
    b.branch(head)
    b.position_at_end(head)
    waiting = fn.append_basic_block(f"{name}.waiting")
    b.cbranch(ready(b), done, waiting)
    b.position_at_end(waiting)
    b.call(pool.pause, [])
    spun = b.sub(b.call(pool.ticks, []), start)
    b.cbranch(b.icmp_unsigned("<", spun, ir.Constant(I64, SPIN_TICKS)), head, done)
    b.position_at_end(done)


def _emit_run_chunks(module: ir.Module, pool: _Pool, prefix: str) -> ir.Function:
    """run_chunks(body, args, tid): take chunks of the current loop until none is left."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [BODY_TYPE.as_pointer(), ARGS, I64]),
                     f"{prefix}.run_chunks")
    fn.linkage = "internal"
    body, args, tid = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    end, chunk = b.load(pool.end), b.load(pool.chunk)
    head, done = _loop(fn, "take")
    b.branch(head)
    b.position_at_end(head)
    lo = b.atomic_rmw("add", pool.next, chunk, "monotonic")
    work = fn.append_basic_block("work")
    b.cbranch(b.icmp_signed("<", lo, end), work, done)
    b.position_at_end(work)
    hi = b.add(lo, chunk)
    hi = b.select(b.icmp_signed("<", hi, end), hi, end)
    b.call(body, [args, lo, hi, tid])
    b.branch(head)
    b.position_at_end(done)
    b.ret_void()
    return fn


def _emit_worker(module: ir.Module, pool: _Pool, run_chunks: ir.Function, prefix: str) -> ir.Function:
    """A worker thread: spin, then sleep, until a loop opens; join it if its tid is below the
    loop's thread count; take chunks; leave, waking the caller when it was the last one in."""
    fn = ir.Function(module, ir.FunctionType(I8P, [I8P]), f"{prefix}.worker")
    fn.linkage = "internal"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    tid = b.ptrtoint(fn.args[0], I64)
    seen = b.alloca(I64)
    b.store(ir.Constant(I64, 0), seen)
    lock = _ptr(b, pool.lock)
    b.call(pool.mutex_lock, [lock])
    check = fn.append_basic_block("check")
    b.branch(check)
    b.position_at_end(check)                    # holding the lock
    generation = b.load(pool.generation)
    new, sleep = fn.append_basic_block("new"), fn.append_basic_block("sleep")
    b.cbranch(b.icmp_unsigned("!=", generation, b.load(seen)), new, sleep)
    b.position_at_end(sleep)                    # spin without the lock, then sleep if nothing came
    b.call(pool.mutex_unlock, [lock])
    _spin_until(fn, b, pool, lambda b: b.icmp_unsigned("!=", b.load_atomic(pool.generation, "monotonic", 8),
                                                        b.load(seen)), "spin")
    b.call(pool.mutex_lock, [lock])
    wait = fn.append_basic_block("wait")
    b.cbranch(b.icmp_unsigned("!=", b.load(pool.generation), b.load(seen)), check, wait)
    b.position_at_end(wait)
    b.call(pool.cond_wait, [_ptr(b, pool.wake), lock])
    b.branch(check)
    b.position_at_end(new)
    b.store(generation, seen)
    joins = b.and_(b.icmp_unsigned("!=", b.load(pool.open), ir.Constant(I64, 0)),
                   b.icmp_signed("<", tid, b.load(pool.limit)))
    join = fn.append_basic_block("join")
    b.cbranch(joins, join, check)
    b.position_at_end(join)
    b.store_atomic(b.add(b.load(pool.active), ir.Constant(I64, 1)), pool.active, "monotonic", 8)
    body, args = b.load(pool.body), b.load(pool.args)
    b.call(pool.mutex_unlock, [lock])
    b.call(run_chunks, [body, args, tid])
    b.call(pool.mutex_lock, [lock])
    left = b.sub(b.load(pool.active), ir.Constant(I64, 1))
    b.store_atomic(left, pool.active, "monotonic", 8)
    with b.if_then(b.icmp_unsigned("==", left, ir.Constant(I64, 0))):
        b.call(pool.cond_broadcast, [_ptr(b, pool.idle)])
    b.branch(check)
    return fn


def emit_parallel_for(module: ir.Module, symbol: str) -> ir.Function:
    """Add the pool to `module`; return its exported `parallel_for` (see the module doc)."""
    pool = _Pool(module, symbol)
    run_chunks = _emit_run_chunks(module, pool, symbol)
    worker = _emit_worker(module, pool, run_chunks, symbol)
    fn = ir.Function(module, PARALLEL_FOR_TYPE, symbol)
    body, args, start, extent, nthreads = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    one, zero = ir.Constant(I64, 1), ir.Constant(I64, 0)
    thread = b.alloca(I64)
    end = b.add(start, extent)
    alone, shared = fn.append_basic_block("alone"), fn.append_basic_block("shared")

    b.cbranch(b.or_(b.icmp_signed("<=", nthreads, one), b.icmp_signed("<=", extent, one)), alone, shared)
    b.position_at_end(alone)
    b.call(body, [args, start, end, zero])
    b.ret_void()

    b.position_at_end(shared)                   # a process forked since the pool started: start afresh
    me = b.call(pool.getpid, [])
    with b.if_then(b.icmp_signed("!=", me, b.load(pool.pid)), likely=False):
        for sync in (pool.lock, pool.wake, pool.idle):
            b.call(pool.memset, [_ptr(b, sync), ir.Constant(I8, 0), ir.Constant(I64, SYNC_BYTES),
                                 ir.Constant(ir.IntType(1), 0)])
        for var in (pool.workers, pool.busy, pool.open, pool.active):
            b.store(zero, var)
        b.store(me, pool.pid)
    claim = b.cmpxchg(pool.busy, zero, one, "acquire", "monotonic")
    owner = fn.append_basic_block("owner")
    b.cbranch(b.extract_value(claim, 1), owner, alone)   # the pool is running another loop

    b.position_at_end(owner)
    lock = _ptr(b, pool.lock)
    b.call(pool.mutex_lock, [lock])
    wanted = b.sub(nthreads, one)
    head, started = _loop(fn, "start")
    b.branch(head)
    b.position_at_end(head)
    have = b.load(pool.workers)
    more = fn.append_basic_block("more")
    b.cbranch(b.icmp_signed("<", have, wanted), more, started)
    b.position_at_end(more)
    next_tid = b.add(have, one)
    rc = b.call(pool.create, [thread, ir.Constant(I8P, None), worker, b.inttoptr(next_tid, I8P)])
    made = fn.append_basic_block("made")
    b.cbranch(b.icmp_signed("==", rc, ir.Constant(I32, 0)), made, started)   # no more threads: make do
    b.position_at_end(made)
    b.call(pool.detach, [b.load(thread)])
    b.store(next_tid, pool.workers)
    b.branch(head)

    b.position_at_end(started)
    have = b.load(pool.workers)
    threads = b.add(b.select(b.icmp_signed("<", have, wanted), have, wanted), one)
    chunk = b.sdiv(extent, b.mul(threads, ir.Constant(I64, CHUNKS_PER_THREAD)))
    chunk = b.select(b.icmp_signed("<", chunk, one), one, chunk)
    for var, value in ((pool.body, body), (pool.args, args), (pool.end, end), (pool.chunk, chunk),
                       (pool.limit, threads), (pool.open, one)):
        b.store(value, var)
    b.store_atomic(zero, pool.active, "monotonic", 8)
    b.store_atomic(start, pool.next, "monotonic", 8)
    b.store_atomic(b.add(b.load(pool.generation), one), pool.generation, "monotonic", 8)
    b.call(pool.cond_broadcast, [_ptr(b, pool.wake)])
    b.call(pool.mutex_unlock, [lock])
    b.call(run_chunks, [body, args, zero])

    b.call(pool.mutex_lock, [lock])             # close the loop; wait for those who joined it,
    b.store(zero, pool.open)                    # spinning first, then on the condition variable
    b.call(pool.mutex_unlock, [lock])
    _spin_until(fn, b, pool, lambda b: b.icmp_unsigned("==", b.load_atomic(pool.active, "monotonic", 8), zero),
                "linger")
    b.call(pool.mutex_lock, [lock])
    head, finished = _loop(fn, "drain")
    b.branch(head)
    b.position_at_end(head)
    waiting = fn.append_basic_block("waiting")
    b.cbranch(b.icmp_unsigned("!=", b.load(pool.active), zero), waiting, finished)
    b.position_at_end(waiting)
    b.call(pool.cond_wait, [_ptr(b, pool.idle), lock])
    b.branch(head)
    b.position_at_end(finished)
    b.call(pool.mutex_unlock, [lock])
    b.store_atomic(zero, pool.busy, "release", 8)
    b.ret_void()
    return fn
