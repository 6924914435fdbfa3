/*
 * Optional C fast paths for connector.smpp.codec (SMPP 3.4 submit_sm, deliver_sm and their
 * responses). Built by setuptools as an optional extension; codec.py works without it.
 *
 * The one rule that keeps this safe: the C code accepts only plainly well-formed input and
 * returns None for ANYTHING else (a length or limit violation, a truncation, an unknown TLV
 * kind, a mis-sized integer TLV, a duplicate tag, a value of an unexpected type, ...). The
 * pure Python implementation then runs and produces the exact result or error. Nothing here
 * raises except MemoryError (and whatever the PDU classes themselves raise, as in Python).
 *
 * For what it accepts, every function mirrors codec.py / tlv.py step by step: same search
 * windows for the C-Octet Strings, Latin-1 for str, bytes for Octet Strings, PDUs built by
 * calling the msgspec Struct class with positional arguments in pdu.py's field order.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#define HEADER_SIZE 16
#define CMD_SUBMIT_SM 0x00000004u
#define CMD_DELIVER_SM 0x00000005u
#define CMD_SUBMIT_SM_RESP 0x80000004u
#define CMD_DELIVER_SM_RESP 0x80000005u

/* TLV kinds, per tag (tlv.TLV_TYPES): 0 = unknown tag (raw bytes), 1/2/4 = unsigned integer
 * of that many octets, C-Octet String, Octet String, zero-length flag, or DEFER for a kind
 * this file does not know (always left to Python). */
enum { K_UNKNOWN = 0, K_INT1 = 1, K_INT2 = 2, K_INT4 = 4, K_CSTR = 5, K_OSTR = 6, K_FLAG = 7,
       K_DEFER = 8 };

static uint8_t tlv_kind[65536];
static uint16_t tlv_size[65536];

#define N_SM_FIELDS 20
#define N_RESP_FIELDS 4

static const char *const SM_FIELDS[N_SM_FIELDS] = {
    "command_status", "sequence_number", "service_type", "source_addr_ton",
    "source_addr_npi", "source_addr", "dest_addr_ton", "dest_addr_npi",
    "destination_addr", "esm_class", "protocol_id", "priority_flag",
    "schedule_delivery_time", "validity_period", "registered_delivery",
    "replace_if_present_flag", "data_coding", "sm_default_msg_id", "short_message", "tlvs",
};
static const char *const RESP_FIELDS[N_RESP_FIELDS] = {
    "command_status", "sequence_number", "message_id", "tlvs",
};

typedef struct {
    PyObject *cls;
    uint32_t command_id;
    int n_fields;
    /* Slot offsets of the fields (msgspec stores Struct fields in __slots__); 0 when a
     * field is not a plain object slot, then attribute lookup is used instead. */
    Py_ssize_t offsets[N_SM_FIELDS];
    PyObject *names[N_SM_FIELDS];
} PduClass;

static PduClass submit_sm, deliver_sm, submit_sm_resp, deliver_sm_resp;
static PyObject *decode_fallback = NULL;
static PyObject *encode_fallback = NULL;

/* ---------------------------------------------------------------------------- helpers */

static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static inline void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Index of the first NUL in d[start:stop], or -1 (bytes.find(0, start, stop)). */
static inline Py_ssize_t find_nul(const uint8_t *d, Py_ssize_t start, Py_ssize_t stop) {
    if (stop <= start) {
        return -1;
    }
    const uint8_t *hit = memchr(d + start, 0, (size_t)(stop - start));
    return hit == NULL ? -1 : (Py_ssize_t)(hit - d);
}

static inline PyObject *latin1(const uint8_t *d, Py_ssize_t start, Py_ssize_t stop) {
    return PyUnicode_DecodeLatin1((const char *)d + start, stop - start, NULL);
}

static PyObject *call_class(PyObject *cls, PyObject **args, Py_ssize_t nargs) {
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (args[i] == NULL) {
            for (Py_ssize_t j = 0; j < nargs; j++) {
                Py_XDECREF(args[j]);
            }
            return NULL;
        }
    }
    PyObject *result = PyObject_Vectorcall(cls, args, (size_t)nargs, NULL);
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_DECREF(args[i]);
    }
    return result;
}

/* ----------------------------------------------------------------------------- decoding */

/* TLVs in d[pos:end] as a new dict, or a new reference to None to defer to Python, or NULL
 * on MemoryError. Mirrors tlv.decode_tlvs for well-formed TLVs only. */
static PyObject *decode_tlvs(const uint8_t *d, Py_ssize_t pos, Py_ssize_t end) {
    PyObject *tlvs = PyDict_New();
    if (tlvs == NULL) {
        return NULL;
    }
    while (pos < end) {
        if (end - pos < 4) {
            goto defer;
        }
        uint16_t tag = be16(d + pos);
        Py_ssize_t length = be16(d + pos + 2);
        pos += 4;
        if (pos + length > end) {
            goto defer;
        }
        const uint8_t *v = d + pos;
        PyObject *value;
        switch (tlv_kind[tag]) {
        case K_UNKNOWN:
            value = PyBytes_FromStringAndSize((const char *)v, length);
            break;
        case K_INT1:
            if (length != 1) {
                goto defer; /* Python tolerates mis-sized integers: let it decide. */
            }
            value = PyLong_FromLong(v[0]);
            break;
        case K_INT2:
            if (length != 2) {
                goto defer;
            }
            value = PyLong_FromLong(be16(v));
            break;
        case K_INT4:
            if (length != 4) {
                goto defer;
            }
            value = PyLong_FromUnsignedLong(be32(v));
            break;
        case K_CSTR: {
            if (length == 0 || length > tlv_size[tag]) {
                goto defer;
            }
            /* Either NUL-terminated with no other NUL, or without any NUL at all (a missing
             * terminator is tolerated, as in tlv.py). An embedded NUL is left to Python. */
            const uint8_t *nul = memchr(v, 0, (size_t)length);
            Py_ssize_t size = length;
            if (nul != NULL) {
                if (nul != v + length - 1) {
                    goto defer;
                }
                size = length - 1;
            }
            value = PyUnicode_DecodeLatin1((const char *)v, size, NULL);
            break;
        }
        case K_OSTR:
            if (length > tlv_size[tag]) {
                goto defer;
            }
            value = PyBytes_FromStringAndSize((const char *)v, length);
            break;
        case K_FLAG:
            if (length != 0) {
                goto defer;
            }
            value = PyBytes_FromStringAndSize(NULL, 0);
            break;
        default:
            goto defer;
        }
        if (value == NULL) {
            goto error;
        }
        PyObject *key = PyLong_FromLong(tag);
        if (key == NULL) {
            Py_DECREF(value);
            goto error;
        }
        Py_ssize_t before = PyDict_GET_SIZE(tlvs);
        int rc = PyDict_SetItem(tlvs, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0) {
            goto error;
        }
        if (PyDict_GET_SIZE(tlvs) == before) {
            goto defer; /* a repeated tag */
        }
        pos += length;
    }
    return tlvs;
defer:
    Py_DECREF(tlvs);
    Py_RETURN_NONE;
error:
    Py_DECREF(tlvs);
    return NULL;
}

/* submit_sm_resp / deliver_sm_resp (codec._decode_message_id_resp). */
static PyObject *decode_message_id_resp(PduClass *pc, const uint8_t *d, Py_ssize_t n,
                                        uint32_t status, uint32_t seq) {
    PyObject *args[N_RESP_FIELDS];
    if (n == HEADER_SIZE) {
        if (status == 0) {
            Py_RETURN_NONE; /* a success without message_id is unusual: Python decides */
        }
        args[0] = PyLong_FromUnsignedLong(status);
        args[1] = PyLong_FromUnsignedLong(seq);
        return call_class(pc->cls, args, 2);
    }
    Py_ssize_t nul = find_nul(d, HEADER_SIZE, Py_MIN(HEADER_SIZE + 65, n));
    if (nul < 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t nargs = 3;
    args[3] = NULL;
    if (nul + 1 < n) {
        PyObject *tlvs = decode_tlvs(d, nul + 1, n);
        if (tlvs == NULL || tlvs == Py_None) {
            return tlvs;
        }
        args[3] = tlvs;
        nargs = 4;
    }
    args[0] = PyLong_FromUnsignedLong(status);
    args[1] = PyLong_FromUnsignedLong(seq);
    args[2] = latin1(d, HEADER_SIZE, nul);
    return call_class(pc->cls, args, nargs);
}

/* submit_sm / deliver_sm (codec._decode_short_message), same windows, same order. */
static PyObject *decode_short_message(PduClass *pc, const uint8_t *d, Py_ssize_t n,
                                      uint32_t status, uint32_t seq) {
    Py_ssize_t pos = HEADER_SIZE;
    Py_ssize_t st_start, st_end, sa_start, sa_end, da_start, da_end;
    Py_ssize_t sdt_start, sdt_end, vp_start, vp_end;
    Py_ssize_t nul;
    uint8_t src_ton, src_npi, dst_ton, dst_npi, esm_class, protocol_id, priority_flag;

    nul = find_nul(d, pos, Py_MIN(pos + 6, n));
    if (nul < 0) {
        Py_RETURN_NONE;
    }
    st_start = pos;
    st_end = nul;
    pos = nul + 3;
    if (pos >= n) {
        Py_RETURN_NONE;
    }
    src_ton = d[nul + 1];
    src_npi = d[nul + 2];

    nul = find_nul(d, pos, Py_MIN(pos + 21, n));
    if (nul < 0) {
        Py_RETURN_NONE;
    }
    sa_start = pos;
    sa_end = nul;
    pos = nul + 3;
    if (pos >= n) {
        Py_RETURN_NONE;
    }
    dst_ton = d[nul + 1];
    dst_npi = d[nul + 2];

    nul = find_nul(d, pos, Py_MIN(pos + 21, n));
    if (nul < 0) {
        Py_RETURN_NONE;
    }
    da_start = pos;
    da_end = nul;
    pos = nul + 4;
    if (pos >= n) {
        Py_RETURN_NONE;
    }
    esm_class = d[nul + 1];
    protocol_id = d[nul + 2];
    priority_flag = d[nul + 3];

    nul = find_nul(d, pos, Py_MIN(pos + 17, n));
    if (nul < 0) {
        Py_RETURN_NONE;
    }
    sdt_start = pos;
    sdt_end = nul;
    pos = nul + 1;

    nul = find_nul(d, pos, Py_MIN(pos + 17, n));
    if (nul < 0) {
        Py_RETURN_NONE;
    }
    vp_start = pos;
    vp_end = nul;
    pos = nul + 6;
    if (pos > n) {
        Py_RETURN_NONE;
    }
    Py_ssize_t sm_length = d[pos - 1];
    Py_ssize_t end = pos + sm_length;
    if (sm_length > 254 || end > n) {
        Py_RETURN_NONE;
    }

    PyObject *tlvs;
    if (end < n) {
        tlvs = decode_tlvs(d, end, n);
        if (tlvs == NULL || tlvs == Py_None) {
            return tlvs;
        }
    }
    else {
        tlvs = PyDict_New();
    }

    PyObject *args[N_SM_FIELDS];
    args[0] = PyLong_FromUnsignedLong(status);
    args[1] = PyLong_FromUnsignedLong(seq);
    args[2] = latin1(d, st_start, st_end);
    args[3] = PyLong_FromLong(src_ton);
    args[4] = PyLong_FromLong(src_npi);
    args[5] = latin1(d, sa_start, sa_end);
    args[6] = PyLong_FromLong(dst_ton);
    args[7] = PyLong_FromLong(dst_npi);
    args[8] = latin1(d, da_start, da_end);
    args[9] = PyLong_FromLong(esm_class);
    args[10] = PyLong_FromLong(protocol_id);
    args[11] = PyLong_FromLong(priority_flag);
    args[12] = latin1(d, sdt_start, sdt_end);
    args[13] = latin1(d, vp_start, vp_end);
    args[14] = PyLong_FromLong(d[nul + 1]);
    args[15] = PyLong_FromLong(d[nul + 2]);
    args[16] = PyLong_FromLong(d[nul + 3]);
    args[17] = PyLong_FromLong(d[nul + 4]);
    args[18] = PyBytes_FromStringAndSize((const char *)d + pos, sm_length);
    args[19] = tlvs;
    return call_class(pc->cls, args, N_SM_FIELDS);
}

/* A decoded PDU (new reference), None (new reference) to defer, or NULL on error. */
static PyObject *decode_fast_impl(PyObject *frame) {
    if (!PyBytes_CheckExact(frame)) {
        Py_RETURN_NONE;
    }
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(frame);
    Py_ssize_t n = PyBytes_GET_SIZE(frame);
    if (n < HEADER_SIZE || (Py_ssize_t)be32(d) != n) {
        Py_RETURN_NONE;
    }
    uint32_t command_id = be32(d + 4);
    uint32_t status = be32(d + 8);
    uint32_t seq = be32(d + 12);
    switch (command_id) {
    case CMD_SUBMIT_SM_RESP:
        if (submit_sm_resp.cls != NULL) {
            return decode_message_id_resp(&submit_sm_resp, d, n, status, seq);
        }
        break;
    case CMD_DELIVER_SM_RESP:
        if (deliver_sm_resp.cls != NULL) {
            return decode_message_id_resp(&deliver_sm_resp, d, n, status, seq);
        }
        break;
    case CMD_SUBMIT_SM:
        if (submit_sm.cls != NULL) {
            return decode_short_message(&submit_sm, d, n, status, seq);
        }
        break;
    case CMD_DELIVER_SM:
        if (deliver_sm.cls != NULL) {
            return decode_short_message(&deliver_sm, d, n, status, seq);
        }
        break;
    default:
        break;
    }
    Py_RETURN_NONE;
}

/* ----------------------------------------------------------------------------- encoding */

/* New references to the PDU's fields, or -1 (nothing held) when one is missing. */
static int get_fields(PduClass *pc, PyObject *pdu, PyObject **values) {
    for (int i = 0; i < pc->n_fields; i++) {
        PyObject *value;
        if (pc->offsets[i] > 0) {
            value = *(PyObject **)((char *)pdu + pc->offsets[i]);
            Py_XINCREF(value);
        }
        else {
            value = PyObject_GetAttr(pdu, pc->names[i]);
            if (value == NULL) {
                PyErr_Clear(); /* Python's encode will raise what it raises. */
            }
        }
        if (value == NULL) {
            for (int j = 0; j < i; j++) {
                Py_DECREF(values[j]);
            }
            return -1;
        }
        values[i] = value;
    }
    return 0;
}

static void release_fields(PyObject **values, int n) {
    for (int i = 0; i < n; i++) {
        Py_DECREF(values[i]);
    }
}

/* An exact int in 0..max, else -1. */
static inline long long small_uint(PyObject *o, unsigned long long max) {
    if (!PyLong_CheckExact(o)) {
        return -1;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0 || v < 0 || (unsigned long long)v > max) {
        PyErr_Clear();
        return -1;
    }
    return v;
}

/* An exact str of at most max_len Latin-1 characters without NUL: its length, else -1. */
static inline Py_ssize_t cstring_len(PyObject *o, Py_ssize_t max_len) {
    if (!PyUnicode_CheckExact(o)) {
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(o) < 0) {
        PyErr_Clear();
        return -1;
    }
#endif
    if (PyUnicode_KIND(o) != PyUnicode_1BYTE_KIND) {
        return -1;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(o);
    if (len > max_len || memchr(PyUnicode_1BYTE_DATA(o), 0, (size_t)len) != NULL) {
        return -1;
    }
    return len;
}

/* Encoded size of a TLV dict (tlv.encode_tlvs), or -1 to defer. */
static Py_ssize_t tlvs_size(PyObject *tlvs) {
    Py_ssize_t total = 0;
    Py_ssize_t i = 0;
    PyObject *key, *value;
    while (PyDict_Next(tlvs, &i, &key, &value)) {
        long long tag = small_uint(key, 0xFFFF);
        if (tag < 0) {
            return -1;
        }
        int kind = tlv_kind[tag];
        Py_ssize_t len;
        switch (kind) {
        case K_UNKNOWN:
        case K_OSTR:
        case K_FLAG:
            if (!PyBytes_CheckExact(value)) {
                return -1;
            }
            len = PyBytes_GET_SIZE(value);
            if (len > 0xFFFF || (kind != K_UNKNOWN && len > tlv_size[tag])) {
                return -1;
            }
            break;
        case K_CSTR:
            len = cstring_len(value, (Py_ssize_t)tlv_size[tag] - 1);
            if (len < 0) {
                return -1;
            }
            len += 1;
            break;
        case K_INT1:
        case K_INT2:
        case K_INT4:
            if (small_uint(value, kind == K_INT4 ? 0xFFFFFFFFull : (1ull << (8 * kind)) - 1) < 0) {
                return -1;
            }
            len = kind;
            break;
        default:
            return -1;
        }
        total += 4 + len;
    }
    return total;
}

/* Write the TLVs sized by tlvs_size (which validated them all); returns the new cursor. */
static uint8_t *write_tlvs(uint8_t *out, PyObject *tlvs) {
    Py_ssize_t i = 0;
    PyObject *key, *value;
    while (PyDict_Next(tlvs, &i, &key, &value)) {
        uint16_t tag = (uint16_t)PyLong_AsLong(key);
        int kind = tlv_kind[tag];
        put16(out, tag);
        if (kind == K_CSTR) {
            Py_ssize_t len = PyUnicode_GET_LENGTH(value);
            put16(out + 2, (uint32_t)(len + 1));
            memcpy(out + 4, PyUnicode_1BYTE_DATA(value), (size_t)len);
            out[4 + len] = 0;
            out += 4 + len + 1;
        }
        else if (kind == K_INT1 || kind == K_INT2 || kind == K_INT4) {
            uint32_t v = (uint32_t)PyLong_AsUnsignedLong(value);
            put16(out + 2, (uint32_t)kind);
            if (kind == K_INT1) {
                out[4] = (uint8_t)v;
            }
            else if (kind == K_INT2) {
                put16(out + 4, v);
            }
            else {
                put32(out + 4, v);
            }
            out += 4 + kind;
        }
        else {
            Py_ssize_t len = PyBytes_GET_SIZE(value);
            put16(out + 2, (uint32_t)len);
            memcpy(out + 4, PyBytes_AS_STRING(value), (size_t)len);
            out += 4 + len;
        }
    }
    return out;
}

static inline uint8_t *put_cstring(uint8_t *out, PyObject *s, Py_ssize_t len) {
    memcpy(out, PyUnicode_1BYTE_DATA(s), (size_t)len);
    out[len] = 0;
    return out + len + 1;
}

/* codec.encode_short_message for well-formed submit_sm / deliver_sm. */
static PyObject *encode_short_message(PduClass *pc, PyObject *pdu) {
    static const int CSTR_INDEX[5] = {2, 5, 8, 12, 13};
    static const Py_ssize_t CSTR_MAX[5] = {5, 20, 20, 16, 16};
    static const int OCTET_INDEX[11] = {3, 4, 6, 7, 9, 10, 11, 14, 15, 16, 17};
    PyObject *f[N_SM_FIELDS];
    Py_ssize_t clen[N_SM_FIELDS];
    uint8_t octet[N_SM_FIELDS];
    PyObject *result = NULL;

    if (get_fields(pc, pdu, f) < 0) {
        Py_RETURN_NONE;
    }
    long long status = small_uint(f[0], 0xFFFFFFFFull);
    long long seq = small_uint(f[1], 0xFFFFFFFFull);
    if (status < 0 || seq < 0) {
        goto defer;
    }
    Py_ssize_t body = 0;
    for (int k = 0; k < 5; k++) {
        int i = CSTR_INDEX[k];
        clen[i] = cstring_len(f[i], CSTR_MAX[k]);
        if (clen[i] < 0) {
            goto defer;
        }
        body += clen[i] + 1;
    }
    for (int k = 0; k < 11; k++) {
        int i = OCTET_INDEX[k];
        long long v = small_uint(f[i], 0xFF);
        if (v < 0) {
            goto defer;
        }
        octet[i] = (uint8_t)v;
    }
    PyObject *sm = f[18];
    if (!PyBytes_CheckExact(sm) || PyBytes_GET_SIZE(sm) > 254) {
        goto defer;
    }
    Py_ssize_t sm_length = PyBytes_GET_SIZE(sm);
    body += 11 + 1 + sm_length;
    PyObject *tlvs = f[19];
    if (!PyDict_CheckExact(tlvs)) {
        goto defer;
    }
    Py_ssize_t tlv_length = PyDict_GET_SIZE(tlvs) ? tlvs_size(tlvs) : 0;
    if (tlv_length < 0) {
        goto defer;
    }
    body += tlv_length;
    if (HEADER_SIZE + body > 0xFFFFFFFFll) {
        goto defer;
    }
    result = PyBytes_FromStringAndSize(NULL, HEADER_SIZE + body);
    if (result == NULL) {
        goto done;
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    put32(out, (uint32_t)(HEADER_SIZE + body));
    put32(out + 4, pc->command_id);
    put32(out + 8, (uint32_t)status);
    put32(out + 12, (uint32_t)seq);
    out += HEADER_SIZE;
    out = put_cstring(out, f[2], clen[2]);
    *out++ = octet[3];
    *out++ = octet[4];
    out = put_cstring(out, f[5], clen[5]);
    *out++ = octet[6];
    *out++ = octet[7];
    out = put_cstring(out, f[8], clen[8]);
    *out++ = octet[9];
    *out++ = octet[10];
    *out++ = octet[11];
    out = put_cstring(out, f[12], clen[12]);
    out = put_cstring(out, f[13], clen[13]);
    *out++ = octet[14];
    *out++ = octet[15];
    *out++ = octet[16];
    *out++ = octet[17];
    *out++ = (uint8_t)sm_length;
    memcpy(out, PyBytes_AS_STRING(sm), (size_t)sm_length);
    out += sm_length;
    if (tlv_length > 0) {
        write_tlvs(out, tlvs);
    }
    goto done;
defer:
    result = Py_NewRef(Py_None);
done:
    release_fields(f, N_SM_FIELDS);
    return result;
}

/* codec._encode_message_id_resp for well-formed submit_sm_resp / deliver_sm_resp. */
static PyObject *encode_message_id_resp(PduClass *pc, PyObject *pdu) {
    PyObject *f[N_RESP_FIELDS];
    PyObject *result = NULL;

    if (get_fields(pc, pdu, f) < 0) {
        Py_RETURN_NONE;
    }
    long long status = small_uint(f[0], 0xFFFFFFFFull);
    long long seq = small_uint(f[1], 0xFFFFFFFFull);
    Py_ssize_t mid_length = cstring_len(f[2], 64);
    PyObject *tlvs = f[3];
    if (status < 0 || seq < 0 || mid_length < 0 || !PyDict_CheckExact(tlvs)) {
        goto defer;
    }
    Py_ssize_t body;
    Py_ssize_t tlv_length = 0;
    if (status != 0 && mid_length == 0 && PyDict_GET_SIZE(tlvs) == 0) {
        body = 0; /* §4.4.2: no body in an error response */
    }
    else {
        if (PyDict_GET_SIZE(tlvs)) {
            tlv_length = tlvs_size(tlvs);
            if (tlv_length < 0) {
                goto defer;
            }
        }
        body = mid_length + 1 + tlv_length;
    }
    if (HEADER_SIZE + body > 0xFFFFFFFFll) {
        goto defer;
    }
    result = PyBytes_FromStringAndSize(NULL, HEADER_SIZE + body);
    if (result == NULL) {
        goto done;
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    put32(out, (uint32_t)(HEADER_SIZE + body));
    put32(out + 4, pc->command_id);
    put32(out + 8, (uint32_t)status);
    put32(out + 12, (uint32_t)seq);
    if (body > 0) {
        out = put_cstring(out + HEADER_SIZE, f[2], mid_length);
        if (tlv_length > 0) {
            write_tlvs(out, tlvs);
        }
    }
    goto done;
defer:
    result = Py_NewRef(Py_None);
done:
    release_fields(f, N_RESP_FIELDS);
    return result;
}

static PyObject *encode_fast_impl(PyObject *pdu) {
    PyTypeObject *type = Py_TYPE(pdu);
    if (type == (PyTypeObject *)submit_sm.cls) {
        return encode_short_message(&submit_sm, pdu);
    }
    if (type == (PyTypeObject *)deliver_sm.cls) {
        return encode_short_message(&deliver_sm, pdu);
    }
    if (type == (PyTypeObject *)submit_sm_resp.cls) {
        return encode_message_id_resp(&submit_sm_resp, pdu);
    }
    if (type == (PyTypeObject *)deliver_sm_resp.cls) {
        return encode_message_id_resp(&deliver_sm_resp, pdu);
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------ module functions */

static PyObject *sp_decode_fast(PyObject *module, PyObject *frame) {
    return decode_fast_impl(frame);
}

static PyObject *sp_encode_fast(PyObject *module, PyObject *pdu) {
    return encode_fast_impl(pdu);
}

/* The one argument of decode(frame) / encode(pdu), positional or by keyword like the Python
 * functions they replace; NULL with TypeError otherwise. */
static PyObject *one_argument(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                              const char *function, const char *name) {
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs + nkw == 1 &&
        (nkw == 0 || PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), name) == 0)) {
        return args[0];
    }
    PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%s)", function, name);
    return NULL;
}

static PyObject *sp_decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames) {
    PyObject *frame = one_argument(args, nargs, kwnames, "decode", "frame");
    if (frame == NULL) {
        return NULL;
    }
    PyObject *result = decode_fast_impl(frame);
    if (result != Py_None) {
        return result;
    }
    Py_DECREF(result);
    if (decode_fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.setup() was not called");
        return NULL;
    }
    return PyObject_CallOneArg(decode_fallback, frame);
}

static PyObject *sp_encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames) {
    PyObject *pdu = one_argument(args, nargs, kwnames, "encode", "pdu");
    if (pdu == NULL) {
        return NULL;
    }
    PyObject *result = encode_fast_impl(pdu);
    if (result != Py_None) {
        return result;
    }
    Py_DECREF(result);
    if (encode_fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.setup() was not called");
        return NULL;
    }
    return PyObject_CallOneArg(encode_fallback, pdu);
}

static void clear_class(PduClass *pc) {
    Py_CLEAR(pc->cls);
    for (int i = 0; i < N_SM_FIELDS; i++) {
        Py_CLEAR(pc->names[i]);
    }
}

/* Check `cls` against the layout this file was written for and record its slot offsets in
 * `pc` (zeroed by the caller); on error `pc` may hold references for clear_class(). */
static int setup_class(PduClass *pc, PyObject *cls, uint32_t command_id,
                       const char *const *fields, int n_fields) {
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "_speedups.setup() expects PDU classes");
        return -1;
    }
    PyObject *cid = PyObject_GetAttrString(cls, "command_id");
    if (cid == NULL) {
        return -1;
    }
    unsigned long value = PyLong_AsUnsignedLong(cid);
    Py_DECREF(cid);
    if (value == (unsigned long)-1 && PyErr_Occurred()) {
        return -1;
    }
    if (value != command_id) {
        PyErr_Format(PyExc_RuntimeError, "%R has command_id 0x%08lX, expected 0x%08lX", cls,
                     value, (unsigned long)command_id);
        return -1;
    }
    PyObject *names = PyObject_GetAttrString(cls, "__struct_fields__");
    if (names == NULL) {
        return -1;
    }
    int ok = PyTuple_Check(names) && PyTuple_GET_SIZE(names) == n_fields;
    for (int i = 0; ok && i < n_fields; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        ok = PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, fields[i]) == 0;
    }
    Py_DECREF(names);
    if (!ok) {
        PyErr_Format(PyExc_RuntimeError,
                     "the fields of %R changed: update connector/smpp/_speedups.c (or set "
                     "CONNECTOR_PURE_PYTHON=1)",
                     cls);
        return -1;
    }
    pc->cls = Py_NewRef(cls);
    pc->command_id = command_id;
    pc->n_fields = n_fields;
    for (int i = 0; i < n_fields; i++) {
        pc->names[i] = PyUnicode_InternFromString(fields[i]);
        if (pc->names[i] == NULL) {
            return -1;
        }
        /* On the class, a slot's attribute is its member descriptor. */
        PyObject *descr = PyObject_GetAttr(cls, pc->names[i]);
        if (descr == NULL) {
            return -1;
        }
        if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            if (member->type == T_OBJECT_EX && !(member->flags & READONLY) &&
                member->offset > 0) {
                pc->offsets[i] = member->offset;
            }
        }
        Py_DECREF(descr);
    }
    return 0;
}

/* Fill kinds / sizes (65536 entries each, zeroed by the caller) from tlv.TLV_TYPES. */
static int setup_tlv_types(PyObject *types, uint8_t *kinds, uint16_t *sizes) {
    if (!PyDict_Check(types)) {
        PyErr_SetString(PyExc_TypeError, "tlv_types must be a dict");
        return -1;
    }
    Py_ssize_t i = 0;
    PyObject *tag, *spec;
    while (PyDict_Next(types, &i, &tag, &spec)) {
        long t = PyLong_CheckExact(tag) ? PyLong_AsLong(tag) : -1;
        if (t == -1 && PyErr_Occurred()) {
            PyErr_Clear();
        }
        if (t < 0 || t > 0xFFFF) {
            continue; /* never matches a 16-bit tag */
        }
        int kind = K_DEFER;
        long size = -1;
        if (PyTuple_Check(spec) && PyTuple_GET_SIZE(spec) == 2 &&
            PyLong_CheckExact(PyTuple_GET_ITEM(spec, 1))) {
            PyObject *k = PyTuple_GET_ITEM(spec, 0);
            size = PyLong_AsLong(PyTuple_GET_ITEM(spec, 1));
            if (size == -1 && PyErr_Occurred()) {
                PyErr_Clear();
            }
            if (PyLong_CheckExact(k)) {
                long width = PyLong_AsLong(k);
                if (width == -1 && PyErr_Occurred()) {
                    PyErr_Clear();
                }
                if ((width == 1 || width == 2 || width == 4) && size == width) {
                    kind = (int)width;
                }
            }
            else if (PyUnicode_CheckExact(k) && size >= 0 && size <= 0xFFFF) {
                if (PyUnicode_CompareWithASCIIString(k, "c") == 0 && size >= 1) {
                    kind = K_CSTR;
                }
                else if (PyUnicode_CompareWithASCIIString(k, "o") == 0) {
                    kind = K_OSTR;
                }
                else if (PyUnicode_CompareWithASCIIString(k, "f") == 0 && size == 0) {
                    kind = K_FLAG;
                }
            }
        }
        kinds[t] = (uint8_t)kind;
        sizes[t] = kind == K_DEFER ? 0 : (uint16_t)size;
    }
    return 0;
}

/* All or nothing: a failed setup() leaves the previous one in place. */
static PyObject *sp_setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    static uint8_t kinds[65536];
    static uint16_t sizes[65536];
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "setup(submit_sm, deliver_sm, submit_sm_resp, deliver_sm_resp, "
                        "tlv_types, decode_fallback, encode_fallback) takes 7 arguments");
        return NULL;
    }
    if (!PyCallable_Check(args[5]) || !PyCallable_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "the fallbacks must be callable");
        return NULL;
    }
    PduClass fresh[4];
    memset(fresh, 0, sizeof fresh);
    memset(kinds, 0, sizeof kinds);
    memset(sizes, 0, sizeof sizes);
    if (setup_tlv_types(args[4], kinds, sizes) < 0 ||
        setup_class(&fresh[0], args[0], CMD_SUBMIT_SM, SM_FIELDS, N_SM_FIELDS) < 0 ||
        setup_class(&fresh[1], args[1], CMD_DELIVER_SM, SM_FIELDS, N_SM_FIELDS) < 0 ||
        setup_class(&fresh[2], args[2], CMD_SUBMIT_SM_RESP, RESP_FIELDS, N_RESP_FIELDS) < 0 ||
        setup_class(&fresh[3], args[3], CMD_DELIVER_SM_RESP, RESP_FIELDS, N_RESP_FIELDS) < 0) {
        for (int i = 0; i < 4; i++) {
            clear_class(&fresh[i]);
        }
        return NULL;
    }
    memcpy(tlv_kind, kinds, sizeof kinds);
    memcpy(tlv_size, sizes, sizeof sizes);
    PduClass *targets[4] = {&submit_sm, &deliver_sm, &submit_sm_resp, &deliver_sm_resp};
    for (int i = 0; i < 4; i++) {
        PduClass old = *targets[i];
        *targets[i] = fresh[i];
        clear_class(&old);
    }
    Py_XSETREF(decode_fallback, Py_NewRef(args[5]));
    Py_XSETREF(encode_fallback, Py_NewRef(args[6]));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"setup", (PyCFunction)(void (*)(void))sp_setup, METH_FASTCALL,
     "setup($module, submit_sm, deliver_sm, submit_sm_resp, deliver_sm_resp, tlv_types, "
     "decode_fallback, encode_fallback, /)\n--\n\n"
     "Bind the PDU classes, the TLV type table and the pure Python fallbacks."},
    {"decode_fast", (PyCFunction)sp_decode_fast, METH_O,
     "decode_fast($module, frame, /)\n--\n\n"
     "Decode a well-formed submit_sm, deliver_sm or *_resp frame; None for anything else."},
    {"encode_fast", (PyCFunction)sp_encode_fast, METH_O,
     "encode_fast($module, pdu, /)\n--\n\n"
     "Encode a well-formed SubmitSm, DeliverSm or *SmResp; None for anything else."},
    {"decode", (PyCFunction)(void (*)(void))sp_decode, METH_FASTCALL | METH_KEYWORDS,
     "decode($module, /, frame)\n--\n\n"
     "decode_fast(frame), or the pure Python decoder when that returns None."},
    {"encode", (PyCFunction)(void (*)(void))sp_encode, METH_FASTCALL | METH_KEYWORDS,
     "encode($module, /, pdu)\n--\n\n"
     "encode_fast(pdu), or the pure Python encoder when that returns None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "connector.smpp._speedups",
    "C fast paths for connector.smpp.codec (optional; see codec.py).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module_def); }
