/* SPDX-License-Identifier: MIT */
/*
 * pysrd.h -- what the files of the simd_r_drive extension share: the object
 * layouts, the "use" count that keeps an srd_store open while a call or a
 * zero-copy view needs it, and each file's entry points.
 * Every function here must be called with the GIL held.
 */
#ifndef PYSRD_H
#define PYSRD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <srd/srd.h>

/*
 * DataStore. Lifetime rule: srd_close() runs only when close() was asked
 * for (or the object dies) AND no user is left. A user is a call running
 * with the GIL released, or a live EntryHandle, EntryStream or iterator:
 * the C API lets no view or call outlive srd_close(). users is only
 * touched with the GIL held, so it needs no atomics.
 */
typedef struct pysrd_store {
    PyObject_HEAD
    srd_store *st;     /* NULL once really closed */
    PyObject *path;    /* str, as given (for messages and repr) */
    Py_ssize_t users;  /* calls in flight + dependent objects */
    int closing;       /* close() was called: new calls get ValueError */
} pysrd_store;

/* EntryHandle: owns one zero-copy view and one use of its store. */
typedef struct pysrd_entry {
    PyObject_HEAD
    pysrd_store *store; /* strong reference */
    srd_view view;
} pysrd_entry;

extern PyTypeObject pysrd_store_type;
extern PyTypeObject pysrd_entry_type;
extern PyTypeObject pysrd_rstream_type;
extern PyTypeObject pysrd_iter_type;
extern PyObject *pysrd_store_error;       /* simd_r_drive.StoreError */
extern PyObject *pysrd_store_value_error; /* StoreValueError */
extern PyTypeObject pysrd_hasher_type;

/* Values of at least this many bytes are copied with the GIL released. */
#define PYSRD_BIG_COPY ((size_t)64 << 10)

/* Run `stmt` with the GIL released (the caller holds a use). */
#define PYSRD_NOGIL(stmt)                                                     \
    do {                                                                      \
        Py_BEGIN_ALLOW_THREADS stmt;                                          \
        Py_END_ALLOW_THREADS                                                  \
    } while (0)

/* errors.c */
int pysrd_errors_init(PyObject *module);
PyObject *pysrd_errors_raise(srd_err rc, PyObject *path);
/* The same with srd_open_why()'s sentence (why; "" or NULL: none) added
 * to the message. */
PyObject *pysrd_errors_raise_why(srd_err rc, PyObject *path, const char *why);
/* Same, as an exception of type (pysrd_store_error or a subclass). */
PyObject *pysrd_errors_raise_as(PyObject *type, srd_err rc, PyObject *path);
/* Raises StoreValueError (code SRD_EINVAL) with a PyUnicode_FromFormat
 * message; returns NULL. */
PyObject *pysrd_errors_value(const char *fmt, ...);
int pysrd_errors_check(srd_err rc, PyObject *path);
PyObject *pysrd_errors_closed(void);

/* args.c: bytes-like keys and values. Each returns 0, or -1 with an
 * exception set (TypeError, ValueError); release with PyBuffer_Release. */
int pysrd_args_key(PyObject *obj, Py_buffer *buf);
int pysrd_args_value(PyObject *obj, Py_buffer *buf, const char *what);
int pysrd_args_value_at(PyObject *obj, Py_buffer *buf, Py_ssize_t i);
srd_val pysrd_args_val(const Py_buffer *buf);
void pysrd_args_copy(char *dst, const void *src, size_t n);

/* store.c */
int pysrd_store_acquire(pysrd_store *s);
int pysrd_store_acquire_write(pysrd_store *s);
void pysrd_store_release(pysrd_store *s);

/* ops.c: DataStore methods that read and write values, and the one-key
 * call they share: 1 done, 0 key absent, -1 exception set. */
typedef srd_err (*pysrd_key_fn)(srd_store *st, srd_val key, void *out);
int pysrd_ops_key_call(pysrd_store *s, PyObject *key, pysrd_key_fn fn,
                       void *out);
/* Same, raising exc (pysrd_store_error or a subclass) for a failure. */
int pysrd_ops_key_call_as(pysrd_store *s, PyObject *key, pysrd_key_fn fn,
                          void *out, PyObject *exc);
PyObject *pysrd_ops_write(pysrd_store *s, PyObject *args, PyObject *kw);
PyObject *pysrd_ops_batch_write(pysrd_store *s, PyObject *items);
PyObject *pysrd_ops_read(pysrd_store *s, PyObject *key);
PyObject *pysrd_ops_read_entry(pysrd_store *s, PyObject *key);
PyObject *pysrd_ops_read_stream(pysrd_store *s, PyObject *key);
PyObject *pysrd_ops_batch_read(pysrd_store *s, PyObject *keys);
PyObject *pysrd_ops_batch_read_structured(pysrd_store *s, PyObject *data);
PyObject *pysrd_ops_exists(pysrd_store *s, PyObject *key);
int pysrd_ops_contains(pysrd_store *s, PyObject *key);
PyObject *pysrd_ops_delete(pysrd_store *s, PyObject *key);
Py_ssize_t pysrd_ops_len(pysrd_store *s);

/* admin.c: state and maintenance. */
PyObject *pysrd_admin_info(pysrd_store *s, PyObject *unused);
PyObject *pysrd_admin_verify(pysrd_store *s, PyObject *unused);
PyObject *pysrd_admin_compact(pysrd_store *s, PyObject *unused);
PyObject *pysrd_admin_sync(pysrd_store *s, PyObject *unused);
PyObject *pysrd_admin_refresh(pysrd_store *s, PyObject *unused);
PyObject *pysrd_admin_file_size(pysrd_store *s, PyObject *unused);
PyObject *pysrd_admin_is_empty(pysrd_store *s, PyObject *unused);

/* wstream.c */
PyObject *pysrd_wstream_write(pysrd_store *s, PyObject *args, PyObject *kw);
int pysrd_wstream_busy(const pysrd_store *s);

/* entry.c: takes over *view on success and on failure; the entry takes a
 * use of s of its own. */
PyObject *pysrd_entry_new(pysrd_store *s, srd_view *view);

/* rstream.c: a stream over an EntryHandle (steals the reference). */
PyObject *pysrd_rstream_new(PyObject *entry);

/* iter.c */
PyObject *pysrd_iter_new(pysrd_store *s);

#endif /* PYSRD_H */
