/* SPDX-License-Identifier: MIT */
/*
 * iter.c -- iter(DataStore): the live entries, oldest first, over the
 * snapshot taken when iteration starts, as (key_hash, memoryview) pairs.
 * Keys are not stored in the format, so the hash is all there is (compare
 * with simd_r_drive.key_hash(key)). The iterator holds a use of the store
 * until it is exhausted or freed.
 */
#include "pysrd.h"

typedef struct piter {
    PyObject_HEAD
    pysrd_store *store; /* strong reference; a use while it != NULL */
    srd_iter *it;
} piter;

PyObject *pysrd_iter_new(pysrd_store *s)
{
    srd_err rc;
    srd_iter *it = NULL;
    if (pysrd_store_acquire(s) < 0)
        return NULL;
    srd_store *st = s->st;
    PYSRD_NOGIL(rc = srd_iter_open(st, &it));
    piter *p = rc == SRD_OK ? PyObject_New(piter, &pysrd_iter_type) : NULL;
    if (!p) {
        srd_iter_close(it);
        pysrd_store_release(s);
        return rc == SRD_OK ? NULL : pysrd_errors_raise(rc, s->path);
    }
    Py_INCREF(s);
    p->store = s;
    p->it = it;
    return (PyObject *)p;
}

/* Frees the srd_iter and gives the use back (at the end or on dealloc). */
static void iter_finish(piter *p)
{
    if (!p->it)
        return;
    srd_iter_close(p->it);
    p->it = NULL;
    pysrd_store_release(p->store);
}

static void iter_dealloc(piter *p)
{
    iter_finish(p);
    Py_DECREF(p->store);
    PyObject_Free(p);
}

/* One (key_hash, memoryview) pair; the memoryview owns an EntryHandle. */
static PyObject *iter_pair(pysrd_store *s, srd_view *v)
{
    unsigned long long hash = v->key_hash;
    PyObject *entry = pysrd_entry_new(s, v);
    if (!entry)
        return NULL;
    PyObject *mv = PyMemoryView_FromObject(entry);
    Py_DECREF(entry);
    if (!mv)
        return NULL;
    return Py_BuildValue("(KN)", hash, mv);
}

static PyObject *iter_next(piter *p)
{
    srd_view v;
    if (!p->it)
        return NULL;
    srd_err rc = srd_iter_next(p->it, &v);
    if (rc == SRD_OK)
        return iter_pair(p->store, &v);
    iter_finish(p);
    return rc == SRD_ENOTFOUND ? NULL : pysrd_errors_raise(rc, p->store->path);
}

PyTypeObject pysrd_iter_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "simd_r_drive.EntryIterator",
    .tp_basicsize = sizeof(piter),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Iterator over a DataStore's live entries: (key_hash, "
              "memoryview) pairs,\noldest first, from a snapshot taken when "
              "iteration began.",
    .tp_dealloc = (destructor)iter_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)iter_next,
};
