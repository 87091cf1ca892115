// Package objstore is the store.Backend of a bucket, written once over the
// few requests every cloud's object store answers (a Bucket: head, get a
// range, write, delete, list by prefix, copy). Packages s3store and
// gcsstore are its adapters: each implements Bucket for its cloud, with its
// client, credentials and URL, and opens a Store over it.
//
// Layout in the bucket, under the store's prefix (the same for every
// cloud, so a tree can move between them with a plain copy):
//
//	orgs/<org>/threads/<id>/<path>   thread files
//	orgs/<org>/volumes/<slug>/<path> volume files
//	.spaces/orgs/<org>/{threads|volumes}/<id>  an empty object per space:
//	                                 a bucket has no directories, so this
//	                                 is what makes an empty thread or
//	                                 volume exist
//	.staging/<random>/...            a snapshot being loaded (NewStaging)
//
// Directories are not stored: a listing derives them from the names. What
// the Store adds to the Bucket is the Files API's view: spaces, paths
// checked before any key is made, a file never under a file nor in place
// of a directory, ErrIsDir told from ErrNotFound, listings in SPEC's
// order, and readers that keep the version they opened.
package objstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// listConcurrency bounds the requests a listing or a removal has in flight.
const listConcurrency = 8

// spacesDir holds the space markers, beside orgs/ under the store's prefix.
const spacesDir = ".spaces/"

// stagingDir holds staging areas, beside orgs/ and .spaces/.
const stagingDir = ".staging/"

// Options says what a Store is over and how it names itself.
type Options struct {
	// Name starts every error and log message ("s3 store").
	Name string
	// Scheme and Bucket make Describe's scheme://bucket/prefix.
	Scheme string
	Bucket string
	// Prefix is put before every key; "" or ending in "/" (added if
	// missing).
	Prefix string
	// CacheModified: the Bucket's listing carries no metadata (Attrs.HasMeta
	// is false), so the Store remembers each object's modified time by
	// ETag, and a listing asks Head only for objects it has not seen.
	CacheModified bool
	// Clock gives uploads their modified time; nil means the real clock.
	Clock *clock.Clock
	// Log, nil to discard.
	Log *slog.Logger
}

// Store is a store.Backend over a Bucket. Safe for concurrent use.
type Store struct {
	b      Bucket
	opts   Options
	prefix string
	clk    *clock.Clock
	log    *slog.Logger

	mu     sync.Mutex
	meta   map[string]cachedMeta // key → what Head said, for that ETag (CacheModified)
	spaces map[string]bool       // space markers known to exist
}

// cachedMeta is an object's modified time, valid while its ETag is etag.
type cachedMeta struct {
	etag     string
	modified time.Time
}

var (
	_ store.Backend = (*Store)(nil)
	_ store.Stager  = (*Store)(nil)
	_ store.Keys    = (*Store)(nil)
)

// New returns the Store over b. It makes no request.
func New(b Bucket, o Options) *Store {
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	return &Store{
		b: b, opts: o, prefix: o.Prefix, clk: o.Clock, log: o.Log,
		meta: map[string]cachedMeta{}, spaces: map[string]bool{},
	}
}

// Describe says where the bytes are, for logs and /_emulator/info.
func (s *Store) Describe() string { return s.opts.Scheme + "://" + s.opts.Bucket + "/" + s.prefix }

// Close releases nothing: the Bucket belongs to whoever made the Store.
func (s *Store) Close() error { return nil }

// Key is the object key of the file at p of sp.
func (s *Store) Key(sp store.Space, p string) string { return s.prefix + sp.ObjectKey(p) }

// MarkerKey is the key of sp's marker object.
func (s *Store) MarkerKey(sp store.Space) string { return s.prefix + spacesDir + sp.Key() }

// errorf wraps err with the store's name and what failed.
func (s *Store) errorf(format string, args ...any) error {
	return fmt.Errorf(s.opts.Name+": "+format, args...)
}

func (s *Store) forget(key string) {
	if !s.opts.CacheModified {
		return
	}
	s.mu.Lock()
	delete(s.meta, key)
	s.mu.Unlock()
}

// describe makes an Object of the file at p, remembering its modified time.
func (s *Store) describe(p string, a Attrs) store.Object {
	o := store.Object{Path: p, Size: a.Size, ContentType: a.ContentType, Modified: a.Modified, ETag: a.ETag, MD5: a.MD5}
	if o.ContentType == "" {
		o.ContentType = store.GuessType(p)
	}
	if s.opts.CacheModified && a.HasMeta {
		s.mu.Lock()
		s.meta[a.Key] = cachedMeta{etag: a.ETag, modified: a.Modified}
		s.mu.Unlock()
	}
	return o
}

// exists reports whether an object is at key.
func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	_, err := s.b.Head(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case s.b.NotFound(err):
		return false, nil
	default:
		return false, err
	}
}

// Exists reports whether a space exists: its marker, or any file in it
// (written by another replica or straight into the bucket).
func (s *Store) Exists(sp store.Space) (bool, error) {
	if err := store.CheckSpace(sp); err != nil {
		return false, s.errorf("exists: %w", err)
	}
	ctx := context.Background()
	ok, err := s.exists(ctx, s.MarkerKey(sp))
	if err == nil && !ok {
		ok, err = s.b.AnyUnder(ctx, s.prefix+sp.Key()+"/")
	}
	if err != nil {
		return false, s.errorf("exists %s: %w", sp.Key(), err)
	}
	return ok, nil
}

// Create writes a space's marker if this store has not seen it.
func (s *Store) Create(sp store.Space) error {
	if err := store.CheckSpace(sp); err != nil {
		return s.errorf("create: %w", err)
	}
	return s.ensureSpace(context.Background(), sp)
}

// ensureSpace writes the marker unless this store knows it is there.
func (s *Store) ensureSpace(ctx context.Context, sp store.Space) error {
	k := s.MarkerKey(sp)
	s.mu.Lock()
	known := s.spaces[k]
	s.mu.Unlock()
	if known {
		return nil
	}
	if err := s.b.CreateMarker(ctx, k); err != nil {
		return s.errorf("create %s: %w", sp.Key(), err)
	}
	s.mu.Lock()
	s.spaces[k] = true
	s.mu.Unlock()
	return nil
}

// checkPath checks sp and p before any key is made of them.
func checkPath(sp store.Space, p string) error {
	if err := store.CheckSpace(sp); err != nil {
		return err
	}
	return store.ValidPath(p)
}

// head describes the file at p: ErrIsDir if p is a directory (some key
// starts with p/), ErrNotFound if it is nothing.
func (s *Store) head(ctx context.Context, sp store.Space, p string) (store.Object, error) {
	if err := checkPath(sp, p); err != nil {
		return store.Object{}, err
	}
	key := s.Key(sp, p)
	a, err := s.b.Head(ctx, key)
	if err == nil {
		return s.describe(p, a), nil
	}
	if !s.b.NotFound(err) {
		return store.Object{}, err
	}
	return store.Object{}, s.missing(ctx, key, p)
}

// missing is the error for a path with no object: ErrIsDir if it is a
// directory, else ErrNotFound (or the listing's error).
func (s *Store) missing(ctx context.Context, key, p string) error {
	s.forget(key)
	dir, err := s.b.AnyUnder(ctx, key+"/")
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
	o, err := s.head(ctx, sp, p)
	if err != nil {
		return store.Object{}, s.errorf("stat %s: %w", sp.ObjectKey(p), err)
	}
	return o, nil
}

// Size returns the size of the regular file at p.
func (s *Store) Size(ctx context.Context, sp store.Space, p string) (int64, error) {
	o, err := s.head(ctx, sp, p)
	if err != nil {
		return 0, s.errorf("size %s: %w", sp.ObjectKey(p), err)
	}
	return o.Size, nil
}

// Open opens a regular file for reading: one version of it, whose bytes
// the Bucket starts sending at once (so a reader keeps the version it
// opened even if the object is replaced or deleted meanwhile, as far as
// the server's stream goes). A Seek elsewhere before reading fetches from
// there, of that version only: if it is gone by then the read fails rather
// than mix two versions.
func (s *Store) Open(ctx context.Context, sp store.Space, p string) (*store.Reader, error) {
	fail := func(err error) (*store.Reader, error) {
		return nil, s.errorf("open %s: %w", sp.ObjectKey(p), err)
	}
	if err := checkPath(sp, p); err != nil {
		return fail(err)
	}
	key := s.Key(sp, p)
	a, body, err := s.b.Open(ctx, key)
	if err != nil {
		if !s.b.NotFound(err) {
			return fail(err)
		}
		return fail(s.missing(ctx, key, p))
	}
	o := s.describe(p, a)
	return store.NewReader(&reader{s: s, ctx: ctx, key: key, etag: a.ETag, size: a.Size, body: body}, o), nil
}

// reader reads one object version: the body Open got, or, after a Seek
// elsewhere, a range of that version from there.
type reader struct {
	s       *Store
	ctx     context.Context
	key     string
	etag    string
	size    int64
	off     int64 // where the next Read reads
	body    io.ReadCloser
	bodyOff int64 // where body's next byte is
}

func (r *reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body != nil && r.bodyOff != r.off {
		r.body.Close()
		r.body = nil
	}
	if r.body == nil {
		b, err := r.s.b.GetRange(r.ctx, r.key, r.etag, r.off)
		if err != nil {
			if r.s.b.NotFound(err) {
				err = fmt.Errorf("%w: the object was replaced or deleted since it was opened", store.ErrNotFound)
			}
			return 0, r.s.errorf("get %s from %d: %w", r.key, r.off, err)
		}
		r.body, r.bodyOff = b, r.off
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.bodyOff += int64(n)
	if err == io.EOF && r.off < r.size {
		err = r.s.errorf("get %s: %w at %d of %d bytes", r.key, io.ErrUnexpectedEOF, r.off, r.size)
	}
	return n, err
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, r.s.errorf("seek: bad whence %d", whence)
	}
	if abs < 0 {
		return 0, r.s.errorf("seek to negative offset %d", abs)
	}
	r.off = abs // a body at another offset is dropped by the next Read
	return abs, nil
}

func (r *reader) Close() error {
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}

// Delete removes a regular file: one request where the Bucket's delete
// tells a missing object, and a listing only when there was nothing to
// delete (to tell a directory from nothing).
func (s *Store) Delete(ctx context.Context, sp store.Space, p string) error {
	fail := func(err error) error { return s.errorf("delete %s: %w", sp.ObjectKey(p), err) }
	if err := checkPath(sp, p); err != nil {
		return fail(err)
	}
	key := s.Key(sp, p)
	err := s.b.DeleteExisting(ctx, key)
	if err == nil {
		s.forget(key)
		return nil
	}
	if !s.b.NotFound(err) {
		return fail(err)
	}
	return fail(s.missing(ctx, key, p))
}

// file is one addressable file found by a listing.
type file struct {
	rel string // path inside the space
	Attrs
}

// files lists the addressable files of a space whose path starts with
// prefix; ErrNotFound if the space does not exist.
func (s *Store) files(ctx context.Context, sp store.Space, prefix string) ([]file, error) {
	if err := store.CheckSpace(sp); err != nil {
		return nil, err
	}
	base := s.prefix + sp.Key() + "/"
	var out []file
	err := s.b.List(ctx, base+prefix, false, func(a Attrs) error {
		rel := strings.TrimPrefix(a.Key, base)
		if store.ValidPath(rel) != nil {
			return nil // not addressable through the Files API
		}
		out = append(out, file{rel: rel, Attrs: a})
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
// (paged); where it carries no metadata (CacheModified), a file this
// replica has not seen (by ETag) costs one Head, at most listConcurrency
// at a time.
func (s *Store) List(ctx context.Context, sp store.Space, prefix string) ([]store.Entry, error) {
	fail := func(err error) ([]store.Entry, error) {
		return nil, s.errorf("list %s prefix %q: %w", sp.Key(), prefix, err)
	}
	objs, err := s.files(ctx, sp, prefix)
	if err != nil {
		return fail(err)
	}
	mod, err := s.modified(ctx, objs)
	if err != nil {
		return fail(err)
	}
	return entries(objs, mod, prefix), nil
}

// entries makes the listing of objs (modified times mod) under prefix:
// the files and the directories their paths imply, in path order.
func entries(objs []file, mod []time.Time, prefix string) []store.Entry {
	out := make([]store.Entry, 0, len(objs)*2)
	dirs := map[string]int{} // path → index in out
	for i, o := range objs {
		out = append(out, store.Entry{Name: o.rel[strings.LastIndexByte(o.rel, '/')+1:], Path: o.rel, Size: o.Size, Modified: mod[i]})
		for j := strings.LastIndexByte(o.rel, '/'); j > 0; j = strings.LastIndexByte(o.rel[:j], '/') {
			d := o.rel[:j]
			if !strings.HasPrefix(d, prefix) {
				break // shorter ancestors are shorter still
			}
			if k, ok := dirs[d]; ok {
				if mod[i].After(out[k].Modified) {
					out[k].Modified = mod[i]
				}
				continue
			}
			dirs[d] = len(out)
			out = append(out, store.Entry{Name: d[strings.LastIndexByte(d, '/')+1:], Path: d, Modified: mod[i], IsDir: true})
		}
	}
	slices.SortFunc(out, func(a, b store.Entry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// modified is the modified time of each of objs: the listing's, what this
// store remembers for that ETag, or a Head's.
func (s *Store) modified(ctx context.Context, objs []file) ([]time.Time, error) {
	mod := make([]time.Time, len(objs))
	var todo []int
	s.mu.Lock()
	for i, o := range objs {
		if o.HasMeta {
			mod[i] = o.Modified
		} else if m, ok := s.meta[o.Key]; ok && m.etag == o.ETag {
			mod[i] = m.modified
		} else {
			todo = append(todo, i)
		}
	}
	s.mu.Unlock()
	if err := s.headAll(ctx, objs, todo, mod); err != nil {
		return nil, err
	}
	return mod, nil
}

// headAll fills mod[i] for every i in todo with a Head of objs[i].
func (s *Store) headAll(ctx context.Context, objs []file, todo []int, mod []time.Time) error {
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
			a, err := s.b.Head(ctx, o.Key)
			switch {
			case err == nil:
				mod[i] = s.describe(o.rel, a).Modified
			case s.b.NotFound(err):
				mod[i] = o.Modified.UTC() // deleted since the listing: keep what it said
			default:
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

// Versions maps each addressable file of sp to its ETag (one listing, no
// Head); empty if sp does not exist.
func (s *Store) Versions(ctx context.Context, sp store.Space) (map[string]string, error) {
	objs, err := s.files(ctx, sp, "")
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, s.errorf("versions: %w", err)
	}
	out := make(map[string]string, len(objs))
	for _, o := range objs {
		out[o.rel] = o.ETag
	}
	return out, nil
}

// Usage returns the bytes of the space's addressable files; 0 if it does
// not exist. It needs only the listing.
func (s *Store) Usage(ctx context.Context, sp store.Space) (int64, error) {
	objs, err := s.files(ctx, sp, "")
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil
		}
		return 0, s.errorf("usage: %w", err)
	}
	var n int64
	for _, o := range objs {
		n += o.Size
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
	err := s.b.List(context.Background(), prefix, true, func(a Attrs) error {
		if sp, ok := parseMarker(strings.TrimPrefix(a.Key, base)); ok {
			out = append(out, sp)
		}
		return nil
	})
	if err != nil {
		return nil, s.errorf("spaces: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// parseMarker is the space of a marker's key below .spaces/:
// orgs/<org>/{threads|volumes}/<id>, checked as CheckSpace checks.
func parseMarker(k string) (store.Space, bool) {
	parts := strings.Split(k, "/")
	if len(parts) != 4 || parts[0] != "orgs" {
		return store.Space{}, false
	}
	sp := store.Space{Org: parts[1], ID: parts[3]}
	switch parts[2] {
	case "threads":
		sp.Kind = store.Thread
	case "volumes":
		sp.Kind = store.Volume
	}
	return sp, store.CheckSpace(sp) == nil
}

// removeUnder deletes every object under prefix, a few at a time.
func (s *Store) removeUnder(ctx context.Context, prefix string) error {
	var keys []string
	if err := s.b.List(ctx, prefix, true, func(a Attrs) error {
		keys = append(keys, a.Key)
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
			errs[i] = s.b.Delete(ctx, k)
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
		return s.errorf("remove: %w", err)
	}
	ctx := context.Background()
	if err := s.removeUnder(ctx, s.prefix+sp.Key()+"/"); err != nil {
		return s.errorf("remove %s: %w", sp.Key(), err)
	}
	// The marker by its exact key: as a prefix it would also name the
	// markers of spaces whose id merely starts with this one's (t1, t10).
	k := s.MarkerKey(sp)
	if err := s.b.Delete(ctx, k); err != nil {
		return s.errorf("remove %s: %w", sp.Key(), err)
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
			return s.errorf("remove org: %w", err)
		}
		org += "/"
	}
	ctx := context.Background()
	for _, p := range []string{s.prefix + "orgs/" + org, s.prefix + spacesDir + "orgs/" + org} {
		if err := s.removeUnder(ctx, p); err != nil {
			return s.errorf("remove org %q: %w", strings.TrimSuffix(org, "/"), err)
		}
	}
	return nil
}

// Put stores exactly size bytes of body at p, with contentType ("" means
// the one p's extension gives). A body shorter or longer than size gives
// store.ErrSizeMismatch; that, a read error or a cancelled ctx leaves no
// object and any earlier one at p untouched.
func (s *Store) Put(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader) (store.Object, error) {
	return s.put(ctx, sp, p, contentType, size, body, false, nil)
}

// PutMD5 is Put that also gives the content's MD5 (Object.MD5) and, with
// want, refuses content whose MD5 differs (store.ErrBadDigest), leaving
// nothing.
func (s *Store) PutMD5(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader, want []byte) (store.Object, error) {
	return s.put(ctx, sp, p, contentType, size, body, true, want)
}

func (s *Store) put(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader, withMD5 bool, want []byte) (store.Object, error) {
	fail := func(err error) (store.Object, error) {
		return store.Object{}, s.errorf("put %s: %w", sp.ObjectKey(p), err)
	}
	if err := checkPath(sp, p); err != nil {
		return fail(err)
	}
	if size < 0 {
		return fail(fmt.Errorf("%w: declared length %d is negative", store.ErrSizeMismatch, size))
	}
	if err := s.precheck(ctx, sp, p); err != nil {
		return fail(err)
	}
	if err := s.ensureSpace(ctx, sp); err != nil {
		return fail(err)
	}
	if contentType == "" {
		contentType = store.GuessType(p)
	}
	a, err := s.b.Write(ctx, Upload{
		Key: s.Key(sp, p), ContentType: contentType, Size: size, Body: body,
		MD5: withMD5, Want: want, Now: s.clk.Now,
	})
	if err != nil {
		return fail(err)
	}
	return s.describe(p, a), nil
}

// precheck refuses a path under a file ("a" exists, so "a/b" cannot) or
// that names a directory, as the file store does. One Head per parent and
// one listing: the bucket itself would accept both, making a tree the
// Files API cannot show.
func (s *Store) precheck(ctx context.Context, sp store.Space, p string) error {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		ok, err := s.exists(ctx, s.Key(sp, p[:i]))
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("%w: %q is a file, so %q cannot be created under it", store.ErrInvalidPath, p[:i], p)
		}
	}
	dir, err := s.b.AnyUnder(ctx, s.Key(sp, p)+"/")
	if err != nil {
		return err
	}
	if dir {
		return fmt.Errorf("%w: %q is a directory and cannot be replaced by a file", store.ErrIsDir, p)
	}
	return nil
}

// NewStaging opens an empty staging area under .staging/<random>/ of the
// store's prefix, whose modified times come from clk; Commit switches it
// in with server-side copies (store.KeyStaging). A staging area a killed
// emulator left behind stays in the bucket, out of every listing (a
// lifecycle rule on the .staging/ prefix, or deleting it by hand, reclaims
// it).
func (s *Store) NewStaging(ctx context.Context, clk *clock.Clock) (store.Staging, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := stagingDir + hex.EncodeToString(b[:])
	o := s.opts
	o.Prefix, o.Clock = s.prefix+name+"/", clk
	return &store.KeyStaging{
		Sub: New(s.b, o), Keys: s, Prefix: name + "/", Backup: name + ".old/",
		Live: []string{"orgs/", spacesDir}, Log: s.log, After: s.forgetAll,
	}, nil
}

// forgetAll drops what the store remembers of objects and spaces.
func (s *Store) forgetAll() {
	s.mu.Lock()
	s.meta = map[string]cachedMeta{}
	s.spaces = map[string]bool{}
	s.mu.Unlock()
}

// ListKeys calls fn with every key under prefix (relative to the store's
// prefix).
func (s *Store) ListKeys(ctx context.Context, prefix string, fn func(key string) error) error {
	return s.b.List(ctx, s.prefix+prefix, true, func(a Attrs) error {
		return fn(strings.TrimPrefix(a.Key, s.prefix))
	})
}

// DeleteKey removes the object at key (relative to the store's prefix).
func (s *Store) DeleteKey(ctx context.Context, key string) error {
	k := s.prefix + key
	if err := s.b.Delete(ctx, k); err != nil {
		return err
	}
	s.forget(k)
	return nil
}

// CopyKey copies the object at src to dst (both relative to the store's
// prefix) with its content type and metadata, server-side where the cloud
// can.
func (s *Store) CopyKey(ctx context.Context, src, dst string) error {
	dk := s.prefix + dst
	if err := s.b.Copy(ctx, s.prefix+src, dk); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	s.forget(dk)
	return nil
}
