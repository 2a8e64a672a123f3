# SPDX-License-Identifier: MIT
# Python processes sharing one store. Embedded mode: one writer process and
# read-only reader processes that pick up its writes with refresh(); a
# second writer that opted out of the hand-over (autostart=False) is
# refused (test_autostart.py: the hand-over itself); kill -9 mid-batch leaves all or nothing. With
# srdd (SRDD_PATH): two writer processes share the store through it.
import os
import signal
import subprocess
import time

import pytest
from conftest import lock_holder_pids, run_python, start_python

from simd_r_drive import DataStore, StoreError

N = 2000

READER = r"""
import sys
from simd_r_drive import DataStore
path, n = sys.argv[1], int(sys.argv[2])
with DataStore(path, readonly=True) as s:
    print("open", flush=True)
    seen = 0
    while seen < n:
        s.refresh()
        seen = len(s)
    for i in range(n):
        assert s.read(b"key%d" % i) == b"value%d" % i, i
    print("saw", seen, flush=True)
"""

WRITER = r"""
import sys
from simd_r_drive import DataStore
path, n = sys.argv[1], int(sys.argv[2])
with DataStore(path) as s:
    for i in range(0, n, 100):
        s.batch_write([(b"key%d" % j, b"value%d" % j)
                       for j in range(i, min(n, i + 100))])
    print("wrote", n, flush=True)
    sys.stdin.readline()  # hold the writer lock until told to go
"""


def test_reader_process_sees_writes_of_this_process(path):
    with DataStore(path) as s:
        s.write(b"key0", b"value0")
        child = start_python(READER, path, N)
        assert child.stdout.readline().strip() == "open"
        for i in range(1, N):
            s.write(b"key%d" % i, b"value%d" % i)
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert out.split() == ["saw", str(N)]


def test_this_process_reads_what_a_writer_process_wrote(path):
    child = start_python(WRITER, path, N)
    try:
        assert child.stdout.readline().split() == ["wrote", str(N)]
        with pytest.raises(StoreError) as e:  # the child holds the lock
            DataStore(path, autostart=False)
        assert e.value.name == "SRD_EBUSY"
        with DataStore(path, readonly=True) as r:
            assert len(r) == N
            assert all(r.read(b"key%d" % i) == b"value%d" % i
                       for i in range(N))
    finally:
        child.communicate("go\n", timeout=60)
    assert child.returncode == 0
    with DataStore(path) as s:  # released on exit
        assert len(s) == N


def test_kill_9_during_batches_leaves_each_batch_whole(path):
    code = r"""
import sys
from simd_r_drive import DataStore
s = DataStore(sys.argv[1], sync="never")
print("ready", flush=True)
b = 0
while True:
    s.batch_write([(b"k%d" % i, b"batch%d" % b) for i in range(50)])
    b += 1
"""
    child = start_python(code, path)
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    with DataStore(path) as s:
        values = {s.read(b"k%d" % i) for i in range(50)}
        assert len(values) == 1, "a batch is only partly present"
        assert values != {None}, "no batch was written before the kill"
        assert s.verify()["ok"]


# ------------------------------------------------------------------ srdd

@pytest.fixture
def srdd(srdd_exe, path):
    """srdd serving path, started in the foreground; stopped with SIGTERM."""
    proc = subprocess.Popen([srdd_exe, "--store", path, "--foreground"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 30
    while proc.pid not in lock_holder_pids(path + ".lock"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"srdd did not take the store lock:\n{out}{err}")
        time.sleep(0.02)
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, proc.stderr.read()


def connect(path, timeout=30):
    """A DataStore on a path srdd serves, once srdd accepts clients."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return DataStore(path)
        except StoreError as e:
            if time.monotonic() > deadline:
                if e.name == "SRD_EBUSY":
                    pytest.skip("srd_open does not connect to srdd yet "
                                "(SRD_EBUSY): libsrdclient has no client "
                                "mode in this build")
                raise
            time.sleep(0.05)


SHARED_WRITER = r"""
import sys, time
from simd_r_drive import DataStore, StoreError
path, me, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(600):
    try:
        s = DataStore(path)
        break
    except StoreError:
        time.sleep(0.05)
for i in range(n):
    s.write(b"%s-%d" % (me.encode(), i), b"from %s %d" % (me.encode(), i))
    s.write(b"both-%d" % (i % 10), b"from %s" % me.encode())
s.batch_write([(b"batch-%s-%d" % (me.encode(), i), b"b") for i in range(100)])
print("done", flush=True)
other = b"b" if me == "a" else b"a"
deadline = time.monotonic() + 60
while not s.exists(b"batch-%s-99" % other) and time.monotonic() < deadline:
    time.sleep(0.01)
assert s.read(b"%s-%d" % (other, n - 1)) == b"from %s %d" % (other, n - 1)
print("saw other", flush=True)
s.close()
"""


def test_two_writer_processes_share_a_store_through_srdd(srdd, path):
    connect(path).close()
    kids = [start_python(SHARED_WRITER, path, me, 500) for me in "ab"]
    outs = [k.communicate(timeout=300) for k in kids]
    for k, (out, err) in zip(kids, outs):
        assert k.returncode == 0, err
        assert out.split() == ["done", "saw", "other"]
    with connect(path) as s:
        for me in "ab":
            for i in range(500):
                assert s.read(b"%s-%d" % (me.encode(), i)) == \
                    b"from %s %d" % (me.encode(), i)
        for i in range(10):
            assert s.read(b"both-%d" % i) in (b"from a", b"from b")
        assert len(s) == 2 * 500 + 10 + 2 * 100
    run_python("import sys; from simd_r_drive import DataStore\n"
               "s = DataStore(sys.argv[1], readonly=True)\n"
               "assert len(s) == 1210, len(s)\n", path)


def test_client_views_survive_compaction_through_srdd(srdd, path):
    with connect(path) as s:
        for i in range(50):
            s.write(b"k", b"version %d" % i)
        s.write(b"other", b"x" * 5000)
        mv = s.read_entry(b"k").as_memoryview()
        big = s.read_entry(b"other")
        reclaimed = s.compact()  # srdd compacts online
        assert reclaimed > 0
        s.write(b"k", b"after compaction")
        assert bytes(mv) == b"version 49"
        assert bytes(big) == b"x" * 5000
        assert s.read(b"k") == b"after compaction"
        assert s.verify()["ok"]
        del mv, big


def test_threads_of_one_client_share_its_handle_through_srdd(srdd, path):
    import threading
    with connect(path) as s:
        errors = []

        def work(t):
            try:
                for i in range(300):
                    s.write(b"t%d-%d" % (t, i), b"v%d" % i)
                    assert s.read(b"t%d-%d" % (t, i)) == b"v%d" % i
                s.batch_write([(b"b%d-%d" % (t, i), b"b") for i in range(50)])
            except BaseException as e:  # noqa: B902 - report anything
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        assert not errors, errors[0]
        assert len(s) == 4 * 350
