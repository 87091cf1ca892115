// Package s3store keeps the bytes of threads and volumes in an S3 bucket
// (AWS S3, MinIO, or any server that speaks the S3 API), behind the same
// store.Backend as the file store: an objstore.Store (which has the
// layout, the Files API's rules and the listing) over this package's
// Bucket of S3 requests.
//
// Each file object carries its content type and two metadata entries:
// x-amz-meta-modified (the emulator clock's time of the upload, RFC 3339)
// and x-amz-meta-md5 (the content's hex MD5, when the upload computed it).
// An S3 listing carries no metadata: the store remembers each object's
// modified time by ETag, and a listing sends a HEAD only for objects this
// replica has not seen.
//
// Uploads stream with bounded memory. A body of at most PartSize bytes is
// read into one buffer (of its own size up to 1 MiB, else a part buffer)
// and sent with one PutObject; a larger one becomes a
// multipart upload of PartSize parts, at most Concurrency of them in flight
// (so memory is about PartSize × (Concurrency+1)), completed only when every
// byte arrived and the MD5 matched. Any failure, a short or long body, or a
// cancelled request aborts the multipart upload: an upload that fails leaves
// no object and the earlier object at that key untouched. If the process is
// killed mid-upload nothing can abort it, but an unfinished multipart upload
// is never visible as an object (a bucket lifecycle rule
// AbortIncompleteMultipartUpload reclaims its parts).
package s3store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/objstore"
)

// DefaultPartSize is the size of a multipart upload's parts (and the largest
// upload sent in one PutObject). 8 MiB parts allow objects up to 78 GiB
// (S3 allows 10,000 parts).
const DefaultPartSize = 8 << 20

// MinPartSize is S3's smallest part (all but the last).
const MinPartSize = 5 << 20

// DefaultConcurrency is how many parts of one upload are sent at once.
const DefaultConcurrency = 4

// Metadata keys (lower case: S3 returns them so).
const (
	metaModified = "modified"
	metaMD5      = "md5"
)

// Config says which bucket and how to reach it.
type Config struct {
	Bucket string
	// Prefix is put before every key; "" or ending in "/".
	Prefix string
	// Endpoint is the S3 server's URL (MinIO, gofakes3, ...); "" means AWS.
	// With an endpoint, requests use path-style addressing.
	Endpoint string
	// Region defaults to $AWS_REGION, the AWS profile's, then us-east-1.
	Region string
	// PartSize defaults to DefaultPartSize; at least MinPartSize.
	PartSize int64
	// Concurrency defaults to DefaultConcurrency.
	Concurrency int
	// Client, if set, is used instead of one built from the fields above.
	Client *s3.Client
}

// ParseURL parses s3://BUCKET[/PREFIX]?endpoint=URL&region=R.
func ParseURL(raw string) (Config, error) {
	loc, err := objstore.ParseURL("s3 store", "s3", "s3://BUCKET[/PREFIX]?endpoint=URL&region=R", raw, "endpoint", "region")
	if err != nil {
		return Config{}, err
	}
	return Config{Bucket: loc.Bucket, Prefix: loc.Prefix, Endpoint: loc.Params["endpoint"], Region: loc.Params["region"]}, nil
}

// Store is an S3-backed store.Backend (an objstore.Store over S3), and a
// store.Stager. Safe for concurrent use.
type Store struct {
	*objstore.Store
	b *bucket
}

var (
	_ store.Backend = (*Store)(nil)
	_ store.Stager  = (*Store)(nil)
)

// Open checks that the bucket can be reached and returns the store. A nil
// clk means the real clock; a nil log discards logs.
func Open(ctx context.Context, cfg Config, clk *clock.Clock, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("s3 store: no bucket")
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < MinPartSize {
		return nil, fmt.Errorf("s3 store: part size %d is below S3's minimum %d", cfg.PartSize, MinPartSize)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	c := cfg.Client
	if c == nil {
		var err error
		if c, err = NewClient(ctx, cfg, log); err != nil {
			return nil, err
		}
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		return nil, fmt.Errorf("s3 store: bucket %q: %w", cfg.Bucket, err)
	}
	b := &bucket{
		c: c, bucket: cfg.Bucket, partSize: cfg.PartSize, conc: cfg.Concurrency, log: log,
		bufs: make(chan []byte, cfg.Concurrency+1),
	}
	return &Store{
		Store: objstore.New(b, objstore.Options{
			Name: "s3 store", Scheme: "s3", Bucket: cfg.Bucket, Prefix: cfg.Prefix, CacheModified: true, Clock: clk, Log: log,
		}),
		b: b,
	}, nil
}

// NewClient builds an S3 client for cfg the way any AWS tool does
// (config.LoadDefaultConfig): credentials from the environment
// ($AWS_ACCESS_KEY_ID, ...), the shared config and credentials files
// ($AWS_CONFIG_FILE, $AWS_SHARED_CREDENTIALS_FILE, $AWS_PROFILE), SSO,
// web identity, container and instance roles; the region from cfg.Region,
// then $AWS_REGION, the profile's, then us-east-1. With an endpoint
// (MinIO, a fake), requests are path-style, and if no credentials are
// found it sends them unsigned (fakes need none). Checksums are sent
// only where S3 requires them, so any S3 server accepts them.
func NewClient(ctx context.Context, cfg Config, log *slog.Logger) (*s3.Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The SDK's own warnings (e.g. about the instance metadata service)
	// go to the store's log, not to stderr.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "s3 store: aws sdk: "+fmt.Sprintf(format, v...))
	}))}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 store: AWS config: %w", err)
	}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	if cfg.Endpoint != "" {
		if ac.Credentials == nil {
			ac.Credentials = aws.AnonymousCredentials{}
		} else if _, err := ac.Credentials.Retrieve(ctx); err != nil {
			log.Info("s3 store: no AWS credentials found; sending unsigned requests to the endpoint", "endpoint", cfg.Endpoint, "err", err)
			ac.Credentials = aws.AnonymousCredentials{}
		}
	}
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		o.UsePathStyle = cfg.Endpoint != "" || ac.BaseEndpoint != nil
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}
