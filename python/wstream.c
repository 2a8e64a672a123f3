/* SPDX-License-Identifier: MIT */
/*
 * wstream.c -- DataStore.write_stream(key, reader): pushes reader.read(n)
 * chunks through srd_stream_begin/write/commit until the reader returns
 * b''. Any failure, including an exception raised by the reader, aborts
 * the stream so that nothing of the value remains. As in the reference
 * bindings, a reader with no data at all stores nothing and is no error,
 * and library failures are ValueErrors (StoreValueError, which is also
 * the StoreError the rest of the module raises). While a thread streams
 * into a store it holds that store's writer, so a write from inside its
 * reader would wait forever: wstream_owner lets store.c refuse it.
 */
#include "pysrd.h"

#define WSTREAM_CHUNK ((Py_ssize_t)1 << 20)

/* The store this thread is streaming into (NULL when none). */
static _Thread_local const pysrd_store *wstream_owner;

int pysrd_wstream_busy(const pysrd_store *s)
{
    return wstream_owner == s;
}

/* Bytes pushed so far; the first byte tells a lone 0x00 apart. */
typedef struct wstream_state {
    srd_stream *ws;
    PyObject *read; /* reader.read */
    unsigned long long total;
    unsigned char first;
} wstream_state;

/* 0 when rc is SRD_OK, else raises StoreValueError for it and returns -1. */
static int wstream_check(const pysrd_store *s, srd_err rc)
{
    if (rc == SRD_OK)
        return 0;
    pysrd_errors_raise_as(pysrd_store_value_error, rc, s->path);
    return -1;
}

/* Reads one chunk and pushes it. 1: pushed, 0: end of input, -1: error. */
static int wstream_chunk(pysrd_store *s, wstream_state *w)
{
    Py_buffer b;
    srd_err rc;
    PyObject *chunk = PyObject_CallFunction(w->read, "n", WSTREAM_CHUNK);
    if (!chunk)
        return -1;
    if (!PyObject_CheckBuffer(chunk)) {
        PyErr_Format(PyExc_TypeError,
                     "write_stream: reader.read() returned '%.100s', expected "
                     "a bytes-like object",
                     Py_TYPE(chunk)->tp_name);
        Py_DECREF(chunk);
        return -1;
    }
    int r = PyObject_GetBuffer(chunk, &b, PyBUF_SIMPLE);
    Py_DECREF(chunk);
    if (r < 0)
        return -1;
    if (b.len == 0) {
        PyBuffer_Release(&b);
        return 0;
    }
    if (w->total == 0)
        w->first = ((const unsigned char *)b.buf)[0];
    w->total += (unsigned long long)b.len;
    srd_stream *ws = w->ws;
    PYSRD_NOGIL(rc = srd_stream_write(ws, b.buf, (size_t)b.len));
    PyBuffer_Release(&b);
    return wstream_check(s, rc) < 0 ? -1 : 1;
}

/* Pumps the reader dry; 0 when every byte was pushed and the value can be
 * stored, 1 when the reader had no data (nothing to store), -1 with an
 * exception. */
static int wstream_pump(pysrd_store *s, wstream_state *w)
{
    int r;
    const pysrd_store *prev = wstream_owner;
    wstream_owner = s;
    while ((r = wstream_chunk(s, w)) > 0)
        ;
    wstream_owner = prev;
    if (r == 0 && w->total == 0)
        return 1;
    if (r == 0 && w->total == 1 && w->first == 0) {
        pysrd_errors_value("write_stream: the value is the single byte 0x00, "
                           "which the store format reserves for deletions");
        r = -1;
    }
    return r;
}

static srd_err wstream_begin_fn(srd_store *st, srd_val key, void *out)
{
    return srd_stream_begin(st, key, out);
}

/* Begins the stream for key (waiting for other writers without the GIL);
 * 0, or -1 with an exception. */
static int wstream_begin(pysrd_store *s, PyObject *key, srd_stream **ws)
{
    return pysrd_ops_key_call_as(s, key, wstream_begin_fn, ws,
                                 pysrd_store_value_error) < 0
               ? -1
               : 0;
}

/* Commits after a pump that got data (pumped == 0), aborts otherwise (an
 * empty reader stores nothing); frees the stream. 0 or -1. */
static int wstream_finish(pysrd_store *s, srd_stream *ws, int pumped)
{
    srd_err rc = SRD_OK;
    if (pumped != 0) {
        PYSRD_NOGIL(srd_stream_abort(ws));
        return pumped < 0 ? -1 : 0;
    }
    PYSRD_NOGIL(rc = srd_stream_commit(ws));
    return wstream_check(s, rc);
}

PyObject *pysrd_wstream_write(pysrd_store *s, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", "reader", NULL};
    PyObject *key, *reader;
    wstream_state w = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:write_stream", kwlist, &key,
                                     &reader))
        return NULL;
    w.read = PyObject_GetAttrString(reader, "read");
    if (!w.read) {
        PyErr_Format(PyExc_TypeError,
                     "write_stream: reader must have a read(n) method, "
                     "'%.100s' has none",
                     Py_TYPE(reader)->tp_name);
        return NULL;
    }
    int r = -1;
    if (pysrd_store_acquire_write(s) == 0) {
        if (wstream_begin(s, key, &w.ws) == 0)
            r = wstream_finish(s, w.ws, wstream_pump(s, &w));
        pysrd_store_release(s);
    }
    Py_DECREF(w.read);
    return r < 0 ? NULL : Py_NewRef(Py_None);
}
