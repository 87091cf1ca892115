package emulator_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/localbaponi/localbaponi/emulator"
)

// tamper changes one character of the query parameter param of a URL.
func tamper(raw, param string) string {
	GinkgoHelper()
	u, err := url.Parse(raw)
	Expect(err).NotTo(HaveOccurred())
	q := u.Query()
	v := q.Get(param)
	Expect(v).NotTo(BeEmpty(), "URL has no %s", param)
	b := []byte(v)
	if b[0] == 'a' {
		b[0] = 'b'
	} else {
		b[0] = 'a'
	}
	q.Set(param, string(b))
	u.RawQuery = q.Encode()
	return u.String()
}

// interruptedPut sends the headers of a PUT of total bytes, then only sent
// bytes of body, then closes the connection.
func interruptedPut(raw string, headers map[string]any, total, sent int) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return err
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", u.RequestURI(), u.Host, total)
	for k, v := range headers {
		fmt.Fprintf(w, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(w, "\r\n%s", strings.Repeat("x", sent))
	if err := w.Flush(); err != nil {
		return err
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
	// Wait for the server to give up on the request, so that the caller's
	// next check sees the outcome.
	_, _ = bufio.NewReader(conn).ReadString('\n')
	return nil
}

var _ = Describe("the seed's curl workflow, over real HTTP", Label("e2e"), func() {
	It("lists, uploads with curl --data-binary, downloads, deletes", func() {
		curl, err := exec.LookPath("curl")
		if err != nil {
			Fail("curl is needed for this spec (apt-get install -y curl)")
		}
		emu := emulator.RunT(GinkgoT())
		dir := GinkgoT().TempDir()
		input := filepath.Join(dir, "input.json")
		data := []byte(`{"values": [1, 2, 3, 4, 5]}`)
		Expect(os.WriteFile(input, data, 0o644)).To(Succeed())

		run := func(args ...string) string {
			GinkgoHelper()
			out, err := exec.Command(curl, append([]string{"-sS", "--fail-with-body"}, args...)...).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), "curl %v: %s", args, out)
			return string(out)
		}
		api := func(method, path, body string) string {
			GinkgoHelper()
			return run("-X", method, emu.URL()+path,
				"-H", "Authorization: Bearer "+emu.APIKey(),
				"-H", "Content-Type: application/json", "-d", body)
		}
		field := func(js, name string) string {
			GinkgoHelper()
			var m map[string]any
			Expect(jsonUnmarshal(js, &m)).To(Succeed(), js)
			return m[name].(string)
		}

		resp := api("POST", "/v1/files/upload_url", `{"source": "thread", "id": "my-thread-123", "path": "input.json", "content_type": "application/json", "content_length": 27}`)
		run("-X", "PUT", field(resp, "url"), "-H", "Content-Type: application/json", "--data-binary", "@"+input)

		list := api("POST", "/v1/files/list", `{"source": "thread", "id": "my-thread-123"}`)
		Expect(list).To(ContainSubstring(`"path":"input.json"`))
		Expect(list).To(ContainSubstring(`"size":27`))

		resp = api("POST", "/v1/files/download_url", `{"source": "thread", "id": "my-thread-123", "path": "input.json"}`)
		out := filepath.Join(dir, "output.json")
		run("-o", out, field(resp, "url"))
		got, err := os.ReadFile(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(data))

		Expect(api("DELETE", "/v1/files", `{"source": "thread", "id": "my-thread-123", "path": "input.json"}`)).To(MatchJSON(`{"deleted": true}`))
		list = api("POST", "/v1/files/list", `{"source": "thread", "id": "my-thread-123"}`)
		Expect(list).To(MatchJSON(`{"files": []}`))
	})

	It("keeps data across a restart with DataDir", func() {
		dir := GinkgoT().TempDir()
		first, err := emulator.Start(emulator.Options{DataDir: dir})
		Expect(err).NotTo(HaveOccurred())
		c := newClient(first, first.APIKey())
		c.upload("volume", "shared-data", "kept.txt", "text/plain", []byte("still here"))
		Expect(first.Close()).To(Succeed())

		second := emulator.RunT(GinkgoT(), emulator.Options{DataDir: dir})
		c = newClient(second, second.APIKey())
		Expect(c.download("volume", "shared-data", "kept.txt")).To(Equal([]byte("still here")))
		r := c.post("/v1/files/download_url", map[string]any{"source": "volume", "id": "shared-data", "path": "kept.txt"})
		_, _, h := transfer(http.MethodGet, r.JSON["url"].(string), nil, nil)
		Expect(h.Get("Content-Type")).To(Equal("text/plain"))
	})
})
