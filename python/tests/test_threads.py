# SPDX-License-Identifier: MIT
# One DataStore shared by many threads: writers, batch writers, streamers,
# deleters, readers holding views, iteration and compaction all at once;
# every read sees a value that was written for its key, and the final state
# is exact. Blocking calls release the GIL (no deadlock with a stream).
import io
import threading

from simd_r_drive import DataStore, key_hash

THREADS = 8
ROUNDS = 1000


def value_for(t, i, key):
    """The value thread t writes in round i: it names its key."""
    return b"%s=%d:%d|" % (key, t, i) * (1 + i % 5)


def run_all(targets):
    errors = []

    def wrap(fn, *args):
        try:
            fn(*args)
        except BaseException as e:  # noqa: B902 - report anything
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(fn, *args))
               for fn, *args in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def shared_keys():
    return [b"shared%d" % i for i in range(16)]


def writer(store, t):
    """Own keys (checked exactly at the end) and shared keys written with
    every kind of write, and deleted now and then."""
    shared = shared_keys()
    for i in range(ROUNDS):
        own = b"own%d-%d" % (t, i)
        store.write(own, value_for(t, i, own))
        k = shared[i % len(shared)]
        if i % 7 == 0:
            store.batch_write([(k, value_for(t, i, k)),
                               (b"batch%d" % t, b"b%d" % i)])
        elif i % 11 == 0:
            store.write_stream(k, io.BytesIO(value_for(t, i, k) * 100))
        elif i % 13 == 0:
            store.delete(k)
        else:
            store.write(k, value_for(t, i, k))


def reader(store, stop):
    """Reads shared keys and holds views, which must never change."""
    held = []
    while not stop.is_set():
        for k in shared_keys():
            v = store.read(k)
            assert v is None or v.startswith(k + b"=")
            e = store.read_entry(k)
            if e is not None:
                held.append((k, e.as_memoryview(), bytes(e)))
        held = held[-200:]
        for k, mv, copy in held:
            assert bytes(mv) == copy and copy.startswith(k + b"=")


def iterator(store, stop):
    hashes = {key_hash(k): k for k in shared_keys()}
    while not stop.is_set():
        for h, mv in store:
            if h in hashes:
                assert bytes(mv[:len(hashes[h]) + 1]) == hashes[h] + b"="


def compactor(store, stop):
    """Compacts back to back: each one races with the writers' appends."""
    while not stop.is_set():
        store.compact()


def run_writers_with(store, others):
    """Runs THREADS writers while the other loops run, then stops them."""
    stop = threading.Event()
    background = threading.Thread(
        target=run_all, args=([(fn, store, stop) for fn in others],))
    background.start()
    try:
        run_all([(writer, store, t) for t in range(THREADS)])
    finally:
        stop.set()
        background.join(timeout=300)
    assert not background.is_alive()


def check_final_state(store, path):
    """Every acknowledged own write is there, in this handle and after a
    reopen; shared keys hold a value written for them or nothing."""
    missing = [(t, i) for t in range(THREADS) for i in range(ROUNDS)
               if store.read(b"own%d-%d" % (t, i)) is None]
    assert missing == [], f"{len(missing)} acknowledged writes lost"
    for t in range(THREADS):
        for i in range(ROUNDS):
            own = b"own%d-%d" % (t, i)
            assert store.read(own) == value_for(t, i, own)
        assert store.read(b"batch%d" % t) is not None
    for k in shared_keys():
        v = store.read(k)
        assert v is None or v.startswith(k + b"=")
    live_shared = sum(store.exists(k) for k in shared_keys())
    assert len(store) == THREADS * (ROUNDS + 1) + live_shared
    assert store.verify()["ok"]
    store.close()
    with DataStore(path, readonly=True) as fresh:
        assert len(fresh) == THREADS * (ROUNDS + 1) + live_shared


def test_many_threads_write_read_delete_and_iterate_one_store(path):
    store = DataStore(path, sync="never")
    run_writers_with(store, [reader, reader, iterator])
    check_final_state(store, path)


def test_compaction_while_threads_write_loses_no_acknowledged_write(tmp_path):
    # A lost write needs a compaction to start while an append is in
    # flight: a few rounds make that near certain if compaction allows it.
    for attempt in range(5):
        path = str(tmp_path / ("store%d.srd" % attempt))
        store = DataStore(path, sync="never")
        run_writers_with(store, [reader, compactor])
        check_final_state(store, path)


def test_a_write_waiting_for_a_stream_releases_the_gil(path):
    """The streaming thread needs the GIL to run its reader while another
    thread waits in write() for the writer: if write() kept the GIL, this
    would deadlock."""
    store = DataStore(path)
    started, waiting = threading.Event(), threading.Event()

    class SlowReader:
        def __init__(self):
            self.n = 0

        def read(self, n):
            self.n += 1
            if self.n == 1:
                started.set()
                return b"first chunk "
            if self.n == 2:
                assert waiting.wait(30)
                threading.Event().wait(0.2)  # the writer is now blocked
                return b"second chunk"
            return b""

    def streamer():
        store.write_stream(b"stream", SlowReader())

    def blocked_writer():
        assert started.wait(30)
        waiting.set()
        store.write(b"other", b"written after the stream")

    run_all([(streamer,), (blocked_writer,)])
    assert store.read(b"stream") == b"first chunk second chunk"
    assert store.read(b"other") == b"written after the stream"
    store.close()


def test_close_from_another_thread_waits_for_calls_in_flight(path):
    store = DataStore(path)
    store.write(b"k", b"v")
    go = threading.Event()
    results = []

    def reader():
        go.wait(30)
        for _ in range(2000):
            try:
                results.append(store.read(b"k"))
            except ValueError:  # closed: the only acceptable failure
                results.append("closed")
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    go.set()
    store.close()
    for t in threads:
        t.join(timeout=60)
    assert set(results) <= {b"v", "closed"}
    with DataStore(path) as again:  # every call returned: lock released
        assert again.read(b"k") == b"v"


def test_threads_sharing_one_read_stream_get_disjoint_pieces(path):
    data = bytes(range(256)) * 4096
    with DataStore(path) as store:
        store.write(b"s", data)
        st = store.read_stream(b"s")
        pieces = []
        lock = threading.Lock()

        def pull():
            while True:
                chunk = st.read(1000)
                if not chunk:
                    return
                with lock:
                    pieces.append(chunk)

        run_all([(pull,)] * 4)
        assert sum(len(p) for p in pieces) == len(data)
        assert sorted(pieces) == sorted(data[i:i + 1000]
                                        for i in range(0, len(data), 1000))
        del st
