package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FormatVersion is the version of the data directory's layout that this
// store reads and writes (the layout in the package comment).
const FormatVersion = 1

// formatFile holds the data directory's layout version, e.g.
// "localbaponi-data 1".
const formatFile = ".localbaponi-format"

const formatPrefix = "localbaponi-data "

// ErrDataFormat is returned by Open for a data directory of a newer or
// unknown layout.
var ErrDataFormat = errors.New("data directory layout not supported")

// checkFormat reads the layout marker of dir, writing it if there is none
// (a new directory, or one written before markers existed: the same
// layout), and refuses a newer or unknown layout before anything in the
// directory is touched.
func checkFormat(dir string) error {
	path := filepath.Join(dir, formatFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(path, []byte(formatPrefix+strconv.Itoa(FormatVersion)+"\n"), FileMode); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	text := strings.TrimSpace(string(data))
	v, err := strconv.Atoi(strings.TrimPrefix(text, formatPrefix))
	switch {
	case !strings.HasPrefix(text, formatPrefix) || err != nil:
		return fmt.Errorf("%w: %s says %q, a layout this localbaponi does not know (it writes %q): "+
			"point --data-dir at an empty or new directory, or remove the directory if its data is not needed",
			ErrDataFormat, path, text, formatPrefix+strconv.Itoa(FormatVersion))
	case v > FormatVersion:
		return fmt.Errorf("%w: %s was written by a newer localbaponi (layout %d; this one reads %d): "+
			"run that newer version, or move the data across with GET /_emulator/snapshot there and "+
			"POST /_emulator/snapshot (or --snapshot) here, or start with an empty --data-dir",
			ErrDataFormat, dir, v, FormatVersion)
	case v < 1:
		return fmt.Errorf("%w: %s names layout %d, which never existed: point --data-dir at an empty or new directory",
			ErrDataFormat, path, v)
	}
	return nil
}
