/* fg_http — minimal HTTP/1.1 request parsing and response-head writing. */
#include "fg_http.h"

#include <strings.h>
#include <time.h>

enum { CS_SIZE, CS_DATA, CS_DATA_CRLF, CS_TRAILER };

#define SINK_READ (256u * 1024u) /* how far ahead a streamed body asks the caller to read */

int (*fg_http_sink_open)(const fg_req *req, fg_sink *s);

fg_str fg_req_header(const fg_req *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < req->nhdrs; i++)
        if (req->hdrs[i].name.n == n && strncasecmp(req->hdrs[i].name.p, name, n) == 0)
            return req->hdrs[i].value;
    return (fg_str){req->head.p, 0};
}

void fg_lower(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] + ('a' - 'A'));
}

long long fg_parse_u(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Case-insensitive equality of a slice and a lower-case literal. */
static int name_is(fg_str s, const char *lit, size_t litlen)
{
    return s.n == litlen && strncasecmp(s.p, lit, litlen) == 0;
}
#define NAME_IS(s, lit) name_is((s), (lit), sizeof(lit) - 1)

/* True when the comma-separated header value contains token (case-insensitive). */
static int value_has(fg_str v, const char *tok)
{
    size_t tn = strlen(tok);
    for (size_t i = 0; i + tn <= v.n; i++)
        if (strncasecmp(v.p + i, tok, tn) == 0)
            return 1;
    return 0;
}

/* Parses an x-fake-* number; -1 when malformed, so a bad header is simply ignored. */
static long fake_num(fg_str v)
{
    long long x = fg_parse_u(v.p, v.n);
    return x > 0x7fffffffLL ? -1 : (long)x;
}

/* Remembers what the server itself needs from one header. */
static int note_header(fg_req *req, fg_str name, fg_str value)
{
    switch (name.n) {
    case 6:
        if (NAME_IS(name, "expect"))
            req->expect_continue = value_has(value, "100-continue");
        break;
    case 10:
        if (NAME_IS(name, "connection")) {
            if (value_has(value, "close"))
                req->keep_alive = 0;
            else if (value_has(value, "keep-alive"))
                req->keep_alive = 1;
        }
        break;
    case 13:
        if (NAME_IS(name, "x-fake-chunks"))
            req->x_chunks = fake_num(value);
        else if (NAME_IS(name, "x-fake-status"))
            req->x_status = fake_num(value);
        else if (NAME_IS(name, "x-fake-finish"))
            req->x_finish = value;
        break;
    case 14:
        if (NAME_IS(name, "content-length")) {
            long long cl = fg_parse_u(value.p, value.n);
            if (cl < 0 || (req->content_length >= 0 && cl != req->content_length))
                return -1;
            req->content_length = cl;
        } else if (NAME_IS(name, "x-goog-api-key")) {
            req->api_key = value;
        }
        break;
    case 17:
        if (NAME_IS(name, "transfer-encoding"))
            req->chunked = value_has(value, "chunked");
        break;
    case 18:
        if (NAME_IS(name, "x-fake-interval-ms"))
            req->x_interval_ms = fake_num(value);
        else if (NAME_IS(name, "x-fake-chunk-bytes"))
            req->x_chunk_bytes = fake_num(value);
        else if (NAME_IS(name, "x-fake-error-after"))
            req->x_error_after = fake_num(value);
        break;
    }
    return 0;
}

/* Splits "METHOD SP target SP HTTP/1.x" into req; returns 0 or -1. */
static int parse_request_line(const char *p, size_t n, fg_req *req)
{
    const char *end = p + n;
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1 || sp1 == p)
        return -1;
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t)
        return -1;
    const char *v = sp2 + 1;
    if (end - v != 8 || memcmp(v, "HTTP/1.", 7) != 0 || (v[7] != '0' && v[7] != '1'))
        return -1;
    req->method = (fg_str){p, (size_t)(sp1 - p)};
    req->target = (fg_str){t, (size_t)(sp2 - t)};
    req->minor = v[7] - '0';
    const char *q = memchr(t, '?', req->target.n);
    if (q) {
        req->path = (fg_str){t, (size_t)(q - t)};
        req->query = (fg_str){q + 1, (size_t)(sp2 - q - 1)};
    } else {
        req->path = req->target;
        req->query = (fg_str){sp2, 0};
    }
    return 0;
}

/* Trims spaces and tabs at both ends of a slice. */
static fg_str trim(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return (fg_str){p, (size_t)(e - p)};
}

int fg_http_parse_head(const char *buf, size_t head_len, fg_req *req)
{
    req->nhdrs = 0;
    req->keep_alive = -1;
    req->expect_continue = req->chunked = 0;
    req->content_length = -1;
    req->api_key = (fg_str){buf, 0};
    req->x_chunks = req->x_interval_ms = req->x_chunk_bytes = req->x_status = -1;
    req->x_error_after = -1;
    req->x_finish = (fg_str){buf, 0};
    req->head = (fg_str){buf, head_len};
    req->body = (fg_str){buf + head_len, 0};
    req->sink = NULL;

    const char *p = buf, *end = buf + head_len - 2; /* drop the blank line's CRLF */
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || nl == p || nl[-1] != '\r' || parse_request_line(p, (size_t)(nl - 1 - p), req))
        return -1;
    for (p = nl + 1; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl[-1] != '\r')
            return -1;
        const char *le = nl - 1;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon == p || colon[-1] == ' ' || colon[-1] == '\t')
            return -1;
        fg_str name = {p, (size_t)(colon - p)};
        fg_str value = trim(colon + 1, le);
        if (note_header(req, name, value))
            return -1;
        /* Headers past the cap still steer behaviour; they are just not listed. */
        if (req->nhdrs < FG_MAX_HDRS)
            req->hdrs[req->nhdrs++] = (fg_hdr){name, value};
    }
    if (req->keep_alive < 0)
        req->keep_alive = req->minor >= 1;
    return 0;
}

/* Decodes as much of a chunked body as buf holds, in place.  Returns DONE, MORE, BAD or
 * TOOBIG; state lives in ps so it resumes where it stopped, across reallocs of buf. */
static int dechunk(fg_parser *ps, char *buf, size_t len)
{
    for (;;) {
        switch (ps->cstate) {
        case CS_SIZE: {
            char *nl = memchr(buf + ps->raw_pos, '\n', len - ps->raw_pos);
            if (!nl)
                return len - ps->raw_pos > 1024 ? FG_PARSE_BAD : FG_PARSE_MORE;
            size_t size = 0, digits = 0;
            const char *c = buf + ps->raw_pos;
            for (;; c++, digits++) {
                int d = (*c >= '0' && *c <= '9')   ? *c - '0'
                        : (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10
                        : (*c >= 'A' && *c <= 'F') ? *c - 'A' + 10
                                                   : -1;
                if (d < 0)
                    break;
                if (size > FG_MAX_BODY)
                    return FG_PARSE_TOOBIG;
                size = size * 16 + (size_t)d;
            }
            /* Chunk extensions (";name=value") and stray whitespace are ignored. */
            if (digits == 0 || (*c != ';' && *c != '\r' && *c != '\n' && *c != ' '))
                return FG_PARSE_BAD;
            ps->raw_pos = (size_t)(nl - buf) + 1;
            if (size == 0) {
                ps->cstate = CS_TRAILER;
            } else {
                if (ps->dec_end - ps->head_len + size > FG_MAX_BODY)
                    return FG_PARSE_TOOBIG;
                ps->crem = size;
                ps->cstate = CS_DATA;
            }
            break;
        }
        case CS_DATA: {
            size_t n = len - ps->raw_pos;
            if (n == 0)
                return FG_PARSE_MORE;
            if (n > ps->crem)
                n = ps->crem;
            if (ps->dec_end != ps->raw_pos)
                memmove(buf + ps->dec_end, buf + ps->raw_pos, n);
            ps->dec_end += n;
            ps->raw_pos += n;
            ps->crem -= n;
            if (ps->crem == 0)
                ps->cstate = CS_DATA_CRLF;
            break;
        }
        case CS_DATA_CRLF:
            if (len - ps->raw_pos < 1)
                return FG_PARSE_MORE;
            if (buf[ps->raw_pos] == '\n') {
                ps->raw_pos++;
            } else {
                if (len - ps->raw_pos < 2)
                    return FG_PARSE_MORE;
                if (buf[ps->raw_pos] != '\r' || buf[ps->raw_pos + 1] != '\n')
                    return FG_PARSE_BAD;
                ps->raw_pos += 2;
            }
            ps->cstate = CS_SIZE;
            break;
        case CS_TRAILER: {
            char *line = buf + ps->raw_pos;
            char *nl = memchr(line, '\n', len - ps->raw_pos);
            if (!nl)
                return len - ps->raw_pos > 8192 ? FG_PARSE_BAD : FG_PARSE_MORE;
            ps->raw_pos = (size_t)(nl - buf) + 1;
            if (nl == line || (nl == line + 1 && line[0] == '\r'))
                return FG_PARSE_DONE;
            break; /* a trailer field: ignored */
        }
        }
    }
}

/* Decides whether to offer "100 Continue" for a request still waiting for its body. */
static void maybe_continue(fg_parser *ps, const fg_req *req)
{
    if (req->expect_continue && !ps->continue_done) {
        ps->want_continue = 1;
        ps->continue_done = 1;
    }
}

/* Streams what buf holds of a sunk body: hashes the decoded bytes, then cuts them (and, for
 * chunked framing, their framing) out of buf so the buffer never holds more than a read's
 * worth.  Returns DONE (*consumed: the head alone now), MORE, BAD or TOOBIG. */
static int sink_body(fg_parser *ps, char *buf, size_t len, size_t *consumed, size_t *hint)
{
    size_t h = ps->head_len, cut_end;
    int r;
    if (ps->chunked) {
        r = dechunk(ps, buf, len);
        if (r < 0)
            return r;
        SHA256_Update(&ps->sink.sha, buf + h, ps->dec_end - h);
        ps->sink.bytes += (long long)(ps->dec_end - h);
        cut_end = ps->raw_pos;
        ps->raw_pos = ps->dec_end = h;
    } else {
        cut_end = len < ps->need ? len : ps->need;
        SHA256_Update(&ps->sink.sha, buf + h, cut_end - h);
        ps->sink.bytes += (long long)(cut_end - h);
        ps->need -= cut_end - h;
        r = ps->need > h ? FG_PARSE_MORE : FG_PARSE_DONE;
        if (r == FG_PARSE_MORE)
            *hint = h + (ps->need - h < SINK_READ ? ps->need - h : SINK_READ);
    }
    memmove(buf + h, buf + cut_end, len - cut_end);
    ps->shrink = cut_end - h;
    *consumed = h;
    return r;
}

size_t fg_http_leading_crlf(const char *buf, size_t len)
{
    size_t k = 0;
    while (k < len && (buf[k] == '\r' || buf[k] == '\n'))
        k++;
    return k;
}

int fg_http_parse(fg_parser *ps, char *buf, size_t len, fg_req *req, size_t *consumed,
                  size_t *hint)
{
    int fresh = 0; /* *req was filled from the current buffer address in this call */
    *hint = 0;
    if (!ps->head_len) {
        size_t from = ps->scan > 3 ? ps->scan - 3 : 0;
        const char *e = len > from ? memmem(buf + from, len - from, "\r\n\r\n", 4) : NULL;
        if (!e) {
            ps->scan = len;
            return len > FG_MAX_HEAD ? FG_PARSE_HEAD_TOOBIG : FG_PARSE_MORE;
        }
        ps->head_len = (size_t)(e - buf) + 4;
        if (ps->head_len > FG_MAX_HEAD)
            return FG_PARSE_HEAD_TOOBIG;
        if (fg_http_parse_head(buf, ps->head_len, req))
            return FG_PARSE_BAD;
        fresh = 1;
        memset(&ps->sink, 0, sizeof ps->sink);
        if (fg_http_sink_open && fg_http_sink_open(req, &ps->sink))
            ps->sink.on = 1;
        if (req->chunked) {
            ps->chunked = 1;
            ps->raw_pos = ps->dec_end = ps->head_len;
        } else {
            long long cl = req->content_length < 0 ? 0 : req->content_length;
            if (cl > (long long)FG_MAX_BODY && !ps->sink.on)
                return FG_PARSE_TOOBIG;
            ps->need = ps->head_len + (size_t)cl;
        }
    }
    ps->shrink = 0;
    if (ps->sink.on) {
        int r = sink_body(ps, buf, len, consumed, hint);
        if (r == FG_PARSE_MORE && fresh)
            maybe_continue(ps, req);
        if (r != FG_PARSE_DONE)
            return r;
        if (!fresh && fg_http_parse_head(buf, ps->head_len, req))
            return FG_PARSE_BAD;
        req->sink = &ps->sink;
        return FG_PARSE_DONE;
    }
    size_t body_end;
    if (ps->chunked) {
        int r = dechunk(ps, buf, len);
        if (r != FG_PARSE_DONE) {
            if (r == FG_PARSE_MORE && fresh)
                maybe_continue(ps, req);
            return r;
        }
        body_end = ps->dec_end;
        *consumed = ps->raw_pos;
    } else {
        if (len < ps->need) {
            *hint = ps->need;
            if (fresh)
                maybe_continue(ps, req);
            return FG_PARSE_MORE;
        }
        body_end = *consumed = ps->need;
    }
    /* The buffer may have moved since the head was parsed: parse it again in place. */
    if (!fresh && fg_http_parse_head(buf, ps->head_len, req))
        return FG_PARSE_BAD;
    req->body = (fg_str){buf + ps->head_len, body_end - ps->head_len};
    return FG_PARSE_DONE;
}

const char *fg_http_reason(int code)
{
    switch (code) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return code < 500 ? "Client Error" : "Server Error";
    }
}

/* Returns the current IMF-fixdate, formatted at most once per second per thread. */
static const char *http_date(size_t *len)
{
    static _Thread_local time_t cached_at = -1;
    static _Thread_local char date[40];
    static _Thread_local size_t date_len;
    time_t now = time(NULL);
    if (now != cached_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        date_len = strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_at = now;
    }
    *len = date_len;
    return date;
}

void fg_http_head_start(fg_buf *out, int code, const char *ctype)
{
    size_t dlen;
    const char *date = http_date(&dlen);
    buf_reserve(out, 320);
    BUF_LIT(out, "HTTP/1.1 ");
    buf_addu(out, (uint64_t)code);
    buf_addc(out, ' ');
    buf_adds(out, fg_http_reason(code));
    BUF_LIT(out, "\r\nContent-Type: ");
    buf_adds(out, ctype);
    /* The headers Google's front end adds to every Generative Language answer. */
    BUF_LIT(out, "\r\nVary: Origin\r\nVary: X-Origin\r\nVary: Referer\r\nDate: ");
    buf_add(out, date, dlen);
    BUF_LIT(out, "\r\nServer: fakegemini\r\nX-XSS-Protection: 0\r\n"
                 "X-Frame-Options: SAMEORIGIN\r\nX-Content-Type-Options: nosniff\r\n");
}
