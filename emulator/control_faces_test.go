package emulator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/localbaponi/localbaponi/emulator"
)

// signed asks the API for an upload (data != nil) or download URL.
func signedURL(t testing.TB, emu *emulator.Emulator, thread, path string, data []byte) (string, map[string]string) {
	t.Helper()
	route, body := "/v1/files/download_url", map[string]any{"source": "thread", "id": thread, "path": path}
	if data != nil {
		route = "/v1/files/upload_url"
		body["content_length"] = len(data)
		body["content_type"] = "application/octet-stream"
	}
	st, m, _, err := call(t, emu, "POST", route, emu.APIKey(), body)
	if err != nil || st != 200 {
		t.Fatalf("%s: %d %v %v", route, st, m, err)
	}
	h := map[string]string{}
	for k, v := range m["headers"].(map[string]any) {
		h[k] = v.(string)
	}
	return m["url"].(string), h
}

type transferResult struct {
	status int
	body   []byte
	header http.Header
	err    error // transport or body error
	took   time.Duration
}

func doTransfer(method, url string, h map[string]string, data []byte, extra ...string) transferResult {
	began := time.Now()
	var rd io.Reader
	if data != nil {
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, url, rd)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return transferResult{err: err, took: time.Since(began)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return transferResult{status: resp.StatusCode, body: b, header: resp.Header, err: err, took: time.Since(began)}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Every fault action on every storage face, over plain HTTP.
func TestFaultsOnStorageFaces(t *testing.T) {
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			emu := emulator.RunT(t, emulator.Options{Backend: backend})
			data := randomBytes(20 << 10)
			if err := emu.WriteFile(emulator.Thread("t"), "f.bin", data); err != nil {
				t.Fatal(err)
			}
			add := func(scope, route string, a emulator.FaultAction) {
				t.Helper()
				if _, err := emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: route, Scope: scope}, Action: a}); err != nil {
					t.Fatal(err)
				}
			}
			get := func(scope string) transferResult {
				u, h := signedURL(t, emu, "t", "f.bin", nil)
				return doTransfer("GET", u, h, nil, emulator.FaultScopeHeader, scope)
			}
			put := func(scope, path string, body []byte) transferResult {
				u, h := signedURL(t, emu, "t", path, body)
				return doTransfer("PUT", u, h, body, emulator.FaultScopeHeader, scope)
			}
			n := func(v int64) *int64 { return &v }
			ra := emulator.Duration(3 * time.Second)

			t.Run("error in the provider's XML", func(t *testing.T) {
				add("err-get", "storage.get", emulator.FaultAction{Error: &emulator.FaultError{Status: 503, Code: "service_unavailable", RetryAfter: &ra}})
				add("err-put", "storage.put", emulator.FaultAction{Error: &emulator.FaultError{Status: 500, Code: "InternalError", Message: "boom"}})
				want503 := map[string]string{"gcs": "ServiceUnavailable", "s3": "SlowDown", "azure": "ServerBusy"}[backend]
				r := get("err-get")
				if r.status != 503 || !strings.Contains(string(r.body), "<Code>"+want503+"</Code>") ||
					r.header.Get("Content-Type") != "application/xml" || r.header.Get("Retry-After") != "3" {
					t.Errorf("GET: %d %s %v", r.status, r.body, r.header)
				}
				r = put("err-put", "new.bin", []byte("abc"))
				if r.status != 500 || !strings.Contains(string(r.body), "<Code>InternalError</Code>") || !strings.Contains(string(r.body), "boom") {
					t.Errorf("PUT: %d %s", r.status, r.body)
				}
				if _, err := emu.ReadFile(emulator.Thread("t"), "new.bin"); err == nil {
					t.Error("a refused PUT stored the file")
				}
			})
			t.Run("latency", func(t *testing.T) {
				add("lat", "storage.get", emulator.FaultAction{Latency: &emulator.FaultLatency{Fixed: emulator.Duration(150 * time.Millisecond)}})
				if r := get("lat"); r.status != 200 || !bytes.Equal(r.body, data) || r.took < 150*time.Millisecond {
					t.Errorf("%d after %v", r.status, r.took)
				}
			})
			t.Run("network reset and close", func(t *testing.T) {
				add("rst", "storage.get", emulator.FaultAction{Network: "reset"})
				add("fin", "storage.put", emulator.FaultAction{Network: "close"})
				if r := get("rst"); r.err == nil || !strings.Contains(r.err.Error(), "reset") {
					t.Errorf("reset: %v", r.err)
				}
				if r := put("fin", "closed.bin", data); r.err == nil {
					t.Errorf("close: status %d", r.status)
				}
				if _, err := emu.ReadFile(emulator.Thread("t"), "closed.bin"); err == nil {
					t.Error("a closed PUT stored the file")
				}
			})
			t.Run("truncate", func(t *testing.T) {
				add("cut-get", "storage.get", emulator.FaultAction{Body: &emulator.FaultBody{TruncateAfter: n(1000)}})
				add("cut-put", "storage.put", emulator.FaultAction{Body: &emulator.FaultBody{TruncateAfter: n(1000)}})
				r := get("cut-get")
				if r.err == nil || len(r.body) != 1000 || !bytes.Equal(r.body, data[:1000]) {
					t.Errorf("GET truncated: %d bytes, err %v", len(r.body), r.err)
				}
				if r := put("cut-put", "cut.bin", data); r.err == nil {
					t.Errorf("PUT truncated: status %d, no error", r.status)
				}
				if _, err := emu.ReadFile(emulator.Thread("t"), "cut.bin"); err == nil {
					t.Error("a truncated PUT left a file")
				}
				e := waitRequests(emu, emulator.RequestFilter{Scope: "cut-put"}, 1)
				if len(e) != 1 || e[0].FaultID == "" || !strings.Contains(e[0].Error, "truncated") || e[0].BytesIn < 1000 {
					t.Errorf("journal %+v", e)
				}
			})
			t.Run("stall", func(t *testing.T) {
				add("stall", "storage.*", emulator.FaultAction{Body: &emulator.FaultBody{StallAfter: n(5000), StallFor: emulator.Duration(300 * time.Millisecond)}})
				if r := get("stall"); r.err != nil || !bytes.Equal(r.body, data) || r.took < 300*time.Millisecond {
					t.Errorf("GET: %v after %v", r.err, r.took)
				}
				if r := put("stall", "stalled.bin", data); r.status != 200 && r.status != 201 || r.took < 300*time.Millisecond {
					t.Errorf("PUT: %d %v after %v", r.status, r.err, r.took)
				}
				if got, _ := emu.ReadFile(emulator.Thread("t"), "stalled.bin"); !bytes.Equal(got, data) {
					t.Error("stalled PUT stored other bytes")
				}
			})
			t.Run("throttle", func(t *testing.T) {
				add("slow", "storage.*", emulator.FaultAction{Body: &emulator.FaultBody{ThrottleBPS: 50 << 10}})
				// 20 KiB at 50 KiB/s: about 400 ms.
				if r := get("slow"); r.err != nil || !bytes.Equal(r.body, data) || r.took < 300*time.Millisecond {
					t.Errorf("GET: %v after %v", r.err, r.took)
				}
				if r := put("slow", "slow.bin", data); r.status/100 != 2 || r.took < 300*time.Millisecond {
					t.Errorf("PUT: %d after %v", r.status, r.took)
				}
			})
			t.Run("corrupt", func(t *testing.T) {
				add("bad", "storage.*", emulator.FaultAction{Body: &emulator.FaultBody{Corrupt: true, CorruptOffset: 777}})
				r := get("bad")
				if r.err != nil || len(r.body) != len(data) || r.body[777] != data[777]^0xFF || !bytes.Equal(r.body[778:], data[778:]) || !bytes.Equal(r.body[:777], data[:777]) {
					t.Errorf("GET: not one corrupt byte at 777 (err %v)", r.err)
				}
				if r := put("bad", "bad.bin", data); r.status/100 != 2 {
					t.Fatalf("PUT: %d %s", r.status, r.body)
				}
				got, _ := emu.ReadFile(emulator.Thread("t"), "bad.bin")
				if len(got) != len(data) || got[777] != data[777]^0xFF || !bytes.Equal(got[778:], data[778:]) {
					t.Error("PUT: the stored file does not have one corrupt byte at 777")
				}
				if got, _ := emu.ReadFile(emulator.Thread("t"), "f.bin"); !bytes.Equal(got, data) {
					t.Error("a corrupt GET changed the stored file")
				}
			})
		})
	}
}

// A stalled upload does not slow unrelated requests.
func TestStalledUploadDoesNotSlowOthers(t *testing.T) {
	emu := emulator.RunT(t)
	stall := int64(1000)
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "storage.put", Scope: "stall"},
		Action: emulator.FaultAction{Body: &emulator.FaultBody{StallAfter: &stall, StallFor: emulator.Duration(3 * time.Second)}}})
	data := randomBytes(64 << 10)
	emu.WriteFile(emulator.Thread("t"), "other.bin", data)
	u, h := signedURL(t, emu, "t", "big.bin", data)
	done := make(chan transferResult, 1)
	go func() { done <- doTransfer("PUT", u, h, data, emulator.FaultScopeHeader, "stall") }()
	time.Sleep(100 * time.Millisecond) // the upload is in its stall now
	began := time.Now()
	for range 5 {
		du, dh := signedURL(t, emu, "t", "other.bin", nil)
		if r := doTransfer("GET", du, dh, nil); r.err != nil || !bytes.Equal(r.body, data) {
			t.Fatalf("unrelated GET: %v", r.err)
		}
		if r := putTo(t, emu, "side.bin", []byte("x")); r.status/100 != 2 {
			t.Fatalf("unrelated PUT: %d", r.status)
		}
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("10 unrelated transfers took %v while one upload stalled for 3s", d)
	}
	if r := <-done; r.status/100 != 2 || r.took < 3*time.Second {
		t.Errorf("stalled upload: %d after %v", r.status, r.took)
	}
}

func putTo(t *testing.T, emu *emulator.Emulator, path string, body []byte) transferResult {
	u, h := signedURL(t, emu, "t", path, body)
	return doTransfer("PUT", u, h, body)
}

// The AWS SDK's retryer retries a 503 from the S3 face and succeeds.
func TestAWSSDKRetriesS3Face503(t *testing.T) {
	emu := emulator.RunT(t, emulator.Options{Backend: "s3"})
	data := []byte("fetched by the AWS SDK after two 503s")
	emu.WriteFile(emulator.Thread("sdk"), "r.txt", data)
	rule, _ := emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "storage.get", ThreadID: "sdk"},
		Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 503}}, Times: 2})
	u, _ := signedURL(t, emu, "sdk", "r.txt", nil)
	client := presignedS3Client(emu, u)
	out, err := client.GetObject(context.Background(), &awss3.GetObjectInput{
		Bucket: aws.String(emulator.Bucket), Key: aws.String("orgs/org_local/threads/sdk/r.txt")})
	if err != nil {
		t.Fatalf("GetObject after retries: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) {
		t.Errorf("GetObject returned %q", got)
	}
	if r, _ := emu.Fault(rule.ID); r.Hits != 2 {
		t.Errorf("rule fired %d times, want 2", r.Hits)
	}
	if e := emu.Requests(emulator.RequestFilter{Route: "storage.get"}); len(e) != 3 || e[0].Status != 503 || e[2].Status != 200 {
		t.Errorf("journal: %+v", e)
	}
}

// presignedS3Client is an S3 client whose requests carry the query of the
// presigned URL u (the face accepts presigned URLs only), with the SDK's
// standard retryer on a short backoff.
func presignedS3Client(emu *emulator.Emulator, u string) *awss3.Client {
	_, query, _ := strings.Cut(u, "?")
	return awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(emu.URL()), UsePathStyle: true,
		Credentials: aws.AnonymousCredentials{},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 20 * time.Millisecond, nil })
		}),
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("presignedQuery",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						req.URL.RawQuery = query
					}
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		}},
	})
}

// The azblob SDK's retry policy retries a 503 from the Azure face, both
// ways, and succeeds.
func TestAzblobSDKRetriesAzureFace503(t *testing.T) {
	emu := emulator.RunT(t, emulator.Options{Backend: "azure"})
	for _, route := range []string{"storage.put", "storage.get"} {
		emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: route, ThreadID: "sdk"},
			Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 503}}, Times: 2})
	}
	opts := &blockblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: 4, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}
	data := []byte("uploaded by azblob after two 503s")
	u, _ := signedURL(t, emu, "sdk", "a.txt", data)
	up, err := blockblob.NewClientWithNoCredential(u, opts)
	if err != nil {
		t.Fatal(err)
	}
	ct := "application/octet-stream"
	if _, err := up.Upload(context.Background(), streamingNop{bytes.NewReader(data)}, &blockblob.UploadOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &ct}}); err != nil {
		t.Fatalf("Upload after retries: %v", err)
	}
	d, _ := signedURL(t, emu, "sdk", "a.txt", nil)
	down, _ := blockblob.NewClientWithNoCredential(d, opts)
	resp, err := down.DownloadStream(context.Background(), nil)
	if err != nil {
		t.Fatalf("DownloadStream after retries: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, data) {
		t.Errorf("downloaded %q", got)
	}
	for _, route := range []string{"storage.put", "storage.get"} {
		e := emu.Requests(emulator.RequestFilter{Route: route})
		if len(e) != 3 || e[0].Status != 503 || e[1].Status != 503 || e[2].Status/100 != 2 {
			t.Errorf("%s journal: %+v", route, e)
		}
	}
}

type streamingNop struct{ *bytes.Reader }

func (streamingNop) Close() error { return nil }

// waitRequests waits (briefly) until the journal holds n entries that f
// selects: an entry is written when the server is done with the request,
// which can be just after the client saw it end.
func waitRequests(emu *emulator.Emulator, f emulator.RequestFilter, n int) []emulator.RequestRecord {
	var e []emulator.RequestRecord
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if e = emu.Requests(f); len(e) >= n {
			break
		}
	}
	return e
}
