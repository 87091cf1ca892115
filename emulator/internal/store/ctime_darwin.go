package store

import (
	"syscall"
	"time"
)

// ctimeOf returns the inode change time of a stat result.
func ctimeOf(st *syscall.Stat_t) time.Time { return time.Unix(st.Ctimespec.Unix()).UTC() }
