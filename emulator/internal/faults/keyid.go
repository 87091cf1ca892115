package faults

import (
	"crypto/sha256"
	"encoding/hex"
)

// KeyIDPrefix starts every key id.
const KeyIDPrefix = "key_"

// KeyID is the stable, non-secret name of an API key that the journal and
// fault rules use: "key_" and the first 12 hex digits of its SHA-256. The
// key itself is never recorded.
func KeyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return KeyIDPrefix + hex.EncodeToString(sum[:6])
}
