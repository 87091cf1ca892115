package azure

import (
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// FuzzSASVerify parses and verifies arbitrary SAS requests against an
// upload URL the face signed (10 bytes of text/plain). verify must never
// panic and must accept only a request whose account, container, blob and
// signed fields are those of the URL; then the upload binding it reports is
// the one issued.
func FuzzSASVerify(f *testing.F) {
	clk := clock.NewFrozen(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC))
	st, err := store.Open(f.TempDir(), clk, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	fc, err := New(face.Config{Store: st, Clock: clk, BaseURL: "http://127.0.0.1:1", KeyID: testAccount, Secret: testSecret})
	if err != nil {
		f.Fatal(err)
	}
	up, err := fc.SignUpload(store.Space{Org: "o", Kind: store.Thread, ID: "t"}, "a b.txt", "text/plain", 10)
	if err != nil {
		f.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	signedQuery := parseSAS(u.Query())
	f.Add(u.EscapedPath(), u.RawQuery)
	f.Add(u.EscapedPath()+"x", u.RawQuery)
	f.Add(u.EscapedPath(), u.RawQuery+"&si=policy")
	f.Add(u.EscapedPath(), u.RawQuery+"&sip=10.0.0.1")
	f.Add("/"+testAccount+"/"+face.Bucket+"/orgs/o/threads/t/x", "sv=2022-11-02&sr=b&sp=cw&se=2030-01-01&sig=AAAA&si=localbaponi.put.99.00000000000000000000000000000000")
	f.Add("/", "sig=%zz")
	f.Fuzz(func(t *testing.T, rawPath, rawQuery string) {
		r := httptest.NewRequest("PUT", "http://127.0.0.1:1/", nil)
		r.URL.RawPath, r.URL.RawQuery = "", rawQuery
		p, err := url.PathUnescape(rawPath)
		if err != nil {
			return
		}
		r.URL.Path = p
		account, container, blob, ok := splitPath(r.URL.Path)
		if !ok {
			return
		}
		v, verr := fc.verify(r, account, container, blob)
		if verr != nil {
			return
		}
		_, _, wantBlob, _ := splitPath(u.Path)
		want := stringToSign(signedQuery, canonicalResource(testAccount, face.Bucket, wantBlob, "b"))
		if got := stringToSign(v.sasParams, canonicalResource(account, container, blob, v.resource)); got != want {
			t.Fatalf("accepted a SAS other than the one signed:\n%q\n--- signed:\n%q", got, want)
		}
		if v.binding == nil || v.binding.length != 10 || v.binding.typeHash != typeHash("text/plain") {
			t.Fatalf("binding = %+v, want 10 bytes of text/plain", v.binding)
		}
	})
}

// FuzzParseBinding checks that every signed identifier parseBinding accepts
// is exactly the one identifier() writes for it.
func FuzzParseBinding(f *testing.F) {
	f.Add(uploadBinding{length: 10, contentType: "text/plain"}.identifier())
	f.Add(bindingPrefix + "0." + typeHash(""))
	f.Add(bindingPrefix + "010." + typeHash(""))
	f.Add(bindingPrefix + "-1." + typeHash(""))
	f.Add(bindingPrefix + "99999999999999999999." + typeHash(""))
	f.Add("policy1")
	f.Fuzz(func(t *testing.T, si string) {
		b, ok := parseBinding(si)
		if !ok {
			return
		}
		if b.length < 0 {
			t.Fatalf("parseBinding(%q): negative length %d", si, b.length)
		}
		if again := bindingPrefix + strconv.FormatInt(b.length, 10) + "." + b.typeHash; again != si {
			t.Fatalf("parseBinding(%q) does not round-trip: %q", si, again)
		}
		if len(si) > 64 {
			t.Fatalf("identifier %q is longer than Azure's 64 characters", si)
		}
	})
}
