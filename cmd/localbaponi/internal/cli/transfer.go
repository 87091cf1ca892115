package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
)

// copyBuf is the size of the buffer a transfer streams through: memory
// stays bounded whatever the file size.
const copyBuf = 1 << 20

// Transfers moves files between local files and a deployment through
// signed URLs, with a progress bar on Progress when it is a terminal, and
// one retry with a fresh URL when a transfer fails.
type Transfers struct {
	Client *Client
	// Progress is where bars are drawn (stderr); nothing is drawn unless
	// it is a terminal.
	Progress io.Writer
	// Log reports retries.
	Log *slog.Logger
}

// contentType guesses a file's media type from its extension.
func contentType(name string) string {
	if t := mime.TypeByExtension(filepath.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// retryable reports whether a failed transfer is worth one more try with a
// fresh URL: not when the caller gave up.
func retryable(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !errors.Is(err, context.Canceled)
}

// Upload sends size bytes of f (read from its start) to dst.
func (t *Transfers) Upload(ctx context.Context, f *os.File, size int64, dst Location) error {
	p := newProgress(t.Progress, dst.Path, size)
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		if attempt == 2 {
			t.Log.Warn("upload failed; retrying once with a fresh URL", "to", dst.String(), "err", err)
			p.reset()
		}
		if _, err = f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("upload %s: %w", dst, err)
		}
		var signed SignedURL
		signed, err = t.Client.UploadURL(ctx, dst, contentType(dst.Path), size)
		if err != nil {
			return err // a refusal of the API: a fresh URL changes nothing
		}
		if err = t.put(ctx, signed, f, size, p); err == nil {
			p.finish()
			return nil
		}
		if !retryable(ctx, err) {
			break
		}
	}
	return fmt.Errorf("upload %s: %w", dst, err)
}

func (t *Transfers) put(ctx context.Context, s SignedURL, r io.Reader, size int64, p *progress) error {
	method := s.Method
	if method == "" {
		method = http.MethodPut
	}
	var body io.Reader = http.NoBody
	if size > 0 {
		body = countingReader{r: io.LimitReader(r, size), p: p}
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	resp, err := t.Client.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errorFrom(resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// Download writes src to w. On a failure it tries once more with a fresh
// URL, but only if restart can rewind w (nil restart: only when nothing
// was written yet).
func (t *Transfers) Download(ctx context.Context, src Location, w io.Writer, restart func() error) error {
	var p *progress
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		var written int64
		if attempt == 2 {
			t.Log.Warn("download failed; retrying once with a fresh URL", "from", src.String(), "err", err)
			p.reset()
		}
		var signed SignedURL
		signed, err = t.Client.DownloadURL(ctx, src)
		if err != nil {
			return err
		}
		written, err = t.get(ctx, signed, w, src, &p)
		if err == nil {
			p.finish()
			return nil
		}
		if !retryable(ctx, err) {
			break
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			break
		}
		if written > 0 {
			if restart == nil {
				break
			}
			if rerr := restart(); rerr != nil {
				return fmt.Errorf("download %s: %w (and rewinding: %w)", src, err, rerr)
			}
		}
	}
	return fmt.Errorf("download %s: %w", src, err)
}

func (t *Transfers) get(ctx context.Context, s SignedURL, w io.Writer, src Location, pp **progress) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := t.Client.http().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, errorFrom(resp)
	}
	if *pp == nil {
		*pp = newProgress(t.Progress, src.Path, resp.ContentLength)
	}
	n, err := io.CopyBuffer(countingWriter{w: w, p: *pp}, onlyReader{resp.Body}, make([]byte, copyBuf))
	return n, err
}

// onlyReader hides WriterTo/ReaderFrom so that io.CopyBuffer uses the
// buffer (and the progress bar sees every chunk).
type onlyReader struct{ io.Reader }
