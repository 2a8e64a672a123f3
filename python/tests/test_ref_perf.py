# SPDX-License-Identifier: MIT
# The reference bindings' benchmark tests as correctness tests (srd keeps
# timing out of tests; figures are srd-bench's job). Source:
# jzombie/rust-simd-r-drive, tests/test_perf.py of the Python bindings:
# many 8-byte entries written in batches of 1024, then read back in
# reverse order and at random, each value being its index (little-endian
# u64). Fewer entries than the reference's 100 000, to keep the suite fast.
import random
import struct

import pytest

from simd_r_drive import DataStore

N = 20_000
BATCH = 1024


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st = DataStore(str(tmp_path_factory.mktemp("perf") / "store.bin"))
    batch = []
    for i in range(N):
        batch.append((f"bench-key-{i}".encode(), struct.pack("<Q", i)))
        if len(batch) == BATCH:
            st.batch_write(batch)
            batch.clear()
    if batch:
        st.batch_write(batch)
    yield st
    st.close()


def test_appended_batches_are_all_there(store):
    assert len(store) == N


def test_sequential_reads_in_reverse(store):
    for i in reversed(range(N)):
        value = store.read(f"bench-key-{i}".encode())
        assert value is not None and int.from_bytes(value, "little") == i


def test_random_reads(store):
    rng = random.Random(42)
    for _ in range(N):
        i = rng.randrange(N)
        value = store.read(f"bench-key-{i}".encode())
        assert value is not None and int.from_bytes(value, "little") == i
