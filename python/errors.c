/* SPDX-License-Identifier: MIT */
/*
 * errors.c -- srd_err codes as Python exceptions. Every library failure is
 * a simd_r_drive.StoreError (an OSError, as the reference bindings raise)
 * carrying the SRD_E* name, its message (which names the store path) and,
 * where one fits, the POSIX errno; SRD_ENOMEM is MemoryError.
 * StoreValueError is a StoreError that is also a ValueError: raised for a
 * value the format cannot hold (the reference raises OSError there) and
 * by write_stream (the reference raises ValueError there), so code written
 * for either keeps catching it. Other misuse is TypeError/ValueError.
 */
#include "pysrd.h" /* Python.h first, as CPython requires */

#include <errno.h>
#include <stdarg.h>

PyObject *pysrd_store_error;
PyObject *pysrd_store_value_error;

static int errors_add(PyObject *module, const char *name, PyObject *exc)
{
    Py_INCREF(exc);
    if (PyModule_AddObject(module, name, exc) < 0) {
        Py_DECREF(exc);
        return -1;
    }
    return 0;
}

int pysrd_errors_init(PyObject *module)
{
    pysrd_store_error = PyErr_NewExceptionWithDoc(
        "simd_r_drive.StoreError",
        "A store operation failed in libsrdclient.\n\n"
        "Attributes: code (int, the srd_err value), name (str, e.g.\n"
        "'SRD_EBUSY'), errno (the POSIX errno when one fits, else None)\n"
        "and strerror (the message, which names the store path).",
        PyExc_OSError, NULL);
    if (!pysrd_store_error)
        return -1;
    PyObject *bases = PyTuple_Pack(2, pysrd_store_error, PyExc_ValueError);
    if (!bases)
        return -1;
    pysrd_store_value_error = PyErr_NewExceptionWithDoc(
        "simd_r_drive.StoreValueError",
        "A StoreError that is also a ValueError: a value the store format\n"
        "cannot hold (empty, or the single byte 0x00), or a failed\n"
        "write_stream. Same attributes as StoreError.",
        bases, NULL);
    Py_DECREF(bases);
    if (!pysrd_store_value_error)
        return -1;
    return errors_add(module, "StoreError", pysrd_store_error) < 0 ||
                   errors_add(module, "StoreValueError",
                              pysrd_store_value_error) < 0
               ? -1
               : 0;
}

/* The errno that best matches rc, or 0 when none does: the reverse of
 * libclient's srdi_errno (errno_map.h) for the codes it produces. */
static int errors_errno(srd_err rc)
{
    if (rc & SRD_ESYSERR)
        return (int)(rc & ~SRD_ESYSERR);
    switch (rc) {
    case SRD_EINVAL: return EINVAL;
    case SRD_ENOENT: return ENOENT;
    case SRD_EBUSY: return EBUSY;
    case SRD_EIO: return EIO;
    case SRD_ENOSPC: return ENOSPC;
    case SRD_ETOOBIG: return EFBIG;
    case SRD_EREADONLY: return EROFS;
    case SRD_EEXIST: return EEXIST;
    case SRD_EPERM: return EACCES;
    case SRD_ECANCELED: return ECANCELED;
    case SRD_ETIMEDOUT: return ETIMEDOUT;
    default: return 0;
    }
}

static int errors_set(PyObject *exc, const char *attr, PyObject *value)
{
    if (!value)
        return -1;
    int r = PyObject_SetAttrString(exc, attr, value);
    Py_DECREF(value);
    return r;
}

/* Sets the attributes of a fresh StoreError; -1 on failure. */
static int errors_fill(PyObject *exc, srd_err rc, PyObject *msg)
{
    int e = errors_errno(rc);
    if (errors_set(exc, "code", PyLong_FromLong((long)rc)) < 0 ||
        errors_set(exc, "name", PyUnicode_FromString(srd_errname(rc))) < 0 ||
        PyObject_SetAttrString(exc, "strerror", msg) < 0)
        return -1;
    if (e && errors_set(exc, "errno", PyLong_FromLong(e)) < 0)
        return -1;
    return 0;
}

/* Raises an exception of type (a StoreError class) for rc with message
 * msg (stolen; NULL: an exception is already set) and returns NULL. */
static PyObject *errors_raise_msg(PyObject *type, srd_err rc, PyObject *msg)
{
    if (!msg)
        return NULL;
    PyObject *exc = PyObject_CallOneArg(type, msg);
    if (exc && errors_fill(exc, rc, msg) == 0)
        PyErr_SetObject(type, exc);
    Py_XDECREF(exc);
    Py_DECREF(msg);
    return NULL;
}

PyObject *pysrd_errors_raise_as(PyObject *type, srd_err rc, PyObject *path)
{
    if (rc == SRD_ENOMEM)
        return PyErr_NoMemory();
    return errors_raise_msg(
        type, rc,
        path ? PyUnicode_FromFormat("%s: %s (store %R)", srd_errname(rc),
                                    srd_strerror(rc), path)
             : PyUnicode_FromFormat("%s: %s", srd_errname(rc),
                                    srd_strerror(rc)));
}

PyObject *pysrd_errors_raise_why(srd_err rc, PyObject *path, const char *why)
{
    if (!why || !*why || rc == SRD_ENOMEM)
        return pysrd_errors_raise(rc, path);
    return errors_raise_msg(
        pysrd_store_error, rc,
        PyUnicode_FromFormat("%s: %s (store %R): %s", srd_errname(rc),
                             srd_strerror(rc), path, why));
}

/* Raises the exception for rc (never SRD_OK) and returns NULL. */
PyObject *pysrd_errors_raise(srd_err rc, PyObject *path)
{
    return pysrd_errors_raise_as(pysrd_store_error, rc, path);
}

PyObject *pysrd_errors_value(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    return errors_raise_msg(pysrd_store_value_error, SRD_EINVAL, msg);
}

/* 0 when rc is SRD_OK, else raises it and returns -1. */
int pysrd_errors_check(srd_err rc, PyObject *path)
{
    if (rc == SRD_OK)
        return 0;
    pysrd_errors_raise(rc, path);
    return -1;
}

PyObject *pysrd_errors_closed(void)
{
    PyErr_SetString(PyExc_ValueError, "I/O operation on a closed DataStore");
    return NULL;
}
