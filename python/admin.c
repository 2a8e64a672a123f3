/* SPDX-License-Identifier: MIT */
/*
 * admin.c -- DataStore state and maintenance: info(), file_size(),
 * is_empty(), verify(), compact(), sync() and refresh(). Each is one library call made with the GIL
 * released while the method holds a use of the store.
 */
#include "pysrd.h"

typedef srd_err (*admin_fn)(srd_store *st, void *out);

/* Calls fn(st, out) without the GIL; 0, or -1 with an exception set.
 * srd_verify's SRD_ECHECKSUM is a result (the report says it), not an
 * error. */
static int admin_call(pysrd_store *s, int write, admin_fn fn, void *out)
{
    srd_err rc;
    if ((write ? pysrd_store_acquire_write(s) : pysrd_store_acquire(s)) < 0)
        return -1;
    srd_store *st = s->st;
    PYSRD_NOGIL(rc = fn(st, out));
    pysrd_store_release(s);
    return pysrd_errors_check(rc == SRD_ECHECKSUM ? SRD_OK : rc, s->path);
}

static srd_err admin_info_fn(srd_store *st, void *out)
{
    return srd_get_info(st, out);
}

PyObject *pysrd_admin_info(pysrd_store *s, PyObject *unused)
{
    srd_info i;
    (void)unused;
    if (admin_call(s, 0, admin_info_fn, &i) < 0)
        return NULL;
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:O,s:O,s:s}", "live_keys",
        (unsigned long long)i.live_keys, "entries",
        (unsigned long long)i.entries, "tail", (unsigned long long)i.tail,
        "file_size", (unsigned long long)i.file_size, "live_bytes",
        (unsigned long long)i.live_bytes, "dead_bytes",
        (unsigned long long)i.dead_bytes, "index_bytes",
        (unsigned long long)i.index_bytes, "readonly",
        i.readonly ? Py_True : Py_False, "path", s->path, "layout",
        i.layout == SRD_LAYOUT_UNPADDED ? "unpadded" : "aligned64");
}

/* A chain broken past the tail is a result too (break_offset says it). */
static srd_err admin_verify_fn(srd_store *st, void *out)
{
    srd_verify_report *r = out;
    srd_err rc = srd_verify(st, r, NULL, NULL);
    return rc == SRD_ECORRUPT && r->break_offset ? SRD_ECHECKSUM : rc;
}

PyObject *pysrd_admin_verify(pysrd_store *s, PyObject *unused)
{
    srd_verify_report r = {0};
    (void)unused;
    if (admin_call(s, 0, admin_verify_fn, &r) < 0)
        return NULL;
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K,s:O}", "entries",
        (unsigned long long)r.entries, "bad_entries",
        (unsigned long long)r.bad_entries, "first_bad_offset",
        (unsigned long long)r.first_bad_offset, "bytes",
        (unsigned long long)r.bytes, "past_tail_bytes",
        (unsigned long long)r.past_tail_bytes, "break_offset",
        (unsigned long long)r.break_offset, "ok",
        r.bad_entries == 0 && r.break_offset == 0 ? Py_True : Py_False);
}

static srd_err admin_compact_fn(srd_store *st, void *out)
{
    return srd_compact(st, out);
}

/* For calls whose result is one uint64_t. */
static PyObject *admin_u64(pysrd_store *s, int write, admin_fn fn)
{
    uint64_t n = 0;
    if (admin_call(s, write, fn, &n) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(n);
}

PyObject *pysrd_admin_compact(pysrd_store *s, PyObject *unused)
{
    (void)unused;
    return admin_u64(s, 1, admin_compact_fn);
}

static srd_err admin_sync_fn(srd_store *st, void *out)
{
    (void)out;
    return srd_sync(st);
}

PyObject *pysrd_admin_sync(pysrd_store *s, PyObject *unused)
{
    (void)unused;
    if (admin_call(s, 1, admin_sync_fn, NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static srd_err admin_refresh_fn(srd_store *st, void *out)
{
    return srd_refresh(st, out);
}

PyObject *pysrd_admin_refresh(pysrd_store *s, PyObject *unused)
{
    (void)unused;
    return admin_u64(s, 0, admin_refresh_fn);
}

PyObject *pysrd_admin_file_size(pysrd_store *s, PyObject *unused)
{
    srd_info i;
    (void)unused;
    if (admin_call(s, 0, admin_info_fn, &i) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong((unsigned long long)i.file_size);
}

PyObject *pysrd_admin_is_empty(pysrd_store *s, PyObject *unused)
{
    srd_info i;
    (void)unused;
    if (admin_call(s, 0, admin_info_fn, &i) < 0)
        return NULL;
    return PyBool_FromLong(i.live_keys == 0);
}
