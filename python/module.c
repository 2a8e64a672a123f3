/* SPDX-License-Identifier: MIT */
/*
 * module.c -- the simd_r_drive.simd_r_drive extension: registers
 * DataStore, EntryHandle, EntryStream, the entry iterator,
 * NamespaceHasher, StoreError and StoreValueError, and the key_hash()
 * function (the package's __init__.py re-exports them). The API is the SIMD R Drive Python bindings' one, on top of
 * libsrdclient (see docs/PYTHON.md).
 */
#include "pysrd.h"

static PyObject *module_key_hash(PyObject *self, PyObject *key)
{
    Py_buffer kb;
    (void)self;
    if (pysrd_args_key(key, &kb) < 0)
        return NULL;
    uint64_t h = srd_key_hash(kb.buf, (size_t)kb.len);
    PyBuffer_Release(&kb);
    return PyLong_FromUnsignedLongLong(h);
}

static PyMethodDef module_methods[] = {
    {"key_hash", module_key_hash, METH_O,
     "key_hash(key) -> int\n\nXXH3-64 (seed 0) of a bytes-like key: the "
     "hash the store file keeps\ninstead of the key, as yielded by "
     "iter(DataStore)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "simd_r_drive.simd_r_drive",
    .m_doc = "SIMD R Drive key/value stores, backed by srd's libsrdclient.\n\n"
             "DataStore(path) opens or creates a store: one append-only file "
             "whose\nvalues are read in place, zero-copy. Thread-safe; "
             "shared between processes\nthrough srdd when it serves the "
             "path.",
    .m_size = -1,
    .m_methods = module_methods,
};

static int module_add_type(PyObject *m, PyTypeObject *t, const char *name)
{
    if (PyType_Ready(t) < 0)
        return -1;
    Py_INCREF(t);
    if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit_simd_r_drive(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (module_add_type(m, &pysrd_store_type, "DataStore") < 0 ||
        module_add_type(m, &pysrd_entry_type, "EntryHandle") < 0 ||
        module_add_type(m, &pysrd_rstream_type, "EntryStream") < 0 ||
        module_add_type(m, &pysrd_iter_type, "EntryIterator") < 0 ||
        module_add_type(m, &pysrd_hasher_type, "NamespaceHasher") < 0 ||
        pysrd_errors_init(m) < 0 ||
        PyModule_AddStringConstant(m, "__version__", PYSRD_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
