# SPDX-License-Identifier: MIT
# AsyncDataStore: the DataStore API as coroutines. Many writes awaited at
# once all complete and are all there (in embedded mode and, when
# SRDD_PATH names an srdd, through it, where they share group commits);
# results and errors come back as from DataStore; the event loop keeps
# running while a write waits; close waits for calls in flight.
import asyncio
import io
import os
import subprocess
import time

import pytest

from simd_r_drive import AsyncDataStore, DataStore, StoreValueError


def run(coro):
    return asyncio.run(coro)


def test_the_api_as_coroutines(path):
    async def main():
        async with AsyncDataStore(path) as st:
            assert await st.is_empty()
            await st.write(b"k", b"v")
            await st.batch_write([(b"a", b"1"), (b"b", b"2")])
            await st.write_stream(b"s", io.BytesIO(b"streamed"))
            assert await st.read(b"k") == b"v"
            assert bytes((await st.read_entry(b"a")).as_memoryview()) == b"1"
            assert (await st.read_stream(b"s")).read() == b"streamed"
            assert await st.batch_read([b"a", b"x"]) == [b"1", None]
            assert await st.batch_read_structured({"q": b"b"}) == {"q": b"2"}
            assert await st.exists(b"b") and await st.count() == 4
            await st.delete(b"b")
            assert not await st.exists(b"b")
            await st.sync()
            assert (await st.info())["live_keys"] == 3
            assert await st.file_size() > 0
            with pytest.raises(StoreValueError):
                await st.write(b"e", b"")
        assert st.closed
    run(main())
    with DataStore(path) as st:
        assert st.read(b"k") == b"v" and st.read(b"s") == b"streamed"


def test_many_writes_awaited_together_all_land(path):
    async def main():
        async with AsyncDataStore(path, workers=8) as st:
            await asyncio.gather(*(st.write(b"k%d" % i, b"v%d" % i)
                                   for i in range(300)))
            got = await st.batch_read([b"k%d" % i for i in range(300)])
            assert got == [b"v%d" % i for i in range(300)]
    run(main())


def test_the_loop_runs_while_writes_wait(path):
    """A coroutine that only yields gets its turns while writes are in
    flight: the loop is never blocked by a call."""
    async def main():
        ticks = 0
        done = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        async with AsyncDataStore(path) as st:
            t = asyncio.create_task(ticker())
            await asyncio.gather(*(st.write(b"w%d" % i, os.urandom(4096))
                                   for i in range(100)))
            done.set()
            await t
        assert ticks > 0
    run(main())


def test_close_waits_for_calls_in_flight(path):
    async def main():
        st = AsyncDataStore(path)
        pending = [asyncio.ensure_future(st.write(b"c%d" % i, b"x"))
                   for i in range(50)]
        await asyncio.sleep(0)
        await asyncio.gather(*pending)
        await st.close()
        with pytest.raises(ValueError):
            await st.read(b"c1")
    run(main())
    with DataStore(path) as st:
        assert len(st) == 50


def test_bad_arguments():
    with pytest.raises(ValueError):
        AsyncDataStore("unused.srd", workers=0)


def test_through_srdd(path, srdd_exe):
    subprocess.run([srdd_exe, "--store", path], check=True,
                   stderr=subprocess.DEVNULL)
    pid = None
    try:
        with open(path + ".srdd") as f:
            pid = int(next(l for l in f if l.startswith("pid="))[4:])

        async def main():
            async with AsyncDataStore(path, workers=16) as st:
                await asyncio.gather(*(st.write(b"d%d" % i, b"v")
                                       for i in range(200)))
                assert await st.count() == 200
        run(main())
    finally:
        if pid:
            os.kill(pid, 15)
            for _ in range(200):  # srdd removes it once stopped
                if not os.path.exists(path + ".srdd"):
                    break
                time.sleep(0.05)
