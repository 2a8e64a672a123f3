# SPDX-License-Identifier: MIT
# Every DataStore method and its edge cases in one process: argument types,
# value rules, None for absent keys, the errors for misuse, close() and the
# context manager, zero-copy views across writes and compaction,
# iteration, info/verify/compact, read-only handles.
import gc
import io
import os
import pathlib

import pytest

from simd_r_drive import (DataStore, EntryHandle, EntryStream, StoreError,
                          key_hash)

BAD_KEYS = ["text", 42, None, 3.5, [b"a"]]


@pytest.fixture
def store(path):
    s = DataStore(path)
    yield s
    s.close()


# ---------------------------------------------------------------- opening

def test_open_creates_missing_file_and_accepts_str_bytes_and_pathlike(tmp_path):
    for i, p in enumerate([str(tmp_path / "a"), os.fsencode(tmp_path / "b"),
                           pathlib.Path(tmp_path / "c")]):
        with DataStore(p) as s:
            s.write(b"k", b"v%d" % i)
        assert os.path.isfile(os.fsdecode(p))
        with DataStore(p) as s:
            assert s.read(b"k") == b"v%d" % i


def test_open_without_create_or_readonly_on_missing_file_is_enoent(path):
    for kw in ({"create": False}, {"readonly": True}):
        with pytest.raises(StoreError) as e:
            DataStore(path, **kw)
        assert e.value.name == "SRD_ENOENT"
        assert e.value.errno == 2
        assert not os.path.exists(path)


def test_open_in_missing_directory_is_an_oserror(tmp_path):
    with pytest.raises(OSError):
        DataStore(str(tmp_path / "no" / "such" / "store"))


def test_open_rejects_bad_arguments(path):
    with pytest.raises(TypeError):
        DataStore()
    with pytest.raises(TypeError):
        DataStore(123)
    with pytest.raises(ValueError):
        DataStore(path + "\0x")
    with pytest.raises(ValueError, match="sync must be"):
        DataStore(path, sync="sometimes")
    with pytest.raises(TypeError):
        DataStore(path, True)  # options are keyword-only
    assert not os.path.exists(path)


def test_sync_modes_all_store_and_read_back(tmp_path):
    for mode in ("always", "interval", "never"):
        p = str(tmp_path / mode)
        with DataStore(p, sync=mode, sync_interval_ms=5) as s:
            s.write(b"k", mode.encode())
            s.sync()
        with DataStore(p, readonly=True) as s:
            assert s.read(b"k") == mode.encode()


def test_second_datastore_in_the_same_process_shares_the_handle(store, path):
    with DataStore(path) as again:
        again.write(b"k", b"through the second")
        assert store.read(b"k") == b"through the second"
    store.write(b"k2", b"the first still writes")  # one reference left
    assert store.read(b"k2") == b"the first still writes"


def test_second_writer_with_autostart_off_gets_ebusy_saying_why(store, path):
    with pytest.raises(StoreError) as e:
        DataStore(path, autostart=False)
    assert e.value.name == "SRD_EBUSY" and e.value.code == 4
    assert isinstance(e.value, OSError) and e.value.errno == 16
    assert "SRD_EBUSY" in str(e.value) and path in str(e.value)
    assert "autostart=False" in str(e.value)


def test_a_file_that_is_not_a_store_is_refused_and_left_untouched(path):
    junk = os.urandom(4096)
    with open(path, "wb") as f:
        f.write(junk)
    for kw in ({}, {"readonly": True}):
        with pytest.raises(StoreError) as e:
            DataStore(path, **kw)
        assert e.value.name == "SRD_ECORRUPT"
    with open(path, "rb") as f:
        assert f.read() == junk


def test_a_directory_is_not_a_store(tmp_path):
    with pytest.raises(OSError):
        DataStore(str(tmp_path))


# ---------------------------------------------------------------- write/read

def test_write_then_read_returns_bytes_and_absent_key_is_none(store):
    assert store.write(b"hello", b"world") is None
    v = store.read(b"hello")
    assert type(v) is bytes and v == b"world"
    assert store.read(b"absent") is None


def test_write_replaces_previous_value(store):
    store.write(b"k", b"one")
    store.write(b"k", b"two")
    assert store.read(b"k") == b"two"
    assert len(store) == 1


def test_bytes_bytearray_and_memoryview_keys_are_the_same_key(store):
    store.write(bytearray(b"key"), memoryview(b"value"))
    assert store.read(b"key") == b"value"
    assert store.read(memoryview(b"key")) == b"value"
    assert store.read(bytearray(b"key")) == b"value"
    assert store.exists(memoryview(b"xkeyx")[1:4])


@pytest.mark.parametrize("key", BAD_KEYS)
def test_non_bytes_key_is_a_typeerror_everywhere(store, key):
    store.write(b"k", b"v")
    calls = [lambda: store.write(key, b"v"), lambda: store.read(key),
             lambda: store.read_entry(key), lambda: store.read_stream(key),
             lambda: store.exists(key), lambda: store.delete(key),
             lambda: key in store, lambda: store.batch_write([(key, b"v")]),
             lambda: store.write_stream(key, io.BytesIO(b"v")),
             lambda: key_hash(key)]
    for call in calls:
        with pytest.raises(TypeError):
            call()
    assert len(store) == 1 and store.read(b"k") == b"v"


@pytest.mark.parametrize("value", ["text", 7, None])
def test_non_bytes_value_is_a_typeerror(store, value):
    with pytest.raises(TypeError, match="bytes-like"):
        store.write(b"k", value)
    assert store.read(b"k") is None


def test_empty_value_is_a_valueerror_that_says_why(store):
    for empty in (b"", bytearray(), memoryview(b"")):
        with pytest.raises(ValueError, match="empty"):
            store.write(b"k", empty)
    assert store.read(b"k") is None


def test_single_zero_byte_is_refused_but_two_zero_bytes_are_a_value(store):
    with pytest.raises(ValueError, match="0x00"):
        store.write(b"k", b"\x00")
    store.write(b"k", b"\x00\x00")
    assert store.read(b"k") == b"\x00\x00"


def test_empty_key_is_a_key(store):
    store.write(b"", b"empty key")
    assert store.read(b"") == b"empty key"
    assert b"" in store


def test_large_value_round_trips(store):
    big = os.urandom(9 * 1024 * 1024 + 7)
    store.write(b"big", big)
    assert store.read(b"big") == big


def test_non_contiguous_buffer_is_refused(store):
    strided = memoryview(b"abcdef")[::2]
    with pytest.raises((TypeError, BufferError)):
        store.write(b"k", strided)
    with pytest.raises((TypeError, BufferError)):
        store.read(strided)


def test_write_wants_exactly_two_arguments(store):
    with pytest.raises(TypeError):
        store.write(b"k")
    with pytest.raises(TypeError):
        store.write(b"k", b"v", b"x")


# ---------------------------------------------------------------- batch_write

def test_batch_write_stores_every_pair_from_any_iterable(store):
    store.batch_write([(b"a", b"1"), (b"b", b"2")])
    store.batch_write(((b"c", b"3"),))
    store.batch_write([[b"d", bytearray(b"4")]])
    store.batch_write((k, v) for k, v in [(b"e", b"5")])
    assert [store.read(k) for k in (b"a", b"b", b"c", b"d", b"e")] == \
        [b"1", b"2", b"3", b"4", b"5"]


def test_batch_write_of_nothing_is_a_no_op(store):
    store.batch_write([])
    assert len(store) == 0 and store.info()["tail"] == 0


def test_batch_write_later_pair_wins(store):
    store.batch_write([(b"k", b"first"), (b"k", b"second")])
    assert store.read(b"k") == b"second"
    assert len(store) == 1


def test_batch_write_with_one_bad_value_writes_nothing(store):
    tail = store.info()["tail"]
    with pytest.raises(ValueError, match="item 1"):
        store.batch_write([(b"a", b"1"), (b"b", b"")])
    with pytest.raises(ValueError, match="item 2"):
        store.batch_write([(b"a", b"1"), (b"b", b"2"), (b"c", b"\x00")])
    with pytest.raises(TypeError):
        store.batch_write([(b"a", b"1"), (b"b", "text")])
    assert store.info()["tail"] == tail
    assert store.read(b"a") is None


def test_batch_write_rejects_things_that_are_not_pairs(store):
    for items in (None, 5, [b"ab"], [(b"a",)], [(b"a", b"1", b"2")],
                  [b"a", b"1"]):
        with pytest.raises(TypeError):
            store.batch_write(items)
    assert len(store) == 0


# ---------------------------------------------------------------- write_stream

class Chunked:
    """A reader that hands out its data in fixed pieces of any type."""

    def __init__(self, data, piece, kind=bytes):
        self.data, self.piece, self.kind, self.calls = data, piece, kind, 0

    def read(self, n):
        self.calls += 1
        assert n > 0
        out, self.data = self.data[:self.piece], self.data[self.piece:]
        return self.kind(out)


def test_write_stream_reads_until_empty(store):
    data = os.urandom(3 * 1024 * 1024 + 5)
    r = Chunked(data, 100_000)
    store.write_stream(b"s", r)
    assert store.read(b"s") == data
    assert r.calls == len(data) // 100_000 + 2  # last piece, then b""


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_write_stream_accepts_bytes_like_chunks(store, kind):
    store.write_stream(b"s", Chunked(b"abcdefgh", 3, kind))
    assert store.read(b"s") == b"abcdefgh"


def test_write_stream_from_a_real_file(store, tmp_path):
    src = tmp_path / "src.bin"
    data = os.urandom(2 * 1024 * 1024 + 1)
    src.write_bytes(data)
    with open(src, "rb") as f:
        store.write_stream(b"file", f)
    assert store.read(b"file") == data


def test_write_stream_of_nothing_stores_nothing_and_keeps_old_value(store):
    # As the reference bindings: an empty reader is no error and no write.
    store.write(b"s", b"old")
    size = store.file_size()
    assert store.write_stream(b"s", io.BytesIO(b"")) is None
    assert store.write_stream(b"fresh", io.BytesIO(b"")) is None
    assert store.file_size() == size
    assert store.read(b"s") == b"old" and not store.exists(b"fresh")
    with pytest.raises(ValueError, match="0x00"):
        store.write_stream(b"s", io.BytesIO(b"\x00"))
    assert store.read(b"s") == b"old"


def test_write_stream_reader_exception_propagates_and_nothing_remains(store):
    class Boom:
        def __init__(self):
            self.n = 0

        def read(self, n):
            self.n += 1
            if self.n == 3:
                raise RuntimeError("reader failed")
            return b"x" * n

    store.write(b"s", b"old")
    tail = store.info()["tail"]
    with pytest.raises(RuntimeError, match="reader failed"):
        store.write_stream(b"s", Boom())
    assert store.read(b"s") == b"old"
    assert store.info()["tail"] == tail
    store.write(b"after", b"fine")  # the writer is free again
    assert store.read(b"after") == b"fine"


def test_write_stream_rejects_bad_readers(store):
    with pytest.raises(TypeError, match="read"):
        store.write_stream(b"s", object())
    with pytest.raises(TypeError, match="str"):
        store.write_stream(b"s", io.StringIO("text"))
    with pytest.raises(TypeError):
        store.write_stream(b"s", Chunked(b"abc", 1, lambda b: None))
    assert store.read(b"s") is None
    assert store.verify()["ok"]


def test_writing_from_inside_the_stream_reader_is_refused_not_a_deadlock(store):
    class Sneaky:
        def __init__(self):
            self.done = False

        def read(self, n):
            if self.done:
                return b""
            self.done = True
            for call in (lambda: store.write(b"x", b"y"),
                         lambda: store.delete(b"x"),
                         lambda: store.batch_write([(b"x", b"y")]),
                         lambda: store.compact(),
                         lambda: store.write_stream(b"x", io.BytesIO(b"y"))):
                with pytest.raises(RuntimeError, match="write_stream"):
                    call()
            assert store.read(b"s") is None  # reads are fine
            return b"payload"

    store.write_stream(b"s", Sneaky())
    assert store.read(b"s") == b"payload"
    assert store.read(b"x") is None


# ---------------------------------------------------------------- read_entry

def test_read_entry_is_a_zero_copy_read_only_view(store):
    store.write(b"k", b"value")
    e = store.read_entry(b"k")
    assert isinstance(e, EntryHandle)
    mv = e.as_memoryview()
    assert mv.readonly and mv.nbytes == 5 and bytes(mv) == b"value"
    with pytest.raises(TypeError):
        mv[0] = 0
    assert bytes(memoryview(e)) == b"value" and bytes(e) == b"value"
    again = store.read_entry(b"k")
    assert again.address_range() == e.address_range()  # same mapped bytes
    assert e.address_range()[0] % 64 == 0
    assert e.as_slice() == b"value" and type(e.as_slice()) is bytes
    assert store.read_entry(b"absent") is None


def test_entry_metadata_matches_the_format(store):
    store.write(b"first", b"x" * 100)
    store.write(b"k", b"value")
    e = store.read_entry(b"k")
    assert len(e) == e.size == 5
    assert e.size_with_metadata == 5 + 20
    assert e.key_hash == key_hash(b"k")
    assert e.start_offset % 64 == 0 and e.start_offset >= 120
    assert e.end_offset == e.start_offset + 5
    assert e.offset_range() == (e.start_offset, e.end_offset)
    lo, hi = e.address_range()
    assert hi - lo == 5
    import zlib
    assert e.checksum == zlib.crc32(b"value")
    assert e.raw_checksum() == e.checksum.to_bytes(4, "little")
    assert e.is_valid_checksum()
    assert e.clone_arc().as_slice() == b"value"
    assert "EntryHandle" in repr(e)


def test_views_stay_unchanged_across_overwrite_delete_and_compact(store):
    store.write(b"k", b"one")
    mv1 = store.read_entry(b"k").as_memoryview()
    store.write(b"k", b"two")
    mv2 = store.read_entry(b"k").as_memoryview()
    store.delete(b"k")
    for i in range(200):
        store.write(b"filler%d" % i, os.urandom(1000))
    assert store.compact() > 0
    gc.collect()
    assert bytes(mv1) == b"one" and bytes(mv2) == b"two"
    assert store.read(b"k") is None


def test_memoryview_outlives_its_entry_handle_and_the_store(path):
    s = DataStore(path)
    s.write(b"k", b"value" * 1000)
    mv = s.read_entry(b"k").as_memoryview()  # the handle is dropped at once
    s.close()
    gc.collect()
    assert bytes(mv) == b"value" * 1000
    assert s.closed


# ---------------------------------------------------------------- read_stream

def test_read_stream_reads_in_pieces_and_iterates_in_chunks(store):
    data = os.urandom(300_000)
    store.write(b"s", data)
    st = store.read_stream(b"s")
    assert isinstance(st, EntryStream) and st.size == len(data)
    assert st.readable()
    assert st.read(0) == b""
    assert st.read(10) == data[:10] and st.tell() == 10
    buf = bytearray(90)
    assert st.readinto(buf) == 90 and bytes(buf) == data[10:100]
    chunks = list(st)
    assert all(0 < len(c) <= 65536 for c in chunks)
    assert b"".join(chunks) == data[100:]
    assert st.read(5) == b"" and st.read() == b""
    assert list(st) == []
    assert store.read_stream(b"absent") is None


def test_read_stream_read_without_size_returns_the_rest(store):
    store.write(b"s", b"0123456789")
    st = store.read_stream(b"s")
    assert st.read(3) == b"012"
    assert st.read() == b"3456789"
    assert st.read(-1) == b""


def test_read_stream_keeps_the_value_it_opened(store):
    store.write(b"s", b"old value")
    st = store.read_stream(b"s")
    store.write(b"s", b"new value")
    store.compact()
    assert st.read() == b"old value"


# ---------------------------------------------------------------- exists/delete/len

def test_exists_and_in_return_bools(store):
    store.write(b"k", b"v")
    assert store.exists(b"k") is True and store.exists(b"x") is False
    assert b"k" in store and b"x" not in store


def test_delete_removes_and_deleting_absent_key_is_fine(store):
    store.write(b"k", b"v")
    assert store.delete(b"k") is None
    assert store.read(b"k") is None and not store.exists(b"k")
    store.delete(b"k")
    store.delete(b"never-there")
    assert len(store) == 0


def test_len_counts_live_keys_only(store):
    assert len(store) == 0
    store.batch_write([(b"k%d" % i, b"v") for i in range(10)])
    store.write(b"k0", b"again")
    store.delete(b"k1")
    store.delete(b"k2")
    assert len(store) == 8


# ---------------------------------------------------------------- iteration

def test_iteration_yields_each_live_entry_once_as_hash_and_memoryview(store):
    store.batch_write([(b"a", b"1"), (b"b", b"2"), (b"c", b"3")])
    store.write(b"a", b"newest")
    store.delete(b"b")
    got = {h: bytes(mv) for h, mv in store}
    assert got == {key_hash(b"a"): b"newest", key_hash(b"c"): b"3"}
    for h, mv in store:
        assert isinstance(h, int) and isinstance(mv, memoryview)
        assert mv.readonly


def test_iteration_is_a_snapshot(store):
    store.batch_write([(b"k%d" % i, b"v") for i in range(100)])
    seen = 0
    for i, (h, mv) in enumerate(store):
        store.write(b"new%d" % i, b"x")  # not part of this iteration
        seen += 1
    assert seen == 100 and len(store) == 200


def test_iterating_an_empty_store_yields_nothing(store):
    assert list(store) == []


# ---------------------------------------------------------------- info/verify/compact

def test_info_reports_the_store(store, path):
    store.write(b"k", b"v" * 10)
    store.write(b"k", b"w" * 10)
    i = store.info()
    assert i["live_keys"] == 1 and i["entries"] == 2
    assert i["tail"] == i["file_size"] == os.path.getsize(path)
    assert i["live_bytes"] == 10 and i["dead_bytes"] > 0
    assert i["readonly"] is False and i["path"] == path
    assert i["index_bytes"] > 0


def test_verify_finds_a_damaged_entry(path):
    with DataStore(path) as s:
        s.write(b"victim", b"A" * 1000)
        s.write(b"tail", b"B" * 1000)
        assert s.verify() == {"entries": 2, "bad_entries": 0,
                              "first_bad_offset": 0,
                              "bytes": os.path.getsize(path),
                              "past_tail_bytes": 0, "break_offset": 0,
                              "ok": True}
        off = s.read_entry(b"victim").start_offset
    with open(path, "r+b") as f:  # flip one payload byte of a non-tail entry
        f.seek(off + 10)
        f.write(b"Z")
    with DataStore(path) as s:
        r = s.verify()
        assert r["ok"] is False and r["bad_entries"] == 1
        assert r["first_bad_offset"] == off
        assert s.read_entry(b"victim").is_valid_checksum() is False
        assert s.read_entry(b"tail").is_valid_checksum() is True


def test_compact_reclaims_space_and_keeps_live_values(store, path):
    for i in range(50):
        store.write(b"k", os.urandom(4000))
    store.write(b"other", b"keep")
    last = store.read(b"k")
    before = os.path.getsize(path)
    reclaimed = store.compact()
    assert reclaimed > 0
    assert os.path.getsize(path) == before - reclaimed
    assert store.read(b"k") == last and store.read(b"other") == b"keep"
    assert len(store) == 2 and store.verify()["ok"]
    assert not os.path.exists(path + ".compact")
    store.write(b"after", b"compaction")
    assert store.read(b"after") == b"compaction"


# ---------------------------------------------------------------- close

def test_every_method_after_close_is_a_valueerror(path):
    s = DataStore(path)
    s.write(b"k", b"v")
    s.close()
    s.close()  # idempotent
    assert s.closed
    calls = [lambda: s.write(b"k", b"v"), lambda: s.batch_write([]),
             lambda: s.write_stream(b"k", io.BytesIO(b"v")),
             lambda: s.read(b"k"), lambda: s.read_entry(b"k"),
             lambda: s.read_stream(b"k"), lambda: s.exists(b"k"),
             lambda: s.delete(b"k"), lambda: len(s), lambda: b"k" in s,
             lambda: iter(s), s.info, s.verify, s.compact, s.sync,
             s.refresh, lambda: s.__enter__()]
    for call in calls:
        with pytest.raises(ValueError, match="closed"):
            call()
    assert "closed" in repr(s)


def test_context_manager_closes_and_releases_the_lock(path):
    with DataStore(path) as s:
        assert not s.closed
        s.write(b"k", b"v")
    assert s.closed
    with DataStore(path) as again:  # the writer lock is free
        assert again.read(b"k") == b"v"


def test_close_waits_for_live_views_before_releasing_the_lock(path):
    s = DataStore(path)
    s.write(b"k", b"v")
    e = s.read_entry(b"k")
    s.close()
    with pytest.raises(ValueError):
        s.read(b"k")
    with pytest.raises(StoreError, match="SRD_EBUSY"):
        DataStore(path, autostart=False)  # still held: e needs the handle
    assert bytes(e) == b"v"
    del e
    gc.collect()
    with DataStore(path) as again:
        assert again.read(b"k") == b"v"


def test_dropping_the_last_reference_closes_the_store(path):
    s = DataStore(path)
    s.write(b"k", b"v")
    del s
    gc.collect()
    with DataStore(path) as again:
        assert again.read(b"k") == b"v"


def test_path_and_repr(path):
    with DataStore(path) as s:
        assert s.path == path
        assert repr(s) == f"<simd_r_drive.DataStore {path!r}>"


# ---------------------------------------------------------------- read-only

def test_readonly_handle_reads_refreshes_and_refuses_writes(path):
    with DataStore(path) as w:
        w.write(b"a", b"1")
        with DataStore(path, readonly=True) as r:
            assert r.read(b"a") == b"1" and r.info()["readonly"] is True
            w.write(b"b", b"2")
            assert r.refresh() == 1
            assert r.read(b"b") == b"2"
            with pytest.raises(StoreError) as e:
                r.write(b"c", b"3")
            assert e.value.name == "SRD_EREADONLY"
            for call in (lambda: r.delete(b"a"), r.compact,
                         lambda: r.batch_write([(b"c", b"3")]),
                         lambda: r.write_stream(b"c", io.BytesIO(b"3"))):
                with pytest.raises(StoreError):
                    call()
            assert w.read(b"c") is None


# ---------------------------------------------------------------- module

def test_key_hash_is_xxh3_64_with_seed_0():
    assert key_hash(b"") == 0x2D06800538D394C2
    assert key_hash(b"a") == key_hash(bytearray(b"a"))
    assert key_hash(b"a") != key_hash(b"b")


def test_store_error_is_an_oserror():
    assert issubclass(StoreError, OSError)


# ---------------------------------------------------------------- references

def test_repeated_calls_leak_no_python_memory(store):
    """Every call path that creates or drops objects, many times over:
    a leaked reference would show as traced memory growing with the
    number of rounds."""
    import tracemalloc
    store.batch_write([(b"k%d" % i, b"v" * 100) for i in range(20)])

    def rounds(n):
        for i in range(n):
            k = b"k%d" % (i % 20)
            store.read(k)
            store.read(b"absent")
            e = store.read_entry(k)
            bytes(e.as_memoryview())
            e.checksum, e.key_hash, e.offset_range()
            b"".join(store.read_stream(k))
            store.exists(k), k in store, len(store)
            store.write(k, b"w" * 100)
            store.batch_write([(k, b"x" * 100)])
            for _h, mv in store:
                mv.nbytes
            for bad in ("s", b""):
                try:
                    store.write(k, bad)
                except (TypeError, ValueError):
                    pass

    rounds(200)  # warm up caches and free lists
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rounds(2000)
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes still allocated"
