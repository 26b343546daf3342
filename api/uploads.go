package api

// Presigned uploads, for servers whose requests are small (the API on AWS
// Lambda takes at most 6 MB): POST /v1/uploads hands out a presigned PUT URL
// into the store's bucket; POST /v1/uploads/{key}/complete stores the file
// PUT there as POST /v1/builds stores a body.

import (
	"context"
	"net/http"
	"time"

	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/store"
	"github.com/gin-gonic/gin"
)

// Presigner is a store that takes uploads straight into its bucket
// (store/s3).
type Presigner interface {
	PresignUpload(ctx context.Context, expires time.Duration) (url, key string, err error)
	PutIncoming(ctx context.Context, key string, opts store.PutOptions) (store.PutResult, error)
}

// PresignExpiry is how long a presigned upload URL is valid.
const PresignExpiry = 30 * time.Minute

func (s *Server) presigner(c *gin.Context) (*Backend, Presigner) {
	b := s.backendOf(c)
	if b == nil {
		return nil, nil
	}
	p, ok := b.Store.(Presigner)
	if !ok {
		s.abort(c, http.StatusNotImplemented, "unsupported", "this server's store takes uploads in the request body only: upload with POST /v1/builds")
		return nil, nil
	}
	return b, p
}

func (s *Server) presignUpload(c *gin.Context) {
	_, p := s.presigner(c)
	if p == nil {
		return
	}
	url, key, err := p.PresignUpload(c.Request.Context(), PresignExpiry)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.PureJSON(http.StatusCreated, client.PresignedUpload{URL: url, Key: key, Method: http.MethodPut, Expires: time.Now().Add(PresignExpiry).UTC().Truncate(time.Second)})
}

func (s *Server) completeUpload(c *gin.Context) {
	b, p := s.presigner(c)
	if p == nil {
		return
	}
	opts, err := s.putOptions(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	res, err := p.PutIncoming(c.Request.Context(), c.Param("key"), opts)
	if err != nil {
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		s.fail(c, err)
		return
	}
	s.answerUpload(c, b, res, opts.Name, "presigned")
}

var (
	docPresignUpload = operation{id: "presignUpload", group: "builds", summary: "Get a presigned URL to upload a large build file to",
		description: "For servers whose request bodies are small (the API on AWS Lambda takes 6 MB). PUT the file to url (no token, no headers) before expires, " +
			"then call POST /v1/uploads/{key}/complete. 501 when the server's store takes uploads in the request body only (POST /v1/builds).",
		ok: []answer{{201, "application/json", client.PresignedUpload{}, "the URL to PUT the file to"}}, errors: []int{501}}
	docCompleteUpload = operation{id: "completeUpload", group: "builds", summary: "Store the file PUT to a presigned upload URL",
		description: "Reads the file from the bucket and stores it as POST /v1/builds stores a body; the uploaded object is then removed.",
		query: []queryParam{{name: "name", description: "the file's name, for people (app.dbg)"},
			{name: "tag", array: true, description: "key=value tag to add to the build; repeat for several"}},
		ok:     []answer{{201, "application/json", client.UploadResult{}, "stored"}, {200, "application/json", client.UploadResult{}, "already stored"}},
		errors: []int{400, 404, 413, 501}}
)
