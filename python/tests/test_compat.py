# SPDX-License-Identifier: MIT
# Drop-in compatibility with the reference bindings (simd_r_drive_py):
# their keyword names, their exception types (OSError where they raise
# it, ValueError for write_stream), io.BufferedReader over EntryStream,
# the package layout (simd_r_drive.simd_r_drive, __all__, py.typed) and
# the stubs naming everything the module exports.
import ast
import io
import os

import pytest

import simd_r_drive
from simd_r_drive import DataStore, StoreError, StoreValueError


@pytest.fixture
def store(path):
    with DataStore(path=path) as st:
        yield st


def test_every_method_takes_the_references_keywords(store):
    store.write(key=b"k", data=b"value")
    store.batch_write(items=[(b"a", b"1"), (b"b", b"2")])
    store.write_stream(key=b"s", reader=io.BytesIO(b"streamed"))
    assert store.read(key=b"k") == b"value"
    assert bytes(store.read_entry(key=b"a").as_memoryview()) == b"1"
    assert store.read_stream(key=b"s").read(size=3) == b"str"
    assert store.exists(key=b"b")
    assert store.batch_read(keys=[b"a", b"zz"]) == [b"1", None]
    assert store.batch_read_structured(data={"x": b"b"}) == {"x": b"2"}
    store.delete(key=b"b")
    assert not store.exists(key=b"b")
    h = simd_r_drive.NamespaceHasher(prefix=b"ns")
    assert h.namespace(key=b"a") == h.namespace(b"a")
    with pytest.raises(TypeError):
        store.read(name=b"k")


def test_values_the_format_cannot_hold_are_oserror_as_in_the_reference(store):
    for bad in (b"", b"\x00"):
        with pytest.raises(OSError) as exc:
            store.write(b"k", bad)
        assert isinstance(exc.value, ValueError)      # our older type too
        assert isinstance(exc.value, StoreError) and exc.value.name == "SRD_EINVAL"
        with pytest.raises(OSError):
            store.batch_write([(b"k", b"ok"), (b"j", bad)])
    assert not store.exists(b"k") and not store.exists(b"j")


def test_write_stream_failures_are_valueerror_as_in_the_reference(store, path):
    with pytest.raises(ValueError):
        store.write_stream(b"z", io.BytesIO(b"\x00"))
    store.write(b"x", b"v")
    with DataStore(path, readonly=True) as ro:
        with pytest.raises(ValueError) as exc:
            ro.write_stream(b"x", io.BytesIO(b"data"))
        assert isinstance(exc.value, StoreValueError)
        assert exc.value.name == "SRD_EREADONLY"
        with pytest.raises(OSError):               # write() stays OSError
            ro.write(b"x", b"data")


def test_an_empty_write_stream_stores_nothing(store, path):
    store.write_stream(b"empty", io.BytesIO(b""))
    assert not store.exists(b"empty") and os.path.getsize(path) == 0


def test_entry_stream_is_a_raw_io_stream(store):
    text = b"first line\nsecond line\n" * 1000
    store.write(b"t", text)
    raw = store.read_stream(b"t")
    assert raw.readable() and not raw.seekable() and not raw.writable()
    assert not raw.closed
    buffered = io.BufferedReader(raw, buffer_size=4096)
    assert buffered.readline() == b"first line\n"
    assert buffered.read() == text[len(b"first line\n"):]
    buffered.close()
    assert raw.closed
    with pytest.raises(ValueError):
        raw.read(1)
    with io.TextIOWrapper(io.BufferedReader(store.read_stream(b"t")),
                          encoding="ascii") as f:
        assert f.readlines()[:2] == ["first line\n", "second line\n"]
    with store.read_stream(b"t") as s:
        buf = bytearray(5)
        assert s.readinto(buf) == 5 and bytes(buf) == b"first"
        assert s.read(None) == text[5:] and s.readall() == b""
    assert s.closed


def test_closing_a_stream_lets_the_store_close(path):
    st = DataStore(path)
    st.write(b"k", b"v" * 100)
    stream = st.read_stream(b"k")
    st.close()
    assert stream.read(10) == b"v" * 10     # the value outlives close()
    stream.close()
    with pytest.raises(ValueError):
        st.read(b"k")


def test_package_layout_matches_the_reference():
    from simd_r_drive import simd_r_drive as ext
    assert ext.DataStore is DataStore
    pkg = os.path.dirname(simd_r_drive.__file__)
    assert os.path.isfile(os.path.join(pkg, "py.typed"))
    for name in simd_r_drive.__all__:
        assert hasattr(simd_r_drive, name), name
    for name in ("DataStore", "EntryHandle", "EntryStream", "NamespaceHasher"):
        assert name in simd_r_drive.__all__


def test_stubs_name_every_public_name_and_method():
    pkg = os.path.dirname(simd_r_drive.__file__)
    with open(os.path.join(pkg, "simd_r_drive.pyi"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    classes = {n.name: {m.name for m in n.body if isinstance(m, ast.FunctionDef)}
               for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in simd_r_drive.__all__:
        if getattr(simd_r_drive, name).__module__ == "simd_r_drive._aio":
            continue  # pure Python, annotated in place
        assert name in classes or name in functions, f"{name} not in the stubs"
    for cls in ("DataStore", "EntryHandle", "EntryStream", "NamespaceHasher"):
        obj = getattr(simd_r_drive, cls)
        public = {a for a in dir(obj) if not a.startswith("_")}
        props = {a for a in public if not callable(getattr(obj, a))}
        missing = (public - props) - classes[cls]
        assert not missing, f"{cls} stubs lack {sorted(missing)}"
