/* SPDX-License-Identifier: MIT */
/*
 * hasher.c -- NamespaceHasher, as the reference bindings export it: keys
 * scoped to a namespace. NamespaceHasher(prefix).namespace(key) is 16
 * bytes: XXH3-64 of the prefix, then XXH3-64 of the key, each
 * little-endian (the reference's layout, so both make the same keys).
 */
#include "pysrd.h"

#include <string.h>

typedef struct hasher {
    PyObject_HEAD
    uint64_t prefix; /* XXH3-64 of the prefix */
} hasher;

/* The XXH3-64 of a bytes-like object; 0, or -1 with TypeError. */
static int hasher_hash(PyObject *obj, uint64_t *out)
{
    Py_buffer b;
    if (pysrd_args_key(obj, &b) < 0)
        return -1;
    *out = srd_key_hash(b.buf, (size_t)b.len);
    PyBuffer_Release(&b);
    return 0;
}

static void hasher_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static PyObject *hasher_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"prefix", NULL};
    PyObject *prefix;
    uint64_t h;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:NamespaceHasher", kwlist,
                                     &prefix) ||
        hasher_hash(prefix, &h) < 0)
        return NULL;
    hasher *self = (hasher *)type->tp_alloc(type, 0);
    if (self)
        self->prefix = h;
    return (PyObject *)self;
}

static PyObject *hasher_namespace(hasher *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", NULL};
    PyObject *key;
    uint64_t h;
    unsigned char out[16];
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:namespace", kwlist, &key) ||
        hasher_hash(key, &h) < 0)
        return NULL;
    hasher_le64(out, self->prefix);
    hasher_le64(out + 8, h);
    return PyBytes_FromStringAndSize((const char *)out, sizeof(out));
}

static PyMethodDef hasher_methods[] = {
    {"namespace", (PyCFunction)(void (*)(void))hasher_namespace,
     METH_VARARGS | METH_KEYWORDS,
     "namespace(key) -> bytes\n\nThe 16-byte key of key in this namespace: "
     "XXH3-64 of the prefix, then\nof key, little-endian."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pysrd_hasher_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "simd_r_drive.NamespaceHasher",
    .tp_basicsize = sizeof(hasher),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NamespaceHasher(prefix)\n--\n\nKeys scoped to a namespace: "
              "namespace(key) never equals the key of the\nsame name in "
              "another namespace (e.g. b'opt' and b'sys').",
    .tp_new = hasher_new,
    .tp_methods = hasher_methods,
};
