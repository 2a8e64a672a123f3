/* SPDX-License-Identifier: MIT */
/*
 * pbfast.c -- the hand-written codec of pbfast.h. Writers follow
 * protobuf-c's pack: fields in number order, a proto3 scalar, string or
 * bytes field only when it is not zero or empty, a oneof message whenever
 * it is set, lengths and tags as varints. Readers walk a header with a
 * cursor that never passes its end and give up (false: protobuf-c decides)
 * at the first thing outside the canonical form: a field out of order or
 * repeated, an unknown field, a wrong wire type, a tag longer than one
 * byte, a varint longer than 10 bytes or too large for its field.
 */
#include "srd_features.h"

#include <string.h>

#include "pbfast.h"

/* Wire types and the one-byte tags of the fields used here. */
#define PBF_VARINT 0u
#define PBF_I64 1u
#define PBF_LEN 2u
#define PBF_TAG(field, wt) ((uint8_t)((field) << 3 | (wt)))
#define PBF_REQ_PUT 11u       /* Request.put */
#define PBF_REQ_PUT_BATCH 12u /* Request.put_batch */

/* ======================================================================== */
/* Writing                                                                  */
/* ======================================================================== */

size_t srdi_pbf_varint_size(uint64_t v)
{
    return 1 + (size_t)(63 - __builtin_clzll(v | 1)) / 7;
}

static uint8_t *pbf_varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *pbf_fixed64_put(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* A proto3 varint field: nothing when v is 0. */
static size_t pbf_uint_size(uint64_t v)
{
    return v ? 1 + srdi_pbf_varint_size(v) : 0;
}

static uint8_t *pbf_uint_put(uint8_t *p, uint32_t field, uint64_t v)
{
    if (!v)
        return p;
    *p++ = PBF_TAG(field, PBF_VARINT);
    return pbf_varint_put(p, v);
}

/* A length-delimited field of len bytes, tag and length included. */
static size_t pbf_len_size(size_t len)
{
    return 1 + srdi_pbf_varint_size(len) + len;
}

static uint8_t *pbf_len_put(uint8_t *p, uint32_t field, size_t len)
{
    *p++ = PBF_TAG(field, PBF_LEN);
    return pbf_varint_put(p, len);
}

/* ---- put and put_batch requests ---------------------------------------- */

/* Body of Put { key = 1, value_len = 2 }. */
static size_t pbf_put_body(srd_val key, uint64_t value_len)
{
    return (key.len ? pbf_len_size(key.len) : 0) + pbf_uint_size(value_len);
}

static uint8_t *pbf_put_put(uint8_t *p, srd_val key, uint64_t value_len)
{
    if (key.len) {
        p = pbf_len_put(p, 1, key.len);
        memcpy(p, key.ptr, key.len);
        p += key.len;
    }
    return pbf_uint_put(p, 2, value_len);
}

/* Body of the op message: the Put, or the PutBatch's items (field 1);
 * *raw: the sum of the values' lengths (SIZE_MAX when it overflows). */
static size_t pbf_op_body(bool batch, const srd_val *keys,
                          const srd_val *values, size_t n, size_t *raw)
{
    if (!batch) {
        *raw = values[0].len;
        return pbf_put_body(keys[0], values[0].len);
    }
    size_t len = 0, sum = 0;
    bool over = false;
    for (size_t i = 0; i < n; i++) {
        over |= values[i].len > SIZE_MAX - sum;
        sum += values[i].len;
        len += pbf_len_size(pbf_put_body(keys[i], values[i].len));
    }
    *raw = over ? SIZE_MAX : sum;
    return len;
}

static size_t pbf_ids_size(uint32_t version, uint64_t client_id,
                           uint64_t seq)
{
    return pbf_uint_size(version) + (client_id ? 9 : 0) + pbf_uint_size(seq);
}

size_t srdi_pbf_puts_size(uint32_t version, uint64_t client_id, uint64_t seq,
                          bool batch, const srd_val *keys,
                          const srd_val *values, size_t n, size_t *op,
                          size_t *raw)
{
    *op = pbf_op_body(batch, keys, values, n, raw);
    return pbf_ids_size(version, client_id, seq) + pbf_len_size(*op);
}

void srdi_pbf_puts_put(uint8_t *p, uint32_t version, uint64_t client_id,
                       uint64_t seq, bool batch, const srd_val *keys,
                       const srd_val *values, size_t n, size_t op)
{
    p = pbf_uint_put(p, 1, version);
    if (client_id) {
        *p++ = PBF_TAG(2, PBF_I64);
        p = pbf_fixed64_put(p, client_id);
    }
    p = pbf_uint_put(p, 3, seq);
    p = pbf_len_put(p, batch ? PBF_REQ_PUT_BATCH : PBF_REQ_PUT, op);
    if (!batch) {
        pbf_put_put(p, keys[0], values[0].len);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        p = pbf_len_put(p, 1, pbf_put_body(keys[i], values[i].len));
        p = pbf_put_put(p, keys[i], values[i].len);
    }
}

/* ---- replies and updates: scalars, then entry refs --------------------- */

/* Body of EntryRef { key_hash = 1 (fixed64), start = 2, end = 3,
 * tombstone = 4 }. */
static size_t pbf_ref_body(const srdi_entry *e)
{
    return (e->key_hash ? 9 : 0) + pbf_uint_size(e->start) +
           pbf_uint_size(e->end) + (e->tombstone ? 2 : 0);
}

static uint8_t *pbf_ref_put(uint8_t *p, const srdi_entry *e)
{
    if (e->key_hash) {
        *p++ = PBF_TAG(1, PBF_I64);
        p = pbf_fixed64_put(p, e->key_hash);
    }
    p = pbf_uint_put(p, 2, e->start);
    p = pbf_uint_put(p, 3, e->end);
    if (e->tombstone) {
        *p++ = PBF_TAG(4, PBF_VARINT);
        *p++ = 1;
    }
    return p;
}

static size_t pbf_str_len(const char *s)
{
    return s ? strlen(s) : 0;
}

size_t srdi_pbf_refs_msg_size(const srdi_pbf_refs_msg *m)
{
    size_t len = 0, sl = pbf_str_len(m->str);
    for (size_t i = 0; i < m->nu; i++) {
        if (i + 1 == m->str_field)
            len += sl ? pbf_len_size(sl) : 0;
        else
            len += pbf_uint_size(m->u[i]);
    }
    for (size_t i = 0; i < m->n; i++) /* tag, one length byte, body */
        len += 2 + pbf_ref_body(&m->entries[i]);
    return len;
}

void srdi_pbf_refs_msg_put(uint8_t *p, const srdi_pbf_refs_msg *m)
{
    size_t sl = pbf_str_len(m->str);
    for (size_t i = 0; i < m->nu; i++) {
        uint32_t field = (uint32_t)i + 1;
        if (field != m->str_field) {
            p = pbf_uint_put(p, field, m->u[i]);
        } else if (sl) {
            p = pbf_len_put(p, field, sl);
            memcpy(p, m->str, sl);
            p += sl;
        }
    }
    uint8_t tag = PBF_TAG(m->nu + 1, PBF_LEN);
    for (size_t i = 0; i < m->n; i++) { /* a body is under 128 bytes */
        p[0] = tag;
        uint8_t *end = pbf_ref_put(p + 2, &m->entries[i]);
        p[1] = (uint8_t)(end - p - 2);
        p = end;
    }
}

/* ======================================================================== */
/* Reading                                                                  */
/* ======================================================================== */

typedef struct pbf_cur {
    const uint8_t *p, *end;
} pbf_cur;

/* A varint in its shortest form (no trailing zero group) of at most 64
 * bits: exactly what protobuf-c reads it as. */
static bool pbf_varint(pbf_cur *c, uint64_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < 10 && c->p < c->end; i++) {
        uint8_t b = *c->p++;
        *v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            return (b != 0 || i == 0) && (i < 9 || b == 1);
    }
    return false;
}

/* The next field's number and wire type: one-byte tags only, numbers
 * strictly above *last (canonical order, no repeats unless repeat_ok
 * allows the same number again). */
static bool pbf_tag(pbf_cur *c, uint32_t *last, uint32_t repeat_ok,
                    uint32_t *field, unsigned *wt)
{
    if (c->p >= c->end || (*c->p & 0x80))
        return false;
    uint8_t t = *c->p++;
    *field = t >> 3;
    *wt = t & 7;
    if (*field == 0 || (*field <= *last && !(*field == *last &&
                                             *field == repeat_ok)))
        return false;
    *last = *field;
    return true;
}

/* A length-delimited value: its bytes. */
static bool pbf_len(pbf_cur *c, pbf_cur *sub)
{
    uint64_t len;
    if (!pbf_varint(c, &len) || len > (uint64_t)(c->end - c->p))
        return false;
    *sub = (pbf_cur){c->p, c->p + len};
    c->p += len;
    return true;
}

static bool pbf_fixed64(pbf_cur *c, uint64_t *v)
{
    if (c->end - c->p < 8)
        return false;
    *v = 0;
    for (unsigned i = 0; i < 8; i++)
        *v |= (uint64_t)c->p[i] << (8 * i);
    c->p += 8;
    return true;
}

static bool pbf_u32(pbf_cur *c, uint32_t *v)
{
    uint64_t x;
    if (!pbf_varint(c, &x) || x > UINT32_MAX)
        return false;
    *v = (uint32_t)x;
    return true;
}

/* ---- put and put_batch requests ---------------------------------------- */

/* One Put body: key and value_len (absent: empty, 0). */
static bool pbf_put_read(pbf_cur c, srd_val *key, uint64_t *value_len)
{
    uint32_t last = 0, field;
    unsigned wt;
    *key = (srd_val){NULL, 0};
    *value_len = 0;
    while (c.p < c.end) {
        pbf_cur sub;
        if (!pbf_tag(&c, &last, 0, &field, &wt))
            return false;
        if (field == 1 && wt == PBF_LEN && pbf_len(&c, &sub))
            *key = (srd_val){sub.p, (size_t)(sub.end - sub.p)};
        else if (!(field == 2 && wt == PBF_VARINT &&
                   pbf_varint(&c, value_len) && *value_len <= SIZE_MAX))
            return false;
    }
    return true;
}

/* Walk a put_batch's items (or the one Put); with keys NULL only check
 * them, counting them in *n. */
static bool pbf_items(const srdi_pbf_puts *s, srd_val *keys, srd_val *lens,
                      size_t *n)
{
    pbf_cur c = {s->body, s->body + s->body_len};
    srd_val k;
    uint64_t vl;
    *n = 0;
    if (!s->batch) {
        if (!pbf_put_read(c, &k, &vl))
            return false;
        if (keys) {
            keys[0] = k;
            lens[0] = (srd_val){NULL, (size_t)vl};
        }
        *n = 1;
        return true;
    }
    uint32_t last = 0, field;
    unsigned wt;
    while (c.p < c.end) {
        pbf_cur item;
        if (!pbf_tag(&c, &last, 1, &field, &wt) || field != 1 ||
            wt != PBF_LEN || !pbf_len(&c, &item) ||
            !pbf_put_read(item, &k, &vl))
            return false;
        if (keys) {
            keys[*n] = k;
            lens[*n] = (srd_val){NULL, (size_t)vl};
        }
        (*n)++;
    }
    return true;
}

/* One top-level field of a Request: the ids, or the op (last). */
static bool pbf_req_field(pbf_cur *c, uint32_t field, unsigned wt,
                          srdi_pbf_puts *s, bool *op)
{
    pbf_cur sub;
    switch (field) {
    case 1:
        return wt == PBF_VARINT && pbf_u32(c, &s->version);
    case 2:
        return wt == PBF_I64 && pbf_fixed64(c, &s->client_id);
    case 3:
        return wt == PBF_VARINT && pbf_varint(c, &s->seq);
    case PBF_REQ_PUT:
    case PBF_REQ_PUT_BATCH:
        if (wt != PBF_LEN || !pbf_len(c, &sub))
            return false;
        s->batch = field == PBF_REQ_PUT_BATCH;
        s->body = sub.p;
        s->body_len = (size_t)(sub.end - sub.p);
        *op = true;
        return true;
    default:
        return false;
    }
}

bool srdi_pbf_puts_scan(const uint8_t *h, size_t hl, srdi_pbf_puts *out)
{
    pbf_cur c = {h, h + hl};
    uint32_t last = 0, field;
    unsigned wt;
    bool op = false;
    memset(out, 0, sizeof *out);
    while (c.p < c.end) {
        if (op || !pbf_tag(&c, &last, 0, &field, &wt) ||
            !pbf_req_field(&c, field, wt, out, &op))
            return false;
    }
    return op && pbf_items(out, NULL, NULL, &out->n);
}

void srdi_pbf_puts_items(const srdi_pbf_puts *s, srd_val *keys,
                         srd_val *lens)
{
    size_t n;
    pbf_items(s, keys, lens, &n);
}

/* ---- replies carrying entries ------------------------------------------ */

/* A varint field with tag t, when it comes next (at most once, in its
 * place: the caller checks in number order). */
static bool pbf_opt_varint(pbf_cur *c, uint8_t t, uint64_t *v, bool *bad)
{
    if (c->p >= c->end || *c->p != t)
        return false;
    c->p++;
    if (c->p < c->end && *c->p < 0x80) { /* one byte: most tombstones */
        *v = *c->p++;
        return true;
    }
    *bad = !pbf_varint(c, v);
    return !*bad;
}

/* One EntryRef body { key_hash = 1 (fixed64), start = 2, end = 3,
 * tombstone = 4 (a bool: the byte 0 or 1) }: its fields in number order,
 * each at most once, nothing else. A tag out of that order is left
 * unread, so the body does not end where it should. */
static bool pbf_ref_read(pbf_cur c, srdi_pbf_ref *r)
{
    bool bad = false;
    uint64_t t = 0;
    memset(r, 0, sizeof *r);
    if (c.p < c.end && *c.p == PBF_TAG(1, PBF_I64)) {
        c.p++;
        if (!pbf_fixed64(&c, &r->key_hash))
            return false;
    }
    pbf_opt_varint(&c, PBF_TAG(2, PBF_VARINT), &r->start, &bad);
    pbf_opt_varint(&c, PBF_TAG(3, PBF_VARINT), &r->end, &bad);
    pbf_opt_varint(&c, PBF_TAG(4, PBF_VARINT), &t, &bad);
    r->tombstone = t == 1;
    return !bad && t <= 1 && c.p == c.end;
}

/* The next entry of the refs at *c (field `field`): its body, when its
 * tag and length are sound. */
static bool pbf_ref_next(pbf_cur *c, uint32_t field, pbf_cur *body)
{
    if (c->p >= c->end || *c->p != PBF_TAG(field, PBF_LEN))
        return false;
    c->p++;
    if (c->p < c->end && *c->p < 0x80 && *c->p <= c->end - c->p - 1) {
        *body = (pbf_cur){c->p + 1, c->p + 1 + *c->p}; /* one-byte length */
        c->p = body->end;
        return true;
    }
    return pbf_len(c, body);
}

/* Walk the entries (field `field` to the end), checking them, and count
 * them in *n. */
static bool pbf_refs(pbf_cur c, uint32_t field, size_t *n)
{
    srdi_pbf_ref one;
    *n = 0;
    while (c.p < c.end) {
        pbf_cur sub;
        if (!pbf_ref_next(&c, field, &sub) || !pbf_ref_read(sub, &one))
            return false;
        (*n)++;
    }
    return true;
}

bool srdi_pbf_refs_scan(const uint8_t *h, size_t hl, uint32_t scalars,
                        srdi_pbf_refs *out)
{
    pbf_cur c = {h, h + hl};
    uint32_t last = 0, field;
    unsigned wt;
    memset(out, 0, sizeof *out);
    out->field = 1;
    while (scalars >> out->field)
        out->field++;
    while (c.p < c.end && *c.p != PBF_TAG(out->field, PBF_LEN)) {
        if (!pbf_tag(&c, &last, 0, &field, &wt) || wt != PBF_VARINT ||
            field >= out->field || !(scalars >> field & 1) ||
            !pbf_varint(&c, &out->u[field]))
            return false;
    }
    out->refs = c.p;
    out->refs_len = (size_t)(c.end - c.p);
    return pbf_refs(c, out->field, &out->n);
}

void srdi_pbf_refs_read(const srdi_pbf_refs *s, srdi_pbf_ref *r)
{
    srdi_pbf_refs_it it = {s->refs, s->refs_len, s->field};
    size_t got;
    while ((got = srdi_pbf_refs_next(&it, r, s->n)) > 0)
        r += got;
}

size_t srdi_pbf_refs_next(srdi_pbf_refs_it *it, srdi_pbf_ref *r, size_t max)
{
    pbf_cur c = {it->p, it->p + it->len};
    size_t n = 0;
    pbf_cur sub;
    while (n < max && pbf_ref_next(&c, it->field, &sub) &&
           pbf_ref_read(sub, &r[n]))
        n++;
    it->len -= (size_t)(c.p - it->p);
    it->p = c.p;
    return n;
}
