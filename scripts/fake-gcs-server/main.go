// Command fake-gcs-server serves fake-gcs-server's in-memory GCS (package
// fakestorage) over plain HTTP, for the compose file's gcs profile and
// scripts/container-test: localbaponi --store gcs://BUCKET?endpoint=URL
// runs against it. Upstream's own binary needs its gRPC and Pub/Sub
// dependencies; this one needs only what the module's tests already use.
//
//	fake-gcs-server -addr 127.0.0.1:4443 -bucket localbaponi   (the default address; the image listens on 0.0.0.0)
//	fake-gcs-server -healthcheck http://127.0.0.1:4443   (exit 0 when it answers)
//
// It keeps every object in memory (see emulator/internal/store/gcsstore for
// where it differs from GCS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fake-gcs-server:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fake-gcs-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:4443", "listen address (loopback by default; the image passes 0.0.0.0:4443)")
	buckets := fs.String("bucket", "localbaponi", "buckets to create at start, comma-separated")
	health := fs.String("healthcheck", "", "check that the server at this URL answers, then exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *health != "" {
		return healthcheck(*health)
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true})
	if err != nil {
		return err
	}
	for _, b := range strings.Split(*buckets, ",") {
		if b = strings.TrimSpace(b); b != "" {
			srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	log.Info("fake-gcs-server: serving", "addr", ln.Addr().String(), "buckets", *buckets)
	hs := &http.Server{Handler: srv.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// healthcheck asks the server's own health endpoint.
func healthcheck(base string) error {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(strings.TrimSuffix(base, "/") + "/_internal/healthcheck")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s", resp.Status)
	}
	return nil
}
