/* SPDX-License-Identifier: MIT */
/*
 * rstream.c -- EntryStream (DataStore.read_stream): a read-only file-like
 * object over one value, for copying a large value out in pieces: read(n),
 * readinto(buf), and iteration in 64 KiB chunks. It reads from the
 * EntryHandle it owns, so the value it streams never changes under it. The
 * position is advanced before a copy starts, so threads sharing one stream
 * get disjoint pieces.
 */
#include "pysrd.h"

#define RSTREAM_CHUNK ((size_t)64 << 10)

typedef struct rstream {
    PyObject_HEAD
    pysrd_entry *entry; /* owns the view */
    size_t pos;         /* bytes already handed out */
} rstream;

PyObject *pysrd_rstream_new(PyObject *entry)
{
    rstream *r = PyObject_New(rstream, &pysrd_rstream_type);
    if (!r) {
        Py_DECREF(entry);
        return NULL;
    }
    r->entry = (pysrd_entry *)entry;
    r->pos = 0;
    return (PyObject *)r;
}

static void rstream_dealloc(rstream *r)
{
    Py_DECREF(r->entry);
    PyObject_Free(r);
}

/* Reserves up to want bytes (all that is left when want < 0); returns
 * their start and sets *n. */
static const uint8_t *rstream_take(rstream *r, Py_ssize_t want, size_t *n)
{
    size_t left = r->entry->view.len - r->pos;
    *n = want < 0 || (size_t)want > left ? left : (size_t)want;
    const uint8_t *p = r->entry->view.data + r->pos;
    r->pos += *n;
    return p;
}

static PyObject *rstream_read_n(rstream *r, Py_ssize_t want)
{
    size_t n;
    const uint8_t *p = rstream_take(r, want, &n);
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (b)
        pysrd_args_copy(PyBytes_AS_STRING(b), p, n);
    return b;
}

static PyObject *rstream_read(rstream *r, PyObject *args)
{
    Py_ssize_t want = -1;
    if (!PyArg_ParseTuple(args, "|n:read", &want))
        return NULL;
    return rstream_read_n(r, want);
}

static PyObject *rstream_readinto(rstream *r, PyObject *arg)
{
    Py_buffer b;
    size_t n;
    if (PyObject_GetBuffer(arg, &b, PyBUF_WRITABLE) < 0)
        return NULL;
    const uint8_t *p = rstream_take(r, b.len, &n);
    pysrd_args_copy(b.buf, p, n);
    PyBuffer_Release(&b);
    return PyLong_FromSize_t(n);
}

static PyObject *rstream_next(rstream *r)
{
    if (r->pos == r->entry->view.len)
        return NULL; /* StopIteration */
    return rstream_read_n(r, (Py_ssize_t)RSTREAM_CHUNK);
}

static PyObject *rstream_tell(rstream *r, PyObject *unused)
{
    (void)unused;
    return PyLong_FromSize_t(r->pos);
}

static PyObject *rstream_readable(rstream *r, PyObject *unused)
{
    (void)r;
    (void)unused;
    Py_RETURN_TRUE;
}

static PyObject *rstream_get_size(rstream *r, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(r->entry->view.len);
}

static PyMethodDef rstream_methods[] = {
    {"read", (PyCFunction)(void (*)(void))rstream_read, METH_VARARGS,
     "read(size=-1) -> bytes\n\nUp to size bytes (all that is left when "
     "size < 0); b'' at the end."},
    {"readinto", (PyCFunction)(void (*)(void))rstream_readinto, METH_O,
     "readinto(buffer) -> int\n\nFill a writable buffer; returns the bytes "
     "copied (0 at the end)."},
    {"tell", (PyCFunction)(void (*)(void))rstream_tell, METH_NOARGS,
     "tell() -> int\n\nBytes read so far."},
    {"readable", (PyCFunction)(void (*)(void))rstream_readable, METH_NOARGS,
     "readable() -> True"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef rstream_getset[] = {
    {"size", (getter)rstream_get_size, NULL, "Length of the value.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pysrd_rstream_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "simd_r_drive.EntryStream",
    .tp_basicsize = sizeof(rstream),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A reader over one stored value (from DataStore.read_stream)."
              "\n\nread(n) returns up to n bytes and b'' at the end; "
              "iterating yields\nchunks of 64 KiB. The value is the one "
              "present when the stream was\nopened, whatever is written "
              "later.",
    .tp_dealloc = (destructor)rstream_dealloc,
    .tp_methods = rstream_methods,
    .tp_getset = rstream_getset,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)rstream_next,
};
