// Package lambda is aotsym on AWS Lambda: the CloudWatch Logs subscription
// handler (Handler) that finds stack traces in log events, resolves them
// through an aotsym server or directly against the S3 store, and writes each
// readable trace with its request ID; and the HTTP API (NewAPI), the gin
// engine of `aotsym serve` behind aws-lambda-go-api-proxy, for function
// URLs and HTTP APIs. cmd/aotsym-lambda picks one by AOTSYM_LAMBDA_MODE.
//
// It imports aws-lambda-go's event types and the API proxy; CloudWatch Logs
// calls live in package cloudwatch, S3 in store/s3.
package lambda

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
)

// Environment variables of the Lambda function (the public names are in
// shared/interface.md and the README's AWS section).
const (
	EnvMode         = "AOTSYM_LAMBDA_MODE"    // "subscription" (default) or "api"
	EnvStore        = "AOTSYM_STORE"          // s3://BUCKET/PREFIX
	EnvDestLogGroup = "AOTSYM_DEST_LOG_GROUP" // also write traces here (subscription)
	EnvData         = "AOTSYM_DATA"           // local cache directory; default /tmp/aotsym
	EnvCache        = "AOTSYM_CACHE"          // bytes of memory for opened indexes
	EnvInsecureOpen = "AOTSYM_INSECURE_OPEN"  // api: serve without AOTSYM_TOKENS
	EnvLogLevel     = "AOTSYM_LOG_LEVEL"
	EnvMaxUpload    = "AOTSYM_MAX_UPLOAD" // api: largest build file, direct or presigned
	// EnvServer and EnvToken are client.EnvServer and client.EnvToken.
)

// Modes.
const (
	ModeSubscription = "subscription"
	ModeAPI          = "api"
)

// Config is the function's configuration, read from its environment.
type Config struct {
	Mode string
	// Server and Token: resolve through this aotsym server (subscription).
	Server, Token string
	// Store: resolve (subscription) or serve (api) against this S3 store.
	Store string
	// DestLogGroup: also write each trace to this log group.
	DestLogGroup string
	// DataDir holds the S3 store's temporary files and index cache.
	DataDir string
	// CacheBytes bounds the memory of opened build indexes.
	CacheBytes int64
	// InsecureOpen lets the API run without tokens (when the function URL
	// authenticates callers itself, AuthType AWS_IAM).
	InsecureOpen bool
	// MaxUpload bounds one uploaded build file (api).
	MaxUpload int64
	LogLevel  string
}

// ConfigFromEnv reads the configuration from getenv (os.Getenv). The
// function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE) sets the default
// index cache: a third of it.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Mode:         strings.TrimSpace(getenv(EnvMode)),
		Server:       strings.TrimSpace(getenv(client.EnvServer)),
		Token:        strings.TrimSpace(getenv(client.EnvToken)),
		Store:        strings.TrimSpace(getenv(EnvStore)),
		DestLogGroup: strings.TrimSpace(getenv(EnvDestLogGroup)),
		DataDir:      strings.TrimSpace(getenv(EnvData)),
		LogLevel:     strings.TrimSpace(getenv(EnvLogLevel)),
	}
	if c.Mode == "" {
		c.Mode = ModeSubscription
	}
	if c.DataDir == "" {
		c.DataDir = "/tmp/aotsym"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	// A third of the function's memory for opened indexes, 128 MiB without.
	c.CacheBytes = 128 << 20
	if mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil && mb > 0 {
		c.CacheBytes = int64(mb) << 20 / 3
	}
	if v := getenv(EnvCache); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, aotsym.Errorf(aotsym.EINVALID, "%s=%q: give the bytes of memory for opened build indexes, e.g. 268435456", EnvCache, aotsym.Clip(v, 40))
		}
		c.CacheBytes = n
	}
	if v := getenv(EnvMaxUpload); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, aotsym.Errorf(aotsym.EINVALID, "%s=%q: give the largest build file in bytes", EnvMaxUpload, aotsym.Clip(v, 40))
		}
		c.MaxUpload = n
	}
	if v := getenv(EnvInsecureOpen); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, aotsym.Errorf(aotsym.EINVALID, "%s=%q: use true or false", EnvInsecureOpen, aotsym.Clip(v, 40))
		}
		c.InsecureOpen = b
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "s3://") {
		return c, aotsym.Errorf(aotsym.EINVALID, "%s=%q: give s3://BUCKET/PREFIX", EnvStore, aotsym.Clip(c.Store, 80))
	}
	switch c.Mode {
	case ModeSubscription:
		switch {
		case c.Server != "" && c.Store != "":
			return c, aotsym.Errorf(aotsym.EINVALID, "both %s and %s are set: resolve through the server or against the store, not both", client.EnvServer, EnvStore)
		case c.Server == "" && c.Store == "":
			return c, aotsym.Errorf(aotsym.EINVALID, "nothing to resolve against: set %s (and %s) to an aotsym server, or %s=s3://BUCKET/PREFIX", client.EnvServer, client.EnvToken, EnvStore)
		}
	case ModeAPI:
		if c.Store == "" {
			return c, aotsym.Errorf(aotsym.EINVALID, "the API on Lambda keeps builds in S3: set %s=s3://BUCKET/PREFIX", EnvStore)
		}
	default:
		return c, aotsym.Errorf(aotsym.EINVALID, "%s=%q: use %s (the CloudWatch Logs subscription handler) or %s (the HTTP API)", EnvMode, aotsym.Clip(c.Mode, 40), ModeSubscription, ModeAPI)
	}
	return c, nil
}

func (c Config) String() string {
	where := c.Store
	if c.Server != "" {
		where = c.Server
	}
	return fmt.Sprintf("mode=%s via=%s dest=%q", c.Mode, where, c.DestLogGroup)
}
