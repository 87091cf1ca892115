package conformance_test

// Building blocks for the deviations in mutation_test.go: predicates on an
// exchange, and rewrites of requests and answers.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/localbaponi/localbaponi/conformance"
)

// onAPI rewrites the answers of one API path that have one of the
// statuses (none: any status).
func onAPI(p string, statuses ...int) func(x *exchange, resp *http.Response) bool {
	return func(x *exchange, resp *http.Response) bool {
		if !x.api(p) {
			return false
		}
		if len(statuses) == 0 {
			return true
		}
		for _, s := range statuses {
			if resp.StatusCode == s {
				return true
			}
		}
		return false
	}
}

// anyV1 matches /v1/ answers with one of the statuses.
func anyV1(statuses ...int) func(x *exchange, resp *http.Response) bool {
	return func(x *exchange, resp *http.Response) bool {
		if !x.under("/v1/") {
			return false
		}
		for _, s := range statuses {
			if resp.StatusCode == s {
				return true
			}
		}
		return len(statuses) == 0
	}
}

// restatus gives matching answers another status and envelope code.
func restatus(match func(*exchange, *http.Response) bool, status int, code string) func(*exchange, *http.Response) error {
	return func(x *exchange, resp *http.Response) error {
		if !match(x, resp) {
			return nil
		}
		resp.StatusCode = status
		if code == "" {
			return nil
		}
		return editJSON(resp, func(m map[string]any) { m["error"] = code })
	}
}

// editAnswer edits the JSON object of matching answers.
func editAnswer(match func(*exchange, *http.Response) bool, edit func(x *exchange, m map[string]any)) func(*exchange, *http.Response) error {
	return func(x *exchange, resp *http.Response) error {
		if !match(x, resp) {
			return nil
		}
		return editJSON(resp, func(m map[string]any) { edit(x, m) })
	}
}

// editEntries edits every entry of a 200 list answer.
func editEntries(edit func(e map[string]any)) func(*exchange, *http.Response) error {
	return func(x *exchange, resp *http.Response) error {
		if !x.api("/v1/files/list") {
			return nil
		}
		return editFiles(resp, func(files []any) []any {
			for _, f := range files {
				edit(f.(map[string]any))
			}
			return files
		})
	}
}

// editRequest edits the JSON body of matching requests.
func editRequest(match func(x *exchange, m map[string]any) bool, edit func(m map[string]any)) func(*exchange, *http.Request) ([]byte, *http.Response) {
	return func(x *exchange, r *http.Request) ([]byte, *http.Response) {
		m := x.jsonBody()
		if m == nil || !match(x, m) {
			return nil, nil
		}
		edit(m)
		b, _ := json.Marshal(m)
		return b, nil
	}
}

// answerIf answers matching requests itself.
func answerIf(match func(x *exchange, r *http.Request) bool, answer func(x *exchange) *http.Response) func(*exchange, *http.Request) ([]byte, *http.Response) {
	return func(x *exchange, r *http.Request) ([]byte, *http.Response) {
		if match(x, r) {
			return nil, answer(x)
		}
		return nil, nil
	}
}

// swapKey sends matching requests with the dev organisation's key.
func swapKey(match func(x *exchange, r *http.Request) bool) func(*exchange, *http.Request) ([]byte, *http.Response) {
	return func(x *exchange, r *http.Request) ([]byte, *http.Response) {
		if match(x, r) {
			r.Header.Set("Authorization", "Bearer "+conformance.DevAPIKey)
		}
		return nil, nil
	}
}

// editCode rewrites the code of execute requests.
func editCode(old, new string) func(*exchange, *http.Request) ([]byte, *http.Response) {
	return editRequest(func(x *exchange, m map[string]any) bool { return x.api("/v1/sandbox/execute") }, func(m map[string]any) {
		if code, ok := m["code"].(string); ok {
			m["code"] = strings.ReplaceAll(code, old, new)
		}
	})
}

// xmlError is a provider XML error answer.
func xmlError(status int, code string) *http.Response {
	b := []byte(fmt.Sprintf("<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code><Message>deviation</Message></Error>", code))
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/xml"}, "Content-Length": {strconv.Itoa(len(b))}}, Body: io.NopCloser(bytes.NewReader(b))}
}

// rewriteXMLCode changes a provider error code in data-plane answers.
func rewriteXMLCode(from, to string, status int) func(*exchange, *http.Response) error {
	return func(x *exchange, resp *http.Response) error {
		if !x.dataPlane() || resp.StatusCode < 400 {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("<Code>"+from+"</Code>")) {
			b = bytes.ReplaceAll(b, []byte("<Code>"+from+"</Code>"), []byte("<Code>"+to+"</Code>"))
			if status != 0 {
				resp.StatusCode = status
			}
		}
		setBody(resp, b)
		return nil
	}
}

// dataBody reads a data-plane request body; err is non-nil when the
// client dropped the connection mid-body.
func dataBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(r.Body)
}

// object splits a signed URL's path into its space and file path:
// /<bucket>/orgs/<org>/threads/<id>/<path>.
func object(urlPath string) (source, id, p string, ok bool) {
	for _, kind := range []string{"threads", "volumes"} {
		_, rest, found := strings.Cut(urlPath, "/"+kind+"/")
		if !found {
			continue
		}
		id, p, found = strings.Cut(rest, "/")
		if !found {
			return "", "", "", false
		}
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		return strings.TrimSuffix(kind, "s"), id, p, true
	}
	return "", "", "", false
}

// issued remembers the signed URLs the emulator handed out, by URL path.
type issued struct {
	mu      sync.Mutex
	byPath  map[string]issuedURL // method + " " + URL path
	bySig   map[string]issuedURL
	lengths map[string]int64
}

type issuedURL struct {
	method, path, query, contentType string
}

func newIssued() *issued {
	return &issued{byPath: map[string]issuedURL{}, bySig: map[string]issuedURL{}, lengths: map[string]int64{}}
}

func signature(q url.Values) string {
	for _, k := range []string{"X-Goog-Signature", "X-Amz-Signature", "sig"} {
		if v := q.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// track records upload_url and download_url answers.
func (is *issued) track(x *exchange, resp *http.Response) error {
	method := map[string]string{"/v1/files/upload_url": http.MethodPut, "/v1/files/download_url": http.MethodGet}[x.path]
	if method == "" || resp.StatusCode != http.StatusOK {
		return nil
	}
	return editJSON(resp, func(m map[string]any) {
		u, err := url.Parse(fmt.Sprint(m["url"]))
		if err != nil {
			return
		}
		ct := ""
		if h, ok := m["headers"].(map[string]any); ok {
			ct, _ = h["Content-Type"].(string)
		}
		iu := issuedURL{method: method, path: u.Path, query: u.RawQuery, contentType: ct}
		is.mu.Lock()
		defer is.mu.Unlock()
		is.byPath[method+" "+u.Path] = iu
		is.bySig[signature(u.Query())] = iu
		if n, ok := x.jsonBody()["content_length"].(float64); ok {
			is.lengths[u.Path] = int64(n)
		}
	})
}

func (is *issued) lookupPath(method, p string) (issuedURL, bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	iu, ok := is.byPath[method+" "+p]
	return iu, ok
}

func (is *issued) lookupSig(raw string) (issuedURL, bool) {
	q, _ := url.ParseQuery(raw)
	is.mu.Lock()
	defer is.mu.Unlock()
	iu, ok := is.bySig[signature(q)]
	return iu, ok
}

// deleteFile deletes a file through the API with the dev key, as a
// deviation that damages state does.
func deleteFile(x *exchange, source, id, p string) {
	b, _ := json.Marshal(map[string]string{"source": source, "id": id, "path": p})
	req, _ := http.NewRequest(http.MethodDelete, x.emuURL+"/v1/files", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+conformance.DevAPIKey)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// listFiles lists a space with the dev key.
func listFiles(x *exchange, source, id, prefix string) []string {
	m := map[string]string{"source": source, "id": id}
	if prefix != "" {
		m["path"] = prefix
	}
	b, _ := json.Marshal(m)
	req, _ := http.NewRequest(http.MethodPost, x.emuURL+"/v1/files/list", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+conformance.DevAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var lr struct {
		Files []struct {
			Path        string `json:"path"`
			IsDirectory bool   `json:"is_directory"`
		} `json:"files"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&lr)
	var out []string
	for _, f := range lr.Files {
		if !f.IsDirectory {
			out = append(out, f.Path)
		}
	}
	return out
}

// stream edits the NDJSON lines of a streamed execute answer.
func stream(edit func(lines [][]byte) []byte) func(*exchange, *http.Response) error {
	return func(x *exchange, resp *http.Response) error {
		if !x.api("/v1/sandbox/execute") || !strings.Contains(resp.Header.Get("Content-Type"), "ndjson") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var lines [][]byte
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines = append(lines, l)
			}
		}
		setBody(resp, edit(lines))
		return nil
	}
}

func isVolume(m map[string]any) bool { return m["source"] == "volume" }

var epoch2001 = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)

// cleanPath is what a lax implementation would make of a bad path.
func cleanPath(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// uploadsBegun counts the upload URLs the emulator hands out for each
// file and the PUTs to it a deviation has handled (for most, read to their
// end or seen cut). The
// client's requests after a cut upload can reach a deviation before the cut
// upload itself does: each connection has its own goroutine, and under load
// the cut upload's may not have read its request yet when the client, which
// gave up on it, lists the space or uploads again on another connection.
// A deviation that must see the cut first waits for it here. URLs are
// counted, not told apart: two issued in the same second for the same file
// are the same URL.
type uploadsBegun struct {
	mu      sync.Mutex
	issued  map[[2]string]int // space id and file path → upload URLs handed out
	done    map[[2]string]int // → PUTs handled
	changed chan struct{}     // closed and replaced at each PUT handled
}

func newUploadsBegun() *uploadsBegun {
	return &uploadsBegun{issued: map[[2]string]int{}, done: map[[2]string]int{}, changed: make(chan struct{})}
}

// track is a response hook: it counts an upload_url answer.
func (ub *uploadsBegun) track(x *exchange, resp *http.Response) error {
	if !x.api("/v1/files/upload_url") || resp.StatusCode != http.StatusOK {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	setBody(resp, b)
	var answer struct{ URL string }
	if json.Unmarshal(b, &answer) != nil {
		return nil
	}
	u, err := url.Parse(answer.URL)
	if err != nil {
		return nil
	}
	if _, id, p, ok := object(u.Path); ok {
		ub.mu.Lock()
		ub.issued[[2]string{id, p}]++
		ub.mu.Unlock()
	}
	return nil
}

// handled counts a PUT to the signed URL path urlPath that the deviation
// has handled.
func (ub *uploadsBegun) handled(urlPath string) {
	_, id, p, ok := object(urlPath)
	if !ok {
		return
	}
	ub.mu.Lock()
	defer ub.mu.Unlock()
	ub.done[[2]string{id, p}]++
	close(ub.changed)
	ub.changed = make(chan struct{})
}

// await waits until as many PUTs to the files of space id (to file path p,
// unless empty) have been handled as upload URLs were handed out for them.
// A PUT waiting here must have been counted by handled first, or two PUTs to
// one file would wait for each other. A URL the client never uses would be
// waited for in vain: await gives up after 30 s, or when ctx ends.
func (ub *uploadsBegun) await(ctx context.Context, id, p string) {
	count := func(m map[[2]string]int) (n int) {
		for k, v := range m {
			if k[0] == id && (p == "" || k[1] == p) {
				n += v
			}
		}
		return n
	}
	ub.mu.Lock()
	want := count(ub.issued)
	ub.mu.Unlock()
	bound := time.NewTimer(30 * time.Second)
	defer bound.Stop()
	for {
		ub.mu.Lock()
		got, changed := count(ub.done), ub.changed
		ub.mu.Unlock()
		if got >= want {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-bound.C:
			return
		}
	}
}
