package s3store

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// authRecorder serves a gofakes3 bucket (which checks no signatures) and
// keeps the Authorization header of every request it sees.
type authRecorder struct {
	mu    sync.Mutex
	auths []string
}

func (a *authRecorder) serve(t *testing.T) string {
	t.Helper()
	be, err := s3afero.SingleBucket(testBucket, afero.NewBasePathFs(afero.NewOsFs(), t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(be).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.auths = append(a.auths, r.Header.Get("Authorization"))
		a.mu.Unlock()
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (a *authRecorder) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.auths...)
}

// isolateAWS points every AWS setting of the process at nothing (no
// credentials in the environment, no shared files, no instance metadata
// service), so a test sees only what it sets.
func isolateAWS(t *testing.T) string {
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir
}

// putAndRead uploads one file through a store opened on url and reads it back.
func putAndRead(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, Config{Bucket: testBucket, Endpoint: url}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := store.Space{Org: "org_a", Kind: store.Thread, ID: "t1"}
	if _, err := st.Put(ctx, sp, "a.txt", "", 5, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	rd, err := st.Open(ctx, sp, "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rd); err != nil || buf.String() != "hello" {
		t.Fatalf("read %q, %v", buf.String(), err)
	}
}

// TestSharedConfigProfile: a profile of the shared config and credentials
// files (as any AWS tool reads them) signs the store's requests: its access
// key id and its region are in every request's Authorization header.
func TestSharedConfigProfile(t *testing.T) {
	dir := isolateAWS(t)
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfgFile, []byte("[default]\nregion = us-west-1\n\n[profile lbtest]\nregion = eu-central-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, []byte("[default]\naws_access_key_id = AKIADEFAULTNOTUSED\naws_secret_access_key = x\n\n"+
		"[lbtest]\naws_access_key_id = AKIAPROFILETEST0001\naws_secret_access_key = s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_PROFILE", "lbtest")
	var rec authRecorder
	putAndRead(t, rec.serve(t))
	auths := rec.seen()
	if len(auths) < 3 {
		t.Fatalf("the fake saw %d requests, want at least 3 (HEAD bucket, PUT, GET)", len(auths))
	}
	for i, a := range auths {
		if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIAPROFILETEST0001/") || !strings.Contains(a, "/eu-central-1/s3/aws4_request") {
			t.Fatalf("request %d: Authorization %q, want the profile's key id and region", i, a)
		}
	}
}

// TestExplicitRegionWinsOverProfile: region= of the store URL beats the
// profile's region; the environment's keys beat the default profile's.
func TestExplicitRegionWinsOverProfile(t *testing.T) {
	dir := isolateAWS(t)
	cfgFile := filepath.Join(dir, "config")
	if err := os.WriteFile(cfgFile, []byte("[default]\nregion = eu-central-1\naws_access_key_id = AKIAFROMFILE\naws_secret_access_key = x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	var rec authRecorder
	url := rec.serve(t)
	c, err := NewClient(context.Background(), Config{Bucket: testBucket, Endpoint: url, Region: "ap-south-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), Config{Bucket: testBucket, Client: c}, nil, nil); err != nil {
		t.Fatal(err)
	}
	auths := rec.seen()
	if len(auths) != 1 || !strings.Contains(auths[0], "Credential=AKIAFROMENV/") || !strings.Contains(auths[0], "/ap-south-1/s3/") {
		t.Fatalf("Authorization headers %q, want the environment's key and region ap-south-1", auths)
	}
}

// TestNoCredentialsWithEndpointIsUnsigned: with an endpoint and no
// credentials anywhere, requests go unsigned (gofakes3 and other fakes
// need none) instead of failing.
func TestNoCredentialsWithEndpointIsUnsigned(t *testing.T) {
	isolateAWS(t)
	var rec authRecorder
	putAndRead(t, rec.serve(t))
	for i, a := range rec.seen() {
		if a != "" {
			t.Fatalf("request %d is signed (%q) though no credentials are configured", i, a)
		}
	}
}

// TestMissingProfileIsAnError: AWS_PROFILE naming a profile that no file
// has is refused at Open, naming the profile.
func TestMissingProfileIsAnError(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_PROFILE", "no-such-profile")
	var rec authRecorder
	_, err := Open(context.Background(), Config{Bucket: testBucket, Endpoint: rec.serve(t)}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-profile") {
		t.Fatalf("Open: %v, want an error naming the profile", err)
	}
}
