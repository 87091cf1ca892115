// Command execab compares what POST /v1/sandbox/execute takes in two or
// more localbaponi binaries (or one binary with different flags): it
// starts each on loopback with --isolation namespaces, sends each the same
// trivial program with a thread (the dev config's two volumes are mounted
// too), alternating between them, and prints per binary the median call
// time, the median of its paired differences against the first binary
// and the CPU per call of the emulator and its reaped children.
//
//	go build -o /tmp/lb-old ./cmd/localbaponi   # at the baseline commit
//	go build -o /tmp/lb-new ./cmd/localbaponi
//	go run ./bench/execab -n 300 /tmp/lb-old /tmp/lb-new "/tmp/lb-new --sandbox-fs bind"
//
// A binary argument is a command line: leading NAME=value words are set in
// its environment. -block N sends N calls in a row to each binary before
// the next (calls then wait for the CPU the last one left behind; the
// paired difference then pairs calls of different moments, so compare the
// medians). Needs what execute needs (python3, node, bash; namespaces).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const devKey = "sk-us-bG9jYWwtZGV2LWtleQ"

var programs = map[string]string{"python": "print(1)", "node": "console.log(1)", "bash": "echo 1"}

type server struct {
	name string
	url  string
	cmd  *exec.Cmd
}

func main() {
	n := flag.Int("n", 200, "calls per binary and language")
	block := flag.Int("block", 1, "calls in a row to one binary before the next")
	langs := flag.String("langs", "python,node,bash", "languages, comma-separated")
	thread := flag.String("thread", "t-execab", "thread id (empty: no thread)")
	port := flag.Int("port", 18100, "first loopback port")
	flag.Parse()
	if flag.NArg() < 2 || *n < 1 || *block < 1 {
		fmt.Fprintln(os.Stderr, "usage: execab [-n N] [-block B] [-langs L] BASELINE BINARY...")
		os.Exit(2)
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	}()
	for i, line := range flag.Args() {
		s, err := start(line, fmt.Sprintf("127.0.0.1:%d", *port+i))
		if err != nil {
			fmt.Fprintln(os.Stderr, "execab:", err)
			return
		}
		servers = append(servers, s)
	}
	for _, lang := range strings.Split(*langs, ",") {
		code, ok := programs[lang]
		if !ok {
			fmt.Fprintf(os.Stderr, "execab: unknown language %q\n", lang)
			return
		}
		if err := compare(servers, lang, code, *thread, *n, *block); err != nil {
			fmt.Fprintln(os.Stderr, "execab:", err)
			return
		}
	}
}

// start runs one command line on addr and waits until it answers.
func start(line, addr string) (*server, error) {
	words := strings.Fields(line)
	var env []string
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		env, words = append(env, words[0]), words[1:]
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("no command in %q", line)
	}
	cmd := exec.Command(words[0], append(words[1:], "--addr", addr, "--isolation", "namespaces", "--log-level", "error")...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{name: line, url: "http://" + addr, cmd: cmd}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err := http.Get(s.url + "/_emulator/health")
		if err == nil {
			r.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("%s did not answer on %s in 30 s: %v", line, addr, err)
		}
	}
}

// compare sends n calls of code to each server and prints the results.
func compare(servers []*server, lang, code, thread string, n, block int) error {
	body := map[string]any{"code": code, "language": lang}
	if thread != "" {
		body["thread_id"] = thread
	}
	req, _ := json.Marshal(body)
	for range 10 { // warm up: page cache, interpreters, children spawned ahead
		for _, s := range servers {
			if _, err := s.execute(req); err != nil {
				return err
			}
		}
	}
	times := make([][]float64, len(servers))
	cpu0 := make([]float64, len(servers))
	for i, s := range servers {
		cpu0[i] = s.cpuMillis()
	}
	for k := 0; k < n; k += block {
		for j := range servers {
			i := (j + k/block) % len(servers)
			for b := 0; b < block && k+b < n; b++ {
				d, err := servers[i].execute(req)
				if err != nil {
					return err
				}
				times[i] = append(times[i], d)
			}
		}
	}
	fmt.Printf("%s (%d calls each, %d in a row):\n", lang, n, block)
	for i, s := range servers {
		diffs := make([]float64, n)
		for k := range diffs {
			diffs[k] = times[i][k] - times[0][k]
		}
		fmt.Printf("  %-45s median %7.2f ms  p25 %7.2f  paired diff %+6.2f ms  cpu/call %6.2f ms\n",
			s.name, quantile(times[i], 50), quantile(times[i], 25), quantile(diffs, 50), (s.cpuMillis()-cpu0[i])/float64(n))
	}
	return nil
}

// execute sends one call and returns how long it took, in ms; the program
// must have succeeded and printed 1.
func (s *server) execute(body []byte) (float64, error) {
	req, err := http.NewRequest(http.MethodPost, s.url+"/v1/sandbox/execute", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+devKey)
	req.Header.Set("Content-Type", "application/json")
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(began).Seconds() * 1000
	var res struct {
		Success bool   `json:"success"`
		Stdout  string `json:"stdout"`
	}
	if err == nil {
		err = json.Unmarshal(out, &res)
	}
	if err != nil || !res.Success || strings.TrimSpace(res.Stdout) != "1" {
		return 0, fmt.Errorf("%s: HTTP %d %s (%v)", s.name, resp.StatusCode, out, err)
	}
	return took, nil
}

// cpuMillis is the CPU time of the server and its reaped children so far
// (utime, stime, cutime and cstime of /proc/<pid>/stat).
func (s *server) cpuMillis() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which ends with the last ')':
	// state is field 3, utime..cstime are fields 14-17.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	total := 0.0
	for _, i := range []int{14, 15, 16, 17} {
		v, _ := strconv.ParseFloat(f[i-3], 64)
		total += v
	}
	return total * 1000 / 100 // clock ticks (USER_HZ = 100)
}

func quantile(v []float64, p int) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)*p/100, len(s)-1)]
}
