#!/usr/bin/env python3
"""An independent implementation of Google Cloud Storage's V4 signing process
for HMAC keys (GOOG4-HMAC-SHA256), written from Google's documentation
("V4 signing process with your own program", "Canonical requests",
"Signatures"), stdlib only. The Go tests use it to check the emulator's GCS
face against the published algorithm, not against our own Go code.

Reads one JSON object on stdin and prints one line:
  {"mode": "sign", "method", "scheme", "host", "bucket", "object",
   "key_id", "secret", "time": "YYYYMMDDTHHMMSSZ", "expires": seconds,
   "headers": {name: value}}                      -> a signed URL
  {"mode": "signature", "method", "url", "secret",
   "headers": {name: value}}                      -> the hex signature that
                                                     URL should carry
"""
import datetime
import hashlib
import hmac
import json
import sys
import urllib.parse

ALGORITHM = "GOOG4-HMAC-SHA256"


def quote(s, safe=""):
    # RFC 3986: everything but A-Z a-z 0-9 - . _ ~ is percent-encoded.
    return urllib.parse.quote(s, safe=safe)


def scope_of(day):
    return day + "/auto/storage/goog4_request"


def canonical_headers(host, headers):
    all_headers = {"host": host}
    for k, v in headers.items():
        all_headers[k.lower()] = " ".join(str(v).split())
    names = sorted(all_headers)
    text = "".join("%s:%s\n" % (n, all_headers[n]) for n in names)
    return text, ";".join(names)


def canonical_query(params):
    return "&".join(
        "%s=%s" % (quote(k), quote(v))
        for k, v in sorted(params, key=lambda kv: (quote(kv[0]), quote(kv[1])))
    )


def signature(secret, timestamp, canonical_request):
    day = timestamp[:8]
    string_to_sign = "\n".join([
        ALGORITHM,
        timestamp,
        scope_of(day),
        hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(("GOOG4" + secret).encode(), day)
    for part in ("auto", "storage", "goog4_request"):
        key = h(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def sign(req):
    ts = req["time"]
    datetime.datetime.strptime(ts, "%Y%m%dT%H%M%SZ")  # must be well formed
    path = "/" + req["bucket"] + "/" + quote(req["object"], safe="/~")
    headers_text, signed_headers = canonical_headers(req["host"], req.get("headers", {}))
    params = [
        ("X-Goog-Algorithm", ALGORITHM),
        ("X-Goog-Credential", req["key_id"] + "/" + scope_of(ts[:8])),
        ("X-Goog-Date", ts),
        ("X-Goog-Expires", str(req["expires"])),
        ("X-Goog-SignedHeaders", signed_headers),
    ]
    query = canonical_query(params)
    canonical_request = "\n".join(
        [req["method"], path, query, headers_text, signed_headers, "UNSIGNED-PAYLOAD"])
    sig = signature(req["secret"], ts, canonical_request)
    return "%s://%s%s?%s&X-Goog-Signature=%s" % (req["scheme"], req["host"], path, query, sig)


def resign(req):
    u = urllib.parse.urlsplit(req["url"])
    path = quote(urllib.parse.unquote(u.path), safe="/~")
    params = [(k, v) for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True)
              if k != "X-Goog-Signature"]
    q = dict(params)
    headers_text, signed_headers = canonical_headers(u.netloc, req.get("headers", {}))
    if signed_headers != q["X-Goog-SignedHeaders"]:
        raise SystemExit("signed headers %r differ from the URL's %r" % (
            signed_headers, q["X-Goog-SignedHeaders"]))
    canonical_request = "\n".join([
        req["method"], path, canonical_query(params), headers_text, signed_headers,
        "UNSIGNED-PAYLOAD"])
    return signature(req["secret"], q["X-Goog-Date"], canonical_request)


def main():
    req = json.load(sys.stdin)
    if req["mode"] == "sign":
        print(sign(req))
    elif req["mode"] == "signature":
        print(resign(req))
    else:
        raise SystemExit("unknown mode %r" % req["mode"])


if __name__ == "__main__":
    main()
