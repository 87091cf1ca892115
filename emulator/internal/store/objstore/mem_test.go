package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errNoObject is memBucket's answer for a missing object.
var errNoObject = errors.New("mem bucket: no such object")

// memObject is one version of an object.
type memObject struct {
	data     []byte
	ct       string
	gen      int64
	md5      string
	modified time.Time // the emulator clock's (metadata)
	updated  time.Time // the bucket's own
}

// memBucket is a Bucket in memory: a real one, with versions (a
// generation per write), conditional markers, key-ordered listings and
// reads of one version only. With listsMeta false its listing carries no
// metadata, as S3's does not; with it, as GCS's does.
type memBucket struct {
	listsMeta bool
	// updated is the bucket's own clock (what a listing without metadata
	// gives as modified time).
	updated time.Time

	mu      sync.Mutex
	objects map[string]*memObject
	gen     int64
	heads   int // Head calls
	// beforeHead, if set, runs at the start of every Head (outside mu).
	beforeHead func(key string)
}

func newMemBucket(listsMeta bool) *memBucket {
	return &memBucket{
		listsMeta: listsMeta, objects: map[string]*memObject{},
		updated: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

var _ Bucket = (*memBucket)(nil)

func (m *memBucket) NotFound(err error) bool { return errors.Is(err, errNoObject) }

func (m *memBucket) attrs(key string, o *memObject) Attrs {
	return Attrs{
		Key: key, Size: int64(len(o.data)), ContentType: o.ct, ETag: `"` + strconv.FormatInt(o.gen, 10) + `"`,
		MD5: o.md5, Modified: o.modified, HasMeta: true,
	}
}

func (m *memBucket) Head(ctx context.Context, key string) (Attrs, error) {
	if m.beforeHead != nil {
		m.beforeHead(key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heads++
	o, ok := m.objects[key]
	if !ok {
		return Attrs{}, fmt.Errorf("head %s: %w", key, errNoObject)
	}
	return m.attrs(key, o), nil
}

func (m *memBucket) headCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.heads
}

func (m *memBucket) Open(ctx context.Context, key string) (Attrs, io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		return Attrs{}, nil, fmt.Errorf("open %s: %w", key, errNoObject)
	}
	// The version's bytes are never changed (a write makes a new slice),
	// so the reader keeps the version it opened.
	return m.attrs(key, o), io.NopCloser(bytes.NewReader(o.data)), nil
}

func (m *memBucket) GetRange(ctx context.Context, key, etag string, off int64) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok || m.attrs(key, o).ETag != etag {
		return nil, fmt.Errorf("get %s at %s: %w", key, etag, errNoObject)
	}
	return io.NopCloser(bytes.NewReader(o.data[min(off, int64(len(o.data))):])), nil
}

func (m *memBucket) Write(ctx context.Context, u Upload) (Attrs, error) {
	h := NewHash(u.MD5, u.Want)
	var buf bytes.Buffer
	src := io.Reader(u.Body)
	if h != nil {
		src = io.TeeReader(u.Body, h)
	}
	n, err := io.Copy(&buf, io.LimitReader(src, u.Size))
	err = Copied(n, u.Size, err)
	if err == nil {
		err = NoMore(u.Body, u.Size)
	}
	if err == nil {
		err = CheckDigest(h, u.Want)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return Attrs{}, err
	}
	o := &memObject{data: buf.Bytes(), ct: u.ContentType, modified: u.Now().UTC(), updated: m.updated}
	if h != nil {
		o.md5 = fmt.Sprintf("%x", h.Sum(nil))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	o.gen = m.gen
	m.objects[u.Key] = o
	return m.attrs(u.Key, o), nil
}

func (m *memBucket) CreateMarker(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; !ok {
		m.gen++
		m.objects[key] = &memObject{gen: m.gen, updated: m.updated}
	}
	return nil
}

func (m *memBucket) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
	return nil
}

func (m *memBucket) DeleteExisting(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; !ok {
		return fmt.Errorf("delete %s: %w", key, errNoObject)
	}
	delete(m.objects, key)
	return nil
}

// keys lists the keys under prefix in order.
func (m *memBucket) keys(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (m *memBucket) List(ctx context.Context, prefix string, namesOnly bool, fn func(Attrs) error) error {
	for _, k := range m.keys(prefix) {
		m.mu.Lock()
		o, ok := m.objects[k]
		var a Attrs
		if ok {
			a = m.attrs(k, o)
		}
		m.mu.Unlock()
		if !ok {
			continue // deleted while the listing was paged
		}
		if namesOnly {
			a = Attrs{Key: k}
		} else if !m.listsMeta {
			a = Attrs{Key: k, Size: a.Size, ETag: a.ETag, Modified: o.updated}
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

func (m *memBucket) AnyUnder(ctx context.Context, prefix string) (bool, error) {
	return len(m.keys(prefix)) > 0, nil
}

func (m *memBucket) Copy(ctx context.Context, src, dst string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[src]
	if !ok {
		return fmt.Errorf("copy %s: %w", src, errNoObject)
	}
	c := *o
	m.gen++
	c.gen = m.gen
	m.objects[dst] = &c
	return nil
}
