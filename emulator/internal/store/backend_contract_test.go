package store_test

import (
	"testing"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/storetest"
)

// TestBackendContract runs the behaviour every store shares on the file store.
func TestBackendContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clk *clock.Clock) store.Backend {
		st, err := store.Open(t.TempDir(), clk, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}, storetest.Options{})
}
