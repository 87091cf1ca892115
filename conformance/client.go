package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"
)

// keyRef is an API key together with the environment variable a reproducer
// names instead of printing the key itself.
type keyRef struct {
	value string
	env   string // e.g. "BAPONI_API_KEY"; empty prints the value (fake keys)
}

// request is one HTTP request the suite sends, kept so that a failing check
// can print it back as a curl command.
type request struct {
	Method  string
	URL     string
	Header  http.Header
	Body    []byte
	key     keyRef
	hasAuth bool
	// BodyLen, when > len(Body), says the body was cut short on purpose
	// (an interrupted upload): the reproducer notes it.
	BodyLen int64
}

// Response is what came back, with the request that produced it.
type Response struct {
	Req    *request
	Status int
	Header http.Header
	Body   []byte
	Err    error // transport error; Status is 0
	Took   time.Duration
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %s %s response: %w", r.Req.Method, r.Req.URL, err)
	}
	return nil
}

// Object decodes the body as a JSON object, or returns nil.
func (r *Response) Object() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m
}

// MediaType is the response's Content-Type without parameters.
func (r *Response) MediaType() string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return r.Header.Get("Content-Type")
	}
	return mt
}

// Summary is a short human description of the response for reports.
func (r *Response) Summary() string {
	if r == nil {
		return "(no response)"
	}
	if r.Err != nil {
		return "transport error: " + r.Err.Error()
	}
	body := string(r.Body)
	if len(body) > 400 {
		body = body[:400] + fmt.Sprintf("… (%d bytes)", len(r.Body))
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "(no Content-Type)"
	}
	return fmt.Sprintf("HTTP %d, %s, body: %s", r.Status, ct, strings.TrimSpace(body))
}

// Curl renders the request as a curl command a person can paste. API keys
// are referenced through their environment variables, never printed.
func (q *request) Curl() string {
	if q == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("curl -sS -i")
	if q.Method != http.MethodGet || len(q.Body) > 0 {
		fmt.Fprintf(&b, " -X %s", q.Method)
	}
	fmt.Fprintf(&b, " %s", shellQuote(q.URL))
	if q.hasAuth {
		if q.key.env != "" {
			fmt.Fprintf(&b, " -H \"Authorization: Bearer $%s\"", q.key.env)
		} else {
			fmt.Fprintf(&b, " -H %s", shellQuote("Authorization: Bearer "+q.key.value))
		}
	}
	names := make([]string, 0, len(q.Header))
	for k := range q.Header {
		if strings.EqualFold(k, "Authorization") && q.hasAuth || strings.EqualFold(k, "Content-Length") {
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range q.Header[k] {
			fmt.Fprintf(&b, " -H %s", shellQuote(k+": "+v))
		}
	}
	switch {
	case len(q.Body) == 0 && q.Method == http.MethodPut:
		b.WriteString(" --data-binary ''")
	case len(q.Body) == 0:
	case len(q.Body) <= 2048 && printable(q.Body):
		fmt.Fprintf(&b, " --data-binary %s", shellQuote(string(q.Body)))
	default:
		fmt.Fprintf(&b, " --data-binary @body.bin  # %d bytes", len(q.Body))
	}
	if q.BodyLen > int64(len(q.Body)) {
		fmt.Fprintf(&b, "  # announced Content-Length %d, connection dropped after %d bytes", q.BodyLen, len(q.Body))
	}
	return b.String()
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// client talks to the target. It never follows redirects and never asks for
// compression, so that statuses, Content-Length and bytes are what the
// server sent.
type client struct {
	base  string
	admin string // Bearer token for /_emulator/ routes, if any
	http  *http.Client
}

func newClient(base string, timeout time.Duration) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 16
	return &client{
		base: strings.TrimRight(base, "/"),
		http: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// do sends q. A transport error is returned in Response.Err.
func (cl *client) do(ctx context.Context, q *request) *Response {
	return cl.doBody(ctx, q, nil)
}

// doBody sends q with an explicit body reader (for interrupted uploads).
func (cl *client) doBody(ctx context.Context, q *request, body io.Reader) *Response {
	start := time.Now()
	resp := &Response{Req: q}
	if body == nil && q.Body != nil {
		body = bytes.NewReader(q.Body)
	}
	req, err := http.NewRequestWithContext(ctx, q.Method, q.URL, body)
	if err != nil {
		resp.Err = fmt.Errorf("build request: %w", err)
		return resp
	}
	for k, vs := range q.Header {
		switch {
		case strings.EqualFold(k, "Host"):
			req.Host = vs[0]
		case strings.EqualFold(k, "Content-Length"):
		default:
			req.Header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	if q.hasAuth {
		req.Header.Set("Authorization", "Bearer "+q.key.value)
	}
	switch {
	case q.BodyLen > 0:
		req.ContentLength = q.BodyLen
	case q.Body != nil:
		req.ContentLength = int64(len(q.Body))
	}
	if req.ContentLength == 0 && body != nil {
		req.Body = http.NoBody // an empty PUT still says Content-Length: 0
	}
	// Go adds a User-Agent; that is a header a real client sends too, so
	// "exactly the returned headers" means: nothing that could affect a
	// signature or the stored object.
	hr, err := cl.http.Do(req)
	if err != nil {
		resp.Err = err
		resp.Took = time.Since(start)
		return resp
	}
	defer hr.Body.Close()
	resp.Status = hr.StatusCode
	resp.Header = hr.Header
	resp.Body, err = io.ReadAll(io.LimitReader(hr.Body, 64<<20))
	if err != nil {
		resp.Err = fmt.Errorf("read body: %w", err)
	}
	resp.Took = time.Since(start)
	return resp
}

// api builds a request to the control plane.
func (cl *client) api(method, path string, key *keyRef, body any) *request {
	q := &request{Method: method, URL: cl.base + path, Header: http.Header{}}
	if key != nil {
		q.key, q.hasAuth = *key, true
	} else if cl.admin != "" && strings.HasPrefix(path, "/_emulator/") {
		q.key, q.hasAuth = keyRef{cl.admin, "BAPONI_EMULATOR_ADMIN_TOKEN"}, true
	}
	switch b := body.(type) {
	case nil:
	case []byte:
		q.Body = b
		q.Header.Set("Content-Type", "application/json")
	case string:
		q.Body = []byte(b)
		q.Header.Set("Content-Type", "application/json")
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			panic(fmt.Sprintf("conformance: cannot encode request body: %v", err)) // a bug in a check
		}
		q.Body = raw
		q.Header.Set("Content-Type", "application/json")
	}
	return q
}

// errorCode returns the envelope's "error" field, or "".
func errorCode(r *Response) string {
	var env struct {
		Error any `json:"error"`
	}
	if json.Unmarshal(r.Body, &env) != nil {
		return ""
	}
	s, _ := env.Error.(string)
	return s
}

// errorMessage returns the envelope's "message" field, or "".
func errorMessage(r *Response) string {
	var env struct {
		Message any `json:"message"`
	}
	if json.Unmarshal(r.Body, &env) != nil {
		return ""
	}
	s, _ := env.Message.(string)
	return s
}
