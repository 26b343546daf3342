package lambda

import (
	"context"
	"io/fs"
	"log/slog"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api"
	"github.com/aws/aws-lambda-go/events"
	ginadapter "github.com/awslabs/aws-lambda-go-api-proxy/gin"
)

// APIHandler is the Lambda handler of the HTTP API: function URL and HTTP
// API (payload format 2.0) events.
type APIHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// APIOptions are what the API needs besides the Config.
type APIOptions struct {
	Tokens  *api.Tokens
	Logger  *slog.Logger
	Version string
	Page    fs.FS
}

// NewAPI builds the same gin engine `aotsym serve` runs, over the S3 store of
// cfg, behind aws-lambda-go-api-proxy. Uploads larger than a Lambda request
// (6 MB) go through POST /v1/uploads: a presigned S3 PUT, then
// POST /v1/uploads/{key}/complete. Without tokens it refuses to start unless
// cfg.InsecureOpen (for a function URL with AuthType AWS_IAM, which
// authenticates callers itself).
func NewAPI(ctx context.Context, cfg Config, o APIOptions) (APIHandler, *StoreBackend, error) {
	if (o.Tokens == nil || o.Tokens.Empty()) && !cfg.InsecureOpen {
		return nil, nil, aotsym.Errorf(aotsym.EINVALID,
			"refusing to serve the API without tokens: anyone who can reach the function URL could upload and delete builds. Set AOTSYM_TOKENS=\"read=…,upload=…,admin=…\", or %s=true when the function URL uses AuthType AWS_IAM", EnvInsecureOpen)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	b, err := OpenStoreBackend(ctx, cfg.Store, cfg.DataDir, cfg.CacheBytes, cfg.MaxUpload, o.Logger)
	if err != nil {
		return nil, nil, err
	}
	srv := api.New(api.Config{
		Tokens:         o.Tokens,
		MaxUploadBytes: cfg.MaxUpload,
		Logger:         o.Logger,
		Version:        o.Version,
		Page:           o.Page,
		// One request at a time reaches a Lambda container; these bound
		// a batch's work the same way.
		MaxInFlight: 4,
		MaxUploads:  1,
	})
	srv.Attach(api.Backend{Store: b.Store, Symbolicator: b.APISymbolicator()})
	adapter := ginadapter.NewV2(srv.Engine())
	return adapter.ProxyWithContext, b, nil
}
