/* SPDX-License-Identifier: MIT */
/*
 * entry.c -- EntryHandle: one zero-copy srd_view exposed through the
 * buffer protocol (as_memoryview() and memoryview(entry) point into the
 * store's read-only mapping), plus the original bindings' metadata. A
 * memoryview keeps its EntryHandle alive, and the handle keeps the view and
 * a use of the store, so the bytes stay valid and unchanged until the last
 * reference goes, across later writes, compaction and DataStore.close().
 */
#include "pysrd.h" /* Python.h first, as CPython requires */

#include <string.h>
#include <zlib.h>

/* The format's trailer follows the payload: key hash (u64), back pointer
 * (u64), CRC-32 (u32), little-endian (docs/FORMAT.md). */
#define ENTRY_TRAILER 20
#define ENTRY_CRC_AT 16

PyObject *pysrd_entry_new(pysrd_store *s, srd_view *view)
{
    pysrd_entry *e = PyObject_New(pysrd_entry, &pysrd_entry_type);
    if (!e) {
        srd_view_release(view);
        return NULL;
    }
    e->view = *view;
    memset(view, 0, sizeof *view);
    Py_INCREF(s);
    s->users++;
    e->store = s;
    return (PyObject *)e;
}

static void entry_dealloc(pysrd_entry *e)
{
    pysrd_store *s = e->store;
    srd_view_release(&e->view);
    pysrd_store_release(s);
    Py_DECREF(s);
    PyObject_Free(e);
}

static int entry_getbuffer(pysrd_entry *e, Py_buffer *b, int flags)
{
    return PyBuffer_FillInfo(b, (PyObject *)e, (void *)e->view.data,
                             (Py_ssize_t)e->view.len, 1, flags);
}

/* The stored CRC-32, read from the trailer that ends the entry. */
static uint32_t entry_stored_crc(const pysrd_entry *e)
{
    const uint8_t *p = e->view.data + e->view.len + ENTRY_CRC_AT;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* ======================================================================== */
/* Methods                                                                  */
/* ======================================================================== */

static PyObject *entry_as_memoryview(pysrd_entry *e, PyObject *unused)
{
    (void)unused;
    return PyMemoryView_FromObject((PyObject *)e);
}

static PyObject *entry_as_slice(pysrd_entry *e, PyObject *unused)
{
    (void)unused;
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)e->view.len);
    if (b)
        pysrd_args_copy(PyBytes_AS_STRING(b), e->view.data, e->view.len);
    return b;
}

static PyObject *entry_raw_checksum(pysrd_entry *e, PyObject *unused)
{
    (void)unused;
    return PyBytes_FromStringAndSize(
        (const char *)e->view.data + e->view.len + ENTRY_CRC_AT, 4);
}

static PyObject *entry_is_valid_checksum(pysrd_entry *e, PyObject *unused)
{
    uLong crc = 0;
    const uint8_t *p = e->view.data;
    size_t n = e->view.len;
    (void)unused;
    PYSRD_NOGIL(crc = crc32_z(0, p, n));
    return PyBool_FromLong(crc == entry_stored_crc(e));
}

static PyObject *entry_offset_range(pysrd_entry *e, PyObject *unused)
{
    (void)unused;
    unsigned long long lo = e->view.offset;
    return Py_BuildValue("(KK)", lo, lo + e->view.len);
}

static PyObject *entry_address_range(pysrd_entry *e, PyObject *unused)
{
    (void)unused;
    unsigned long long lo = (uintptr_t)e->view.data;
    return Py_BuildValue("(KK)", lo, lo + e->view.len);
}

static PyObject *entry_clone_arc(pysrd_entry *e, PyObject *unused)
{
    (void)unused;
    return Py_NewRef((PyObject *)e); /* immutable: sharing is a clone */
}

/* ======================================================================== */
/* Properties                                                               */
/* ======================================================================== */

static Py_ssize_t entry_len(pysrd_entry *e)
{
    return (Py_ssize_t)e->view.len;
}

static PyObject *entry_get_size(pysrd_entry *e, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(e->view.len);
}

static PyObject *entry_get_size_meta(pysrd_entry *e, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(e->view.len + ENTRY_TRAILER);
}

static PyObject *entry_get_key_hash(pysrd_entry *e, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLongLong(e->view.key_hash);
}

static PyObject *entry_get_checksum(pysrd_entry *e, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(entry_stored_crc(e));
}

static PyObject *entry_get_start(pysrd_entry *e, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLongLong(e->view.offset);
}

static PyObject *entry_get_end(pysrd_entry *e, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLongLong(e->view.offset + e->view.len);
}

static PyObject *entry_repr(pysrd_entry *e)
{
    char h[24];
    snprintf(h, sizeof h, "%016llx", (unsigned long long)e->view.key_hash);
    return PyUnicode_FromFormat("<simd_r_drive.EntryHandle key_hash=0x%s "
                                "size=%zu>",
                                h, e->view.len);
}

/* ======================================================================== */
/* Type                                                                     */
/* ======================================================================== */

#define E_N(name, fn, doc)                                                    \
    {name, (PyCFunction)(void (*)(void))(fn), METH_NOARGS, doc}

static PyMethodDef entry_methods[] = {
    E_N("as_memoryview", entry_as_memoryview,
        "as_memoryview() -> memoryview\n\nA read-only, zero-copy view of "
        "the value (64-byte aligned).\nValid while referenced."),
    E_N("as_slice", entry_as_slice,
        "as_slice() -> bytes\n\nA copy of the value."),
    E_N("raw_checksum", entry_raw_checksum,
        "raw_checksum() -> bytes\n\nThe stored CRC-32 as its 4 bytes in the "
        "file (little-endian)."),
    E_N("is_valid_checksum", entry_is_valid_checksum,
        "is_valid_checksum() -> bool\n\nRecompute the CRC-32 of the value "
        "and compare it with the stored one."),
    E_N("offset_range", entry_offset_range,
        "offset_range() -> (int, int)\n\nStart and end file offsets of the "
        "value."),
    E_N("address_range", entry_address_range,
        "address_range() -> (int, int)\n\nStart and end addresses of the "
        "value in this process."),
    E_N("clone_arc", entry_clone_arc,
        "clone_arc() -> EntryHandle\n\nA handle on the same mapped bytes "
        "(handles are immutable: self)."),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef entry_getset[] = {
    {"size", (getter)entry_get_size, NULL, "Payload bytes.", NULL},
    {"size_with_metadata", (getter)entry_get_size_meta, NULL,
     "Payload bytes plus the 20-byte trailer.", NULL},
    {"file_size", (getter)entry_get_size_meta, NULL,
     "Payload bytes plus the 20-byte trailer (the reference's name for\n"
     "size_with_metadata).", NULL},
    {"key_hash", (getter)entry_get_key_hash, NULL,
     "XXH3-64 of the key (keys themselves are not stored).", NULL},
    {"checksum", (getter)entry_get_checksum, NULL,
     "The stored CRC-32 of the payload.", NULL},
    {"start_offset", (getter)entry_get_start, NULL,
     "File offset of the first payload byte.", NULL},
    {"end_offset", (getter)entry_get_end, NULL,
     "File offset just past the payload.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyBufferProcs entry_as_buffer = {
    .bf_getbuffer = (getbufferproc)entry_getbuffer,
};

static PySequenceMethods entry_as_sequence = {
    .sq_length = (lenfunc)entry_len,
};

PyTypeObject pysrd_entry_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "simd_r_drive.EntryHandle",
    .tp_basicsize = sizeof(pysrd_entry),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A zero-copy handle on one stored value (from "
              "DataStore.read_entry).\n\nSupports the buffer protocol: "
              "memoryview(entry), bytes(entry),\nnumpy.frombuffer(entry). "
              "The bytes stay valid and unchanged while the\nhandle or any "
              "memoryview of it is referenced, also after later writes,\n"
              "compaction or DataStore.close().",
    .tp_dealloc = (destructor)entry_dealloc,
    .tp_repr = (reprfunc)entry_repr,
    .tp_methods = entry_methods,
    .tp_getset = entry_getset,
    .tp_as_buffer = &entry_as_buffer,
    .tp_as_sequence = &entry_as_sequence,
};
