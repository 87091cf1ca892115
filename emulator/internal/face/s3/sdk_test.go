package s3

// Wire fidelity against the real AWS SDK for Go v2, both ways: URLs the SDK
// presigns with the emulator's credentials are accepted by the face, and the
// face's own URLs carry the signature the SDK's signer computes.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
)

func presignClient(e *env) *awss3.PresignClient {
	c := awss3.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	}, func(o *awss3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(e.srv.URL)
	})
	return awss3.NewPresignClient(c)
}

// sendPresigned performs an SDK-presigned request with a plain http.Client.
func sendPresigned(t *testing.T, p *v4.PresignedHTTPRequest, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(p.Method, p.URL, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range p.SignedHeader {
		if strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") {
			continue // set by the client from the URL and the body
		}
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestSDKPresignedURLsAreAccepted(t *testing.T) {
	// The SDK signs with the real time, so the emulator clock follows it.
	e := newEnv(t, clock.NewReal())
	pc := presignClient(e)
	ctx := context.Background()
	data := []byte("uploaded with an AWS SDK presigned URL")

	for _, p := range []string{"sdk/plain.txt", "sdk/naïve file+(1)~=&.txt"} {
		t.Run(p, func(t *testing.T) {
			key := thread.ObjectKey(p)
			put, err := pc.PresignPutObject(ctx, &awss3.PutObjectInput{
				Bucket:        aws.String("baponi-local-storage"),
				Key:           aws.String(key),
				ContentType:   aws.String("text/plain"),
				ContentLength: aws.Int64(int64(len(data))),
			})
			if err != nil {
				t.Fatal(err)
			}
			if status, body := sendPresigned(t, put, data); status != 200 {
				t.Fatalf("SDK PUT URL %s: %d %s", put.URL, status, body)
			}
			get, err := pc.PresignGetObject(ctx, &awss3.GetObjectInput{
				Bucket: aws.String("baponi-local-storage"),
				Key:    aws.String(key),
			})
			if err != nil {
				t.Fatal(err)
			}
			status, body := sendPresigned(t, get, nil)
			if status != 200 || !bytes.Equal(body, data) {
				t.Fatalf("SDK GET URL: %d %q", status, body)
			}
			// The SDK and the face put the key in the same escaped path.
			ours, _ := e.f.SignDownload(thread, p)
			if a, b := pathOf(t, get.URL), pathOf(t, ours.URL); a != b {
				t.Errorf("escaped path: SDK %s, face %s", a, b)
			}
			// And a tampered SDK URL is refused like a tampered own one.
			get.URL = tamper(get.URL)
			if status, body := sendPresigned(t, get, nil); status != 403 || !strings.Contains(string(body), "SignatureDoesNotMatch") {
				t.Errorf("tampered SDK URL: %d %s", status, body)
			}
		})
	}
}

func pathOf(t *testing.T, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.EscapedPath()
}

func TestSignatureMatchesSDKSigner(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}

	for _, tc := range []struct {
		name, path, ct string
		length         int64
		upload         bool
	}{
		{"upload", "input.json", "application/json", 2048, true},
		{"upload odd path", "a b/naïve+(1)~=.csv", "text/csv; charset=utf-8", 1, true},
		{"download", "output.csv", "", 0, false},
		{"download odd path", "a b/naïve+(1)~=.csv", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ours string
			method := http.MethodGet
			if tc.upload {
				s, err := e.f.SignUpload(thread, tc.path, tc.ct, tc.length)
				if err != nil {
					t.Fatal(err)
				}
				ours, method = s.URL, s.Method
			} else {
				s, err := e.f.SignDownload(thread, tc.path)
				if err != nil {
					t.Fatal(err)
				}
				ours = s.URL
			}
			bare, _, _ := strings.Cut(ours, "?")
			req, err := http.NewRequest(method, bare+"?X-Amz-Expires=900", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.upload {
				req.Header.Set("Content-Type", tc.ct)
				req.ContentLength = tc.length
			}
			sdkURL, signed, err := signer.PresignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", t0)
			if err != nil {
				t.Fatal(err)
			}
			oq, _ := url.Parse(ours)
			sq, _ := url.Parse(sdkURL)
			for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
				if a, b := oq.Query().Get(k), sq.Query().Get(k); a != b {
					t.Errorf("%s: face %q, SDK %q", k, a, b)
				}
			}
			if oq.EscapedPath() != sq.EscapedPath() {
				t.Errorf("path: face %s, SDK %s", oq.EscapedPath(), sq.EscapedPath())
			}
			if tc.upload && signed.Get("Content-Type") != tc.ct {
				t.Errorf("SDK signed headers %v", signed)
			}
		})
	}
}
