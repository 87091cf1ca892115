package face

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// fakeFace signs URLs that name the face and the base they start with.
type fakeFace struct {
	name string
	made int // SignerAt calls
}

func (f *fakeFace) ServeHTTP(http.ResponseWriter, *http.Request) {}
func (f *fakeFace) Name() string                                 { return f.name }
func (f *fakeFace) SignUpload(store.Space, string, string, int64) (Signed, error) {
	return Signed{URL: f.name + "@config"}, nil
}
func (f *fakeFace) SignDownload(store.Space, string) (Signed, error) { return Signed{}, nil }
func (f *fakeFace) SignerAt(base *url.URL) Signer {
	f.made++
	return fakeSigner(f.name + "@" + base.Host)
}

type fakeSigner string

func (s fakeSigner) SignUpload(store.Space, string, string, int64) (Signed, error) {
	return Signed{URL: string(s)}, nil
}
func (s fakeSigner) SignDownload(store.Space, string) (Signed, error) { return Signed{}, nil }

// TestSignerForKeepsOnlyWhatMatches: SignerFor reuses the signer it made
// for the same face and the same base, and never one made for another
// face or another base.
func TestSignerForKeepsOnlyWhatMatches(t *testing.T) {
	a, b := &fakeFace{name: "a"}, &fakeFace{name: "b"}
	h1, h2 := &url.URL{Scheme: "http", Host: "h1"}, &url.URL{Scheme: "http", Host: "h2"}
	sign := func(f Face, base *url.URL) string {
		ctx := context.Background()
		if base != nil {
			ctx = WithBaseURL(ctx, base)
		}
		sg, _ := SignerFor(ctx, f).SignUpload(store.Space{}, "", "", 0)
		return sg.URL
	}
	for _, c := range []struct {
		f    Face
		base *url.URL
		want string
	}{
		{a, h1, "a@h1"}, {a, h1, "a@h1"}, {a, h2, "a@h2"}, {b, h2, "b@h2"}, {a, h2, "a@h2"},
		{a, nil, "a@config"}, {a, h2, "a@h2"}, {a, h1, "a@h1"},
	} {
		if got := sign(c.f, c.base); got != c.want {
			t.Errorf("SignerFor(%s, %v) signs %q, want %q", c.f.Name(), c.base, got, c.want)
		}
	}
	if a.made != 4 || b.made != 1 {
		t.Errorf("SignerAt calls: a %d, b %d; want 4 and 1 (a repeat of the last face and base reuses its signer)", a.made, b.made)
	}
}
