package s3store

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// barrierReader gives its body only once every reader of its group has
// been asked for bytes: by then each upload holds whatever buffer it took.
type barrierReader struct {
	r    io.Reader
	once sync.Once
	wg   *sync.WaitGroup
}

func (b *barrierReader) Read(p []byte) (int, error) {
	b.once.Do(func() { b.wg.Done(); b.wg.Wait() })
	return b.r.Read(p)
}

// TestSmallPutsTakeTheirSize: many small uploads at once each hold a
// buffer of their own size, not a part buffer (8 MiB) each, so memory
// stays bounded by what is uploaded.
func TestSmallPutsTakeTheirSize(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, Config{Bucket: testBucket, Endpoint: fakeS3(t), Concurrency: 1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := store.Space{Org: "org_a", Kind: store.Thread, ID: "t1"}
	if err := st.Create(sp); err != nil {
		t.Fatal(err)
	}
	const n = 16
	body := strings.Repeat("x", 1024)
	var barrier, done sync.WaitGroup
	barrier.Add(n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			r := &barrierReader{r: strings.NewReader(body), wg: &barrier}
			if _, err := st.Put(ctx, sp, fmt.Sprintf("f%d.txt", i), "", int64(len(body)), r); err != nil {
				t.Error(err)
			}
		}()
	}
	done.Wait()
	runtime.ReadMemStats(&after)
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d uploads of 1 KiB at once allocated %.1f MiB", n, float64(got)/(1<<20))
	if got > 32<<20 {
		t.Errorf("%d uploads of 1 KiB at once allocated %.1f MiB; want under 32 MiB", n, float64(got)/(1<<20))
	}
}
