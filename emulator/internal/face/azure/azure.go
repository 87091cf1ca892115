// Package azure is the Azure Blob Storage face: it signs service SAS URLs for
// single blobs and serves Put Blob, Get Blob and Get Blob Properties over the
// local store, refusing what Azure would refuse in Azure's XML error format
// (SPEC U-5, D-3).
//
// URLs are path-style, as Azurite serves them:
// <BaseURL>/<account>/<container>/<blob>?sv=&st=&se=&sr=b&sp=&sig=, where the
// account is Config.KeyID, the account key is the base64 encoding of
// Config.Secret (so the HMAC key is the secret's bytes), the container is
// face.Bucket and the blob is the space's object key.
package azure

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Version is the storage service version (sv) of the SAS URLs this face
// signs. Any version from 2020-12-06 on uses the same string-to-sign for a
// service SAS, so the choice only tells a client which REST dialect to expect.
const Version = "2022-11-02"

// MaxPutBlobBytes is the largest single Put Blob Azure accepts (5000 MiB,
// service version 2019-12-12 and later). The face enforces it only with
// Config.StrictProviderLimits, because the Files API promises 10 GiB.
const MaxPutBlobBytes int64 = 5000 << 20

// sasTimeFormat is how the face writes st and se (ISO 8601, seconds, UTC),
// the format the Azure SDKs use.
const sasTimeFormat = "2006-01-02T15:04:05Z"

// Upload and download permissions: "cw" lets a PUT create or overwrite the
// blob; "r" lets a GET or HEAD read it.
const (
	uploadPerms   = "cw"
	downloadPerms = "r"
)

// Face is the Azure face. Safe for concurrent use.
type Face struct {
	store   store.Backend
	clk     *clock.Clock
	base    string
	account string
	key     []byte // the HMAC key: the decoded account key, i.e. the secret's bytes
	strict  bool
	access  func(sp store.Space, write bool) error
	cors    *face.CORS
	log     *slog.Logger
}

var _ face.Face = (*Face)(nil)

// New returns an Azure face over cfg.Store, signing as account cfg.KeyID with
// account key base64(cfg.Secret).
func New(cfg face.Config) (*Face, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("azure face: Config.Store is nil")
	case cfg.Clock == nil:
		return nil, errors.New("azure face: Config.Clock is nil")
	case cfg.KeyID == "" || strings.ContainsAny(cfg.KeyID, "/?#%"):
		// The account is the first path segment of every URL.
		return nil, fmt.Errorf("azure face: account name (Config.KeyID) %q must be non-empty and contain no '/', '?', '#' or '%%'", cfg.KeyID)
	case cfg.Secret == "":
		return nil, errors.New("azure face: Config.Secret (the account key before base64) is empty")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("azure face: BaseURL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("azure face: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Face{
		store:   cfg.Store,
		clk:     cfg.Clock,
		base:    base,
		account: cfg.KeyID,
		key:     []byte(cfg.Secret),
		strict:  cfg.StrictProviderLimits,
		access:  cfg.Access,
		cors:    cfg.CORSOf(),
		log:     log.With("face", "azure"),
	}, nil
}

// Name returns "azure".
func (f *Face) Name() string { return "azure" }

// AccountKey returns the account key a client would configure: the base64
// (standard encoding) of the signing secret.
func (f *Face) AccountKey() string { return base64.StdEncoding.EncodeToString(f.key) }

// SignUpload returns a SAS URL that accepts one Put Blob of exactly
// contentLength bytes with the given content type. Both are bound into the
// signature through the signed identifier (si, see binding.go), so the URL
// refuses any other length or type, also after a restart, and two URLs for
// one path differ whenever their lengths or types do.
func (f *Face) SignUpload(sp store.Space, path, contentType string, contentLength int64) (face.Signed, error) {
	return f.signUpload(f.base, sp, path, contentType, contentLength)
}

// SignDownload returns a SAS URL that reads the file (Get Blob or Get Blob
// Properties) until face.URLLifetime from now.
func (f *Face) SignDownload(sp store.Space, path string) (face.Signed, error) {
	return f.signDownload(f.base, sp, path)
}

// SignerAt returns a signer whose URLs start with base's scheme and host.
// A SAS does not sign the host (Azure's string-to-sign names the account,
// container and blob, not the endpoint), so its URLs verify on any host
// that reaches this emulator, as Azure's do on any of an account's
// endpoints.
func (f *Face) SignerAt(base *url.URL) face.Signer {
	return signerAt{f: f, base: base.Scheme + "://" + base.Host}
}

// signerAt signs with the face's identity at another base URL.
type signerAt struct {
	f    *Face
	base string
}

func (s signerAt) SignUpload(sp store.Space, path, contentType string, contentLength int64) (face.Signed, error) {
	return s.f.signUpload(s.base, sp, path, contentType, contentLength)
}

func (s signerAt) SignDownload(sp store.Space, path string) (face.Signed, error) {
	return s.f.signDownload(s.base, sp, path)
}

func (f *Face) signUpload(base string, sp store.Space, path, contentType string, contentLength int64) (face.Signed, error) {
	if contentLength < 0 {
		return face.Signed{}, fmt.Errorf("azure face: sign upload: negative content length %d", contentLength)
	}
	if contentType == "" {
		contentType = store.DefaultContentType
	}
	si := uploadBinding{length: contentLength, contentType: contentType}.identifier()
	if len(si) > maxIdentifier {
		return face.Signed{}, fmt.Errorf("azure face: sign upload: content length %d is too large to bind into a SAS", contentLength)
	}
	s, err := f.sign(base, sp, path, uploadPerms, si)
	if err != nil {
		return face.Signed{}, fmt.Errorf("azure face: sign upload: %w", err)
	}
	s.Method = "PUT"
	s.Headers = map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": contentType}
	return s, nil
}

func (f *Face) signDownload(base string, sp store.Space, path string) (face.Signed, error) {
	s, err := f.sign(base, sp, path, downloadPerms, "")
	if err != nil {
		return face.Signed{}, fmt.Errorf("azure face: sign download: %w", err)
	}
	s.Method = "GET"
	s.Headers = map[string]string{}
	return s, nil
}

// sign builds a blob service SAS URL at base with permissions perms and
// signed identifier si (may be empty), valid from now (truncated to the
// second, so st is never after the issue instant) for face.URLLifetime.
func (f *Face) sign(base string, sp store.Space, path, perms, si string) (face.Signed, error) {
	if err := store.ValidID(sp.Org); err != nil {
		return face.Signed{}, err
	}
	if err := store.ValidID(sp.ID); err != nil {
		return face.Signed{}, err
	}
	if err := store.ValidPath(path); err != nil {
		return face.Signed{}, err
	}
	blob := sp.ObjectKey(path)
	now := f.clk.Now().Truncate(time.Second)
	exp := now.Add(face.URLLifetime)
	p := sasParams{
		version:    Version,
		start:      now.Format(sasTimeFormat),
		expiry:     exp.Format(sasTimeFormat),
		resource:   "b",
		perms:      perms,
		identifier: si,
	}
	mac := f.mac(stringToSign(p, canonicalResource(f.account, face.Bucket, blob, p.resource)))
	sig := base64.StdEncoding.EncodeToString(mac)

	// The order is the one the Azure SDKs write; values are query-escaped
	// (':' in the times, '+', '/' and '=' in the signature).
	q := "sv=" + url.QueryEscape(p.version) +
		"&st=" + url.QueryEscape(p.start) +
		"&se=" + url.QueryEscape(p.expiry)
	if si != "" {
		q += "&si=" + url.QueryEscape(si)
	}
	q += "&sr=" + p.resource +
		"&sp=" + p.perms +
		"&sig=" + url.QueryEscape(sig)
	u := base + "/" + url.PathEscape(f.account) + "/" + face.Bucket + "/" + escapeBlob(blob) + "?" + q
	return face.Signed{URL: u, ExpiresAt: exp}, nil
}

// mac is HMAC-SHA256 of s under the account key.
func (f *Face) mac(s string) []byte {
	h := hmac.New(sha256.New, f.key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// escapeBlob escapes each '/'-separated segment of a blob name for a URL path.
func escapeBlob(blob string) string {
	segs := strings.Split(blob, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
