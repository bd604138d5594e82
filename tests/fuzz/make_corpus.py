#!/usr/bin/env python3
"""Writes the seed corpus under tests/fuzz/corpus/<target>/. Run it again after changing
a target's input layout; the fuzzers read the seeds, never write them."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def record(rtype, rid, content=b"", version=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", version, rtype, rid, len(content), pad, 0) + content + b"\0" * pad


def begin(rid=1, keep=False, role=1):
    return record(1, rid, struct.pack(">HB5x", role, 1 if keep else 0))


def length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def params(pairs):
    return b"".join(length(len(k)) + length(len(v)) + k + v for k, v in pairs)


def stream(rtype, rid, data):
    out = b"".join(record(rtype, rid, data[i:i + 65535]) for i in range(0, len(data), 65535))
    return out + record(rtype, rid)


def cgi(method, uri, body_length=None):
    path, _, query = uri.partition(b"?")
    pairs = [(b"REQUEST_METHOD", method), (b"REQUEST_URI", uri), (b"SCRIPT_NAME", path),
             (b"QUERY_STRING", query), (b"REMOTE_ADDR", b"127.0.0.1"), (b"HTTP_HOST", b"localhost")]
    if body_length is not None:
        pairs.append((b"CONTENT_LENGTH", str(body_length).encode()))
    return params(pairs)


def request(method, uri, body=b"", rid=1, keep=False, with_length=True):
    return (begin(rid, keep) + stream(4, rid, cgi(method, uri, len(body) if with_length else None)) +
            stream(5, rid, body))


def write(target, name, data):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


# fuzz_fastcgi_stream: whole requests, and the broken streams of the abuse tests.
get = request(b"GET", b"/")
seeds = {
    "get": get,
    "get_keep_twice": request(b"GET", b"/", keep=True) + request(b"GET", b"/?a=1", keep=True),
    "post_echo": request(b"POST", b"/echo", b"hello body"),
    "post_no_length": request(b"POST", b"/echo", b"abc", with_length=False),
    "throw": request(b"GET", b"/throw"),
    "head": request(b"HEAD", b"/"),
    "bad_percent": request(b"GET", b"/%zz?x=%4"),
    "get_values": record(9, 0, params([(b"FCGI_MAX_CONNS", b""), (b"FCGI_MPXS_CONNS", b"")])) + get,
    "unknown_mgmt": record(42, 0) + get,
    "multiplexed": begin(1) + stream(4, 1, cgi(b"GET", b"/")) + begin(2) + stream(5, 1, b""),
    "abort_mid_body": begin() + stream(4, 1, cgi(b"POST", b"/echo", 10)) + record(5, 1, b"abc") + record(2, 1),
    "params_cut": begin() + record(4, 1, cgi(b"GET", b"/")),
    "claim_too_long": begin() + record(4, 1, length(5) + length(100) + b"HELLOabc") + record(4, 1),
    "claim_huge": begin() + record(4, 1, length(1 << 30) + length(0) + b"x" * 64),
    "wrong_version": record(1, 1, struct.pack(">HB5x", 1, 0), version=2) + get,
    "role_filter": begin(role=3) + stream(4, 1, cgi(b"GET", b"/")) + stream(5, 1, b"") + stream(8, 1, b"data"),
    "body_over_max": request(b"POST", b"/echo", b"b" * 5000),
    # Inputs that do not start with version 1 begin with a mode byte (fuzz_fastcgi_stream.cpp).
    "http_request": b"\0" + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "get_values_max_conns_4x": record(9, 0, params([(b"FCGI_MAX_CONNS", b"")] * 4)) + get,
}
seeds["wrong_version"] = b"\0" + seeds["wrong_version"]


def chunk(rtype, rid, content=b"", flags=0):
    """One chunk of the record mode: [type][id][length][flags] content."""
    t = rtype - 1 if 1 <= rtype <= 11 else rtype
    flags |= len(content) >> 8
    return bytes([t, rid, len(content) & 0xff, flags]) + content


RECORDS, STAY_OPEN = 4, 2
get_values = chunk(9, 0, params([(b"FCGI_MAX_REQS", b""), (b"FCGI_MPXS_CONNS", b"")]))
get_chunks = (chunk(1, 1, flags=0x80) + chunk(4, 1, cgi(b"GET", b"/")) + chunk(4, 1) + chunk(5, 1))
seeds.update({
    "records_get": bytes([RECORDS]) + get_chunks,
    "records_get_values_alone": bytes([RECORDS | STAY_OPEN]) + get_values,
    "records_get_values_then_get": bytes([RECORDS | STAY_OPEN]) + get_values + get_chunks + get_values,
    "records_abort_in_params": bytes([RECORDS | STAY_OPEN]) + chunk(1, 1, flags=0x80) +
    chunk(4, 1, cgi(b"GET", b"/")) + chunk(2, 1) + get_values,
    "records_authorizer": bytes([RECORDS]) + chunk(1, 1, b"\x02", flags=0x80) + chunk(4, 1, cgi(b"GET", b"/")) +
    chunk(4, 1) + chunk(5, 1) + get_chunks,
    "records_partial_then_get_values": bytes([RECORDS | STAY_OPEN]) + chunk(1, 1) + chunk(4, 1, cgi(b"GET", b"/")) +
    get_values,
})
for name, data in seeds.items():
    write("fuzz_fastcgi_stream", name, data)

# fuzz_body: [mode][delta][chunk][length text size][length text][body]
for name, data in {
    "exact": bytes([0, 0, 0, 0]) + b"hello",
    "absent": bytes([1, 0, 0, 0]) + b"hello",
    "short": bytes([2, 0xfd, 0, 0]) + b"hello",
    "long": bytes([2, 3, 1, 0]) + b"hello",
    "text": bytes([3, 0, 0, 3]) + b"005" + b"hello",
    "cut": bytes([4, 0, 0, 0]) + b"hello",
    "cut_absent": bytes([5, 0, 0, 0]) + b"hello",
    "keep_split": bytes([8, 0, 0, 0]) + b"x" * 300,
    "over_max": bytes([0, 0, 10, 0]) + b"y" * 4100,
}.items():
    write("fuzz_body", name, data)

# fuzz_url
for name, data in {
    "plain": b"a=1&b=2", "escapes": b"x=%41%42%2B+c&y", "plus": b"q=a+b+c", "bad": b"%zz%4", "nul": b"a=%00",
    "empty_segments": b"&&a=&=b&", "high": b"%ff%FE%c3%a9",
}.items():
    write("fuzz_url", name, data)

# fuzz_request: FastCGI name-value pairs, then the body
for name, data in {
    "typical": cgi(b"GET", b"/work?ms=5&id=a%20b") + b"",
    "post": cgi(b"POST", b"/echo", 3) + params([(b"CONTENT_TYPE", b"text/plain")]) + b"abc",
    "headers": params([(b"REQUEST_URI", b"/"), (b"HTTP_X_TRACE_ID", b"t1"), (b"HTTP_", b"x"), (b"HTTP_A_B", b"v")]),
    "path_info": params([(b"SCRIPT_NAME", b"/a%2fb"), (b"PATH_INFO", b"/c")]),
    "bad_uri": params([(b"REQUEST_URI", b"/%"), (b"QUERY_STRING", b"%zz")]),
}.items():
    write("fuzz_request", name, data)

# fuzz_router: "METHOD path"
for name, data in {
    "get_root": b"GET /", "static": b"GET /static/img/a.png", "put_static": b"PUT /static/x", "head": b"HEAD /work",
    "post_a": b"POST /a/b", "options": b"OPTIONS /echo", "encoded": b"GET /st%61tic/x", "none": b"\x01/nowhere",
}.items():
    write("fuzz_router", name, data)
