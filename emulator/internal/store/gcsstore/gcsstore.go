// Package gcsstore keeps the bytes of threads and volumes in a Google Cloud
// Storage bucket (GCS itself, or an emulator of its JSON API such as
// fake-gcs-server), behind the same store.Backend as the file store.
//
// Layout in the bucket, under the store's prefix (the one package s3store
// uses, so a tree can move between the two with a plain copy):
//
//	orgs/<org>/threads/<id>/<path>   thread files
//	orgs/<org>/volumes/<slug>/<path> volume files
//	.spaces/orgs/<org>/{threads|volumes}/<id>  an empty object per space:
//	                                 GCS has no directories, so this is what
//	                                 makes an empty thread or volume exist
//
// Each file object carries its content type and the custom metadata entry
// "modified" (the emulator clock's time of the upload, RFC 3339). GCS keeps
// every object's MD5 itself, so Object.MD5 is always known. A file's ETag is
// its generation, which changes on every write: the mirror fetches by it,
// and a reader reads only the generation it opened. Directories are not
// stored: a listing derives them from the names, and needs no request per
// object (a GCS listing carries each object's metadata).
//
// Uploads stream with bounded memory. A body of at most smallPut bytes is
// read into one buffer, checked (length, MD5) and sent in one request; a
// larger one goes through a resumable upload of ChunkSize chunks (the
// client keeps one chunk in memory). The upload is finalised only by
// closing the writer, which happens only after exactly the declared bytes
// arrived, nothing followed them and the MD5 matched; on any failure the
// writer's context is cancelled instead, so the upload is never finalised
// and leaves no object (an unfinished resumable upload is never visible,
// and GCS drops it after a week). If the process is killed mid-upload the
// same holds: nothing finalises it.
package gcsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// DefaultChunkSize is the chunk of a resumable upload: what the client
// buffers per upload and sends per request. A multiple of 256 KiB, as GCS
// requires.
const DefaultChunkSize = 8 << 20

// chunkUnit is the granularity GCS requires of chunks.
const chunkUnit = 256 << 10

// smallPut is the largest body sent in one request from one buffer.
const smallPut = 1 << 20

// listConcurrency bounds the deletes a removal makes at once.
const listConcurrency = 8

// metaModified is the custom metadata key of the emulator clock's time.
const metaModified = "modified"

const spacesDir = ".spaces/"

// Config says which bucket and how to reach it.
type Config struct {
	Bucket string
	// Prefix is put before every name; "" or ending in "/".
	Prefix string
	// Endpoint is the URL of a server speaking GCS's JSON API
	// (fake-gcs-server, ...), reached without credentials; "" means GCS,
	// with Application Default Credentials.
	Endpoint string
	// ChunkSize defaults to DefaultChunkSize; rounded up to 256 KiB.
	ChunkSize int
	// Client, if set, is used instead of one built from the fields above
	// (and is not closed by Close).
	Client *storage.Client
}

// ParseURL parses gcs://BUCKET[/PREFIX]?endpoint=URL.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("gcs store: %q: %w", raw, err)
	}
	if u.Scheme != "gcs" {
		return Config{}, fmt.Errorf("gcs store: %q is not gcs://BUCKET[/PREFIX]?endpoint=URL", raw)
	}
	if u.Host == "" {
		return Config{}, fmt.Errorf("gcs store: %q: bucket is missing (want gcs://BUCKET[/PREFIX]?endpoint=URL)", raw)
	}
	cfg := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if cfg.Prefix != "" {
		cfg.Prefix += "/"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, fmt.Errorf("gcs store: %q: parameters: %w", raw, err)
	}
	for k := range q {
		if k != "endpoint" {
			return Config{}, fmt.Errorf("gcs store: %q: unknown parameter %q (known: endpoint)", raw, k)
		}
	}
	cfg.Endpoint = q.Get("endpoint")
	if cfg.Endpoint != "" {
		if e, err := url.Parse(cfg.Endpoint); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return Config{}, fmt.Errorf("gcs store: %q: endpoint %q is not an http(s) URL", raw, cfg.Endpoint)
		}
	}
	return cfg, nil
}

// Store is a GCS-backed store.Backend. Safe for concurrent use.
type Store struct {
	c         *storage.Client
	ownClient bool
	bkt       *storage.BucketHandle
	bucket    string
	prefix    string
	chunkSize int
	clk       *clock.Clock
	log       *slog.Logger

	mu     sync.Mutex
	spaces map[string]bool // space markers known to exist
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
		return nil, errors.New("gcs store: no bucket")
	}
	if cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	cfg.ChunkSize = (cfg.ChunkSize + chunkUnit - 1) / chunkUnit * chunkUnit
	c, own := cfg.Client, false
	if c == nil {
		var err error
		if c, err = NewClient(ctx, cfg); err != nil {
			return nil, fmt.Errorf("gcs store: %w", err)
		}
		own = true
	}
	s := &Store{
		c: c, ownClient: own, bkt: c.Bucket(cfg.Bucket), bucket: cfg.Bucket, prefix: cfg.Prefix,
		chunkSize: cfg.ChunkSize, clk: clk, log: log,
		spaces: map[string]bool{},
	}
	if _, err := s.bkt.Attrs(ctx); err != nil {
		if own {
			c.Close()
		}
		return nil, fmt.Errorf("gcs store: bucket %q: %w", cfg.Bucket, err)
	}
	return s, nil
}

// NewClient builds a GCS client for cfg: with an endpoint, one that speaks
// the JSON API (reads included) to it without credentials, as
// STORAGE_EMULATOR_HOST would; without, one on Application Default
// Credentials.
func NewClient(ctx context.Context, cfg Config) (*storage.Client, error) {
	if cfg.Endpoint == "" {
		return storage.NewClient(ctx)
	}
	return storage.NewClient(ctx,
		option.WithEndpoint(strings.TrimSuffix(cfg.Endpoint, "/")+"/storage/v1/"),
		option.WithoutAuthentication(),
		storage.WithJSONReads(),
	)
}

// Describe says where the bytes are, for logs and /_emulator/info.
func (s *Store) Describe() string { return "gcs://" + s.bucket + "/" + s.prefix }

func (s *Store) key(sp store.Space, p string) string { return s.prefix + sp.ObjectKey(p) }
func (s *Store) marker(sp store.Space) string        { return s.prefix + spacesDir + sp.Key() }

// Close closes the client if the store made it.
func (s *Store) Close() error {
	if s.ownClient {
		return s.c.Close()
	}
	return nil
}

// notFound reports whether err is GCS's answer for a missing object.
func notFound(err error) bool {
	if errors.Is(err, storage.ErrObjectNotExist) {
		return true
	}
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
}

// preconditionFailed reports whether err is GCS's answer to a condition
// (generation match, does-not-exist) that did not hold.
func preconditionFailed(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed
}

// etag is the ETag of one generation of an object.
func etag(gen int64) string { return `"` + strconv.FormatInt(gen, 10) + `"` }

// exists reports whether an object is at key.
func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	_, err := s.bkt.Object(key).Attrs(ctx)
	switch {
	case err == nil:
		return true, nil
	case notFound(err):
		return false, nil
	default:
		return false, err
	}
}

// anyUnder reports whether some object's name starts with prefix.
func (s *Store) anyUnder(ctx context.Context, prefix string) (bool, error) {
	q := &storage.Query{Prefix: prefix}
	if err := q.SetAttrSelection([]string{"Name"}); err != nil {
		return false, err
	}
	it := s.bkt.Objects(ctx, q)
	it.PageInfo().MaxSize = 1
	_, err := it.Next()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, iterator.Done):
		return false, nil
	default:
		return false, err
	}
}

// Exists reports whether a space exists: its marker, or any file in it
// (written by another replica or straight into the bucket).
func (s *Store) Exists(sp store.Space) (bool, error) {
	if err := store.CheckSpace(sp); err != nil {
		return false, fmt.Errorf("gcs store: exists: %w", err)
	}
	ctx := context.Background()
	ok, err := s.exists(ctx, s.marker(sp))
	if err == nil && !ok {
		ok, err = s.anyUnder(ctx, s.prefix+sp.Key()+"/")
	}
	if err != nil {
		return false, fmt.Errorf("gcs store: exists %s: %w", sp.Key(), err)
	}
	return ok, nil
}

// Create writes a space's marker if this store has not seen it.
func (s *Store) Create(sp store.Space) error {
	if err := store.CheckSpace(sp); err != nil {
		return fmt.Errorf("gcs store: create: %w", err)
	}
	return s.ensureSpace(context.Background(), sp)
}

// ensureSpace writes the marker only if no marker exists (a
// does-not-exist condition: another replica's marker is kept, not given a
// new generation).
func (s *Store) ensureSpace(ctx context.Context, sp store.Space) error {
	k := s.marker(sp)
	s.mu.Lock()
	known := s.spaces[k]
	s.mu.Unlock()
	if known {
		return nil
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.bkt.Object(k).If(storage.Conditions{DoesNotExist: true}).NewWriter(wctx)
	w.ChunkSize = 0
	if err := w.Close(); err != nil && !preconditionFailed(err) {
		return fmt.Errorf("gcs store: create %s: %w", sp.Key(), err)
	}
	s.mu.Lock()
	s.spaces[k] = true
	s.mu.Unlock()
	return nil
}

// describe makes an Object of an object's attributes.
func describe(p string, a *storage.ObjectAttrs) store.Object {
	o := store.Object{Path: p, Size: a.Size, ContentType: a.ContentType, ETag: etag(a.Generation)}
	if len(a.MD5) == 16 {
		o.MD5 = fmt.Sprintf("%x", a.MD5)
	}
	if o.ContentType == "" {
		o.ContentType = store.GuessType(p)
	}
	o.Modified = modified(a)
	return o
}

// modified is the emulator clock's time of the upload, or GCS's own if the
// object was written by something else.
func modified(a *storage.ObjectAttrs) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, a.Metadata[metaModified]); err == nil {
		return t.UTC()
	}
	return a.Updated.UTC()
}

// head describes the file at p: ErrIsDir if p is a directory (some name
// starts with p/), ErrNotFound if it is nothing.
func (s *Store) head(ctx context.Context, sp store.Space, p string) (*storage.ObjectAttrs, error) {
	if err := store.CheckSpace(sp); err != nil {
		return nil, err
	}
	if err := store.ValidPath(p); err != nil {
		return nil, err
	}
	key := s.key(sp, p)
	a, err := s.bkt.Object(key).Attrs(ctx)
	if err == nil {
		return a, nil
	}
	if !notFound(err) {
		return nil, err
	}
	return nil, s.missing(ctx, key, p)
}

// missing is the error for a path with no object: ErrIsDir if it is a
// directory, else ErrNotFound (or the listing's error).
func (s *Store) missing(ctx context.Context, key, p string) error {
	dir, err := s.anyUnder(ctx, key+"/")
	switch {
	case err != nil:
		return err
	case dir:
		return fmt.Errorf("%w: %q", store.ErrIsDir, p)
	default:
		return fmt.Errorf("%w: %q", store.ErrNotFound, p)
	}
}

// Stat describes a regular file.
func (s *Store) Stat(ctx context.Context, sp store.Space, p string) (store.Object, error) {
	a, err := s.head(ctx, sp, p)
	if err != nil {
		return store.Object{}, fmt.Errorf("gcs store: stat %s: %w", sp.ObjectKey(p), err)
	}
	return describe(p, a), nil
}

// Size returns the size of the regular file at p.
func (s *Store) Size(ctx context.Context, sp store.Space, p string) (int64, error) {
	a, err := s.head(ctx, sp, p)
	if err != nil {
		return 0, fmt.Errorf("gcs store: size %s: %w", sp.ObjectKey(p), err)
	}
	return a.Size, nil
}

// Open opens a regular file for reading: its attributes, then a GET of
// the generation they describe, started at once (so a reader keeps the
// version it opened even if the object is replaced or deleted meanwhile,
// as far as the server's stream goes). A Seek elsewhere before reading
// fetches from there, of that generation only: if it is gone by then (GCS
// keeps no old generation unless the bucket has versioning) the read fails
// rather than mix two versions.
func (s *Store) Open(ctx context.Context, sp store.Space, p string) (*store.Reader, error) {
	for attempt := 0; ; attempt++ {
		a, err := s.head(ctx, sp, p)
		if err != nil {
			return nil, fmt.Errorf("gcs store: open %s: %w", sp.ObjectKey(p), err)
		}
		obj := s.bkt.Object(a.Name).Generation(a.Generation)
		r := &objReader{ctx: ctx, obj: obj, key: a.Name, size: a.Size}
		if a.Size > 0 {
			r.body, err = obj.NewRangeReader(ctx, 0, -1)
			if notFound(err) && attempt < 3 {
				continue // replaced since the attributes were read
			}
			if err != nil {
				return nil, fmt.Errorf("gcs store: open %s: %w", sp.ObjectKey(p), err)
			}
		}
		return store.NewReader(r, describe(p, a)), nil
	}
}

// objReader reads one object generation from where it is positioned.
type objReader struct {
	ctx     context.Context
	obj     *storage.ObjectHandle
	key     string
	size    int64
	off     int64 // where the next Read reads
	body    *storage.Reader
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
		b, err := r.obj.NewRangeReader(r.ctx, r.off, -1)
		if err != nil {
			if notFound(err) {
				err = fmt.Errorf("%w: the object was replaced or deleted since it was opened", store.ErrNotFound)
			}
			return 0, fmt.Errorf("gcs store: get %s from %d: %w", r.key, r.off, err)
		}
		r.body, r.bodyOff = b, r.off
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.bodyOff += int64(n)
	if err == io.EOF && r.off < r.size {
		err = fmt.Errorf("gcs store: get %s: %w at %d of %d bytes", r.key, io.ErrUnexpectedEOF, r.off, r.size)
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
		return 0, fmt.Errorf("gcs store: seek: bad whence %d", whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("gcs store: seek to negative offset %d", abs)
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

// Delete removes a regular file: one request, and a listing only when
// there was nothing to delete (to tell a directory from nothing).
func (s *Store) Delete(ctx context.Context, sp store.Space, p string) error {
	fail := func(err error) error { return fmt.Errorf("gcs store: delete %s: %w", sp.ObjectKey(p), err) }
	if err := store.CheckSpace(sp); err != nil {
		return fail(err)
	}
	if err := store.ValidPath(p); err != nil {
		return fail(err)
	}
	key := s.key(sp, p)
	err := s.bkt.Object(key).Delete(ctx)
	if err == nil {
		return nil
	}
	if !notFound(err) {
		return fail(err)
	}
	return fail(s.missing(ctx, key, p))
}

// object is one file found by a listing.
type object struct {
	key   string
	rel   string // path inside the space
	attrs *storage.ObjectAttrs
}

// listAll lists every object under prefix with the attributes in attrs.
func (s *Store) listAll(ctx context.Context, prefix string, attrs []string, fn func(*storage.ObjectAttrs) error) error {
	q := &storage.Query{Prefix: prefix}
	if err := q.SetAttrSelection(attrs); err != nil {
		return err
	}
	it := s.bkt.Objects(ctx, q)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
}

// fileAttrs are what a listing of files asks for.
var fileAttrs = []string{"Name", "Size", "Generation", "Updated", "Metadata"}

// files lists the addressable files of a space whose path starts with
// prefix; ErrNotFound if the space does not exist.
func (s *Store) files(ctx context.Context, sp store.Space, prefix string) ([]object, error) {
	if err := store.CheckSpace(sp); err != nil {
		return nil, err
	}
	base := s.prefix + sp.Key() + "/"
	var out []object
	err := s.listAll(ctx, base+prefix, fileAttrs, func(a *storage.ObjectAttrs) error {
		rel := strings.TrimPrefix(a.Name, base)
		if store.ValidPath(rel) != nil {
			return nil // not addressable through the Files API
		}
		out = append(out, object{key: a.Name, rel: rel, attrs: a})
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
// directories their names imply, whose path has prefix as a plain string
// prefix, sorted by path in byte order, never nil. A directory's size is 0
// and its modified time the newest of everything under it. One listing
// (paged) and nothing per object: it carries each object's metadata.
func (s *Store) List(ctx context.Context, sp store.Space, prefix string) ([]store.Entry, error) {
	objs, err := s.files(ctx, sp, prefix)
	if err != nil {
		return nil, fmt.Errorf("gcs store: list %s prefix %q: %w", sp.Key(), prefix, err)
	}
	entries := make([]store.Entry, 0, len(objs)*2)
	dirs := map[string]int{} // path → index in entries
	for _, o := range objs {
		mod := modified(o.attrs)
		entries = append(entries, store.Entry{Name: o.rel[strings.LastIndexByte(o.rel, '/')+1:], Path: o.rel, Size: o.attrs.Size, Modified: mod})
		for j := strings.LastIndexByte(o.rel, '/'); j > 0; j = strings.LastIndexByte(o.rel[:j], '/') {
			d := o.rel[:j]
			if !strings.HasPrefix(d, prefix) {
				break // shorter ancestors are shorter still
			}
			if k, ok := dirs[d]; ok {
				if mod.After(entries[k].Modified) {
					entries[k].Modified = mod
				}
				continue
			}
			dirs[d] = len(entries)
			entries = append(entries, store.Entry{Name: d[strings.LastIndexByte(d, '/')+1:], Path: d, Modified: mod, IsDir: true})
		}
	}
	slices.SortFunc(entries, func(a, b store.Entry) int { return strings.Compare(a.Path, b.Path) })
	return entries, nil
}

// Versions maps each addressable file of sp to its ETag (its generation;
// one listing); empty if sp does not exist.
func (s *Store) Versions(ctx context.Context, sp store.Space) (map[string]string, error) {
	objs, err := s.files(ctx, sp, "")
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gcs store: versions: %w", err)
	}
	out := make(map[string]string, len(objs))
	for _, o := range objs {
		out[o.rel] = etag(o.attrs.Generation)
	}
	return out, nil
}

// Usage returns the bytes of the space's addressable files; 0 if it does
// not exist.
func (s *Store) Usage(ctx context.Context, sp store.Space) (int64, error) {
	objs, err := s.files(ctx, sp, "")
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil
		}
		return 0, fmt.Errorf("gcs store: usage: %w", err)
	}
	var n int64
	for _, o := range objs {
		n += o.attrs.Size
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
	err := s.listAll(context.Background(), prefix, []string{"Name"}, func(a *storage.ObjectAttrs) error {
		parts := strings.Split(strings.TrimPrefix(a.Name, base), "/")
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
		return nil, fmt.Errorf("gcs store: spaces: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// removeUnder deletes every object under prefix, a few at a time.
func (s *Store) removeUnder(ctx context.Context, prefix string) error {
	var keys []string
	if err := s.listAll(ctx, prefix, []string{"Name"}, func(a *storage.ObjectAttrs) error {
		keys = append(keys, a.Name)
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
			if err := s.bkt.Object(k).Delete(ctx); err != nil && !notFound(err) {
				errs[i] = err
			}
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
		return fmt.Errorf("gcs store: remove: %w", err)
	}
	ctx := context.Background()
	if err := s.removeUnder(ctx, s.prefix+sp.Key()+"/"); err != nil {
		return fmt.Errorf("gcs store: remove %s: %w", sp.Key(), err)
	}
	// The marker by its exact name: as a prefix it would also name the
	// markers of spaces whose id merely starts with this one's.
	k := s.marker(sp)
	if err := s.bkt.Object(k).Delete(ctx); err != nil && !notFound(err) {
		return fmt.Errorf("gcs store: remove %s: %w", sp.Key(), err)
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
			return fmt.Errorf("gcs store: remove org: %w", err)
		}
		org += "/"
	}
	ctx := context.Background()
	for _, p := range []string{s.prefix + "orgs/" + org, s.prefix + spacesDir + "orgs/" + org} {
		if err := s.removeUnder(ctx, p); err != nil {
			return fmt.Errorf("gcs store: remove org %q: %w", strings.TrimSuffix(org, "/"), err)
		}
	}
	return nil
}
