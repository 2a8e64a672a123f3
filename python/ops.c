/* SPDX-License-Identifier: MIT */
/*
 * ops.c -- DataStore methods that read and write values: write,
 * batch_write, read, read_entry, read_stream, batch_read,
 * batch_read_structured, exists, `in`, delete, len().
 * Each holds a use of the store (pysrd.h) for as long as it touches the
 * handle or a view from it, and runs the library call with the GIL released.
 */
#include "pysrd.h" /* Python.h first, as CPython requires */

#include <stdbool.h>

/* ======================================================================== */
/* One key, one call                                                        */
/* ======================================================================== */

static srd_err ops_get(srd_store *st, srd_val key, void *out)
{
    return srd_get(st, key, out);
}

static srd_err ops_exists(srd_store *st, srd_val key, void *out)
{
    return srd_exists(st, key, out);
}

static srd_err ops_del(srd_store *st, srd_val key, void *out)
{
    (void)out;
    return srd_delete(st, key, NULL);
}

/* Runs fn(key), with the GIL released unless fn is pure index work
 * (ops_exists: no file access, no lock, cheaper than a GIL round trip);
 * the caller holds a use of s. Returns 1 on success, 0 when the key is
 * absent, -1 with an exception. */
int pysrd_ops_key_call(pysrd_store *s, PyObject *key, pysrd_key_fn fn,
                       void *out)
{
    return pysrd_ops_key_call_as(s, key, fn, out, pysrd_store_error);
}

int pysrd_ops_key_call_as(pysrd_store *s, PyObject *key, pysrd_key_fn fn,
                          void *out, PyObject *exc)
{
    Py_buffer kb;
    srd_err rc;
    if (pysrd_args_key(key, &kb) < 0)
        return -1;
    srd_val k = pysrd_args_val(&kb);
    srd_store *st = s->st;
    if (fn == ops_exists)
        rc = fn(st, k, out);
    else
        PYSRD_NOGIL(rc = fn(st, k, out));
    PyBuffer_Release(&kb);
    if (rc == SRD_ENOTFOUND)
        return 0;
    if (rc != SRD_OK) {
        pysrd_errors_raise_as(exc, rc, s->path);
        return -1;
    }
    return 1;
}

/* ======================================================================== */
/* Reads                                                                    */
/* ======================================================================== */

/* What a lookup makes of a present key's view: a copy as bytes, or an
 * Entry over the view itself (zero-copy). Either takes over the view. */
typedef enum ops_as { OPS_AS_BYTES, OPS_AS_ENTRY } ops_as;

static PyObject *ops_bytes(srd_view *v)
{
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)v->len);
    if (b)
        pysrd_args_copy(PyBytes_AS_STRING(b), v->data, v->len);
    srd_view_release(v);
    return b;
}

/* Looks key up: None when absent, else the view made into what `as` says,
 * all under one use of the store, so that the view is never used after a
 * close. */
static PyObject *ops_lookup(pysrd_store *s, PyObject *key, ops_as as)
{
    srd_view v;
    PyObject *res = NULL;
    if (pysrd_store_acquire(s) < 0)
        return NULL;
    int r = pysrd_ops_key_call(s, key, ops_get, &v);
    if (r == 0)
        res = Py_NewRef(Py_None);
    else if (r > 0)
        res = as == OPS_AS_ENTRY ? pysrd_entry_new(s, &v) : ops_bytes(&v);
    pysrd_store_release(s);
    return res;
}

PyObject *pysrd_ops_read(pysrd_store *s, PyObject *key)
{
    return ops_lookup(s, key, OPS_AS_BYTES);
}

PyObject *pysrd_ops_read_entry(pysrd_store *s, PyObject *key)
{
    return ops_lookup(s, key, OPS_AS_ENTRY);
}

/* batch_read(keys): [read(k) for k in keys], one list. */
PyObject *pysrd_ops_batch_read(pysrd_store *s, PyObject *keys)
{
    if (PyObject_CheckBuffer(keys) || PyUnicode_Check(keys))
        return PyErr_Format(PyExc_TypeError,
                            "batch_read expects a list of keys, not '%.100s'",
                            Py_TYPE(keys)->tp_name);
    PyObject *seq = PySequence_Fast(keys, "batch_read expects a list of keys");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) {
        PyObject *v = ops_lookup(s, PySequence_Fast_GET_ITEM(seq, i),
                                 OPS_AS_BYTES);
        if (!v)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, v);
    }
    Py_DECREF(seq);
    return out;
}

/* A new dict with d's keys and the values read for d's values. */
static PyObject *ops_read_dict(pysrd_store *s, PyObject *d)
{
    if (!PyDict_Check(d))
        return PyErr_Format(PyExc_TypeError,
                            "batch_read_structured: all items in the list must "
                            "be dictionaries, not '%.100s'",
                            Py_TYPE(d)->tp_name);
    PyObject *out = PyDict_New();
    PyObject *k, *key;
    Py_ssize_t pos = 0;
    while (out && PyDict_Next(d, &pos, &k, &key)) {
        PyObject *v = ops_lookup(s, key, OPS_AS_BYTES);
        if (!v || PyDict_SetItem(out, k, v) < 0)
            Py_CLEAR(out);
        Py_XDECREF(v);
    }
    return out;
}

/* batch_read_structured(data): data (a dict, or a list of dicts) with
 * every value, a key, replaced by what read() returns for it. */
PyObject *pysrd_ops_batch_read_structured(pysrd_store *s, PyObject *data)
{
    if (PyDict_Check(data))
        return ops_read_dict(s, data);
    PyObject *seq = PySequence_Fast(
        data, "batch_read_structured expects a dict or a list of dicts");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) {
        PyObject *d = ops_read_dict(s, PySequence_Fast_GET_ITEM(seq, i));
        if (!d)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, d);
    }
    Py_DECREF(seq);
    return out;
}

PyObject *pysrd_ops_read_stream(pysrd_store *s, PyObject *key)
{
    PyObject *entry = pysrd_ops_read_entry(s, key);
    if (!entry || entry == Py_None)
        return entry;
    return pysrd_rstream_new(entry);
}

/* 1 present, 0 absent, -1 error. */
int pysrd_ops_contains(pysrd_store *s, PyObject *key)
{
    bool present = false;
    if (pysrd_store_acquire(s) < 0)
        return -1;
    int r = pysrd_ops_key_call(s, key, ops_exists, &present);
    pysrd_store_release(s);
    return r < 0 ? -1 : present;
}

PyObject *pysrd_ops_exists(pysrd_store *s, PyObject *key)
{
    int r = pysrd_ops_contains(s, key);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

Py_ssize_t pysrd_ops_len(pysrd_store *s)
{
    uint64_t n = 0;
    srd_err rc;
    if (pysrd_store_acquire(s) < 0)
        return -1;
    srd_store *st = s->st;
    PYSRD_NOGIL(rc = srd_count(st, &n));
    pysrd_store_release(s);
    return pysrd_errors_check(rc, s->path) < 0 ? -1 : (Py_ssize_t)n;
}

/* ======================================================================== */
/* Writes                                                                   */
/* ======================================================================== */

PyObject *pysrd_ops_delete(pysrd_store *s, PyObject *key)
{
    if (pysrd_store_acquire_write(s) < 0)
        return NULL;
    int r = pysrd_ops_key_call(s, key, ops_del, NULL);
    pysrd_store_release(s);
    return r < 0 ? NULL : Py_NewRef(Py_None);
}

/* Puts one pair; the caller holds a use. */
static int ops_put(pysrd_store *s, PyObject *key, PyObject *data)
{
    Py_buffer kb, vb;
    srd_err rc;
    if (pysrd_args_key(key, &kb) < 0)
        return -1;
    if (pysrd_args_value(data, &vb, "data") < 0) {
        PyBuffer_Release(&kb);
        return -1;
    }
    srd_val k = pysrd_args_val(&kb), v = pysrd_args_val(&vb);
    srd_store *st = s->st;
    PYSRD_NOGIL(rc = srd_put(st, k, v));
    PyBuffer_Release(&vb);
    PyBuffer_Release(&kb);
    return pysrd_errors_check(rc, s->path);
}

PyObject *pysrd_ops_write(pysrd_store *s, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", "data", NULL};
    PyObject *key, *data;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:write", kwlist, &key,
                                     &data))
        return NULL;
    if (pysrd_store_acquire_write(s) < 0)
        return NULL;
    int r = ops_put(s, key, data);
    pysrd_store_release(s);
    return r < 0 ? NULL : Py_NewRef(Py_None);
}

/* Buffers of a batch: bufs[2i] is key i, bufs[2i + 1] its value. */
typedef struct ops_batch {
    Py_ssize_t n, held; /* pairs; buffers acquired so far */
    Py_buffer *bufs;
    srd_val *keys, *vals;
} ops_batch;

static void ops_batch_free(ops_batch *b)
{
    for (Py_ssize_t i = 0; i < b->held; i++)
        PyBuffer_Release(&b->bufs[i]);
    PyMem_Free(b->bufs);
    PyMem_Free(b->keys);
    PyMem_Free(b->vals);
}

/* Takes the buffers of pair i (any 2-item sequence). */
static int ops_batch_pair(ops_batch *b, Py_ssize_t i, PyObject *item)
{
    PyObject *pair = PySequence_Fast(item, "");
    if (!pair || PySequence_Fast_GET_SIZE(pair) != 2) {
        Py_XDECREF(pair);
        PyErr_Format(PyExc_TypeError,
                     "batch_write: item %zd must be a (key, value) pair, not "
                     "'%.100s'",
                     i, Py_TYPE(item)->tp_name);
        return -1;
    }
    int r = -1;
    if (pysrd_args_key(PySequence_Fast_GET_ITEM(pair, 0), &b->bufs[b->held]) == 0) {
        b->held++;
        if (pysrd_args_value_at(PySequence_Fast_GET_ITEM(pair, 1),
                                &b->bufs[b->held], i) == 0) {
            b->held++;
            b->keys[i] = pysrd_args_val(&b->bufs[2 * i]);
            b->vals[i] = pysrd_args_val(&b->bufs[2 * i + 1]);
            r = 0;
        }
    }
    Py_DECREF(pair);
    return r;
}

static int ops_batch_fill(ops_batch *b, PyObject *seq)
{
    b->bufs = PyMem_New(Py_buffer, (size_t)(2 * b->n + 1));
    b->keys = PyMem_New(srd_val, (size_t)b->n + 1);
    b->vals = PyMem_New(srd_val, (size_t)b->n + 1);
    if (!b->bufs || !b->keys || !b->vals) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < b->n; i++)
        if (ops_batch_pair(b, i, PySequence_Fast_GET_ITEM(seq, i)) < 0)
            return -1;
    return 0;
}

/* A tuple copy of items, so that code run while the pairs are taken
 * cannot change their number under us. */
static PyObject *ops_batch_items(PyObject *items)
{
    PyObject *seq = PySequence_Tuple(items);
    if (!seq && PyErr_ExceptionMatches(PyExc_TypeError))
        PyErr_Format(PyExc_TypeError,
                     "batch_write expects a list of (key, value) pairs, not "
                     "'%.100s'",
                     Py_TYPE(items)->tp_name);
    return seq;
}

PyObject *pysrd_ops_batch_write(pysrd_store *s, PyObject *items)
{
    ops_batch b = {0};
    srd_err rc = SRD_OK;
    if (pysrd_store_acquire_write(s) < 0)
        return NULL;
    PyObject *seq = ops_batch_items(items);
    b.n = seq ? PySequence_Fast_GET_SIZE(seq) : 0;
    int r = seq ? ops_batch_fill(&b, seq) : -1;
    if (r == 0 && b.n > 0) {
        srd_store *st = s->st;
        PYSRD_NOGIL(rc = srd_put_batch(st, b.keys, b.vals, (size_t)b.n));
        if (rc != SRD_OK)
            r = -1;
    }
    ops_batch_free(&b);
    Py_XDECREF(seq);
    pysrd_store_release(s);
    if (rc != SRD_OK)
        return pysrd_errors_raise(rc, s->path);
    return r < 0 ? NULL : Py_NewRef(Py_None);
}
