# SPDX-License-Identifier: MIT
# The behaviours of the reference bindings' own engine tests, run against
# our module. Source: jzombie/rust-simd-r-drive, tests/test_engine.py of the
# Python bindings in every version of its history (bindings/python/tests/,
# then experiments/bindings/python/tests/ and
# experiments/bindings/python_(old_client)/tests/; the newest is a superset
# of the older ones, which added file_size and `in` over time). Re-expressed
# here, not copied; the reference uses numpy for typed views, these tests
# use the standard library's array and memoryview.cast instead (numpy is not
# a dependency of srd).
import array
import gc
import io
import os
import random

from simd_r_drive import DataStore


def fresh(tmp_path):
    return DataStore(str(tmp_path / "store.bin"))


def test_a_written_value_reads_back_and_exists(tmp_path):
    engine = fresh(tmp_path)
    engine.write(b"hello", b"world")
    assert engine.read(b"hello") == b"world"
    assert engine.exists(b"hello")
    assert b"hello" in engine
    del engine


def test_batch_write_stores_every_pair(tmp_path):
    engine = fresh(tmp_path)
    pairs = [(b"user:1", b"alice"), (b"user:2", b"bob"), (b"user:3", b"charlie")]
    engine.batch_write(pairs)
    for key, value in pairs:
        assert engine.exists(key) and engine.read(key) == value
    del engine
    gc.collect()


def test_read_entry_gives_a_zero_copy_memoryview(tmp_path):
    engine = fresh(tmp_path)
    engine.write(b"abc", b"xyz123")
    entry = engine.read_entry(b"abc")
    assert entry is not None
    view = entry.as_memoryview()
    assert isinstance(view, memoryview)
    assert bytes(view) == b"xyz123"
    # A typed array made straight from the buffer sees the same bytes.
    assert array.array("B", view).tobytes() == b"xyz123"
    del view, entry, engine
    gc.collect()


def test_delete_removes_the_key(tmp_path):
    engine = fresh(tmp_path)
    engine.write(b"to_delete", b"data")
    assert engine.exists(b"to_delete")
    engine.delete(b"to_delete")
    assert not engine.exists(b"to_delete")
    assert engine.read(b"to_delete") is None


def test_a_missing_key_reads_as_none(tmp_path):
    engine = fresh(tmp_path)
    assert not engine.exists(b"nonexistent")
    assert engine.read(b"nonexistent") is None


def test_write_stream_then_read_stream_round_trips(tmp_path):
    engine = fresh(tmp_path)
    value = os.urandom(256 * 1024)
    engine.write_stream(b"stream_key", io.BytesIO(value))
    reader = engine.read_stream(b"stream_key")
    assert reader is not None
    assert b"".join(chunk for chunk in reader) == value
    del reader, engine
    gc.collect()


def test_many_float_arrays_come_back_equal(tmp_path):
    engine = fresh(tmp_path)
    rng = random.Random(7)
    arrays = {}
    for i in range(100):  # 100 arrays of 16x16 float32, as the reference
        arr = array.array("f", (rng.random() * 100 for _ in range(256)))
        key = f"array_{i}".encode()
        engine.write(key, arr.tobytes())
        arrays[key] = arr
    for key, original in arrays.items():
        view = engine.read_entry(key).as_memoryview()
        assert view.cast("B").cast("f").tolist() == original.tolist()
        del view


def test_a_byte_matrix_comes_back_with_its_shape(tmp_path):
    engine = fresh(tmp_path)
    original = bytes(random.Random(3).randrange(256) for _ in range(32 * 32))
    engine.write(b"matrix", original)
    view = engine.read_entry(b"matrix").as_memoryview()
    assert isinstance(view, memoryview) and len(view) == len(original)
    matrix = view.cast("B", (32, 32))
    assert matrix.tolist() == [list(original[r * 32:(r + 1) * 32]) for r in range(32)]


def test_mixed_element_types_come_back_equal(tmp_path):
    engine = fresh(tmp_path)
    rng = random.Random(11)
    cases = {
        b"float32": array.array("f", (rng.random() for _ in range(32))),
        b"int64": array.array("q", (rng.randrange(1_000_000) for _ in range(32))),
        b"uint8": array.array("B", (rng.randrange(256) for _ in range(128))),
        b"bool": array.array("B", (rng.random() > 0.5 for _ in range(64))),
        b"float64": array.array("d", (rng.random() for _ in range(16))),
    }
    for key, arr in cases.items():
        engine.write(key, arr.tobytes())
    for key, arr in cases.items():
        view = engine.read_entry(key).as_memoryview()
        assert view.cast("B").cast(arr.typecode).tolist() == arr.tolist()


def test_entry_accessors_describe_the_entry(tmp_path):
    engine = fresh(tmp_path)
    value = b"test_payload_123456"
    engine.write(b"meta", value)
    entry = engine.read_entry(b"meta")
    assert entry is not None
    assert isinstance(entry.size, int) and entry.size == len(value) == len(entry)
    assert entry.file_size > entry.size        # the trailer counts
    start, end = entry.start_offset, entry.end_offset
    assert end - start == entry.size
    assert entry.offset_range() == (start, end)
    lo, hi = entry.address_range()
    assert isinstance(lo, int) and hi > lo
    assert isinstance(entry.checksum, int)
    raw = entry.raw_checksum()
    assert isinstance(raw, (bytes, bytearray)) and len(raw) == 4
    assert entry.is_valid_checksum()
    assert bytes(entry.as_memoryview()) == value
