/* SPDX-License-Identifier: MIT */
/*
 * store.c -- the DataStore type: opening, the use count that defers
 * srd_close() until no call and no view needs the handle (pysrd.h),
 * close() and the context manager, and the method table whose bodies live
 * in ops.c, admin.c and wstream.c.
 */
#include "pysrd.h" /* Python.h first, as CPython requires */

#include <string.h>

/* ======================================================================== */
/* Use count                                                                */
/* ======================================================================== */

int pysrd_store_acquire(pysrd_store *s)
{
    if (s->closing || !s->st) {
        pysrd_errors_closed();
        return -1;
    }
    s->users++;
    return 0;
}

/* Same, for calls that need the writer: from inside a write_stream
 * reader they would wait for the stream forever. */
int pysrd_store_acquire_write(pysrd_store *s)
{
    if (pysrd_wstream_busy(s)) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot write to a DataStore from inside its own "
                        "write_stream reader: the stream holds the writer "
                        "until it ends");
        return -1;
    }
    return pysrd_store_acquire(s);
}

/* Closes the handle now; the GIL is released while a writer syncs. */
static srd_err store_close_now(pysrd_store *s)
{
    srd_store *st = s->st;
    srd_err rc = SRD_OK;
    s->st = NULL;
    if (st)
        PYSRD_NOGIL(rc = srd_close(st));
    return rc;
}

/* A deferred close has nobody to report to: print it like __del__ does,
 * naming ctx (the store, or its path once the store is being freed). */
static void store_close_unraisable(pysrd_store *s, PyObject *ctx)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    srd_err rc = store_close_now(s);
    if (rc != SRD_OK) {
        pysrd_errors_raise(rc, s->path);
        PyErr_WriteUnraisable(ctx);
    }
    PyErr_Restore(type, value, tb);
}

void pysrd_store_release(pysrd_store *s)
{
    if (--s->users == 0 && s->closing && s->st)
        store_close_unraisable(s, (PyObject *)s);
}

/* ======================================================================== */
/* Opening                                                                  */
/* ======================================================================== */

static int store_sync_mode(const char *name, srd_sync_mode *mode)
{
    static const struct {
        const char *name;
        srd_sync_mode mode;
    } modes[] = {{"always", SRD_SYNC_ALWAYS},
                 {"interval", SRD_SYNC_INTERVAL},
                 {"never", SRD_SYNC_NEVER}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(name, modes[i].name) == 0) {
            *mode = modes[i].mode;
            return 0;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "sync must be 'always', 'interval' or 'never', not '%s'",
                 name);
    return -1;
}

/* The path as str for messages (os.fsdecode of whatever was given). */
static PyObject *store_path_str(PyObject *fsbytes)
{
    return PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(fsbytes),
                                            PyBytes_GET_SIZE(fsbytes));
}

static int store_open(pysrd_store *s, PyObject *fspath, const srd_options *o)
{
    const char *p = PyBytes_AS_STRING(fspath);
    srd_err rc;
    if ((size_t)PyBytes_GET_SIZE(fspath) != strlen(p)) {
        PyErr_SetString(PyExc_ValueError, "path contains a NUL byte");
        return -1;
    }
    PYSRD_NOGIL(rc = srd_open(p, o, &s->st));
    if (rc != SRD_OK) {
        s->st = NULL; /* srd_open_why: this thread's, GIL or not */
        pysrd_errors_raise_why(rc, s->path, srd_open_why());
        return -1;
    }
    return 0;
}

static PyObject *store_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "readonly", "create", "sync",
                             "sync_interval_ms", "autostart", NULL};
    PyObject *fspath = NULL;
    int readonly = 0, create = 1, autostart = 1;
    const char *sync = "always";
    unsigned interval = 100;
    srd_options o;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|$ppsIp:DataStore", kwlist,
                                     PyUnicode_FSConverter, &fspath,
                                     &readonly, &create, &sync, &interval,
                                     &autostart))
        return NULL;
    srd_options_init(&o);
    o.flags = (readonly ? SRD_OPEN_READONLY : 0u) |
              (create && !readonly ? SRD_OPEN_CREATE : 0u) |
              (!autostart && !readonly ? SRD_OPEN_EMBEDDED : 0u);
    o.sync_interval_ms = interval;
    pysrd_store *s = NULL;
    if (store_sync_mode(sync, &o.sync) == 0)
        s = (pysrd_store *)type->tp_alloc(type, 0);
    if (s && !(s->path = store_path_str(fspath)))
        Py_CLEAR(s);
    if (s && store_open(s, fspath, &o) < 0)
        Py_CLEAR(s);
    Py_DECREF(fspath);
    return (PyObject *)s;
}

static void store_dealloc(pysrd_store *s)
{
    if (s->st)
        store_close_unraisable(s, s->path);
    Py_XDECREF(s->path);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

/* ======================================================================== */
/* Closing, context manager, properties                                     */
/* ======================================================================== */

static PyObject *store_close(pysrd_store *s, PyObject *unused)
{
    (void)unused;
    s->closing = 1;
    if (s->users > 0 || !s->st)
        Py_RETURN_NONE; /* closed by the last user (pysrd_store_release) */
    srd_err rc = store_close_now(s);
    if (rc != SRD_OK)
        return pysrd_errors_raise(rc, s->path);
    Py_RETURN_NONE;
}

static PyObject *store_enter(pysrd_store *s, PyObject *unused)
{
    (void)unused;
    if (s->closing || !s->st)
        return pysrd_errors_closed();
    Py_INCREF(s);
    return (PyObject *)s;
}

static PyObject *store_exit(pysrd_store *s, PyObject *args)
{
    (void)args;
    PyObject *r = store_close(s, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *store_get_closed(pysrd_store *s, void *unused)
{
    (void)unused;
    return PyBool_FromLong(s->closing || !s->st);
}

static PyObject *store_get_path(pysrd_store *s, void *unused)
{
    (void)unused;
    Py_INCREF(s->path);
    return s->path;
}

static PyObject *store_repr(pysrd_store *s)
{
    return PyUnicode_FromFormat("<simd_r_drive.DataStore %R%s>", s->path,
                                s->closing || !s->st ? " closed" : "");
}

/* ======================================================================== */
/* Type                                                                     */
/* ======================================================================== */

/* Methods of one argument take it by position or by the reference
 * bindings' keyword (read(key=...), batch_write(items=...)). */
#define STORE_ONE_ARG(wrapper, fn, kwname, label)                             \
    static PyObject *wrapper(pysrd_store *s, PyObject *args, PyObject *kw)    \
    {                                                                         \
        static char *kwlist[] = {kwname, NULL};                               \
        PyObject *arg;                                                        \
        if (!PyArg_ParseTupleAndKeywords(args, kw, "O:" label, kwlist, &arg)) \
            return NULL;                                                      \
        return fn(s, arg);                                                    \
    }
STORE_ONE_ARG(store_batch_write, pysrd_ops_batch_write, "items", "batch_write")
STORE_ONE_ARG(store_read, pysrd_ops_read, "key", "read")
STORE_ONE_ARG(store_read_entry, pysrd_ops_read_entry, "key", "read_entry")
STORE_ONE_ARG(store_read_stream, pysrd_ops_read_stream, "key", "read_stream")
STORE_ONE_ARG(store_batch_read, pysrd_ops_batch_read, "keys", "batch_read")
STORE_ONE_ARG(store_batch_read_structured, pysrd_ops_batch_read_structured,
              "data", "batch_read_structured")
STORE_ONE_ARG(store_exists, pysrd_ops_exists, "key", "exists")
STORE_ONE_ARG(store_delete, pysrd_ops_delete, "key", "delete")

#define M_K(name, fn, doc)                                                    \
    {name, (PyCFunction)(void (*)(void))(fn), METH_VARARGS | METH_KEYWORDS,   \
     doc}
#define M_V(name, fn, doc)                                                    \
    {name, (PyCFunction)(void (*)(void))(fn), METH_VARARGS, doc}
#define M_N(name, fn, doc)                                                    \
    {name, (PyCFunction)(void (*)(void))(fn), METH_NOARGS, doc}

static PyMethodDef store_methods[] = {
    M_K("write", pysrd_ops_write,
        "write(key, data) -> None\n\nStore data under key, replacing any "
        "previous value.\nReturns once the entry is in the file (durable in "
        "sync='always').\nkey and data are bytes-like; data must not be "
        "empty or b'\\x00'."),
    M_K("batch_write", store_batch_write,
        "batch_write(items) -> None\n\nStore a list of (key, value) pairs "
        "atomically: all or none, also\nacross a crash. Later pairs win over "
        "earlier ones with the same key."),
    M_K("write_stream", pysrd_wstream_write,
        "write_stream(key, reader) -> None\n\nStore the bytes of "
        "reader.read(n), called until it returns b''.\nThe value becomes "
        "visible only once complete; other writers wait.\nA reader with no "
        "data stores nothing (as the reference does)."),
    M_K("read", store_read,
        "read(key) -> bytes | None\n\nA copy of the value, or None when the "
        "key is absent."),
    M_K("read_entry", store_read_entry,
        "read_entry(key) -> EntryHandle | None\n\nA zero-copy handle on the "
        "value (entry.as_memoryview()), or None.\nIt stays valid while "
        "referenced, across writes and compaction."),
    M_K("read_stream", store_read_stream,
        "read_stream(key) -> EntryStream | None\n\nA file-like reader over "
        "the value (read(n), iteration in chunks), or None."),
    M_K("exists", store_exists,
        "exists(key) -> bool\n\nWhether key has a live value."),
    M_K("delete", store_delete,
        "delete(key) -> None\n\nRemove key (writes a tombstone; nothing when "
        "absent)."),
    M_K("batch_read", store_batch_read,
        "batch_read(keys) -> list[bytes | None]\n\nThe values of a list of "
        "keys, in order; None for an absent key."),
    M_K("batch_read_structured", store_batch_read_structured,
        "batch_read_structured(data) -> dict | list[dict]\n\nA dict (or a "
        "list of dicts) whose values are keys, with each value\nreplaced by "
        "read() of it (None when absent); same shape as data."),
    M_N("is_empty", pysrd_admin_is_empty,
        "is_empty() -> bool\n\nWhether no key has a live value."),
    M_N("file_size", pysrd_admin_file_size,
        "file_size() -> int\n\nBytes in the store file."),
    M_N("info", pysrd_admin_info,
        "info() -> dict\n\nLive keys, entries, tail, file size, live and "
        "dead bytes, index memory,\nread-only flag and path."),
    M_N("verify", pysrd_admin_verify,
        "verify() -> dict\n\nCheck every entry's CRC. Returns entries, "
        "bad_entries, first_bad_offset,\nbytes and ok; raises StoreError "
        "when the chain itself is broken."),
    M_N("compact", pysrd_admin_compact,
        "compact() -> int\n\nRewrite the store with only its live entries; "
        "returns the bytes reclaimed.\nViews and memoryviews taken before "
        "stay valid."),
    M_N("sync", pysrd_admin_sync,
        "sync() -> None\n\nFlush every write so far to stable storage."),
    M_N("refresh", pysrd_admin_refresh,
        "refresh() -> int\n\nRead-only handle: pick up entries appended by "
        "the writer since open;\nreturns how many were added."),
    M_N("close", store_close,
        "close() -> None\n\nClose the store; later calls raise ValueError. "
        "The handle is released\nonce calls in other threads have returned "
        "and no EntryHandle,\nmemoryview, stream or iterator taken from it "
        "remains."),
    M_N("__enter__", store_enter, "Return self."),
    M_V("__exit__", store_exit, "Close the store."),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef store_getset[] = {
    {"closed", (getter)store_get_closed, NULL, "True after close().", NULL},
    {"path", (getter)store_get_path, NULL, "The store path as given.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods store_as_sequence = {
    .sq_length = (lenfunc)pysrd_ops_len,
    .sq_contains = (objobjproc)pysrd_ops_contains,
};

PyTypeObject pysrd_store_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "simd_r_drive.DataStore",
    .tp_basicsize = sizeof(pysrd_store),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "DataStore(path, *, readonly=False, create=True, "
              "sync='always', sync_interval_ms=100, autostart=True)\n--\n\n"
              "An srd store: one append-only file in the SIMD R Drive "
              "format.\n\nOpens the store at path, creating it unless "
              "create=False. When srdd\nserves the path, the handle is its "
              "client and many processes share the\nstore; otherwise this "
              "process is its one writer (or a reader with\n"
              "readonly=True). When another process is the writer, it hands "
              "over to an\nsrdd it starts and both become its clients, "
              "unless autostart=False (or\nSRD_AUTOSTART=0): then "
              "StoreError SRD_EBUSY. A second DataStore on the\nsame path "
              "in one process shares the first's handle. "
              "One DataStore may be shared by any number of "
              "threads;\ncalls release the GIL while they do I/O.\n\n"
              "Keys are not stored, only their 64-bit XXH3 hash: two keys "
              "with the\nsame hash are the same key, and iteration yields "
              "(key_hash, memoryview).",
    .tp_new = store_new,
    .tp_dealloc = (destructor)store_dealloc,
    .tp_repr = (reprfunc)store_repr,
    .tp_methods = store_methods,
    .tp_getset = store_getset,
    .tp_as_sequence = &store_as_sequence,
    .tp_iter = (getiterfunc)pysrd_iter_new,
};
