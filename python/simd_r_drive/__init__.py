# SPDX-License-Identifier: MIT
"""SIMD R Drive key/value stores, backed by srd's libsrdclient.

The package of the simd_r_drive extension (simd_r_drive.simd_r_drive, as in
the reference bindings' layout): DataStore(path) opens or creates a store,
one append-only file whose values are read in place, zero-copy;
AsyncDataStore is the same API as coroutines (asyncio). See docs/PYTHON.md.
"""
from .simd_r_drive import (
    DataStore,
    EntryHandle,
    EntryIterator,
    EntryStream,
    NamespaceHasher,
    StoreError,
    StoreValueError,
    __version__,
    key_hash,
)
from ._aio import AsyncDataStore

__all__ = [
    "AsyncDataStore",
    "DataStore",
    "EntryHandle",
    "EntryIterator",
    "EntryStream",
    "NamespaceHasher",
    "StoreError",
    "StoreValueError",
    "key_hash",
]
