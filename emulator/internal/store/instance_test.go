package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tmpNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, tmpDirName))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// waitTemp waits until a temp file of store s exists and returns its name.
func waitTemp(t *testing.T, s *Store) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range tmpNames(t, s.Dir()) {
			if strings.HasPrefix(n, s.instID+".put-") {
				return n
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no temp file appeared")
	return ""
}

// A second store on the same directory must not remove the temp file of an
// upload that a live store is receiving; once that store dies (its lock is
// released without Close, as kill -9 does), the next Open removes it at once.
func TestOpenSweepsOnlyDeadInstances(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An older version's leftover, with no instance id: nobody owns it.
	legacy := filepath.Join(dir, tmpDirName, "put-legacy")
	if err := os.WriteFile(legacy, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := a.Put(context.Background(), thread("t"), "f", "", 10, pr)
		done <- err
	}()
	if _, err := pw.Write([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	live := waitTemp(t, a)

	b, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := os.Stat(filepath.Join(dir, tmpDirName, live)); err != nil {
		t.Fatalf("a second store removed a live upload's temp file: %v", err)
	}
	if _, err := os.Stat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unowned temp file kept: %v", err)
	}
	// The live upload completes.
	if _, err := pw.Write([]byte("67890")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}

	// Another upload in flight, then a's process "dies": the kernel drops
	// its flock, nothing else happens.
	pr2, pw2 := io.Pipe()
	go func() {
		_, err := a.Put(context.Background(), thread("t"), "g", "", 10, pr2)
		done <- err
	}()
	if _, err := pw2.Write([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	orphan := waitTemp(t, a)
	aID := a.instID
	a.instLock.Close()
	a.instLock = nil

	c, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := os.Stat(filepath.Join(dir, tmpDirName, orphan)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead instance's temp file %s kept: %v", orphan, err)
	}
	if _, err := os.Stat(filepath.Join(dir, instDirName, aID+".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead instance's lock file kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, instDirName, b.instID+".lock")); err != nil {
		t.Errorf("live instance's lock file removed: %v", err)
	}
	pw2.CloseWithError(errors.New("gone"))
	<-done
	a.Close()
}

// Close removes the instance's lock file; a store leaves nothing in .tmp.
func TestCloseReleasesInstance(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), thread("t"), "a", "text/plain", 3, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(filepath.Join(dir, instDirName))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 0 {
		t.Errorf("lock files left after Close: %v", es)
	}
	if n := tmpNames(t, dir); len(n) != 0 {
		t.Errorf("temp files left: %v", n)
	}
}

// A staging store left by a snapshot load that never finished (its emulator
// died) is removed by the next start; a live instance's staging store is
// not.
func TestStagingOfDeadInstanceSwept(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stage := func(s *Store) string {
		st, err := s.NewStaging(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(context.Background(), thread("t"), "f", "", 1, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		return filepath.Base(st.dir)
	}
	deadStage, liveStage := stage(a), stage(b)
	// a's process "dies" mid-load: the kernel drops its flocks (its own and
	// its staging store's), nothing is cleaned up.
	a.instLock.Close()
	a.instLock = nil

	c, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := os.Stat(filepath.Join(dir, deadStage)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead instance's staging dir %s kept: %v", deadStage, err)
	}
	if _, err := os.Stat(filepath.Join(dir, liveStage, orgsDirName)); err != nil {
		t.Errorf("live instance's staging dir %s removed: %v", liveStage, err)
	}
	a.Close()
}
