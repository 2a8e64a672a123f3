#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make_unpadded.py -- write stores in the unpadded layout of SIMD R Drive
0.1.0-alpha3 .. 0.13.x (the Rust crate) and of the Python bindings
simd_r_drive_py 0.4.x, following that writer's rules (docs/FORMAT.md
section 10), with the expected contents next to each store as JSON.

The rules, from the reference's history (src/storage_engine/data_store.rs
at ce992f7 / 44f24a1, simd-r-drive 0.4.1-alpha, simd-r-drive-py
0.4.1-alpha.5):
  entry      = payload, then a 20-byte trailer; no pad before the payload
  trailer    = key_hash u64 LE | prev_offset u64 LE | crc32 u32 LE
  key_hash   = XXH3-64 of the key bytes, seed 0
  prev_offset= the end of the previous entry (0 for the first); the payload
               starts there
  crc32      = CRC-32/IEEE of the payload (crc32fast = zlib.crc32)
  delete     = a one-byte payload 0x00 (crc 0xd202ef8d); an empty value
               and the exact value b"\\x00" cannot be written
  batch_write= the entries of the batch one after another, one write

Usage: make_unpadded.py OUT_DIR          writes unpadded-0.4.bin/.json
       make_unpadded.py --big N SEED OUT writes a random store of N
                                         operations and OUT.json
Python 3 standard library only: XXH3 comes from the system's libxxhash
(srd links it too) through ctypes, or the xxhash module when present.
"""
import ctypes
import ctypes.util
import hashlib
import json
import os
import struct
import sys
import zlib


def _xxh3():
    try:
        import xxhash  # python3-xxhash, when installed
        return lambda b: xxhash.xxh3_64_intdigest(b)
    except ImportError:
        pass
    name = ctypes.util.find_library("xxhash") or "libxxhash.so.0"
    lib = ctypes.CDLL(name)
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lambda b: lib.XXH3_64bits(b, len(b))


xxh3_64 = _xxh3()


class UnpaddedStore:
    """The 0.4-era writer: appends payload + trailer, nothing else."""

    def __init__(self):
        self.data = bytearray()
        self.live = {}      # key -> value
        self.deleted = set()

    def _entry(self, key, payload):
        prev = len(self.data)
        crc = zlib.crc32(payload) & 0xFFFFFFFF
        return payload + struct.pack("<QQI", xxh3_64(key), prev, crc)

    def write(self, key, value):
        self.batch_write([(key, value)])

    def batch_write(self, items):
        for key, value in items:
            if len(value) == 0 or value == b"\x00":
                raise ValueError("the 0.4 writer refuses empty and b'\\x00'")
        for key, value in items:
            # each entry's prev is the end of the one before it (the
            # reference writes the whole batch with one write_all)
            self.data += self._entry(key, value)
            self.live[key] = value
            self.deleted.discard(key)

    def delete(self, key):
        # delete_entry writes a tombstone whether or not the key is live
        self.data += self._entry(key, b"\x00")
        self.live.pop(key, None)
        self.deleted.add(key)

    def expected(self):
        keys = {}
        off = {}
        # payload offsets of the newest entry of each live key: walk back
        end = len(self.data)
        seen = set()
        while end > 0:
            h, prev, crc = struct.unpack_from("<QQI", self.data, end - 20)
            if h not in seen:
                seen.add(h)
                off[h] = (prev, end - 20 - prev, crc)
            end = prev
        for k, v in sorted(self.live.items()):
            h = xxh3_64(k)
            p, n, crc = off[h]
            assert n == len(v) and bytes(self.data[p:p + n]) == v
            keys[k.hex()] = {"len": len(v), "sha256": hashlib.sha256(v).hexdigest(),
                             "payload_offset": p, "key_hash": "%016x" % h,
                             "crc32": "%08x" % crc}
            if len(v) <= 64:
                keys[k.hex()]["hex"] = v.hex()
        return {"layout": "unpadded (simd-r-drive <= 0.13, simd_r_drive_py 0.4.x)",
                "size": len(self.data),
                "sha256": hashlib.sha256(self.data).hexdigest(),
                "live_keys": len(self.live),
                "keys_hex": keys,
                "absent_hex": sorted(k.hex() for k in self.deleted)}


def golden(out_dir):
    s = UnpaddedStore()
    s.write(b"alpha", b"one")
    s.write(b"beta", b"two")
    s.write(b"gamma", bytes(i % 251 for i in range(1000)))
    s.write(b"alpha", b"uno")
    s.delete(b"beta")
    # every pad a 64-byte reading would assume, so the layouts disagree
    s.batch_write([(b"b%d" % i, b"v" * (i + 1)) for i in range(70)])
    s.write(b"", b"the empty key")
    s.write(b"zeros", b"\x00\x00")
    s.write(b"delta", b"\x00" + b"x" * 63)  # starts with a zero byte
    s.delete(b"b3")
    s.delete(b"never written")  # 0.4 writes a tombstone anyway
    s.write(b"omega", b"the last value")
    return s, os.path.join(out_dir, "unpadded-0.4")


def big(n, seed, out):
    import random
    rnd = random.Random(seed)
    s = UnpaddedStore()
    keys = [b"key%05d" % i for i in range(max(1, n // 3))]
    for _ in range(n):
        k = rnd.choice(keys)
        r = rnd.random()
        if r < 0.1 and k in s.live:
            s.delete(k)
        elif r < 0.15:
            s.batch_write([(rnd.choice(keys), os.urandom(rnd.randint(1, 300)) + b"!")
                           for _ in range(rnd.randint(2, 20))])
        else:
            s.write(k, bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 400))) + b"!")
    return s, out


def main(argv):
    if len(argv) == 2:
        s, base = golden(argv[1])
    elif len(argv) == 5 and argv[1] == "--big":
        s, base = big(int(argv[2]), int(argv[3]), argv[4])
    else:
        sys.stderr.write(__doc__)
        return 2
    with open(base + ".bin", "wb") as f:
        f.write(s.data)
    with open(base + ".json", "w") as f:
        json.dump(s.expected(), f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
