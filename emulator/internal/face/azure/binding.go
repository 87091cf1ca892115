package azure

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Binding an upload URL to its length and content type.
//
// GCS and S3 sign Content-Length and Content-Type as headers of the URL; an
// Azure service SAS has no such field (the rsc* fields override response
// headers of reads). What it does have is the signed identifier (si): a
// free-form string of up to 64 characters that is part of the
// string-to-sign, meant to name a stored access policy of the container. The
// face's upload URLs carry
//
//	si=localbaponi.put.<content length>.<first 16 bytes of SHA-256(content type), hex>
//
// so the length and type are covered by the HMAC like every other SAS field:
// changing or removing si breaks the signature, two URLs for one path issued
// in the same second differ when their lengths or types do, and the binding
// needs no state, so it holds across restarts. The URL stays a well-formed
// service SAS (the Azure SDK computes the same signature for it). The face
// treats such an identifier as a virtual stored access policy ("Put Blob of
// exactly these bytes") and refuses every other si, as before, since it has
// no stored access policies; SAS tokens made with the SDK and no si are not
// bound and may write any length, as in Azure.
const bindingPrefix = "localbaponi.put."

// maxIdentifier is Azure's limit on a signed identifier: 64 characters, room
// for lengths up to 15 digits (the Files API's 10 GiB has 11).
const maxIdentifier = 64

// uploadBinding is what an upload SAS was issued for.
type uploadBinding struct {
	length      int64
	contentType string // empty after parsing: only its hash travels
	typeHash    string
}

func typeHash(ct string) string {
	h := sha256.Sum256([]byte(ct))
	return hex.EncodeToString(h[:16])
}

// identifier is the si value of the binding.
func (b uploadBinding) identifier() string {
	return bindingPrefix + strconv.FormatInt(b.length, 10) + "." + typeHash(b.contentType)
}

// parseBinding parses an si value written by identifier.
func parseBinding(si string) (uploadBinding, bool) {
	if len(si) > maxIdentifier {
		return uploadBinding{}, false
	}
	rest, ok := strings.CutPrefix(si, bindingPrefix)
	if !ok {
		return uploadBinding{}, false
	}
	n, h, ok := strings.Cut(rest, ".")
	if !ok || len(h) != 32 || n == "" || (len(n) > 1 && n[0] == '0') || strings.Trim(n, "0123456789") != "" {
		return uploadBinding{}, false
	}
	length, err := strconv.ParseInt(n, 10, 64)
	if err != nil || length < 0 {
		return uploadBinding{}, false
	}
	if _, err := hex.DecodeString(h); err != nil || strings.ToLower(h) != h {
		return uploadBinding{}, false
	}
	return uploadBinding{length: length, typeHash: h}, true
}

// match refuses a Put Blob whose length or content type is not the one the
// SAS was issued for (SPEC U-5).
func (b uploadBinding) match(length int64, ct string) error {
	if length == b.length && typeHash(ct) == b.typeHash {
		return nil
	}
	what := "Content-Length"
	if length == b.length {
		what = "content type"
	}
	return errAuthenticationFailed(fmt.Sprintf("This SAS was issued by localbaponi for a Put Blob of exactly %d bytes with one content type "+
		"(its signed identifier binds both); the request's %s differs (Content-Length %d, content type %q). "+
		"Send exactly the headers and bytes the upload URL was issued for.", b.length, what, length, ct))
}
