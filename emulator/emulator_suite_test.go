package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/localbaponi/localbaponi/emulator"
)

func TestEmulator(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Emulator Suite")
}

// apiClient speaks the control plane over real HTTP.
type apiClient struct {
	base string
	key  string
	http *http.Client
}

func newClient(emu *emulator.Emulator, key string) *apiClient {
	return &apiClient{base: emu.URL(), key: key, http: &http.Client{Timeout: 30 * time.Second}}
}

// response is a decoded API response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (c *apiClient) do(method, path string, body any) response {
	GinkgoHelper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		Expect(err).NotTo(HaveOccurred())
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	Expect(err).NotTo(HaveOccurred())
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		Expect(json.Unmarshal(data, &r.JSON)).To(Succeed(), "body: %s", data)
	}
	return r
}

func (c *apiClient) post(path string, body any) response {
	GinkgoHelper()
	return c.do(http.MethodPost, path, body)
}

// expectError checks the envelope of an error response (SPEC E-1).
func expectError(r response, status int, code string, messageHas ...string) {
	GinkgoHelper()
	Expect(r.Status).To(Equal(status), "body: %s", r.Body)
	Expect(r.Header.Get("Content-Type")).To(HavePrefix("application/json"))
	Expect(r.JSON).To(HaveKeyWithValue("error", code))
	Expect(r.JSON).To(HaveKey("message"))
	msg, _ := r.JSON["message"].(string)
	Expect(msg).NotTo(BeEmpty())
	for _, s := range messageHas {
		Expect(msg).To(ContainSubstring(s))
	}
}

// transfer performs a signed-URL request with the given headers and body.
func transfer(method, url string, headers map[string]any, body []byte) (int, []byte, http.Header) {
	GinkgoHelper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	Expect(err).NotTo(HaveOccurred())
	for k, v := range headers {
		req.Header.Set(k, v.(string))
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, data, resp.Header
}

// upload asks for an upload URL and PUTs data through it.
func (c *apiClient) upload(source, id, path, contentType string, data []byte) {
	GinkgoHelper()
	body := map[string]any{"source": source, "id": id, "path": path, "content_length": len(data)}
	if contentType != "" {
		body["content_type"] = contentType
	}
	r := c.post("/v1/files/upload_url", body)
	Expect(r.Status).To(Equal(http.StatusOK), "upload_url: %s", r.Body)
	status, resp, _ := transfer(http.MethodPut, r.JSON["url"].(string), r.JSON["headers"].(map[string]any), data)
	Expect(status).To(BeElementOf(http.StatusOK, http.StatusCreated), "PUT: %s", resp)
}

// download asks for a download URL and GETs it.
func (c *apiClient) download(source, id, path string) []byte {
	GinkgoHelper()
	r := c.post("/v1/files/download_url", map[string]any{"source": source, "id": id, "path": path})
	Expect(r.Status).To(Equal(http.StatusOK), "download_url: %s", r.Body)
	status, data, _ := transfer(http.MethodGet, r.JSON["url"].(string), nil, nil)
	Expect(status).To(Equal(http.StatusOK), "GET: %s", data)
	return data
}

// paths returns the paths of a list response.
func paths(r response) []string {
	GinkgoHelper()
	files, ok := r.JSON["files"].([]any)
	Expect(ok).To(BeTrue(), "files is not an array: %s", r.Body)
	out := []string{}
	for _, f := range files {
		out = append(out, f.(map[string]any)["path"].(string))
	}
	return out
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
