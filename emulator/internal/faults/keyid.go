package faults

import (
	"crypto/sha256"
	"encoding/hex"
	"sync/atomic"
)

// KeyIDPrefix starts every key id.
const KeyIDPrefix = "key_"

// KeyID is the stable, non-secret name of an API key that the journal and
// fault rules use: "key_" and the first 12 hex digits of its SHA-256. The
// key itself is never recorded.
func KeyID(key string) string {
	if last := lastKeyID.Load(); last != nil && last[0] == key {
		return last[1] // every request of a client names the same key
	}
	sum := sha256.Sum256([]byte(key))
	id := KeyIDPrefix + hex.EncodeToString(sum[:6])
	lastKeyID.Store(&[2]string{key, id})
	return id
}

// lastKeyID is the last key KeyID was asked about, and its id.
var lastKeyID atomic.Pointer[[2]string]
