// Package s3store keeps the bytes of threads and volumes in an S3 bucket
// (AWS S3, MinIO, or any server that speaks the S3 API), behind the same
// store.Backend as the file store.
//
// Layout in the bucket, under the store's prefix:
//
//	orgs/<org>/threads/<id>/<path>   thread files
//	orgs/<org>/volumes/<slug>/<path> volume files
//	.spaces/orgs/<org>/{threads|volumes}/<id>  an empty object per space:
//	                                 S3 has no directories, so this is what
//	                                 makes an empty thread or volume exist
//
// Each file object carries its content type and two metadata entries:
// x-amz-meta-modified (the emulator clock's time of the upload, RFC 3339)
// and x-amz-meta-md5 (the content's hex MD5, when the upload computed it).
// Directories are not stored: a listing derives them from the keys.
//
// Uploads stream with bounded memory. A body of at most PartSize bytes is
// read into one buffer and sent with one PutObject; a larger one becomes a
// multipart upload of PartSize parts, at most Concurrency of them in flight
// (so memory is about PartSize × (Concurrency+1)), completed only when every
// byte arrived and the MD5 matched. Any failure, a short or long body, or a
// cancelled request aborts the multipart upload: an upload that fails leaves
// no object and the earlier object at that key untouched. If the process is
// killed mid-upload nothing can abort it, but an unfinished multipart upload
// is never visible as an object (a bucket lifecycle rule
// AbortIncompleteMultipartUpload reclaims its parts).
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// DefaultPartSize is the size of a multipart upload's parts (and the largest
// upload sent in one PutObject). 8 MiB parts allow objects up to 78 GiB
// (S3 allows 10,000 parts).
const DefaultPartSize = 8 << 20

// MinPartSize is S3's smallest part (all but the last).
const MinPartSize = 5 << 20

// DefaultConcurrency is how many parts of one upload are sent at once.
const DefaultConcurrency = 4

// listConcurrency bounds the HEAD requests a listing makes for objects whose
// metadata it has not seen yet.
const listConcurrency = 8

// Metadata keys (lower case: S3 returns them so).
const (
	metaModified = "modified"
	metaMD5      = "md5"
)

const spacesDir = ".spaces/"

// Config says which bucket and how to reach it.
type Config struct {
	Bucket string
	// Prefix is put before every key; "" or ending in "/".
	Prefix string
	// Endpoint is the S3 server's URL (MinIO, gofakes3, ...); "" means AWS.
	// With an endpoint, requests use path-style addressing.
	Endpoint string
	// Region defaults to $AWS_REGION, the AWS profile's, then us-east-1.
	Region string
	// PartSize defaults to DefaultPartSize; at least MinPartSize.
	PartSize int64
	// Concurrency defaults to DefaultConcurrency.
	Concurrency int
	// Client, if set, is used instead of one built from the fields above.
	Client *s3.Client
}

// ParseURL parses s3://BUCKET[/PREFIX]?endpoint=URL&region=R.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("s3 store: %q: %w", raw, err)
	}
	if u.Scheme != "s3" || u.Host == "" {
		return Config{}, fmt.Errorf("s3 store: %q is not s3://BUCKET[/PREFIX]?endpoint=URL&region=R", raw)
	}
	cfg := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if cfg.Prefix != "" {
		cfg.Prefix += "/"
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return Config{}, fmt.Errorf("s3 store: %q: unknown parameter %q (known: endpoint, region)", raw, k)
		}
	}
	cfg.Endpoint, cfg.Region = q.Get("endpoint"), q.Get("region")
	if cfg.Endpoint != "" {
		if e, err := url.Parse(cfg.Endpoint); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return Config{}, fmt.Errorf("s3 store: %q: endpoint %q is not an http(s) URL", raw, cfg.Endpoint)
		}
	}
	return cfg, nil
}

// Store is an S3-backed store.Backend. Safe for concurrent use.
type Store struct {
	c        *s3.Client
	bucket   string
	prefix   string
	partSize int64
	conc     int
	clk      *clock.Clock
	log      *slog.Logger

	bufs chan []byte // at most conc+1 part buffers, made on demand

	copyLimit int64 // largest object CopyKey copies server-side; 0 means MaxCopySize

	mu     sync.Mutex
	meta   map[string]cachedMeta // key → what a HEAD said, for that ETag
	spaces map[string]bool       // space markers known to exist
}

// cachedMeta is an object's metadata, valid while its ETag is etag.
type cachedMeta struct {
	etag     string
	modified time.Time
}

var _ store.Backend = (*Store)(nil)

// Open checks that the bucket can be reached and returns the store. A nil
// clk means the real clock; a nil log discards logs.
func Open(ctx context.Context, cfg Config, clk *clock.Clock, log *slog.Logger) (*Store, error) {
	if clk == nil {
		clk = clock.NewReal()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("s3 store: no bucket")
	}
	if cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < MinPartSize {
		return nil, fmt.Errorf("s3 store: part size %d is below S3's minimum %d", cfg.PartSize, MinPartSize)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	c := cfg.Client
	if c == nil {
		var err error
		if c, err = NewClient(ctx, cfg, log); err != nil {
			return nil, err
		}
	}
	s := &Store{
		c: c, bucket: cfg.Bucket, prefix: cfg.Prefix, partSize: cfg.PartSize, conc: cfg.Concurrency,
		clk: clk, log: log,
		bufs:   make(chan []byte, cfg.Concurrency+1),
		meta:   map[string]cachedMeta{},
		spaces: map[string]bool{},
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		return nil, fmt.Errorf("s3 store: bucket %q: %w", cfg.Bucket, err)
	}
	return s, nil
}

// NewClient builds an S3 client for cfg the way any AWS tool does
// (config.LoadDefaultConfig): credentials from the environment
// ($AWS_ACCESS_KEY_ID, ...), the shared config and credentials files
// ($AWS_CONFIG_FILE, $AWS_SHARED_CREDENTIALS_FILE, $AWS_PROFILE), SSO,
// web identity, container and instance roles; the region from cfg.Region,
// then $AWS_REGION, the profile's, then us-east-1. With an endpoint
// (MinIO, a fake), requests are path-style, and if no credentials are
// found it sends them unsigned (fakes need none). Checksums are sent
// only where S3 requires them, so any S3 server accepts them.
func NewClient(ctx context.Context, cfg Config, log *slog.Logger) (*s3.Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The SDK's own warnings (e.g. about the instance metadata service)
	// go to the store's log, not to stderr.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "s3 store: aws sdk: "+fmt.Sprintf(format, v...))
	}))}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 store: AWS config: %w", err)
	}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	if cfg.Endpoint != "" {
		if ac.Credentials == nil {
			ac.Credentials = aws.AnonymousCredentials{}
		} else if _, err := ac.Credentials.Retrieve(ctx); err != nil {
			log.Info("s3 store: no AWS credentials found; sending unsigned requests to the endpoint", "endpoint", cfg.Endpoint, "err", err)
			ac.Credentials = aws.AnonymousCredentials{}
		}
	}
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		o.UsePathStyle = cfg.Endpoint != "" || ac.BaseEndpoint != nil
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}

// Describe says where the bytes are, for logs and /_emulator/info.
func (s *Store) Describe() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *Store) key(sp store.Space, p string) string { return s.prefix + sp.ObjectKey(p) }
func (s *Store) marker(sp store.Space) string        { return s.prefix + spacesDir + sp.Key() }

// Close releases nothing: the client holds no resources that need it.
func (s *Store) Close() error { return nil }

// notFound reports whether err is S3's answer for a missing key.
func notFound(err error) bool {
	var nf *types.NotFound
	var nk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NoSuchKey", "404":
			return true
		}
	}
	return false
}

// exists reports whether an object is at key.
func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	_, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	switch {
	case err == nil:
		return true, nil
	case notFound(err):
		return false, nil
	default:
		return false, err
	}
}

// anyUnder reports whether some object's key starts with prefix.
func (s *Store) anyUnder(ctx context.Context, prefix string) (bool, error) {
	out, err := s.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix, MaxKeys: aws.Int32(1)})
	if err != nil {
		return false, err
	}
	return len(out.Contents) > 0, nil
}

// Exists reports whether a space exists: its marker, or any file in it
// (written by another replica or straight into the bucket).
func (s *Store) Exists(sp store.Space) (bool, error) {
	if err := store.CheckSpace(sp); err != nil {
		return false, fmt.Errorf("s3 store: exists: %w", err)
	}
	ctx := context.Background()
	ok, err := s.exists(ctx, s.marker(sp))
	if err == nil && !ok {
		ok, err = s.anyUnder(ctx, s.prefix+sp.Key()+"/")
	}
	if err != nil {
		return false, fmt.Errorf("s3 store: exists %s: %w", sp.Key(), err)
	}
	return ok, nil
}

// Create writes a space's marker if this store has not seen it.
func (s *Store) Create(sp store.Space) error {
	if err := store.CheckSpace(sp); err != nil {
		return fmt.Errorf("s3 store: create: %w", err)
	}
	return s.ensureSpace(context.Background(), sp)
}

func (s *Store) ensureSpace(ctx context.Context, sp store.Space) error {
	k := s.marker(sp)
	s.mu.Lock()
	known := s.spaces[k]
	s.mu.Unlock()
	if known {
		return nil
	}
	if _, err := s.c.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &k, Body: bytes.NewReader(nil), ContentLength: aws.Int64(0)}); err != nil {
		return fmt.Errorf("s3 store: create %s: %w", sp.Key(), err)
	}
	s.mu.Lock()
	s.spaces[k] = true
	s.mu.Unlock()
	return nil
}

// describe makes an Object of a HEAD or GET answer.
func (s *Store) describe(key, p string, size int64, ct *string, etag *string, lastMod *time.Time, meta map[string]string) store.Object {
	o := store.Object{Path: p, Size: size, ETag: aws.ToString(etag), MD5: meta[metaMD5]}
	o.ContentType = aws.ToString(ct)
	if o.ContentType == "" {
		o.ContentType = store.GuessType(p)
	}
	if t, err := time.Parse(time.RFC3339Nano, meta[metaModified]); err == nil {
		o.Modified = t.UTC()
	} else if lastMod != nil {
		o.Modified = lastMod.UTC()
	}
	s.mu.Lock()
	s.meta[key] = cachedMeta{etag: o.ETag, modified: o.Modified}
	s.mu.Unlock()
	return o
}

// head describes the file at p: ErrIsDir if p is a directory (some key
// starts with p/), ErrNotFound if it is nothing.
func (s *Store) head(ctx context.Context, sp store.Space, p string) (store.Object, error) {
	if err := store.CheckSpace(sp); err != nil {
		return store.Object{}, err
	}
	if err := store.ValidPath(p); err != nil {
		return store.Object{}, err
	}
	key := s.key(sp, p)
	out, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err == nil {
		return s.describe(key, p, aws.ToInt64(out.ContentLength), out.ContentType, out.ETag, out.LastModified, out.Metadata), nil
	}
	if !notFound(err) {
		return store.Object{}, err
	}
	s.forget(key)
	dir, err := s.anyUnder(ctx, key+"/")
	switch {
	case err != nil:
		return store.Object{}, err
	case dir:
		return store.Object{}, fmt.Errorf("%w: %q", store.ErrIsDir, p)
	default:
		return store.Object{}, fmt.Errorf("%w: %q", store.ErrNotFound, p)
	}
}

func (s *Store) forget(key string) {
	s.mu.Lock()
	delete(s.meta, key)
	s.mu.Unlock()
}

// Stat describes a regular file.
func (s *Store) Stat(ctx context.Context, sp store.Space, p string) (store.Object, error) {
	o, err := s.head(ctx, sp, p)
	if err != nil {
		return store.Object{}, fmt.Errorf("s3 store: stat %s: %w", sp.ObjectKey(p), err)
	}
	return o, nil
}

// Size returns the size of the regular file at p.
func (s *Store) Size(ctx context.Context, sp store.Space, p string) (int64, error) {
	o, err := s.head(ctx, sp, p)
	if err != nil {
		return 0, fmt.Errorf("s3 store: size %s: %w", sp.ObjectKey(p), err)
	}
	return o.Size, nil
}

// Open opens a regular file for reading: one GET, whose body is read from
// the start (a reader keeps the version it opened even if the object is
// replaced or deleted meanwhile, as far as the server's stream goes). A
// Seek elsewhere before reading fetches from there (a Range GET, only of
// the version opened: If-Match on its ETag).
func (s *Store) Open(ctx context.Context, sp store.Space, p string) (*store.Reader, error) {
	fail := func(err error) (*store.Reader, error) {
		return nil, fmt.Errorf("s3 store: open %s: %w", sp.ObjectKey(p), err)
	}
	if err := store.CheckSpace(sp); err != nil {
		return fail(err)
	}
	if err := store.ValidPath(p); err != nil {
		return fail(err)
	}
	key := s.key(sp, p)
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		if !notFound(err) {
			return fail(err)
		}
		if _, err := s.head(ctx, sp, p); err != nil {
			return fail(err) // ErrIsDir or ErrNotFound
		}
		return s.Open(ctx, sp, p) // created since the GET
	}
	o := s.describe(key, p, aws.ToInt64(out.ContentLength), out.ContentType, out.ETag, out.LastModified, out.Metadata)
	return store.NewReader(&objReader{s: s, ctx: ctx, key: key, etag: o.ETag, size: o.Size, body: out.Body}, o), nil
}

// objReader reads one object version: the body of the GET that opened it,
// or, after a Seek elsewhere, of a Range GET from there.
type objReader struct {
	s       *Store
	ctx     context.Context
	key     string
	etag    string
	size    int64
	off     int64 // where the next Read reads
	body    io.ReadCloser
	bodyOff int64 // where body's next byte is
}

func (r *objReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body != nil && r.bodyOff != r.off {
		r.body.Close()
		r.body = nil
	}
	if r.body == nil {
		in := &s3.GetObjectInput{Bucket: &r.s.bucket, Key: &r.key, Range: aws.String(fmt.Sprintf("bytes=%d-", r.off))}
		if r.etag != "" {
			in.IfMatch = aws.String(r.etag)
		}
		out, err := r.s.c.GetObject(r.ctx, in)
		if err != nil {
			return 0, fmt.Errorf("s3 store: get %s from %d: %w", r.key, r.off, err)
		}
		r.body, r.bodyOff = out.Body, r.off
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.bodyOff += int64(n)
	if err == io.EOF && r.off < r.size {
		err = fmt.Errorf("s3 store: get %s: %w at %d of %d bytes", r.key, io.ErrUnexpectedEOF, r.off, r.size)
	}
	return n, err
}

func (r *objReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("s3 store: seek: bad whence %d", whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("s3 store: seek to negative offset %d", abs)
	}
	r.off = abs // a body at another offset is dropped by the next Read
	return abs, nil
}

func (r *objReader) Close() error {
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}

// Delete removes a regular file.
func (s *Store) Delete(ctx context.Context, sp store.Space, p string) error {
	if _, err := s.head(ctx, sp, p); err != nil {
		return fmt.Errorf("s3 store: delete %s: %w", sp.ObjectKey(p), err)
	}
	key := s.key(sp, p)
	if _, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("s3 store: delete %s: %w", sp.ObjectKey(p), err)
	}
	s.forget(key)
	return nil
}

// object is one key found by a listing.
type object struct {
	key  string
	rel  string // path inside the space
	size int64
	etag string
	last time.Time
}

// listAll lists every key under prefix.
func (s *Store) listAll(ctx context.Context, prefix string, fn func(types.Object) error) error {
	p := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// files lists the addressable files of a space whose path starts with
// prefix; ErrNotFound if the space does not exist.
func (s *Store) files(ctx context.Context, sp store.Space, prefix string) ([]object, error) {
	if err := store.CheckSpace(sp); err != nil {
		return nil, err
	}
	base := s.prefix + sp.Key() + "/"
	var out []object
	err := s.listAll(ctx, base+prefix, func(o types.Object) error {
		k := aws.ToString(o.Key)
		rel := strings.TrimPrefix(k, base)
		if store.ValidPath(rel) != nil {
			return nil // not addressable through the Files API
		}
		out = append(out, object{key: k, rel: rel, size: aws.ToInt64(o.Size), etag: aws.ToString(o.ETag), last: aws.ToTime(o.LastModified)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		ok, err := s.Exists(sp)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s %q does not exist", store.ErrNotFound, sp.Kind, sp.ID)
		}
	}
	return out, nil
}

// List lists a space recursively (SPEC L-1..L-4): its files and the
// directories their keys imply, whose path has prefix as a plain string
// prefix, sorted by path in byte order, never nil. A directory's size is 0
// and its modified time the newest of everything under it. A file's
// modified time is its x-amz-meta-modified: a file this replica has not
// seen (by ETag) costs one HEAD, at most listConcurrency at a time.
func (s *Store) List(ctx context.Context, sp store.Space, prefix string) ([]store.Entry, error) {
	fail := func(err error) ([]store.Entry, error) {
		return nil, fmt.Errorf("s3 store: list %s prefix %q: %w", sp.Key(), prefix, err)
	}
	objs, err := s.files(ctx, sp, prefix)
	if err != nil {
		return fail(err)
	}
	mod := make([]time.Time, len(objs))
	var todo []int
	s.mu.Lock()
	for i, o := range objs {
		if m, ok := s.meta[o.key]; ok && m.etag == o.etag {
			mod[i] = m.modified
		} else {
			todo = append(todo, i)
		}
	}
	s.mu.Unlock()
	if err := s.headAll(ctx, objs, todo, mod); err != nil {
		return fail(err)
	}
	entries := make([]store.Entry, 0, len(objs)*2)
	dirs := map[string]int{} // path → index in entries
	for i, o := range objs {
		entries = append(entries, store.Entry{Name: o.rel[strings.LastIndexByte(o.rel, '/')+1:], Path: o.rel, Size: o.size, Modified: mod[i]})
		for j := strings.LastIndexByte(o.rel, '/'); j > 0; j = strings.LastIndexByte(o.rel[:j], '/') {
			d := o.rel[:j]
			if !strings.HasPrefix(d, prefix) {
				break // shorter ancestors are shorter still
			}
			if k, ok := dirs[d]; ok {
				if mod[i].After(entries[k].Modified) {
					entries[k].Modified = mod[i]
				}
				continue
			}
			dirs[d] = len(entries)
			entries = append(entries, store.Entry{Name: d[strings.LastIndexByte(d, '/')+1:], Path: d, Modified: mod[i], IsDir: true})
		}
	}
	slices.SortFunc(entries, func(a, b store.Entry) int { return strings.Compare(a.Path, b.Path) })
	return entries, nil
}

// headAll fills mod[i] for every i in todo with a HEAD of objs[i].
func (s *Store) headAll(ctx context.Context, objs []object, todo []int, mod []time.Time) error {
	if len(todo) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, listConcurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, i := range todo {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			o := objs[i]
			out, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &o.key})
			switch {
			case err == nil:
				mod[i] = s.describe(o.key, o.rel, aws.ToInt64(out.ContentLength), out.ContentType, out.ETag, out.LastModified, out.Metadata).Modified
			case notFound(err):
				mod[i] = o.last.UTC() // deleted since the listing: keep what it said
			default:
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

// Versions maps each addressable file of sp to its ETag (one listing, no
// HEADs); empty if sp does not exist.
func (s *Store) Versions(ctx context.Context, sp store.Space) (map[string]string, error) {
	objs, err := s.files(ctx, sp, "")
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("s3 store: versions: %w", err)
	}
	out := make(map[string]string, len(objs))
	for _, o := range objs {
		out[o.rel] = o.etag
	}
	return out, nil
}

// Usage returns the bytes of the space's addressable files; 0 if it does
// not exist. It needs only the listing (no HEADs).
func (s *Store) Usage(ctx context.Context, sp store.Space) (int64, error) {
	objs, err := s.files(ctx, sp, "")
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil
		}
		return 0, fmt.Errorf("s3 store: usage: %w", err)
	}
	var n int64
	for _, o := range objs {
		n += o.size
	}
	return n, nil
}

// Spaces lists the spaces of org ("" for every org) that have a marker, in
// key order.
func (s *Store) Spaces(org string) ([]store.Space, error) {
	base := s.prefix + spacesDir
	prefix := base + "orgs/"
	if org != "" {
		prefix += org + "/"
	}
	var out []store.Space
	err := s.listAll(context.Background(), prefix, func(o types.Object) error {
		parts := strings.Split(strings.TrimPrefix(aws.ToString(o.Key), base), "/")
		if len(parts) != 4 || parts[0] != "orgs" {
			return nil
		}
		sp := store.Space{Org: parts[1], ID: parts[3]}
		switch parts[2] {
		case "threads":
			sp.Kind = store.Thread
		case "volumes":
			sp.Kind = store.Volume
		}
		if store.CheckSpace(sp) == nil {
			out = append(out, sp)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: spaces: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// removeUnder deletes every key under prefix, a few at a time.
func (s *Store) removeUnder(ctx context.Context, prefix string) error {
	var keys []string
	if err := s.listAll(ctx, prefix, func(o types.Object) error {
		keys = append(keys, aws.ToString(o.Key))
		return nil
	}); err != nil {
		return err
	}
	sem := make(chan struct{}, listConcurrency)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &k}); err != nil && !notFound(err) {
				errs[i] = err
			}
			s.forget(k)
		}()
	}
	wg.Wait()
	s.mu.Lock()
	for k := range s.spaces {
		if strings.HasPrefix(k, prefix) {
			delete(s.spaces, k)
		}
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}

// RemoveSpace removes a space and everything in it.
func (s *Store) RemoveSpace(sp store.Space) error {
	if err := store.CheckSpace(sp); err != nil {
		return fmt.Errorf("s3 store: remove: %w", err)
	}
	ctx := context.Background()
	if err := s.removeUnder(ctx, s.prefix+sp.Key()+"/"); err != nil {
		return fmt.Errorf("s3 store: remove %s: %w", sp.Key(), err)
	}
	// The marker itself, not every key it prefixes (thread t1's marker
	// prefixes t10's).
	k := s.marker(sp)
	if _, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &k}); err != nil && !notFound(err) {
		return fmt.Errorf("s3 store: remove %s: %w", sp.Key(), err)
	}
	s.mu.Lock()
	delete(s.spaces, k)
	s.mu.Unlock()
	return nil
}

// RemoveOrg removes every space of org ("" for every org).
func (s *Store) RemoveOrg(org string) error {
	if org != "" {
		if err := store.ValidID(org); err != nil {
			return fmt.Errorf("s3 store: remove org: %w", err)
		}
		org += "/"
	}
	ctx := context.Background()
	for _, p := range []string{s.prefix + "orgs/" + org, s.prefix + spacesDir + "orgs/" + org} {
		if err := s.removeUnder(ctx, p); err != nil {
			return fmt.Errorf("s3 store: remove org %q: %w", strings.TrimSuffix(org, "/"), err)
		}
	}
	return nil
}
