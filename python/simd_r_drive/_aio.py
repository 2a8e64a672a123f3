# SPDX-License-Identifier: MIT
"""AsyncDataStore: the DataStore API as coroutines, for asyncio programs.

Each call runs the DataStore method in a small thread pool of the store's
own (the extension releases the GIL during I/O), so the event loop never
blocks on a write, an fdatasync or a large copy. A write's coroutine
completes when the write does: durable in sync="always", and through srdd
in the group commit it joined. Writes awaited together (asyncio.gather)
are in flight together, so srdd (or the embedded writer) commits them as
a group with one fdatasync instead of one each. See docs/PYTHON.md.
"""
import asyncio
import concurrent.futures
import functools
from typing import IO, Any, Dict, Iterable, List, Optional, Tuple, Union

from .simd_r_drive import DataStore, EntryHandle, EntryStream

_Bytes = Union[bytes, bytearray, memoryview]


class AsyncDataStore:
    """DataStore(path, **options) with awaitable methods.

    ``workers`` is how many calls may run at once (default 16): that many
    writes can wait in one group commit. Use ``async with`` or ``await
    store.close()``; close waits for the calls in flight.
    """

    def __init__(self, path: Any, *, workers: int = 16, **options: Any) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._store = DataStore(path, **options)
        self._closing = False
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="simd_r_drive")

    @property
    def store(self) -> DataStore:
        """The DataStore underneath (for synchronous calls)."""
        return self._store

    @property
    def closed(self) -> bool:
        return self._store.closed

    async def _call(self, name: str, *args: Any, **kw: Any) -> Any:
        if self._closing:
            raise ValueError("I/O operation on a closed AsyncDataStore")
        method = getattr(self._store, name)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, functools.partial(method, *args, **kw))

    async def write(self, key: _Bytes, data: _Bytes) -> None:
        await self._call("write", key, data)

    async def batch_write(self, items: Iterable[Tuple[_Bytes, _Bytes]]) -> None:
        await self._call("batch_write", list(items))

    async def write_stream(self, key: _Bytes, reader: IO[bytes]) -> None:
        await self._call("write_stream", key, reader)

    async def read(self, key: _Bytes) -> Optional[bytes]:
        return await self._call("read", key)

    async def read_entry(self, key: _Bytes) -> Optional[EntryHandle]:
        return await self._call("read_entry", key)

    async def read_stream(self, key: _Bytes) -> Optional[EntryStream]:
        return await self._call("read_stream", key)

    async def batch_read(self, keys: Iterable[_Bytes]) -> List[Optional[bytes]]:
        return await self._call("batch_read", list(keys))

    async def batch_read_structured(self, data: Union[Dict[Any, _Bytes],
                                                      List[Dict[Any, _Bytes]]]
                                    ) -> Any:
        return await self._call("batch_read_structured", data)

    async def exists(self, key: _Bytes) -> bool:
        return self._store.exists(key)  # an index lookup: no I/O to wait for

    async def delete(self, key: _Bytes) -> None:
        await self._call("delete", key)

    async def sync(self) -> None:
        await self._call("sync")

    async def compact(self) -> int:
        return await self._call("compact")

    async def info(self) -> Dict[str, Union[int, bool, str]]:
        return await self._call("info")

    async def file_size(self) -> int:
        return await self._call("file_size")

    async def is_empty(self) -> bool:
        return await self._call("is_empty")

    async def count(self) -> int:
        return await self._call("__len__")

    async def close(self) -> None:
        """Wait for the calls in flight, then close the store."""
        self._closing = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._pool.shutdown, True)
        self._store.close()

    async def __aenter__(self) -> "AsyncDataStore":
        return self

    async def __aexit__(self, *exc: object) -> bool:
        await self.close()
        return False
