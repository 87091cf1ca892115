package azure

// Wire fidelity with the real Azure SDK for Go: its blob client speaks to the
// face through the face's own SAS URLs, and SAS tokens the SDK signs with the
// face's account and key are accepted (issue 5, items 4 and 5).

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
)

// sdkClient is an SDK block blob client for a SAS URL, without retries so a
// refusal surfaces at once.
func sdkClient(t *testing.T, sasURL string) *blockblob.Client {
	t.Helper()
	opts := &blockblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	c, err := blockblob.NewClientWithNoCredential(sasURL, opts)
	if err != nil {
		t.Fatalf("NewClientWithNoCredential: %v", err)
	}
	return c
}

// sdkCredential is the SDK's view of the face's signing identity: the
// account key is the base64 of the secret.
func sdkCredential(t *testing.T, e *env) *blob.SharedKeyCredential {
	t.Helper()
	if got, want := e.face.AccountKey(), base64.StdEncoding.EncodeToString([]byte(testSecret)); got != want {
		t.Fatalf("AccountKey = %q, want %q", got, want)
	}
	cred, err := blob.NewSharedKeyCredential(testAccount, e.face.AccountKey())
	if err != nil {
		t.Fatalf("NewSharedKeyCredential: %v", err)
	}
	return cred
}

// responseCode is the Azure error code of an SDK error, or "".
func responseCode(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

func TestSDKUploadAndDownloadThroughFaceURLs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	data := bytes.Repeat([]byte("baponi azure face "), 40_000) // ~700 KiB, one Put Blob
	ct := "text/csv"
	up := e.signUpload("sdk/data.csv", ct, int64(len(data)))

	_, err := sdkClient(t, up.URL).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)),
		&blockblob.UploadOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &ct}})
	if err != nil {
		t.Fatalf("SDK Upload: %v", err)
	}

	down := sdkClient(t, e.signDownload("sdk/data.csv").URL)
	resp, err := down.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatalf("SDK DownloadStream: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, want %d equal bytes", len(got), len(data))
	}
	if resp.ContentType == nil || *resp.ContentType != ct || resp.ContentLength == nil || *resp.ContentLength != int64(len(data)) {
		t.Errorf("ContentType %v ContentLength %v", resp.ContentType, resp.ContentLength)
	}
	if resp.BlobType == nil || *resp.BlobType != blob.BlobTypeBlockBlob {
		t.Errorf("BlobType = %v", resp.BlobType)
	}

	// Range through the SDK (x-ms-range).
	resp, err = down.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 100, Count: 50}})
	if err != nil {
		t.Fatalf("SDK ranged DownloadStream: %v", err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, data[100:150]) {
		t.Errorf("range: got %q", got)
	}

	// Get Blob Properties.
	props, err := down.GetProperties(ctx, nil)
	if err != nil {
		t.Fatalf("SDK GetProperties: %v", err)
	}
	if props.ContentLength == nil || *props.ContentLength != int64(len(data)) {
		t.Errorf("properties ContentLength = %v", props.ContentLength)
	}

	// A download URL does not upload, and an upload URL refuses other bytes.
	_, err = down.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), nil)
	if st, code := responseCode(err); st != 403 || code != "AuthorizationPermissionMismatch" {
		t.Errorf("SDK upload with a read SAS: %d %q (%v)", st, code, err)
	}
	_, err = sdkClient(t, up.URL).Upload(ctx, streaming.NopCloser(bytes.NewReader(data[:10])),
		&blockblob.UploadOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &ct}})
	if st, code := responseCode(err); st != 403 || code != "AuthenticationFailed" {
		t.Errorf("SDK upload of another length: %d %q (%v)", st, code, err)
	}
	other := "application/x-sh"
	_, err = sdkClient(t, up.URL).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)),
		&blockblob.UploadOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &other}})
	if st, code := responseCode(err); st != 403 || code != "AuthenticationFailed" {
		t.Errorf("SDK upload of another content type: %d %q (%v)", st, code, err)
	}
	_, err = sdkClient(t, e.signDownload("sdk/missing").URL).DownloadStream(ctx, nil)
	if st, code := responseCode(err); st != 404 || code != "BlobNotFound" {
		t.Errorf("SDK download of a missing blob: %d %q (%v)", st, code, err)
	}
}

// sdkSAS signs v with the SDK and returns the blob URL with the SAS.
func sdkSAS(t *testing.T, e *env, v sas.BlobSignatureValues) string {
	t.Helper()
	qp, err := v.SignWithSharedKey(sdkCredential(t, e))
	if err != nil {
		t.Fatalf("SignWithSharedKey: %v", err)
	}
	return e.base + "/" + testAccount + "/" + v.ContainerName + "/" + escapeBlob(v.BlobName) + "?" + qp.Encode()
}

func TestSDKSignedSASIsAccepted(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	data := []byte("signed by the SDK")
	e.upload("in/report.txt", "text/plain", data)
	blobName := space.ObjectKey("in/report.txt")
	now := e.clk.Now()
	read := (&sas.BlobPermissions{Read: true}).String()

	tests := []struct {
		name string
		v    sas.BlobSignatureValues
	}{
		{"blob SAS, SDK default version", sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(time.Hour),
			Permissions: read, ContainerName: face.Bucket, BlobName: blobName}},
		{"blob SAS without start", sas.BlobSignatureValues{
			ExpiryTime: now.Add(time.Hour), Permissions: read, ContainerName: face.Bucket, BlobName: blobName}},
		{"blob SAS, version 2020-12-06", sas.BlobSignatureValues{
			Version: "2020-12-06", ExpiryTime: now.Add(time.Hour), Permissions: read, ContainerName: face.Bucket, BlobName: blobName}},
		{"blob SAS with response overrides", sas.BlobSignatureValues{
			ExpiryTime: now.Add(time.Hour), Permissions: read, ContainerName: face.Bucket, BlobName: blobName,
			ContentType: "application/x-override", ContentDisposition: "attachment"}},
		{"container SAS", sas.BlobSignatureValues{
			ExpiryTime: now.Add(time.Hour), Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String(),
			ContainerName: face.Bucket, BlobName: ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := sdkSAS(t, e, tc.v)
			if tc.v.BlobName == "" { // a container SAS on the blob's URL
				base, q, _ := strings.Cut(u, "?")
				u = base + escapeBlob(blobName) + "?" + q
			}
			resp, body := do(t, "GET", u, nil, nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, data) {
				t.Fatalf("raw GET: %d %s", resp.StatusCode, body)
			}
			if tc.v.ContentType != "" && resp.Header.Get("Content-Type") != tc.v.ContentType {
				t.Errorf("rsct not applied: %q", resp.Header.Get("Content-Type"))
			}
			dl, err := sdkClient(t, u).DownloadStream(ctx, nil)
			if err != nil {
				t.Fatalf("SDK DownloadStream: %v", err)
			}
			got, _ := io.ReadAll(dl.Body)
			dl.Body.Close()
			if !bytes.Equal(got, data) {
				t.Errorf("SDK download: %q", got)
			}
		})
	}

	// A write SAS made by the SDK uploads: it was not issued by the face, so,
	// as in Azure, any length goes.
	wname := space.ObjectKey("out/from-sdk.bin")
	wu := sdkSAS(t, e, sas.BlobSignatureValues{ExpiryTime: now.Add(time.Hour),
		Permissions: (&sas.BlobPermissions{Create: true, Write: true}).String(), ContainerName: face.Bucket, BlobName: wname})
	payload := bytes.Repeat([]byte{7}, 12345)
	if _, err := sdkClient(t, wu).Upload(ctx, streaming.NopCloser(bytes.NewReader(payload)), nil); err != nil {
		t.Fatalf("SDK upload with SDK-signed SAS: %v", err)
	}
	resp, body := do(t, "GET", e.signDownload("out/from-sdk.bin").URL, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, payload) {
		t.Errorf("read back: %d, %d bytes", resp.StatusCode, len(body))
	}
}

func TestSDKSignedSASRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.upload("r.txt", "text/plain", []byte("x"))
	blobName := space.ObjectKey("r.txt")
	now := e.clk.Now()
	read := (&sas.BlobPermissions{Read: true}).String()
	tests := []struct {
		name   string
		v      sas.BlobSignatureValues
		status int
		code   string
		detail string
	}{
		{"expired", sas.BlobSignatureValues{StartTime: now.Add(-time.Hour), ExpiryTime: now.Add(-time.Minute),
			Permissions: read, ContainerName: face.Bucket, BlobName: blobName}, 403, "AuthenticationFailed", "Signature not valid in the specified time frame"},
		{"not yet valid", sas.BlobSignatureValues{StartTime: now.Add(time.Minute), ExpiryTime: now.Add(time.Hour),
			Permissions: read, ContainerName: face.Bucket, BlobName: blobName}, 403, "AuthenticationFailed", "Signature not valid in the specified time frame"},
		{"expiry before start", sas.BlobSignatureValues{StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(-time.Hour),
			Permissions: read, ContainerName: face.Bucket, BlobName: blobName}, 403, "AuthenticationFailed", "must be after signed start time"},
		{"https only", sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, ExpiryTime: now.Add(time.Hour),
			Permissions: read, ContainerName: face.Bucket, BlobName: blobName}, 403, "AuthorizationProtocolMismatch", ""},
		{"other source IP", sas.BlobSignatureValues{IPRange: sas.IPRange{Start: []byte{10, 0, 0, 1}}, ExpiryTime: now.Add(time.Hour),
			Permissions: read, ContainerName: face.Bucket, BlobName: blobName}, 403, "AuthorizationSourceIPMismatch", ""},
		{"other container", sas.BlobSignatureValues{ExpiryTime: now.Add(time.Hour),
			Permissions: read, ContainerName: "other", BlobName: blobName}, 404, "ContainerNotFound", ""},
		{"write-only", sas.BlobSignatureValues{ExpiryTime: now.Add(time.Hour),
			Permissions: (&sas.BlobPermissions{Write: true}).String(), ContainerName: face.Bucket, BlobName: blobName}, 403, "AuthorizationPermissionMismatch", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, "GET", sdkSAS(t, e, tc.v), nil, nil)
			checkRefusal(t, resp, body, tc.status, tc.code, tc.detail)
		})
	}

	// The source IP range that holds loopback is accepted.
	u := sdkSAS(t, e, sas.BlobSignatureValues{IPRange: sas.IPRange{Start: []byte{127, 0, 0, 0}, End: []byte{127, 255, 255, 255}},
		ExpiryTime: now.Add(time.Hour), Permissions: read, ContainerName: face.Bucket, BlobName: blobName})
	if resp, body := do(t, "GET", u, nil, nil); resp.StatusCode != 200 {
		t.Errorf("loopback in sip range: %d %s", resp.StatusCode, body)
	}

	// A key other than base64(secret) is refused.
	cred, err := blob.NewSharedKeyCredential(testAccount, base64.StdEncoding.EncodeToString([]byte("wrong secret")))
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{ExpiryTime: now.Add(time.Hour), Permissions: read, ContainerName: face.Bucket, BlobName: blobName}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, "GET", e.base+"/"+testAccount+"/"+face.Bucket+"/"+escapeBlob(blobName)+"?"+qp.Encode(), nil, nil)
	checkRefusal(t, resp, body, 403, "AuthenticationFailed", "Signature did not match")

	// Create-only cannot overwrite an existing blob.
	cu := sdkSAS(t, e, sas.BlobSignatureValues{ExpiryTime: now.Add(time.Hour),
		Permissions: (&sas.BlobPermissions{Create: true}).String(), ContainerName: face.Bucket, BlobName: blobName})
	resp, body = do(t, "PUT", cu, map[string]string{"x-ms-blob-type": "BlockBlob"}, []byte("y"))
	checkRefusal(t, resp, body, 403, "AuthorizationPermissionMismatch", "")
}

// TestFaceSignaturesMatchSDK recomputes the signature of the face's own URLs
// with the SDK's implementation of Microsoft's algorithm.
func TestFaceSignaturesMatchSDK(t *testing.T) {
	e := newEnv(t, nil)
	e.clk.Set(time.Date(2026, 7, 1, 8, 30, 45, 123456789, time.UTC))
	for _, s := range []face.Signed{e.signUpload("a/b c.txt", "text/plain", 10), e.signDownload("a/b c.txt")} {
		u, err := url.Parse(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		st, err1 := time.Parse(sasTimeFormat, q.Get("st"))
		se, err2 := time.Parse(sasTimeFormat, q.Get("se"))
		if err1 != nil || err2 != nil {
			t.Fatalf("st/se: %v %v", err1, err2)
		}
		_, _, blobName, _ := splitPath(u.Path)
		qp, err := sas.BlobSignatureValues{Version: q.Get("sv"), StartTime: st, ExpiryTime: se, Permissions: q.Get("sp"),
			Identifier: q.Get("si"), ContainerName: face.Bucket, BlobName: blobName}.SignWithSharedKey(sdkCredential(t, e))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := q.Get("sig"), qp.Signature(); got != want {
			t.Errorf("%s: face sig %q, SDK sig %q", s.Method, got, want)
		}
		sdkQ, _ := url.ParseQuery(qp.Encode())
		for _, k := range []string{"sv", "st", "se", "si", "sr", "sp"} {
			if q.Get(k) != sdkQ.Get(k) {
				t.Errorf("%s: %s = %q, SDK writes %q", s.Method, k, q.Get(k), sdkQ.Get(k))
			}
		}
	}
}
