#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench.py -- the cost of the simd_r_drive binding: the workloads of
# srd-bench's get, put and batch sections (same keys "key%08d", same value
# sizes, same counts, random order, median of the same repetitions) run from
# Python, next to srd-bench's own C figures from the same run, with the
# Python/C ratio. Usage: python3 python/bench.py --build build-release
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SEED = 0x5EEDB0A7
PUT_BATCH = 1000  # srd-bench's PUT_BATCH


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build", default="build-release",
                   help="CMake build dir holding python/ and tools/srd-bench "
                        "(default build-release)")
    p.add_argument("--srd-bench", help="srd-bench to run (default "
                   "BUILD/tools/srd-bench); 'none' skips the C side")
    p.add_argument("--keys", type=int, help="keys in the get stores "
                   "(default 1000000, 20000 with --quick), as srd-bench")
    p.add_argument("--quick", action="store_true",
                   help="srd-bench --quick sizes (a smoke run)")
    p.add_argument("--dir", default=tempfile.gettempdir(),
                   help="where the work directory is created")
    p.add_argument("--json", action="store_true", help="print JSON rows")
    a = p.parse_args()
    if a.keys is None:
        a.keys = 20000 if a.quick else 1000000
    return a


def import_module(build):
    sys.path.insert(0, os.path.join(build, "python"))
    global DataStore
    from simd_r_drive import DataStore  # noqa: F811


class Sizes:
    """srd-bench's cfg_sizes() for the sections compared here."""

    def __init__(self, quick, keys):
        self.reps, self.slow_reps = (3, 1) if quick else (5, 3)
        single, sync, batch_sync = ((20000, 50, 5000) if quick
                                    else (200000, 2000, 100000))
        self.single_puts = min(single, keys)
        self.sync_puts = min(sync, keys)
        self.sync_batch = min(batch_sync, keys)


# ------------------------------------------------------------------ Python

def make_data(n):
    keys = [b"key%08d" % i for i in range(n)]
    order = list(range(n))
    random.Random(SEED).shuffle(order)
    qkeys = [keys[i] for i in order]
    rnd = random.Random(SEED + 1)

    def value(size):
        return bytes([rnd.getrandbits(8) | 1]) + rnd.randbytes(size - 1)

    return keys, qkeys, value


def load(path, keys, value, size):
    with DataStore(path, sync="never") as s:
        for i in range(0, len(keys), PUT_BATCH):
            s.batch_write([(k, value(size)) for k in keys[i:i + PUT_BATCH]])


def timed_ns_per_op(fn, items):
    t0 = time.perf_counter_ns()
    fn(items)
    return (time.perf_counter_ns() - t0) / len(items)


def gets(store):
    read, read_entry, exists = store.read, store.read_entry, store.exists

    def by_read(ks):
        for k in ks:
            read(k)

    def by_entry(ks):
        for k in ks:
            read_entry(k)

    def by_exists(ks):
        for k in ks:
            exists(k)

    return [("read() -> bytes", by_read), ("read_entry() -> view", by_entry),
            ("exists()", by_exists)]


def bench_get(work, sizes, keys, qkeys, value, size, rows):
    path = os.path.join(work, "get%d.srd" % size)
    load(path, keys, value, size)
    with DataStore(path, readonly=True, sync="never") as s:
        for what, fn in gets(s):
            ns = statistics.median(timed_ns_per_op(fn, qkeys)
                                   for _ in range(sizes.reps))
            rows.append(("get", "random get, %d B values" % size, what,
                         "gets/s", 1e9 / ns))


def put_rate(work, qkeys, n, sync, size, value):
    path = os.path.join(work, "put.srd")
    vals = [value(size) for _ in range(n)]
    with DataStore(path, sync=sync) as s:
        write = s.write
        t0 = time.perf_counter_ns()
        for k, v in zip(qkeys[:n], vals):
            write(k, v)
        rate = n * 1e9 / (time.perf_counter_ns() - t0)
        assert len(s) == n
    remove(path)
    return rate


def batch_rate(work, qkeys, n, sync, size, value):
    path = os.path.join(work, "batch.srd")
    batches = [[(k, value(size)) for k in qkeys[i:min(n, i + PUT_BATCH)]]
               for i in range(0, n, PUT_BATCH)]
    with DataStore(path, sync=sync) as s:
        t0 = time.perf_counter_ns()
        for b in batches:
            s.batch_write(b)
        rate = n * 1e9 / (time.perf_counter_ns() - t0)
        assert len(s) == n
    remove(path)
    return rate


def remove(path):
    for p in (path, path + ".lock"):
        if os.path.exists(p):
            os.unlink(p)


def bench_writes(work, sizes, qkeys, value, rows):
    cases = [
        ("put", "single put, sync never", "write()", "puts/s",
         put_rate, sizes.single_puts, "never"),
        ("put", "single put, sync always", "write()", "puts/s",
         put_rate, sizes.sync_puts, "always"),
        ("batch", "batch of 1000 x 8 B, sync never", "batch_write()",
         "entries/s", batch_rate, len(qkeys), "never"),
        ("batch", "batch of 1000 x 8 B, sync always", "batch_write()",
         "entries/s", batch_rate, sizes.sync_batch, "always"),
    ]
    for section, name, what, unit, fn, n, sync in cases:
        rate = statistics.median(fn(work, qkeys, n, sync, 8, value)
                                 for _ in range(sizes.slow_reps))
        rows.append((section, name, what, unit, rate))


# ------------------------------------------------------------------ C side

C_ROWS = {  # our row name -> srd-bench row name prefix (same section/unit)
    "random get, 8 B values": "random get, 8 B values",
    "random get, 100 B values": "random get, 100 B values",
    "single put, sync never": "single put, sync never",
    "single put, sync always": "single put, sync always",
    "batch of 1000 x 8 B, sync never": "batch of 1000 x 8 B, sync never",
    "batch of 1000 x 8 B, sync always": "batch of 1000 x 8 B, sync always",
}


def run_srd_bench(exe, args, work):
    cmd = [exe, "--only", "get,put,batch", "--keys", str(args.keys),
           "--json", "--dir", work] + (["--quick"] if args.quick else [])
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def c_figure(results, section, unit, name):
    want = C_ROWS[name]
    for r in results["results"]:
        if (r["section"] == section and r["unit"] == unit
                and r["name"].startswith(want)):
            return r["srd"]
    return None


# ------------------------------------------------------------------ output

def human(v):
    if v is None:
        return "-"
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            return "%.2f%s" % (v / div, suffix)
    return "%.1f" % v


def print_table(rows, results):
    print("| workload | Python call | unit | Python | C (srd-bench) "
          "| Python / C |")
    print("|---|---|---|---:|---:|---:|")
    out = []
    for section, name, what, unit, py in rows:
        c = c_figure(results, section, unit, name) if results else None
        ratio = py / c if c else None
        print("| %s | %s | %s | %s | %s | %s |" % (
            name, what, unit, human(py), human(c),
            "%.2f" % ratio if ratio else "-"))
        out.append({"section": section, "name": name, "call": what,
                    "unit": unit, "python": py, "c": c, "ratio": ratio})
    return out


def main():
    args = parse_args()
    import_module(args.build)
    exe = args.srd_bench or os.path.join(args.build, "tools", "srd-bench")
    sizes = Sizes(args.quick, args.keys)
    work = tempfile.mkdtemp(prefix="srd-pybench.", dir=args.dir)
    try:
        keys, qkeys, value = make_data(args.keys)
        rows = []
        print("python: get", file=sys.stderr, flush=True)
        for size in (8, 100):
            bench_get(work, sizes, keys, qkeys, value, size, rows)
        print("python: put, batch", file=sys.stderr, flush=True)
        bench_writes(work, sizes, qkeys, value, rows)
        results = None
        if exe != "none" and os.path.isfile(exe):
            results = run_srd_bench(exe, args, work)
        else:
            print("srd-bench not found (%s): Python figures only" % exe,
                  file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d keys%s, Python %s" % (args.keys, ", quick" if args.quick else "",
                                    sys.version.split()[0]))
    out = print_table(rows, results)
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
