package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// occupancyOnDisk is what a second store on the same directory, which has
// no index, answers: Size (0 unless a file) and Usage by a walk.
func occupancyOnDisk(t *testing.T, s *Store, sp Space, p string) (int64, bool, int64) {
	t.Helper()
	other, err := Open(s.Dir(), s.clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	size, err := other.Size(ctx, sp, p)
	isDir := errors.Is(err, ErrIsDir)
	if err != nil {
		size = 0
	}
	used, err := other.walkUsage(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	return size, isDir, used
}

// checkOccupancy compares s's Occupancy and Size, which answer from the
// index when the space has one, with what the disk holds.
func checkOccupancy(t *testing.T, s *Store, sp Space, what string, paths ...string) {
	t.Helper()
	ctx := context.Background()
	for _, p := range paths {
		wantSize, wantDir, wantUsed := occupancyOnDisk(t, s, sp, p)
		size, used, err := s.Occupancy(ctx, sp, p, true)
		switch {
		case wantDir:
			if !errors.Is(err, ErrIsDir) {
				t.Errorf("%s: Occupancy %q = %d, %d, %v; want ErrIsDir", what, p, size, used, err)
			}
		case err != nil || size != wantSize || used != wantUsed:
			t.Errorf("%s: Occupancy %q = %d, %d, %v; want %d, %d", what, p, size, used, err, wantSize, wantUsed)
		}
		gotSize, err := s.Size(ctx, sp, p)
		if wantDir {
			if !errors.Is(err, ErrIsDir) {
				t.Errorf("%s: Size %q = %d, %v; want ErrIsDir", what, p, gotSize, err)
			}
		} else {
			if err != nil {
				gotSize = 0
			}
			if gotSize != wantSize {
				t.Errorf("%s: Size %q = %d, %v; want %d", what, p, gotSize, err, wantSize)
			}
		}
		gotUsed, err := s.Usage(ctx, sp)
		if err != nil || gotUsed != wantUsed {
			t.Errorf("%s: Usage = %d, %v; want %d", what, gotUsed, err, wantUsed)
		}
	}
}

// TestOccupancyFollowsEveryChange: Occupancy, Size and Usage answer from
// the listing index once the space has one, and stay equal to what the
// disk holds after every kind of change: uploads (new, replacing, into new
// directories), deletes that prune, code writing during a run
// (Modifying), TouchSince, Changed after an outside write, RemoveSpace,
// RemoveOrg and a snapshot's ReplaceWith.
func TestOccupancyFollowsEveryChange(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	sp := thread("occ")
	paths := []string{"a", "d", "d/x", "d/e/y", "new/z", "code.txt", "nosuch"}
	check := func(what string) { t.Helper(); checkOccupancy(t, s, sp, what, paths...) }

	check("no space")
	put(t, s, sp, "a", "1")
	check("first upload, not indexed")
	if !indexed(s, sp) {
		t.Fatal("Usage of an existing space did not index it") // the rest tests the index
	}
	put(t, s, sp, "d/x", "22")
	put(t, s, sp, "d/e/y", "333")
	check("new files and directories")
	put(t, s, sp, "d/x", "4444")
	check("a replaced file")
	if err := s.Delete(ctx, sp, "d/e/y"); err != nil {
		t.Fatal(err)
	}
	check("a delete that prunes d/e")

	// Code writes behind the store's back while it runs.
	done := s.Modifying(sp)
	dir := s.SpaceDir(sp)
	if err := os.WriteFile(filepath.Join(dir, "code.txt"), []byte("55555"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o755); err != nil { // a is now a directory
		t.Fatal(err)
	}
	check("code running")
	if err := os.WriteFile(filepath.Join(dir, "d", "x"), []byte("666666"), 0o644); err != nil {
		t.Fatal(err)
	}
	done()
	check("after the run")
	list(t, s, sp, "")
	if err := s.TouchSince(sp, t0.Add(-1)); err != nil {
		t.Fatal(err)
	}
	check("after TouchSince")

	list(t, s, sp, "")
	if err := os.WriteFile(filepath.Join(dir, "new-outside"), []byte("7777777"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Changed(sp)
	check("an outside write, then Changed")

	list(t, s, sp, "")
	if err := s.RemoveSpace(sp); err != nil {
		t.Fatal(err)
	}
	check("RemoveSpace")
	put(t, s, sp, "d/x", "x")
	list(t, s, sp, "")
	if err := s.RemoveOrg(sp.Org); err != nil {
		t.Fatal(err)
	}
	check("RemoveOrg")

	put(t, s, sp, "a", "before the snapshot")
	list(t, s, sp, "")
	st, err := s.NewStaging(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, sp, "d/x", "", 3, strings.NewReader("snp")); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceWith(st); err != nil {
		t.Fatal(err)
	}
	check("a snapshot loaded")
}

// TestOccupancyOfAMissingSpaceLeavesNoTrace: looking up spaces that do not
// exist (every upload_url to a new thread) keeps no state for them.
func TestOccupancyOfAMissingSpaceLeavesNoTrace(t *testing.T) {
	s, _ := newStore(t)
	for _, id := range []string{"n1", "n2", "n3"} {
		if size, used, err := s.Occupancy(context.Background(), thread(id), "f", true); err != nil || size != 0 || used != 0 {
			t.Errorf("Occupancy in missing %s = %d, %d, %v", id, size, used, err)
		}
		if n, err := s.Usage(context.Background(), thread(id)); err != nil || n != 0 {
			t.Errorf("Usage of missing %s = %d, %v", id, n, err)
		}
	}
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	if len(s.idx.spaces) != 0 {
		t.Errorf("the store keeps state for %d spaces that do not exist", len(s.idx.spaces))
	}
}

// TestMissingSpaceForgottenWhenMade: a space a lookup found missing (and
// the store remembers so) is seen as soon as anything makes it: an upload,
// Create (an execution), code writing in it, a snapshot load, a writer
// outside the store that says Changed or ChangedAll.
func TestMissingSpaceForgottenWhenMade(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"put", "create+code", "replace", "changed", "changed-all"} {
		t.Run(how, func(t *testing.T) {
			s, _ := newStore(t)
			sp := thread("later")
			for range 2 { // the second answers from what the first found
				if size, used, err := s.Occupancy(ctx, sp, "d/f", true); err != nil || size != 0 || used != 0 {
					t.Fatalf("Occupancy of a missing space = %d, %d, %v", size, used, err)
				}
			}
			if !s.absent.known(sp.Key()) {
				t.Fatal("the missing space is not remembered: the test tests nothing")
			}
			outside := func() {
				dir := filepath.Join(s.SpaceDir(sp), "d")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "f"), []byte("12345"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			switch how {
			case "put":
				put(t, s, sp, "d/f", "12345")
			case "create+code":
				if err := s.Create(sp); err != nil {
					t.Fatal(err)
				}
				done := s.Modifying(sp)
				outside()
				done()
			case "replace":
				st, err := s.NewStaging(nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Put(ctx, sp, "d/f", "", 5, strings.NewReader("12345")); err != nil {
					t.Fatal(err)
				}
				if err := s.ReplaceWith(st); err != nil {
					t.Fatal(err)
				}
			case "changed":
				outside()
				s.Changed(sp)
			case "changed-all":
				outside()
				s.ChangedAll()
			}
			if size, used, err := s.Occupancy(ctx, sp, "d/f", true); err != nil || size != 5 || used != 5 {
				t.Errorf("Occupancy after %s = %d, %d, %v; want 5, 5", how, size, used, err)
			}
			if n, err := s.Usage(ctx, sp); err != nil || n != 5 {
				t.Errorf("Usage after %s = %d, %v; want 5", how, n, err)
			}
		})
	}
}

// TestMissingSpaceRaceWithCreate: lookups of a space racing with the
// upload that makes it never keep it missing once the upload returned.
func TestMissingSpaceRaceWithCreate(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for i := range 50 {
		sp := thread(fmt.Sprintf("r%d", i))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.Occupancy(ctx, sp, "f", true); err != nil {
					t.Error(err)
					return
				}
			}
		})
		put(t, s, sp, "f", "abc")
		close(stop)
		wg.Wait()
		if size, used, err := s.Occupancy(ctx, sp, "f", true); err != nil || size != 3 || used != 3 {
			t.Fatalf("round %d: Occupancy after the upload = %d, %d, %v; want 3, 3", i, size, used, err)
		}
	}
}
