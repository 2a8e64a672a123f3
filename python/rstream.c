/* SPDX-License-Identifier: MIT */
/*
 * rstream.c -- EntryStream (DataStore.read_stream): a read-only file-like
 * object over one value, for copying a large value out in pieces: read(n),
 * readinto(buf), and iteration in 64 KiB chunks. It reads from the
 * EntryHandle it owns, so the value it streams never changes under it. The
 * position is advanced before a copy starts, so threads sharing one stream
 * get disjoint pieces. It is also a raw io stream (closed, close(),
 * readable(), seekable(), readall(), flush(), context manager), so
 * io.BufferedReader(stream) and io.TextIOWrapper over that work; close()
 * lets go of the value (and of the store, once nothing else holds it).
 */
#include "pysrd.h"

#define RSTREAM_CHUNK ((size_t)64 << 10)

typedef struct rstream {
    PyObject_HEAD
    pysrd_entry *entry; /* owns the view; NULL once closed */
    size_t pos;         /* bytes already handed out */
    size_t len;         /* length of the value */
} rstream;

/* 0 when open, else -1 with io's ValueError for a closed file. */
static int rstream_open(const rstream *r)
{
    if (r->entry)
        return 0;
    PyErr_SetString(PyExc_ValueError, "I/O operation on closed EntryStream");
    return -1;
}

PyObject *pysrd_rstream_new(PyObject *entry)
{
    rstream *r = PyObject_New(rstream, &pysrd_rstream_type);
    if (!r) {
        Py_DECREF(entry);
        return NULL;
    }
    r->entry = (pysrd_entry *)entry;
    r->pos = 0;
    r->len = r->entry->view.len;
    return (PyObject *)r;
}

static void rstream_dealloc(rstream *r)
{
    Py_XDECREF(r->entry);
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

/* read(size=-1): size may be None (all), as io allows. */
static PyObject *rstream_read(rstream *r, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"size", NULL};
    PyObject *size = Py_None;
    Py_ssize_t want = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:read", kwlist, &size))
        return NULL;
    if (size != Py_None) {
        want = PyNumber_AsSsize_t(size, PyExc_OverflowError);
        if (want == -1 && PyErr_Occurred())
            return NULL;
    }
    if (rstream_open(r) < 0)
        return NULL;
    return rstream_read_n(r, want);
}

static PyObject *rstream_readall(rstream *r, PyObject *unused)
{
    (void)unused;
    return rstream_open(r) < 0 ? NULL : rstream_read_n(r, -1);
}

static PyObject *rstream_readinto(rstream *r, PyObject *arg)
{
    Py_buffer b;
    size_t n;
    if (rstream_open(r) < 0 || PyObject_GetBuffer(arg, &b, PyBUF_WRITABLE) < 0)
        return NULL;
    const uint8_t *p = rstream_take(r, b.len, &n);
    pysrd_args_copy(b.buf, p, n);
    PyBuffer_Release(&b);
    return PyLong_FromSize_t(n);
}

static PyObject *rstream_next(rstream *r)
{
    if (rstream_open(r) < 0)
        return NULL;
    if (r->pos == r->entry->view.len)
        return NULL; /* StopIteration */
    return rstream_read_n(r, (Py_ssize_t)RSTREAM_CHUNK);
}

static PyObject *rstream_tell(rstream *r, PyObject *unused)
{
    (void)unused;
    return rstream_open(r) < 0 ? NULL : PyLong_FromSize_t(r->pos);
}

/* readable() is True; seekable(), writable() and isatty() are False. As
 * io requires, each raises ValueError on a closed stream. */
static PyObject *rstream_flag(rstream *r, int value)
{
    return rstream_open(r) < 0 ? NULL : PyBool_FromLong(value);
}

static PyObject *rstream_readable(rstream *r, PyObject *unused)
{
    (void)unused;
    return rstream_flag(r, 1);
}

static PyObject *rstream_false(rstream *r, PyObject *unused)
{
    (void)unused;
    return rstream_flag(r, 0);
}

static PyObject *rstream_flush(rstream *r, PyObject *unused)
{
    (void)unused;
    if (rstream_open(r) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *rstream_close(rstream *r, PyObject *unused)
{
    (void)unused;
    Py_CLEAR(r->entry);
    Py_RETURN_NONE;
}

static PyObject *rstream_enter(rstream *r, PyObject *unused)
{
    (void)unused;
    if (rstream_open(r) < 0)
        return NULL;
    return Py_NewRef((PyObject *)r);
}

static PyObject *rstream_exit(rstream *r, PyObject *args)
{
    (void)args;
    Py_CLEAR(r->entry);
    Py_RETURN_FALSE;
}

static PyObject *rstream_get_size(rstream *r, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(r->len);
}

static PyObject *rstream_get_closed(rstream *r, void *unused)
{
    (void)unused;
    return PyBool_FromLong(r->entry == NULL);
}

static PyMethodDef rstream_methods[] = {
    {"read", (PyCFunction)(void (*)(void))rstream_read,
     METH_VARARGS | METH_KEYWORDS,
     "read(size=-1) -> bytes\n\nUp to size bytes (all that is left when "
     "size is negative or None);\nb'' at the end."},
    {"readall", (PyCFunction)(void (*)(void))rstream_readall, METH_NOARGS,
     "readall() -> bytes\n\nAll that is left."},
    {"readinto", (PyCFunction)(void (*)(void))rstream_readinto, METH_O,
     "readinto(buffer) -> int\n\nFill a writable buffer; returns the bytes "
     "copied (0 at the end)."},
    {"tell", (PyCFunction)(void (*)(void))rstream_tell, METH_NOARGS,
     "tell() -> int\n\nBytes read so far."},
    {"readable", (PyCFunction)(void (*)(void))rstream_readable, METH_NOARGS,
     "readable() -> True"},
    {"seekable", (PyCFunction)(void (*)(void))rstream_false, METH_NOARGS,
     "seekable() -> False"},
    {"writable", (PyCFunction)(void (*)(void))rstream_false, METH_NOARGS,
     "writable() -> False"},
    {"isatty", (PyCFunction)(void (*)(void))rstream_false, METH_NOARGS,
     "isatty() -> False"},
    {"flush", (PyCFunction)(void (*)(void))rstream_flush, METH_NOARGS,
     "flush() -> None (nothing to flush)"},
    {"close", (PyCFunction)(void (*)(void))rstream_close, METH_NOARGS,
     "close() -> None\n\nRelease the value; later reads raise ValueError."},
    {"__enter__", (PyCFunction)(void (*)(void))rstream_enter, METH_NOARGS,
     "Return self."},
    {"__exit__", (PyCFunction)(void (*)(void))rstream_exit, METH_VARARGS,
     "Close the stream."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef rstream_getset[] = {
    {"size", (getter)rstream_get_size, NULL, "Length of the value.", NULL},
    {"closed", (getter)rstream_get_closed, NULL, "True after close().", NULL},
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
