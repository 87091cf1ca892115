package emulator_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/localbaponi/localbaponi/emulator"
)

// provider is what differs between the storage faces in these specs.
type provider struct {
	sigParam      string // the query parameter that holds the signature
	tamperedCode  string
	tamperedHTTP  int
	expiredCode   string
	expiredHTTP   int
	lengthChecked bool // the signature binds the upload's length
}

var providers = map[string]provider{
	"gcs":   {"X-Goog-Signature", "SignatureDoesNotMatch", 403, "ExpiredToken", 400, true},
	"s3":    {"X-Amz-Signature", "SignatureDoesNotMatch", 403, "AccessDenied", 403, true},
	"azure": {"sig", "AuthenticationFailed", 403, "AuthenticationFailed", 403, true},
}

// specStore is a store the Files API specs run on: its name and the
// Options.Store of a new emulator on a fresh, empty one.
type specStore struct {
	name string
	url  func() string
}

// specStores: the file store, and each remote store on an in-process fake
// bucket (a new one per spec).
var specStores = []specStore{
	{"file", func() string { return "" }},
	{"s3", func() string { return newFakeS3(GinkgoT()).url }},   // gofakes3 over s3afero: objects stream to files
	{"gcs", func() string { return newFakeGCS(GinkgoT()).url }}, // fake-gcs-server: objects in memory
}

var _ = Describe("Files API", func() {
	for _, st := range specStores {
		for _, backend := range emulator.Backends() {
			filesAPISpecs(backend, providers[backend], st)
		}
	}
})

func filesAPISpecs(backend string, pv provider, st specStore) {
	name := "backend " + backend
	if st.name != "file" {
		name += ", store " + st.name
	}
	Describe(name, Label(backend, "store-"+st.name), filesAPIBody(backend, pv, st))
}

func filesAPIBody(backend string, pv provider, st specStore) func() {
	return func() {
		var (
			emu   *emulator.Emulator
			c     *apiClient
			other *apiClient
		)
		BeforeEach(func() {
			url := st.url()
			emu = emulator.RunT(GinkgoT(), emulator.Options{
				Backend: backend,
				Store:   url,
				Clock:   emulator.NewFrozenClock(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)),
			})
			if url == "" {
				url = "file"
			}
			Expect(emu.StoreURL()).To(Equal(url))
			c = newClient(emu, emu.APIKey())
			other = newClient(emu, emu.OtherAPIKey())
		})

		Describe("auth and errors", func() {
			It("A-1: refuses a missing, malformed, unknown or revoked key with 401", func() {
				body := map[string]any{"source": "volume", "id": "shared-data"}
				expectError(newClient(emu, "").post("/v1/files/list", body), 401, "unauthorized")
				expectError(newClient(emu, "not-a-key").post("/v1/files/list", body), 401, "unauthorized")
				expectError(newClient(emu, "sk-us-dW5rbm93bi1rZXk").post("/v1/files/list", body), 401, "unauthorized")
				req, _ := http.NewRequest(http.MethodPost, emu.URL()+"/v1/files/list", strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Basic "+emu.APIKey())
				resp, err := http.DefaultClient.Do(req)
				Expect(err).NotTo(HaveOccurred())
				resp.Body.Close()
				Expect(resp.StatusCode).To(Equal(401))

				admin := newClient(emu, "")
				r := admin.post("/_emulator/keys", map[string]any{"org": "org_local"})
				Expect(r.Status).To(Equal(201))
				key := r.JSON["key"].(string)
				Expect(newClient(emu, key).post("/v1/files/list", body).Status).To(Equal(200))
				Expect(admin.do(http.MethodDelete, "/_emulator/keys/"+key, nil).Status).To(Equal(200))
				expectError(newClient(emu, key).post("/v1/files/list", body), 401, "unauthorized", "revoked")
			})

			It("A-2, A-3: another organisation's threads and volumes are 404, never 403", func() {
				c.upload("thread", "t-secret", "a.txt", "", []byte("secret"))
				expectError(other.post("/v1/files/list", map[string]any{"source": "thread", "id": "t-secret"}), 404, "not_found")
				expectError(other.post("/v1/files/download_url", map[string]any{"source": "thread", "id": "t-secret", "path": "a.txt"}), 404, "not_found")
				expectError(other.do(http.MethodDelete, "/v1/files", map[string]any{"source": "thread", "id": "t-secret", "path": "a.txt"}), 404, "not_found")
				expectError(other.post("/v1/files/list", map[string]any{"source": "volume", "id": "reference-data"}), 404, "not_found")
				expectError(other.post("/v1/files/upload_url", map[string]any{"source": "volume", "id": "reference-data", "path": "x", "content_length": 1}), 404, "not_found")
				// org_other writing its own thread of the same name does not touch org_local's.
				other.upload("thread", "t-secret", "a.txt", "", []byte("mine"))
				Expect(c.download("thread", "t-secret", "a.txt")).To(Equal([]byte("secret")))
			})

			It("E-2: unknown routes, wrong methods, bad JSON and big bodies are enveloped", func() {
				expectError(c.post("/v1/nope", map[string]any{}), 404, "not_found")
				expectError(c.post("/_emulator/nope", nil), 404, "not_found")
				r := c.do(http.MethodGet, "/v1/files/list", nil)
				expectError(r, 405, "method_not_allowed")
				Expect(r.Header.Get("Allow")).To(Equal("POST"))
				r = c.do(http.MethodPost, "/v1/files", map[string]any{})
				expectError(r, 405, "method_not_allowed")
				Expect(r.Header.Get("Allow")).To(Equal("DELETE"))
				expectError(c.post("/v1/files/list", "{not json"), 400, "validation_error", "not valid JSON")
				expectError(c.post("/v1/files/list", ""), 400, "validation_error", "empty")
				expectError(c.post("/v1/files/list", `{"source": 1, "id": "x"}`), 400, "validation_error", "source")
				expectError(c.post("/v1/files/list", `{"source": "thread", "id": "x"} {}`), 400, "validation_error")
				expectError(c.post("/v1/files/list", `[1,2]`), 400, "validation_error")
				big := `{"source":"thread","id":"x","path":"` + strings.Repeat("a", 4<<20) + `"}`
				expectError(c.post("/v1/files/list", big), 413, "payload_too_large", "4194304")
				// The server keeps serving.
				Expect(c.post("/v1/files/list", map[string]any{"source": "volume", "id": "shared-data"}).Status).To(Equal(200))
			})

			It("E-3: a rate-limited key gets 429 with Retry-After, measured on the emulator clock", func() {
				admin := newClient(emu, "")
				r := admin.post("/_emulator/keys", map[string]any{"org": "org_local", "rate_limit": map[string]any{"rps": 1, "burst": 2}})
				Expect(r.Status).To(Equal(201), "%s", r.Body)
				limited := newClient(emu, r.JSON["key"].(string))
				body := map[string]any{"source": "volume", "id": "shared-data"}
				Expect(limited.post("/v1/files/list", body).Status).To(Equal(200))
				Expect(limited.post("/v1/files/list", body).Status).To(Equal(200))
				r = limited.post("/v1/files/list", body)
				expectError(r, 429, "rate_limited")
				Expect(r.Header.Get("Retry-After")).To(Equal("1"))
				// The clock is frozen: real time passing does not refill the bucket...
				time.Sleep(50 * time.Millisecond)
				expectError(limited.post("/v1/files/list", body), 429, "rate_limited")
				// ...but moving the emulator clock does.
				Expect(emu.Clock().Advance(2 * time.Second)).To(Succeed())
				Expect(limited.post("/v1/files/list", body).Status).To(Equal(200))
				// Other keys are not limited.
				for range 5 {
					Expect(c.post("/v1/files/list", body).Status).To(Equal(200))
				}
			})
		})

		Describe("validation", func() {
			DescribeTable("S-1, P-1, P-2, U-3: bad fields are 400 validation_error naming the field",
				func(endpoint string, body map[string]any, field string) {
					method := http.MethodPost
					if endpoint == "/v1/files" {
						method = http.MethodDelete
					}
					expectError(c.do(method, endpoint, body), 400, "validation_error", field)
				},
				Entry("missing source", "/v1/files/list", map[string]any{"id": "t"}, "source"),
				Entry("unknown source", "/v1/files/list", map[string]any{"source": "bucket", "id": "t"}, "source"),
				Entry("missing id", "/v1/files/list", map[string]any{"source": "thread"}, "id"),
				Entry("empty id", "/v1/files/list", map[string]any{"source": "thread", "id": ""}, "id"),
				Entry("id with a slash", "/v1/files/list", map[string]any{"source": "thread", "id": "a/b"}, "id"),
				Entry("id too long", "/v1/files/list", map[string]any{"source": "thread", "id": strings.Repeat("a", 129)}, "id"),
				Entry("missing path", "/v1/files/download_url", map[string]any{"source": "thread", "id": "t"}, "path"),
				Entry("absolute path", "/v1/files/download_url", map[string]any{"source": "thread", "id": "t", "path": "/etc/passwd"}, "path"),
				Entry("dot-dot path", "/v1/files/download_url", map[string]any{"source": "thread", "id": "t", "path": "a/../../b"}, "path"),
				Entry("dot path", "/v1/files", map[string]any{"source": "thread", "id": "t", "path": "./a"}, "path"),
				Entry("empty segment", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a//b", "content_length": 1}, "path"),
				Entry("backslash", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": `a\b`, "content_length": 1}, "path"),
				Entry("control character", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a\x01b", "content_length": 1}, "path"),
				Entry("path over 1024 bytes", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": strings.Repeat("abc/", 256) + "a", "content_length": 1}, "1024"),
				Entry("path segment over 255 bytes", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": strings.Repeat("a", 256), "content_length": 1}, "255"),
				Entry("list prefix with dot-dot", "/v1/files/list", map[string]any{"source": "thread", "id": "t", "path": "../"}, "path"),
				Entry("missing content_length", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a"}, "content_length"),
				Entry("negative content_length", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a", "content_length": -1}, "content_length"),
				Entry("fractional content_length", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a", "content_length": 1.5}, "content_length"),
				Entry("string content_length", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a", "content_length": "12"}, "content_length"),
				Entry("content_length one over 10 GiB", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a", "content_length": int64(10737418241)}, "10737418240"),
				Entry("huge content_length", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a", "content_length": 1e30}, "content_length"),
				Entry("bad content_type", "/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a", "content_length": 1, "content_type": "not a type"}, "content_type"),
			)

			It("U-3: accepts content_length of exactly 10 GiB and of 0", func() {
				r := c.post("/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "big", "content_length": int64(10737418240)})
				Expect(r.Status).To(Equal(200), "%s", r.Body)
				r = c.post("/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "empty", "content_length": 0})
				Expect(r.Status).To(Equal(200), "%s", r.Body)
				status, body, _ := transfer(http.MethodPut, r.JSON["url"].(string), r.JSON["headers"].(map[string]any), []byte{})
				Expect(status).To(BeElementOf(200, 201), "%s", body)
				Expect(c.download("thread", "t", "empty")).To(BeEmpty())
			})
		})

		Describe("list", func() {
			BeforeEach(func() {
				Expect(emu.WriteFile(emulator.Thread("t1"), "data/output.csv", make([]byte, 2048))).To(Succeed())
				Expect(emu.Clock().Advance(90 * time.Second)).To(Succeed())
				Expect(emu.WriteFile(emulator.Thread("t1"), "model.pkl", []byte("model"))).To(Succeed())
				Expect(emu.WriteFile(emulator.Thread("t1"), "data.csv", []byte("a,b"))).To(Succeed())
			})

			It("L-1, L-2, L-4: lists recursively with directory entries, sorted by path, in the seed's shape", func() {
				r := c.post("/v1/files/list", map[string]any{"source": "thread", "id": "t1"})
				Expect(r.Status).To(Equal(200))
				Expect(paths(r)).To(Equal([]string{"data", "data.csv", "data/output.csv", "model.pkl"}))
				files := r.JSON["files"].([]any)
				dir := files[0].(map[string]any)
				Expect(dir).To(Equal(map[string]any{"name": "data", "path": "data", "size": 0.0, "modified": "2026-03-04T12:00:00Z", "is_directory": true}))
				csv := files[2].(map[string]any)
				Expect(csv).To(Equal(map[string]any{"name": "output.csv", "path": "data/output.csv", "size": 2048.0, "modified": "2026-03-04T12:00:00Z", "is_directory": false}))
				Expect(files[3].(map[string]any)["modified"]).To(Equal("2026-03-04T12:01:30Z"))
			})

			It("L-3: filters by path prefix; without a trailing slash the prefix is a plain string prefix", func() {
				r := c.post("/v1/files/list", map[string]any{"source": "thread", "id": "t1", "path": "data/"})
				Expect(paths(r)).To(Equal([]string{"data/output.csv"}))
				r = c.post("/v1/files/list", map[string]any{"source": "thread", "id": "t1", "path": "data"})
				Expect(paths(r)).To(Equal([]string{"data", "data.csv", "data/output.csv"}))
			})

			It("L-4: a prefix that matches nothing gives an empty array, not null", func() {
				r := c.post("/v1/files/list", map[string]any{"source": "thread", "id": "t1", "path": "nothing/"})
				Expect(r.Status).To(Equal(200))
				Expect(string(r.Body)).To(ContainSubstring(`"files":[]`))
			})

			It("L-5: an unknown thread or volume is 404", func() {
				expectError(c.post("/v1/files/list", map[string]any{"source": "thread", "id": "no-such-thread"}), 404, "not_found", "no-such-thread")
				expectError(c.post("/v1/files/list", map[string]any{"source": "volume", "id": "no-such-volume"}), 404, "not_found", "no-such-volume")
			})

			It("S-3: volumes are shared by every key of the organisation", func() {
				admin := newClient(emu, "")
				r := admin.post("/_emulator/keys", map[string]any{"org": "org_local"})
				second := newClient(emu, r.JSON["key"].(string))
				c.upload("volume", "shared-data", "shared.txt", "text/plain", []byte("hello"))
				Expect(second.download("volume", "shared-data", "shared.txt")).To(Equal([]byte("hello")))
				r = second.post("/v1/files/list", map[string]any{"source": "volume", "id": "reference-data"})
				Expect(paths(r)).To(ContainElement("README.txt"))
			})
		})

		Describe("upload and download", func() {
			It("U-1, U-2, D-1, D-3: signed URLs with headers and expires_at 15 minutes out; bytes and type round-trip", func() {
				r := c.post("/v1/files/upload_url", map[string]any{"source": "thread", "id": "t2", "path": "in/input.json", "content_type": "application/json", "content_length": 13})
				Expect(r.Status).To(Equal(200))
				Expect(r.JSON["method"]).To(Equal("PUT"))
				Expect(r.JSON["expires_at"]).To(Equal("2026-03-04T12:15:00Z"))
				Expect(r.JSON["headers"]).To(HaveKeyWithValue("Content-Type", "application/json"))
				u, err := url.Parse(r.JSON["url"].(string))
				Expect(err).NotTo(HaveOccurred())
				Expect(u.Host).To(Equal(strings.TrimPrefix(emu.URL(), "http://")))
				Expect(u.Path).To(HaveSuffix("baponi-local-storage/orgs/org_local/threads/t2/in/input.json"))
				status, body, _ := transfer(http.MethodPut, r.JSON["url"].(string), r.JSON["headers"].(map[string]any), []byte(`{"values":[]}`))
				Expect(status).To(BeElementOf(200, 201), "%s", body)

				d := c.post("/v1/files/download_url", map[string]any{"source": "thread", "id": "t2", "path": "in/input.json"})
				Expect(d.Status).To(Equal(200))
				Expect(d.JSON["method"]).To(Equal("GET"))
				Expect(d.JSON["expires_at"]).To(Equal("2026-03-04T12:15:00Z"))
				status, body, h := transfer(http.MethodGet, d.JSON["url"].(string), nil, nil)
				Expect(status).To(Equal(200))
				Expect(string(body)).To(Equal(`{"values":[]}`))
				Expect(h.Get("Content-Type")).To(Equal("application/json"))
				Expect(h.Get("Content-Length")).To(Equal("13"))

				req, _ := http.NewRequest(http.MethodGet, d.JSON["url"].(string), nil)
				req.Header.Set("Range", "bytes=2-7")
				resp, err := http.DefaultClient.Do(req)
				Expect(err).NotTo(HaveOccurred())
				defer resp.Body.Close()
				Expect(resp.StatusCode).To(Equal(206))
			})

			It("U-1: the content type defaults to application/octet-stream", func() {
				r := c.post("/v1/files/upload_url", map[string]any{"source": "thread", "id": "t3", "path": "blob", "content_length": 3})
				Expect(r.JSON["headers"]).To(HaveKeyWithValue("Content-Type", "application/octet-stream"))
			})

			It("U-5: expired and tampered URLs are refused in the provider's format", func() {
				r := c.post("/v1/files/upload_url", map[string]any{"source": "thread", "id": "t4", "path": "f", "content_length": 3})
				putURL, headers := r.JSON["url"].(string), r.JSON["headers"].(map[string]any)

				tampered := tamper(putURL, pv.sigParam)
				status, body, _ := transfer(http.MethodPut, tampered, headers, []byte("abc"))
				Expect(status).To(Equal(pv.tamperedHTTP))
				Expect(string(body)).To(ContainSubstring("<Code>" + pv.tamperedCode + "</Code>"))

				status, body, _ = transfer(http.MethodPut, putURL, headers, []byte("abcd"))
				Expect(status).To(BeNumerically(">=", 400), "a PUT of another length than signed: %s", body)
				if pv.lengthChecked {
					Expect(status).To(Equal(pv.tamperedHTTP), "a PUT of another length than signed")
					Expect(string(body)).To(ContainSubstring("<Code>" + pv.tamperedCode + "</Code>"))
				}

				Expect(emu.Clock().Advance(16 * time.Minute)).To(Succeed())
				status, body, _ = transfer(http.MethodPut, putURL, headers, []byte("abc"))
				Expect(status).To(Equal(pv.expiredHTTP))
				Expect(string(body)).To(ContainSubstring("<Code>" + pv.expiredCode + "</Code>"))
				expectError(c.post("/v1/files/list", map[string]any{"source": "thread", "id": "t4"}), 404, "not_found")
			})

			It("U-6: an interrupted upload leaves nothing; a new URL works; a new upload replaces the file", func() {
				c.upload("thread", "t5", "f.bin", "", []byte("first version"))
				r := c.post("/v1/files/upload_url", map[string]any{"source": "thread", "id": "t5", "path": "f.bin", "content_length": 1000})
				Expect(interruptedPut(r.JSON["url"].(string), r.JSON["headers"].(map[string]any), 1000, 400)).To(Succeed())
				Expect(c.download("thread", "t5", "f.bin")).To(Equal([]byte("first version")))
				l := c.post("/v1/files/list", map[string]any{"source": "thread", "id": "t5"})
				Expect(paths(l)).To(Equal([]string{"f.bin"}))
				c.upload("thread", "t5", "f.bin", "", []byte("second"))
				Expect(c.download("thread", "t5", "f.bin")).To(Equal([]byte("second")))
			})

			It("U-4: a read-only volume refuses upload URLs with 403", func() {
				expectError(c.post("/v1/files/upload_url", map[string]any{"source": "volume", "id": "reference-data", "path": "x", "content_length": 1}), 403, "forbidden", "read-only")
			})

			It("D-2: missing file, unknown thread, unknown volume and directories are 404", func() {
				Expect(emu.WriteFile(emulator.Thread("t6"), "dir/f", []byte("x"))).To(Succeed())
				expectError(c.post("/v1/files/download_url", map[string]any{"source": "thread", "id": "t6", "path": "nope"}), 404, "not_found")
				expectError(c.post("/v1/files/download_url", map[string]any{"source": "thread", "id": "t6", "path": "dir"}), 404, "not_found")
				expectError(c.post("/v1/files/download_url", map[string]any{"source": "thread", "id": "nope", "path": "f"}), 404, "not_found")
				expectError(c.post("/v1/files/download_url", map[string]any{"source": "volume", "id": "nope", "path": "f"}), 404, "not_found")
			})
		})

		Describe("delete", func() {
			It("X-1: deletes a file; it is gone from list and download", func() {
				Expect(emu.WriteFile(emulator.Thread("t7"), "a/b.txt", []byte("x"))).To(Succeed())
				Expect(emu.WriteFile(emulator.Thread("t7"), "keep.txt", []byte("y"))).To(Succeed())
				r := c.do(http.MethodDelete, "/v1/files", map[string]any{"source": "thread", "id": "t7", "path": "a/b.txt"})
				Expect(r.Status).To(Equal(200))
				Expect(string(r.Body)).To(MatchJSON(`{"deleted": true}`))
				Expect(paths(c.post("/v1/files/list", map[string]any{"source": "thread", "id": "t7"}))).To(Equal([]string{"keep.txt"}))
				expectError(c.post("/v1/files/download_url", map[string]any{"source": "thread", "id": "t7", "path": "a/b.txt"}), 404, "not_found")
				expectError(c.do(http.MethodDelete, "/v1/files", map[string]any{"source": "thread", "id": "t7", "path": "a/b.txt"}), 404, "not_found")
			})

			It("X-2: read-only volume → 403; X-3: a directory → 400", func() {
				expectError(c.do(http.MethodDelete, "/v1/files", map[string]any{"source": "volume", "id": "reference-data", "path": "README.txt"}), 403, "forbidden")
				Expect(emu.ReadFile(emulator.Volume("reference-data"), "README.txt")).NotTo(BeEmpty())
				Expect(emu.WriteFile(emulator.Thread("t8"), "d/f", []byte("x"))).To(Succeed())
				expectError(c.do(http.MethodDelete, "/v1/files", map[string]any{"source": "thread", "id": "t8", "path": "d"}), 400, "validation_error", "directory")
			})
		})

		Describe("admin", func() {
			It("M-1: health and info", func() {
				admin := newClient(emu, "")
				Expect(admin.do(http.MethodGet, "/_emulator/health", nil).Status).To(Equal(200))
				r := admin.do(http.MethodGet, "/_emulator/info", nil)
				Expect(r.JSON).To(HaveKeyWithValue("backend", backend))
				Expect(r.JSON).To(HaveKeyWithValue("version", emulator.Version))
				Expect(r.JSON).To(HaveKey("features"))
			})

			It("M-2: the clock can be read, advanced and set; expires_at follows it", func() {
				admin := newClient(emu, "")
				Expect(admin.do(http.MethodGet, "/_emulator/clock", nil).JSON["now"]).To(Equal("2026-03-04T12:00:00Z"))
				Expect(admin.post("/_emulator/clock", map[string]any{"advance": "16m"}).Status).To(Equal(200))
				r := c.post("/v1/files/upload_url", map[string]any{"source": "thread", "id": "t", "path": "a", "content_length": 1})
				Expect(r.JSON["expires_at"]).To(Equal("2026-03-04T12:31:00Z"))
				expectError(admin.post("/_emulator/clock", map[string]any{"advance": "-1m"}), 400, "validation_error", "negative")
				expectError(admin.post("/_emulator/clock", map[string]any{"advance": "soon"}), 400, "validation_error", "advance")
				Expect(admin.post("/_emulator/clock", map[string]any{"set": "2026-01-01T00:00:00Z"}).Status).To(Equal(200))
				Expect(emu.Clock().Now()).To(Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
			})

			It("M-3: volumes can be created and made read-only at run time", func() {
				admin := newClient(emu, "")
				r := admin.post("/_emulator/volumes", map[string]any{"org": "org_local", "slug": "scratch", "files": map[string]any{"hello.txt": "hi"}})
				Expect(r.Status).To(Equal(201), "%s", r.Body)
				Expect(c.download("volume", "scratch", "hello.txt")).To(Equal([]byte("hi")))
				expectError(admin.post("/_emulator/volumes", map[string]any{"org": "org_local", "slug": "scratch"}), 409, "conflict")
				expectError(admin.post("/_emulator/volumes", map[string]any{"org": "nope", "slug": "x"}), 404, "not_found")
				Expect(admin.do(http.MethodPatch, "/_emulator/volumes/org_local/scratch", map[string]any{"read_only": true}).Status).To(Equal(200))
				expectError(c.do(http.MethodDelete, "/v1/files", map[string]any{"source": "volume", "id": "scratch", "path": "hello.txt"}), 403, "forbidden")
				vols := admin.do(http.MethodGet, "/_emulator/volumes?org=org_local", nil)
				Expect(fmt.Sprint(vols.JSON["volumes"])).To(ContainSubstring("scratch"))
			})

			It("M-3: an admin token protects the admin routes but not health", func() {
				guarded := emulator.RunT(GinkgoT(), emulator.Options{AdminToken: "s3cret"})
				anon := newClient(guarded, "")
				Expect(anon.do(http.MethodGet, "/_emulator/health", nil).Status).To(Equal(200))
				expectError(anon.do(http.MethodGet, "/_emulator/clock", nil), 401, "unauthorized")
				Expect(newClient(guarded, "s3cret").do(http.MethodGet, "/_emulator/clock", nil).Status).To(Equal(200))
			})
		})
	}
}
