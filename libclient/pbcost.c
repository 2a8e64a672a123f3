/* SPDX-License-Identifier: MIT */
/*
 * pbcost.c -- the unpack cost bound of pbcost.h. It walks the fields the
 * way protobuf-c's unpack does (tag, wire type, length) and charges each
 * occurrence: a scratch record (protobuf-c keeps one per field while it
 * parses a message, in doubling slabs: twice its size at most), an
 * element of the field's array when repeated, and what the element needs:
 * a nested message recursively, a copy of bytes or strings, or an unknown
 * field record with a copy of its data. Every allocation is charged
 * malloc's overhead. Nested messages recurse only through fields of the
 * schema, so the depth is the schema's.
 */
#include "srd_features.h"

#include "pbcost.h"

#define PB_MALLOC_OVERHEAD 16u /* per allocation */
#define PB_SCRATCH 64u         /* per field occurrence, slabs doubling */

typedef struct pb_cursor {
    const uint8_t *p, *end;
} pb_cursor;

static bool pb_varint(pb_cursor *c, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* Step over one field's value of wire type wt; *data and *len are its
 * payload (a length-delimited one's bytes, else the value's bytes). */
static bool pb_value(pb_cursor *c, unsigned wt, const uint8_t **data,
                     uint64_t *len)
{
    const uint8_t *at = c->p;
    uint64_t v;
    switch (wt) {
    case 0:
        if (!pb_varint(c, &v))
            return false;
        *len = (uint64_t)(c->p - at);
        break;
    case 1:
    case 5:
        *len = wt == 1 ? 8 : 4;
        if ((uint64_t)(c->end - c->p) < *len)
            return false;
        c->p += *len;
        break;
    case 2:
        if (!pb_varint(c, len) || *len > (uint64_t)(c->end - c->p))
            return false;
        at = c->p;
        c->p += *len;
        break;
    default: /* groups: protobuf-c does not parse them */
        return false;
    }
    *data = at;
    return true;
}

bool srdi_pb_scalar(const uint8_t *p, size_t n, uint32_t field,
                    uint64_t *value)
{
    pb_cursor c = {p, p + n};
    bool found = false;
    while (c.p < c.end) {
        uint64_t tag, len;
        const uint8_t *data;
        if (!pb_varint(&c, &tag) || !pb_value(&c, tag & 7, &data, &len))
            return false;
        if (tag >> 3 != field || (tag & 7) == 2)
            continue;
        pb_cursor v = {data, data + len};
        *value = 0;
        if ((tag & 7) == 0)
            pb_varint(&v, value);
        for (uint64_t i = 0; (tag & 7) != 0 && i < len; i++)
            *value |= (uint64_t)data[i] << (8 * i);
        found = true;
    }
    return found;
}

/* What one occurrence of known field f with payload (data, len) costs. */
static bool pb_field_cost(const ProtobufCFieldDescriptor *f,
                          const uint8_t *data, uint64_t len, uint64_t *cost)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        *cost += 16; /* its array element, generously */
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        return srdi_pb_cost(f->descriptor, data, (size_t)len, cost);
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_STRING:
        *cost += len + 1 + PB_MALLOC_OVERHEAD;
        return true;
    default: /* a scalar, or a packed run of them: at most 8 per byte */
        *cost += 8 * len;
        return true;
    }
}

/* Field number id of d, or NULL: a direct look when the fields are
 * numbered 1, 2, ... up to id (every item of a batch), else protobuf-c's
 * search. */
static const ProtobufCFieldDescriptor *
pb_field(const ProtobufCMessageDescriptor *d, uint64_t id)
{
    if (id >= 1 && id <= d->n_fields && d->fields[id - 1].id == id)
        return &d->fields[id - 1];
    return id > UINT32_MAX ? NULL
           : protobuf_c_message_descriptor_get_field(d, (unsigned)id);
}

bool srdi_pb_cost(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                  size_t n, uint64_t *cost)
{
    pb_cursor c = {p, p + n};
    *cost += d->sizeof_message + PB_MALLOC_OVERHEAD;
    uint64_t fields = 0;
    while (c.p < c.end) {
        uint64_t tag, len;
        const uint8_t *data;
        if (!pb_varint(&c, &tag) || !pb_value(&c, tag & 7, &data, &len))
            return false;
        fields++;
        const ProtobufCFieldDescriptor *f = pb_field(d, tag >> 3);
        if (!f)
            *cost += sizeof(ProtobufCMessageUnknownField) + len +
                     PB_MALLOC_OVERHEAD;
        else if (!pb_field_cost(f, data, len, cost))
            return false;
    }
    /* scratch records and the arrays' own allocations */
    *cost += fields * PB_SCRATCH + (uint64_t)PB_MALLOC_OVERHEAD * d->n_fields;
    return true;
}
