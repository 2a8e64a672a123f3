/* SPDX-License-Identifier: MIT */
/*
 * args.c -- keys and values from Python: any C-contiguous bytes-like object
 * (bytes, bytearray, memoryview, array...). A str or other object is a
 * TypeError, as in the original bindings; a value the format cannot hold
 * (empty, or the lone byte 0x00) is a StoreValueError (an OSError, as the
 * reference raises, and a ValueError) that says why.
 */
#include "pysrd.h" /* Python.h first, as CPython requires */

#include <string.h>

static int args_buffer(PyObject *obj, Py_buffer *buf, const char *what)
{
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be a bytes-like object (bytes, bytearray or "
                     "memoryview), not '%.100s'",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    return PyObject_GetBuffer(obj, buf, PyBUF_SIMPLE);
}

int pysrd_args_key(PyObject *obj, Py_buffer *buf)
{
    return args_buffer(obj, buf, "key");
}

/* Takes the buffer of a value; the ValueError names it with what, a
 * format with one %zd filled with i (built only when it is needed). */
static int args_value(PyObject *obj, Py_buffer *buf, const char *what,
                      Py_ssize_t i)
{
    if (args_buffer(obj, buf, "value") < 0)
        return -1;
    const char *why;
    if (buf->len == 0)
        why = "is empty: the store format cannot hold an empty value "
              "(delete the key instead)";
    else if (buf->len == 1 && ((const unsigned char *)buf->buf)[0] == 0)
        why = "is the single byte 0x00, which the store format reserves "
              "for deletions (b'\\x00\\x00' is allowed)";
    else
        return 0;
    PyObject *name = PyUnicode_FromFormat(what, i);
    if (name) {
        pysrd_errors_value("%U %s", name, why);
        Py_DECREF(name);
    }
    PyBuffer_Release(buf);
    return -1;
}

int pysrd_args_value(PyObject *obj, Py_buffer *buf, const char *what)
{
    return args_value(obj, buf, what, 0);
}

int pysrd_args_value_at(PyObject *obj, Py_buffer *buf, Py_ssize_t i)
{
    return args_value(obj, buf, "batch_write: value of item %zd", i);
}

srd_val pysrd_args_val(const Py_buffer *buf)
{
    return (srd_val){buf->buf, (size_t)buf->len};
}

/* memcpy that lets other threads run while a large value is copied. */
void pysrd_args_copy(char *dst, const void *src, size_t n)
{
    if (n < PYSRD_BIG_COPY)
        memcpy(dst, src, n);
    else
        PYSRD_NOGIL(memcpy(dst, src, n));
}
