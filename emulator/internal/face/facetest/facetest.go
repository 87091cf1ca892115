// Package facetest holds the HTTP helpers that the storage faces' tests
// share: sending a request to a signed URL and bending one of its query
// parameters.
package facetest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// Do sends method to u with the given headers and body (nil for none) and
// returns the response with its body read and closed.
func Do(t testing.TB, method, u string, headers map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return DoRequest(t, NewRequest(t, method, u, headers, body))
}

// NewRequest builds a request of method to u with the given headers and
// body (nil for none).
func NewRequest(t testing.TB, method, u string, headers map[string]string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// DoRequest sends req and returns the response with its body read and closed.
func DoRequest(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// SetQuery returns u with query parameter k set to v ("" deletes it).
func SetQuery(t testing.TB, u, k, v string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	pu.RawQuery = q.Encode()
	return pu.String()
}
