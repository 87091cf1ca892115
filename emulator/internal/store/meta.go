// Sidecar metadata: the content type an upload was made with, kept outside
// the spaces so sandboxed code can neither see nor forge it.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"path"
	"strconv"
)

// DefaultContentType is the content type of a file stored without one (SPEC
// U-1), whichever face or API wrote it.
const DefaultContentType = "application/octet-stream"

// sidecar is the JSON stored for one uploaded file. It is valid only while
// the file still has the inode, size and mtime it was written for: anything
// that changed the file (sandboxed code, another upload) invalidates it.
type sidecar struct {
	Path        string `json:"path"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	MtimeNs     int64  `json:"mtime_ns"`
	Ino         uint64 `json:"ino"`
	// MD5 is the hex MD5 of the content, when the upload computed it
	// (PutMD5); a file changed since has no valid sidecar, so no MD5.
	MD5 string `json:"md5,omitempty"`
}

// metaDir is the sidecar directory of a space, relative to the store root.
func metaDir(sp Space) string { return metaDirName + "/" + sp.Key() }

// metaName names the sidecar of path p for the file with inode ino. Hashing
// keeps the sidecar tree flat (no clash between a file "a" and a directory
// "a.json", no segment-length limits); the inode in the name lets an upload
// write the new file's sidecar before its rename while the sidecar of the
// file it replaces stays valid should the rename fail.
func metaName(p string, ino uint64) string {
	h := sha256.Sum256([]byte(p))
	return hex.EncodeToString(h[:16]) + "." + strconv.FormatUint(ino, 10) + ".json"
}

// writeSidecar records contentType (and the content's hex MD5, if known) for
// the file described by si, atomically (temp file then rename, both inside
// the store root).
func (s *Store) writeSidecar(sp Space, p, contentType, md5 string, si statInfo) error {
	data, err := json.Marshal(sidecar{Path: p, ContentType: contentType, Size: si.size, MtimeNs: si.mtime.UnixNano(), Ino: si.ino, MD5: md5})
	if err != nil {
		return fmt.Errorf("encode sidecar: %w", err)
	}
	tmp := s.tempName("meta")
	if err := s.tmpRoot.WriteFile(tmp, data, FileMode); err != nil {
		return fmt.Errorf("write sidecar: %w", err)
	}
	dir := metaDir(sp)
	if err := s.root.MkdirAll(dir, DirMode); err != nil {
		_ = s.tmpRoot.Remove(tmp)
		return fmt.Errorf("create sidecar directory: %w", err)
	}
	if err := s.root.Rename(tmpDirName+"/"+tmp, dir+"/"+metaName(p, si.ino)); err != nil {
		_ = s.tmpRoot.Remove(tmp)
		return fmt.Errorf("rename sidecar: %w", err)
	}
	return nil
}

// sidecarMeta returns the recorded content type and MD5 ("" if none) of
// the file si at p, if a sidecar exists and still matches the file.
func (s *Store) sidecarMeta(sp Space, p string, si statInfo) (contentType, md5 string, ok bool) {
	data, err := s.root.ReadFile(metaDir(sp) + "/" + metaName(p, si.ino))
	if err != nil {
		return "", "", false
	}
	var m sidecar
	if err := json.Unmarshal(data, &m); err != nil {
		s.log.Warn("store: unreadable sidecar", "space", sp.Key(), "path", p, "err", err)
		return "", "", false
	}
	if m.Path != p || m.Size != si.size || m.MtimeNs != si.mtime.UnixNano() || m.Ino != si.ino || m.ContentType == "" {
		return "", "", false
	}
	return m.ContentType, m.MD5, true
}

// removeSidecar deletes the sidecar of the file with inode ino at p, if any.
func (s *Store) removeSidecar(sp Space, p string, ino uint64) {
	err := s.root.Remove(metaDir(sp) + "/" + metaName(p, ino))
	if err != nil && !isNotFound(err) {
		s.log.Warn("store: remove sidecar", "space", sp.Key(), "path", p, "err", err)
	}
}

// guessType is the type of a file without a sidecar: the one its name's
// extension gives (Go's mime table, with the system's), or else
// application/octet-stream. Put writes no sidecar for an upload whose type
// is this guess.
func guessType(p string) string {
	if ct := mime.TypeByExtension(path.Ext(p)); ct != "" {
		return ct
	}
	return DefaultContentType
}

// etag is a cheap token that changes whenever the file is replaced or
// modified (new inode, size, mtime or ctime: the ctime tells apart two
// uploads of the same size under a frozen clock that got the same recycled
// inode) and is stable otherwise. The content is
// not hashed: that would cost a full read of files up to 10 GiB.
func etag(si statInfo) string {
	// What fmt.Sprintf("\"%x-%x-%x-%x\"", ...) writes, without its cost.
	b := make([]byte, 0, 72)
	b = append(b, '"')
	b = strconv.AppendUint(b, si.ino, 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, si.size, 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, si.mtime.UnixNano(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, si.ctime.UnixNano(), 16)
	b = append(b, '"')
	return string(b)
}

// object describes the regular file si at p: its sidecar's type and MD5,
// or else guessType and no MD5.
func (s *Store) object(sp Space, p string, si statInfo) Object {
	ct, md5, ok := s.sidecarMeta(sp, p, si)
	if !ok {
		ct = guessType(p)
	}
	return Object{Path: p, Size: si.size, ContentType: ct, Modified: si.mtime, ETag: etag(si), MD5: md5}
}
