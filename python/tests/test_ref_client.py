# SPDX-License-Identifier: MIT
# The behaviours the reference's later Python bindings test, run against
# our DataStore (which exports the same methods). Source:
# jzombie/rust-simd-r-drive, experiments/bindings/python-ws-client/tests/
# integraton/test_client.py and test_multithreaded_read_write.py (and the
# python-net-client copies before them): is_empty / len / file_size,
# batch_read with a missing key, batch_read_structured on a dict and on a
# list of dicts, counts across writes and deletes, and concurrent readers
# and writers. Those tests talk to a server; here every client is a thread
# sharing one DataStore (srd's own multi-process tests are in
# test_multiprocess.py). Re-expressed, not copied.
import random
import secrets
import threading

import pytest

from simd_r_drive import DataStore


@pytest.fixture
def client(tmp_path):
    with DataStore(str(tmp_path / "store.bin")) as store:
        yield store


def test_is_empty_len_and_file_size_follow_writes_and_deletes(client):
    assert client.is_empty() and len(client) == 0 and client.file_size() == 0
    assert not client.exists(b"testing") and b"testing" not in client
    client.write(b"testing", b"123")
    assert client.exists(b"testing") and b"testing" in client
    assert not client.is_empty() and len(client) == 1 and client.file_size() > 0
    client.delete(b"testing")
    assert not client.exists(b"testing")
    assert client.is_empty() and len(client) == 0
    assert client.file_size() > 0            # the tombstone is appended


def test_batch_write_raises_the_count_and_reads_back(client):
    before = len(client)
    entries = [(f"batch-key-{secrets.token_hex(4)}".encode(), v)
               for v in (b"value-alpha", b"value-beta", b"value-gamma")]
    client.batch_write(entries)
    assert len(client) == before + 3
    for key, value in entries:
        assert client.read(key) == value


def test_large_batch_write(client):
    entries = [(f"large-batch-key-{i}".encode(), secrets.token_bytes(256 * 1024))
               for i in range(4)]
    client.batch_write(entries)
    for key, value in entries:
        assert client.read(key) == value


def test_batch_read_keeps_order_and_gives_none_for_missing(client):
    client.batch_write([(b"br-1", b"one"), (b"br-2", b"two")])
    assert client.batch_read([b"br-1", b"br-missing", b"br-2"]) == \
        [b"one", None, b"two"]
    assert client.batch_read([]) == []


def test_batch_read_structured_on_one_dict(client):
    client.batch_write([(b"s-a", b"A"), (b"s-b", b"B")])
    request = {"first": b"s-a", "second": b"s-b", 3: b"s-missing"}
    assert client.batch_read_structured(request) == \
        {"first": b"A", "second": b"B", 3: None}


def test_batch_read_structured_on_a_list_of_dicts(client):
    client.batch_write([(b"l-a", b"A"), (b"l-b", b"B")])
    request = [{"x": b"l-a"}, {"y": b"l-b", "z": b"l-none"}, {}]
    assert client.batch_read_structured(request) == \
        [{"x": b"A"}, {"y": b"B", "z": None}, {}]
    with pytest.raises(TypeError):
        client.batch_read_structured([{"x": b"l-a"}, b"not a dict"])


def test_count_and_delete(client):
    keys = [f"count-{i}".encode() for i in range(5)]
    for k in keys:
        client.write(k, b"v")
    assert len(client) == 5
    client.write(keys[0], b"overwritten")       # an overwrite adds no key
    assert len(client) == 5
    client.delete(keys[1])
    assert len(client) == 4 and client.read(keys[1]) is None
    assert client.batch_read(keys[:3]) == [b"overwritten", None, b"v"]


def test_concurrent_readers_and_writers(client):
    written, lock, errors = {}, threading.Lock(), []

    def worker(tid):
        rng = random.Random(tid)
        try:
            for i in range(50):
                with lock:
                    known = list(written.items())
                if rng.random() < 0.6 or not known:
                    key = f"stress-test-thread{tid}-op{i}".encode()
                    value = secrets.token_bytes(32)
                    client.write(key, value)
                    with lock:
                        written[key] = value
                else:
                    key, value = rng.choice(known)
                    assert client.read(key) == value
        except Exception as exc:  # reported below, with the thread
            errors.append((tid, exc))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for key, value in written.items():
        assert client.read(key) == value
