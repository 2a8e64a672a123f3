# SPDX-License-Identifier: MIT
# The usage block of issue 5 (the SIMD R Drive Python API) copied unchanged,
# followed by asserts of what each of its comments says. Run it in an empty
# directory: it creates mydata.bin there. Prints "usage example: ok".
import io
import os

payload = os.urandom(5 * 1024 * 1024 + 321)  # several stream chunks

# ---- the block, unchanged -------------------------------------
from simd_r_drive import DataStore
store = DataStore("mydata.bin")            # opens or creates the store
store.write(b"username", b"jdoe")          # atomically appends; replaces any previous value
store.batch_write([(b"user:1", b"alice"), (b"user:2", b"bob")])   # one operation
store.write_stream(b"large-file", io.BytesIO(payload))            # reads .read(n) until empty
value = store.read(b"username")            # bytes, or None when absent
entry = store.read_entry(b"username")      # handle or None; entry.as_memoryview() is zero-copy
stream = store.read_stream(b"large-file")  # object with .read(n), iterable in chunks
store.exists(b"username")                  # bool
store.delete(b"username")                  # read() then returns None
# ---- end of the block ---------------------------------------------------

# opens or creates the store
assert os.path.isfile("mydata.bin")
# one operation: both pairs are there
assert store.read(b"user:1") == b"alice" and store.read(b"user:2") == b"bob"
# reads .read(n) until empty: the whole payload, byte for byte
assert store.read(b"large-file") == payload
# bytes, or None when absent
assert type(value) is bytes and value == b"jdoe"
assert store.read(b"no-such-key") is None
# handle or None; entry.as_memoryview() is zero-copy: a read-only view of
# the mapped file, 64-byte aligned, at the same address every time, still
# holding the value after the key was deleted
mv = entry.as_memoryview()
assert isinstance(mv, memoryview) and mv.readonly and bytes(mv) == b"jdoe"
assert entry.address_range()[0] % 64 == 0
assert store.read_entry(b"no-such-key") is None
# object with .read(n), iterable in chunks
first = stream.read(1000)
assert first == payload[:1000]
rest = b"".join(stream)
assert first + rest == payload
assert stream.read(10) == b""
# bool
assert store.exists(b"user:1") is True
assert store.exists(b"no-such-key") is False
# read() then returns None
assert store.read(b"username") is None
assert store.exists(b"username") is False
# atomically appends; replaces any previous value
store.write(b"username", b"jdoe")
store.write(b"username", b"jane")
assert store.read(b"username") == b"jane"
again = store.read_entry(b"username")
assert again.start_offset > entry.start_offset  # appended after the first
assert bytes(mv) == b"jdoe"                      # the old view is unchanged
# and everything is in the file: a fresh handle sees the same. (close()
# releases the writer lock once no handle or view from the store is left.)
del stream, entry, again, mv
store.close()
with DataStore("mydata.bin") as reopened:
    assert reopened.read(b"username") == b"jane"
    assert reopened.read(b"large-file") == payload
    assert len(reopened) == 4
print("usage example: ok")
