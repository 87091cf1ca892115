package clock

import (
	"sync"
	"testing"
	"time"
)

func TestFrozenClockMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	c := NewFrozen(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	time.Sleep(2 * time.Millisecond)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("frozen clock moved by itself: %v", got)
	}
	if err := c.Advance(16 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Now(), start.Add(16*time.Minute); !got.Equal(want) {
		t.Fatalf("after Advance Now = %v, want %v", got, want)
	}
	if err := c.Advance(-time.Second); err != ErrBackwards {
		t.Fatalf("Advance(-1s) = %v, want ErrBackwards", err)
	}
	c.Set(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Set backwards: Now = %v, want %v", got, start)
	}
}

func TestRealClockFollowsTimeWithOffset(t *testing.T) {
	c := NewReal()
	before := time.Now()
	if err := c.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	got := c.Now()
	if d := got.Sub(before); d < time.Hour || d > time.Hour+5*time.Second {
		t.Fatalf("Now - real = %v, want about 1h", d)
	}
	if got.Location() != time.UTC {
		t.Fatalf("Now is in %v, want UTC", got.Location())
	}
	target := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(target)
	if d := c.Now().Sub(target); d < 0 || d > 5*time.Second {
		t.Fatalf("after Set, Now - target = %v", d)
	}
}

func TestClockConcurrentUse(t *testing.T) {
	c := NewFrozen(time.Unix(0, 0))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				_ = c.Advance(time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			last := c.Now()
			for j := 0; j < 1000; j++ {
				now := c.Now()
				if now.Before(last) {
					t.Errorf("clock went backwards: %v after %v", now, last)
					return
				}
				last = now
			}
		}()
	}
	wg.Wait()
	if got, want := c.Now(), time.Unix(0, 0).Add(8*time.Second); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
}
