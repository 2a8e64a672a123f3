# SPDX-License-Identifier: MIT
# The behaviours of the reference bindings' NamespaceHasher tests, run
# against our module. Source: jzombie/rust-simd-r-drive,
# tests/test_namespace_hasher.py of the Python bindings (bindings/python/,
# later experiments/bindings/python_(old_client)/ and the ws client's copy),
# re-expressed here, plus the byte layout of the reference's
# src/utils/namespace_hasher.rs (prefix hash, then key hash, little-endian).
import struct

from simd_r_drive import DataStore, NamespaceHasher, key_hash


def test_namespaces_keep_the_same_key_apart(tmp_path):
    engine = DataStore(str(tmp_path / "store.bin"))
    key1 = NamespaceHasher(b"namespaceA").namespace(b"user:1")
    key2 = NamespaceHasher(b"namespaceB").namespace(b"user:1")
    assert key1 != key2
    engine.write(key1, b"example_payload")
    engine.write(key2, b"example_payload"[::-1])
    assert engine.read(key1) == b"example_payload"
    assert engine.read(key2) == b"example_payload"[::-1]


def test_the_same_namespace_and_key_give_the_same_bytes():
    hasher = NamespaceHasher(b"shared")
    assert hasher.namespace(b"important_key") == hasher.namespace(b"important_key")
    assert NamespaceHasher(b"shared").namespace(b"important_key") == \
        hasher.namespace(b"important_key")


def test_every_namespace_key_pair_is_distinct(tmp_path):
    engine = DataStore(str(tmp_path / "store.bin"))
    seen = set()
    for ns in (b"ns1", b"ns2", b"ns3"):
        hasher = NamespaceHasher(ns)
        for key in (b"user:alpha", b"user:beta", b"user:gamma"):
            namespaced = bytes(hasher.namespace(key))
            assert namespaced not in seen
            seen.add(namespaced)
            engine.write(namespaced, b"data")
    assert len(seen) == 9 and len(engine) == 9


def test_layout_is_the_references():
    out = NamespaceHasher(b"users").namespace(b"user123")
    assert len(out) == 16 and isinstance(out, bytes)
    assert struct.unpack("<QQ", out) == (key_hash(b"users"), key_hash(b"user123"))
