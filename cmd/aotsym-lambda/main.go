// Command aotsym-lambda is aotsym on AWS Lambda (binary `bootstrap`, runtime
// provided.al2023, arm64 or x86_64, built with -tags lambda.norpc; see
// deploy/build.sh). AOTSYM_LAMBDA_MODE chooses what it is:
//
//   - subscription (default): a CloudWatch Logs subscription handler. It
//     finds stack traces in the log events, resolves them through an aotsym
//     server (AOTSYM_SERVER, AOTSYM_TOKEN) or directly against the S3 store
//     (AOTSYM_STORE=s3://BUCKET/PREFIX), writes each readable trace with its
//     request ID to standard output and, with AOTSYM_DEST_LOG_GROUP, to that
//     log group, and returns a JSON summary.
//   - api: the HTTP API of `aotsym serve` over the S3 store, for a function
//     URL or an HTTP API (payload format 2.0).
//
// The wiring only: the work is in internal/lambda, cloudwatch and store/s3.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api"
	"github.com/aotsym/aotsym/cloudwatch"
	"github.com/aotsym/aotsym/internal/lambda"
	awslambda "github.com/aws/aws-lambda-go/lambda"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `aotsym-lambda (bootstrap) runs aotsym on AWS Lambda, runtime provided.al2023.

Environment:
  AOTSYM_LAMBDA_MODE     subscription (default): CloudWatch Logs subscription handler
                         api: the HTTP API for a function URL or HTTP API
  AOTSYM_SERVER          subscription: resolve through this aotsym server (with AOTSYM_TOKEN)
  AOTSYM_STORE           s3://BUCKET/PREFIX: resolve (subscription) or serve (api) from S3
  AOTSYM_DEST_LOG_GROUP  subscription: also write each trace to this log group
  AOTSYM_TOKENS          api: read=…,upload=…,admin=… bearer tokens (or AOTSYM_TOKENS_FILE)
  AOTSYM_INSECURE_OPEN   api: true to serve without tokens (function URL with AuthType AWS_IAM)
  AOTSYM_MAX_UPLOAD      api: largest build file in bytes
  AOTSYM_DATA            local cache directory (default /tmp/aotsym)
  AOTSYM_CACHE           bytes of memory for opened build indexes (default: a third of the function's memory)
  AOTSYM_LOG_LEVEL       debug, info, warn or error

Builds are chosen by the tag lambda=FUNCTION:VERSION, from the log group
(/aws/lambda/FUNCTION) and stream ([VERSION] or [$LATEST]); see the README's
AWS section.
`

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-h", "--help", "help":
			fmt.Print(usage)
			return
		case "--version", "version":
			fmt.Println("aotsym-lambda", version)
			return
		}
		fmt.Fprintf(os.Stderr, "aotsym-lambda takes no arguments; it is configured by its environment:\n\n%s", usage)
		os.Exit(2)
	}
	if err := run(context.Background(), os.Getenv, os.Stdout, os.Stderr); err != nil {
		msg := err.Error()
		if aotsym.ErrorCode(err) != aotsym.EINTERNAL {
			msg = aotsym.ErrorMessage(err)
		}
		fmt.Fprintf(os.Stderr, "aotsym-lambda: %s\n", msg)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := lambda.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return aotsym.Errorf(aotsym.EINVALID, "%s=%q: use debug, info, warn or error", lambda.EnvLogLevel, cfg.LogLevel)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	log.Info("starting", "version", version, "config", cfg.String())

	if cfg.Mode == lambda.ModeAPI {
		tokens, err := api.LoadTokens()
		if err != nil {
			return err
		}
		handler, b, err := lambda.NewAPI(ctx, cfg, lambda.APIOptions{Tokens: tokens, Logger: log, Version: version})
		if err != nil {
			return err
		}
		defer b.Close()
		awslambda.Start(handler)
		return nil
	}

	var backend lambda.Backend
	if cfg.Server != "" {
		backend, err = lambda.NewServerBackend(cfg.Server, cfg.Token)
	} else {
		backend, err = lambda.OpenStoreBackend(ctx, cfg.Store, cfg.DataDir, cfg.CacheBytes, 0, log)
	}
	if err != nil {
		return err
	}
	defer backend.Close()
	h := &lambda.Handler{Backend: backend, Out: stdout, Log: log,
		Ignore: []string{getenv("AWS_LAMBDA_LOG_GROUP_NAME"), cfg.DestLogGroup}}
	if cfg.DestLogGroup != "" {
		if err := cloudwatch.CheckGroup(cfg.DestLogGroup); err != nil {
			return err
		}
		cw, err := cloudwatch.NewClient(ctx, cloudwatch.Config{})
		if err != nil {
			return err
		}
		h.Dest = &cloudwatch.Writer{API: cw, Group: cfg.DestLogGroup, Region: cw.Region}
	}
	awslambda.Start(h.Handle)
	return nil
}
