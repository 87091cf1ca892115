package s3

// The face's own PutObject. gofakes3 hashes a PUT's body with MD5 inside its
// read path, so its PUT runs at most as fast as MD5 on one core, in series
// with the write. A plain PUT (no conditions, no aws-chunked body, no user
// metadata, no copy) is served here instead: the store writes the body and
// hashes it on another goroutine (store.PutMD5), keeps the MD5 with the
// file, and GET and HEAD answer it as the ETag, so PUT and GET ETags are the
// same. The answer is the one gofakes3 gives, header for header and, for a
// refusal, byte for byte (TestFastPutAnswersAsGofakes3 compares them).
// Everything else still goes to gofakes3.

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/johannesboyne/gofakes3"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// metadataBudget is how many bytes of the headers that gofakes3 counts as
// object metadata a PUT may carry to be served here: well under gofakes3's
// limit (gofakes3.DefaultMetadataSizeLimit), so that a PUT it would refuse
// as too large is always left to it.
const metadataBudget = 1024

// plainPut reports whether the PUT r can be served by putObject with the
// answer gofakes3 would give.
func plainPut(r *http.Request, bucket, key string) bool {
	if bucket != face.Bucket || len(key) > gofakes3.KeySizeLimit || r.ContentLength < 0 || r.Header.Get("Content-Length") == "" {
		return false
	}
	size := 0
	for k, v := range r.Header {
		switch {
		case k == "If-Match", k == "If-None-Match":
			return false // conditions: gofakes3 checks them
		case strings.HasPrefix(k, "X-Amz-Meta-"):
			return false // user metadata: gofakes3 bounds its size
		case k == "X-Amz-Content-Sha256" && strings.HasPrefix(v[0], "STREAMING-"):
			return false // aws-chunked body: gofakes3 decodes it
		case strings.HasPrefix(k, "X-Amz-"), k == "Content-Type", k == "Content-Disposition", k == "Content-Encoding":
			size += len(k) + len(v[0])
		}
	}
	return size <= metadataBudget
}

// putObject stores a plain PUT and answers as gofakes3's createObject does.
func (f *Face) putObject(w http.ResponseWriter, r *http.Request, id, bucket, key string) {
	h := w.Header()
	// What gofakes3's router sets on every answer (CORS: ServeHTTP's policy).
	h.Set("x-amz-id-2", base64.StdEncoding.EncodeToString([]byte(id+id+id+id)))
	h.Set("x-amz-request-id", id)
	h.Set("Server", "AmazonS3")

	etag, err := f.storePut(r, bucket, key)
	if err != nil {
		f.writeGofakes3Error(w, r, err)
		return
	}
	h.Set("ETag", `"`+etag+`"`)
}

// storePut checks Content-MD5 as gofakes3 does and streams the body into
// the store; it returns the hex MD5 of what was stored, or a gofakes3 error.
func (f *Face) storePut(r *http.Request, bucket, key string) (string, error) {
	var want []byte
	if _, ok := r.Header[textproto.CanonicalMIMEHeaderKey("Content-MD5")]; ok {
		v := r.Header.Get("Content-MD5")
		if v == "" {
			return "", gofakes3.ErrInvalidDigest
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 16 {
			return "", gofakes3.ErrInvalidDigest
		}
		want = b
	}
	sp, p, err := objectKey(bucket, key)
	if err != nil {
		return "", errBadKey(key)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = store.DefaultContentType
	}
	obj, err := f.cfg.Store.PutMD5(r.Context(), sp, p, ct, r.ContentLength, r.Body, want)
	if errors.Is(err, store.ErrBadDigest) {
		return "", gofakes3.ErrBadDigest
	}
	if err != nil {
		return "", storeError("put", key, err)
	}
	f.log.Debug("s3 face: stored object", "key", key, "size", obj.Size)
	return obj.MD5, nil
}

// objectHash is the hash gofakes3 answers as the ETag: the content's MD5
// when the store has it (what a PUT through this face answered), else a
// stable stand-in derived from the store's ETag.
func objectHash(o store.Object) []byte {
	if o.MD5 != "" {
		if h, err := hex.DecodeString(o.MD5); err == nil {
			return h
		}
	}
	return etagHash(o.ETag)
}
