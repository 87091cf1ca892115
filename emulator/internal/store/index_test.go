package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// walked lists sp by walking its directories, as a store without an index
// does: a second store opened on the same directory.
func walked(t *testing.T, s *Store, sp Space, prefix string) []Entry {
	t.Helper()
	other, err := Open(s.Dir(), s.clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	es, err := other.List(context.Background(), sp, prefix)
	if err != nil {
		t.Fatalf("walk %q: %v", prefix, err)
	}
	return es
}

func indexed(s *Store, sp Space) bool {
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	st := s.idx.spaces[sp.Key()]
	return st != nil && st.idx != nil
}

func sameListing(t *testing.T, what string, got, want []Entry) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: the index lists\n%v\nbut a walk lists\n%v", what, got, want)
	}
}

// TestIndexFollowsPutsAndDeletes: after the first List, the index is used,
// and every Put and Delete (new files, replaced files, new and pruned
// directories, moved clock) leaves it listing exactly what a walk lists,
// under every prefix.
func TestIndexFollowsPutsAndDeletes(t *testing.T) {
	s, clk := newStore(t)
	sp := thread("idx")
	put(t, s, sp, "a.txt", "a")
	put(t, s, sp, "d/x.txt", "x")
	list(t, s, sp, "")
	if !indexed(s, sp) {
		t.Fatal("the first List did not index the space")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a.txt", "a", "a/b.txt", "d/x.txt", "d/e/f.txt", "d/e/g/h.txt", "d.txt", "z/y/x/w.bin", "d/e.txt"}
	present := map[string]bool{"a.txt": true, "d/x.txt": true}
	for i := range 120 {
		p := names[rng.IntN(len(names))]
		if rng.IntN(3) == 0 {
			clk.Advance(time.Duration(rng.IntN(5)-2) * time.Hour) // also backwards
		}
		if present[p] && rng.IntN(2) == 0 {
			if err := s.Delete(context.Background(), sp, p); err != nil {
				t.Fatalf("op %d: Delete %s: %v", i, p, err)
			}
			delete(present, p)
		} else if _, err := s.Put(context.Background(), sp, p, "", int64(i%7), strings.NewReader(strings.Repeat("x", i%7))); err == nil {
			present[p] = true
		} // else: a file or directory is in the way, as the store says
		for _, prefix := range []string{"", "a", "d/", "d/e", "zz"} {
			sameListing(t, fmt.Sprintf("op %d (%s), prefix %q", i, p, prefix), list(t, s, sp, prefix), walked(t, s, sp, prefix))
		}
		if !indexed(s, sp) {
			t.Fatalf("op %d: the index was dropped", i)
		}
	}
}

// TestIndexChangedAndModifying: a write behind the store's back shows once
// it is announced (Changed), and while Modifying is open the space is walked
// every time.
func TestIndexChangedAndModifying(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("ext")
	put(t, s, sp, "in.txt", "in")
	list(t, s, sp, "")
	dir := s.SpaceDir(sp)
	if err := os.WriteFile(filepath.Join(dir, "behind.txt"), []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := paths(list(t, s, sp, "")); !reflect.DeepEqual(got, []string{"in.txt"}) {
		t.Fatalf("before Changed: %v (the index is only as true as what it was told)", got)
	}
	s.Changed(sp)
	if got := paths(list(t, s, sp, "")); !reflect.DeepEqual(got, []string{"behind.txt", "in.txt"}) {
		t.Fatalf("after Changed: %v", got)
	}

	done := s.Modifying(sp)
	for i := range 3 {
		if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "out", fmt.Sprintf("%d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		sameListing(t, fmt.Sprintf("while modifying, write %d", i), list(t, s, sp, ""), walked(t, s, sp, ""))
		if indexed(s, sp) {
			t.Fatal("a space being modified was indexed")
		}
	}
	done()
	done() // idempotent
	if err := os.Remove(filepath.Join(dir, "out", "0.txt")); err != nil {
		t.Fatal(err)
	}
	s.Changed(sp)
	sameListing(t, "after Modifying", list(t, s, sp, ""), walked(t, s, sp, ""))
	if !indexed(s, sp) {
		t.Fatal("not indexed again after Modifying ended")
	}
	s.ChangedAll()
	if indexed(s, sp) {
		t.Fatal("ChangedAll kept an index")
	}
}

// TestTouchSinceDropsTheIndex: the stamping after a run changes mtimes, so
// the index must not keep the old ones.
func TestTouchSinceDropsTheIndex(t *testing.T) {
	s, clk := newStore(t)
	sp := thread("touch")
	put(t, s, sp, "f.txt", "f")
	list(t, s, sp, "")
	since := time.Now()
	if err := os.WriteFile(filepath.Join(s.SpaceDir(sp), "f.txt"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if err := s.TouchSince(sp, since); err != nil {
		t.Fatal(err)
	}
	es := list(t, s, sp, "")
	if len(es) != 1 || es[0].Size != int64(len("changed")) || !es[0].Modified.Equal(clk.Now()) {
		t.Fatalf("after TouchSince: %+v, want f.txt of 7 bytes modified %v", es, clk.Now())
	}
}

// TestIndexConcurrent: Puts, Deletes and Lists racing (the first List among
// them) end with an index that lists what a walk lists. Run with -race.
func TestIndexConcurrent(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("race")
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				p := fmt.Sprintf("w%d/%d/f.txt", w%2, i%5)
				if i%3 == 2 {
					_ = s.Delete(ctx, sp, p)
					continue
				}
				_, _ = s.Put(ctx, sp, p, "", 1, strings.NewReader("x"))
			}
		})
	}
	wg.Go(func() {
		for range 30 {
			_, _ = s.List(ctx, sp, "")
		}
	})
	wg.Wait()
	sameListing(t, "after the race", list(t, s, sp, ""), walked(t, s, sp, ""))
}

// The index keeps a space's total as files are added, replaced and
// deleted; Usage answers from it and must equal a walk's sum.
func TestUsageFromTheIndex(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("usage")
	ctx := context.Background()
	sum := func(es []Entry) (n int64) {
		for _, e := range es {
			if !e.IsDir {
				n += e.Size
			}
		}
		return n
	}
	for i, body := range []string{"a", "bb", "ccc", "dddd"} {
		if _, err := s.Put(ctx, sp, fmt.Sprintf("d%d/f.txt", i%2), "", int64(len(body)), strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		list(t, s, sp, "") // indexed from the first round on
		if err := s.Delete(ctx, sp, "d0/f.txt"); err != nil && i%2 == 0 {
			t.Fatal(err)
		}
		got, err := s.Usage(ctx, sp)
		if want := sum(walked(t, s, sp, "")); err != nil || got != want {
			t.Fatalf("round %d: Usage %d, %v; a walk sums %d", i, got, err, want)
		}
	}
}

// While code runs in a shared space, a file the store itself writes there
// (an upload, another run's mirror download) is not the code's work: the
// run's TouchSince leaves it as the store wrote it (same ETag), and still
// stamps what the code wrote, and a file the code changed after the store
// wrote it.
func TestTouchSinceSkipsWhatTheStoreWroteDuringTheRun(t *testing.T) {
	s, clk := newStore(t)
	sp := Space{Org: "o", Kind: Volume, ID: "shared"}
	ctx := context.Background()
	put(t, s, sp, "old.txt", "o")
	done := s.Modifying(sp)
	since := time.Now()
	time.Sleep(3 * ctimeSlack)
	up, err := s.Put(ctx, sp, "uploaded.txt", "", 2, strings.NewReader("up"))
	if err != nil {
		t.Fatal(err)
	}
	rewritten, err := s.Put(ctx, sp, "rewritten.txt", "", 2, strings.NewReader("up"))
	if err != nil {
		t.Fatal(err)
	}
	dir := s.SpaceDir(sp)
	for name, body := range map[string]string{"code.txt": "code", "rewritten.txt": "by code"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Hour)
	if err := s.TouchSince(sp, since); err != nil {
		t.Fatal(err)
	}
	done()
	got := map[string]Object{}
	for _, p := range []string{"uploaded.txt", "rewritten.txt", "code.txt"} {
		o, err := s.Stat(ctx, sp, p)
		if err != nil {
			t.Fatal(err)
		}
		got[p] = o
	}
	if got["uploaded.txt"].ETag != up.ETag || got["uploaded.txt"].Modified.Equal(clk.Now()) {
		t.Errorf("the store's own upload was stamped: ETag %s → %s, modified %v", up.ETag, got["uploaded.txt"].ETag, got["uploaded.txt"].Modified)
	}
	if got["rewritten.txt"].ETag == rewritten.ETag || !got["rewritten.txt"].Modified.Equal(clk.Now()) {
		t.Errorf("a file the code rewrote after an upload was not stamped: %+v", got["rewritten.txt"])
	}
	if !got["code.txt"].Modified.Equal(clk.Now()) {
		t.Errorf("the code's file was not stamped: %+v", got["code.txt"])
	}
}
