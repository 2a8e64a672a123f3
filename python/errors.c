/* SPDX-License-Identifier: MIT */
/*
 * errors.c -- srd_err codes as Python exceptions. Every library failure is
 * a simd_r_drive.StoreError (an OSError) carrying the SRD_E* name, its
 * message (which names the store path) and, where one fits, the POSIX
 * errno; SRD_ENOMEM
 * is MemoryError. Misuse caught before the library is TypeError/ValueError.
 */
#include "pysrd.h" /* Python.h first, as CPython requires */

#include <errno.h>

PyObject *pysrd_store_error;

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
    Py_INCREF(pysrd_store_error);
    if (PyModule_AddObject(module, "StoreError", pysrd_store_error) < 0) {
        Py_DECREF(pysrd_store_error);
        return -1;
    }
    return 0;
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

/* Raises the exception for rc (never SRD_OK) and returns NULL. */
PyObject *pysrd_errors_raise(srd_err rc, PyObject *path)
{
    if (rc == SRD_ENOMEM)
        return PyErr_NoMemory();
    PyObject *msg = path ? PyUnicode_FromFormat("%s: %s (store %R)",
                                                srd_errname(rc),
                                                srd_strerror(rc), path)
                         : PyUnicode_FromFormat("%s: %s", srd_errname(rc),
                                                srd_strerror(rc));
    if (!msg)
        return NULL;
    PyObject *exc = PyObject_CallOneArg(pysrd_store_error, msg);
    if (exc && errors_fill(exc, rc, msg) == 0)
        PyErr_SetObject(pysrd_store_error, exc);
    Py_XDECREF(exc);
    Py_DECREF(msg);
    return NULL;
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
