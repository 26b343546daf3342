package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aotsym/aotsym"
)

// PresignedUpload answers POST /v1/uploads: PUT the file to URL (any HTTP
// client, no headers needed, no token) before Expires, then complete it with
// POST /v1/uploads/{key}/complete. Servers whose requests are small (the
// API on AWS Lambda takes 6 MB) hand these out, so that debug files of any
// size go straight to their S3 bucket.
type PresignedUpload struct {
	URL     string    `json:"url"`
	Key     string    `json:"key"`
	Method  string    `json:"method"`
	Expires time.Time `json:"expires"`
}

// PresignUpload asks for a presigned upload (POST /v1/uploads). A server
// whose store cannot take them answers with code unsupported (HTTP 501).
func (c *Client) PresignUpload(ctx context.Context) (*PresignedUpload, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/uploads", nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	var p PresignedUpload
	if err := c.doJSON(req, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// CompleteUpload stores the file PUT to a presigned upload's URL, with the
// name and tags of opts (POST /v1/uploads/{key}/complete).
func (c *Client) CompleteUpload(ctx context.Context, key string, opts UploadOptions) (*UploadResult, error) {
	q := url.Values{}
	if opts.Name != "" {
		q.Set("name", opts.Name)
	}
	for _, t := range FormatTags(opts.Tags) {
		q.Add("tag", t)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/uploads/"+url.PathEscape(key)+"/complete", q, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	var res UploadResult
	if err := c.doJSON(req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UploadPresigned uploads one file of size bytes through a presigned upload:
// POST /v1/uploads, PUT body to the URL, complete. Use it when Upload is
// answered 413 by a server that hands out presigned uploads.
func (c *Client) UploadPresigned(ctx context.Context, body io.Reader, size int64, opts UploadOptions) (*UploadResult, error) {
	p, err := c.PresignUpload(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.URL, body)
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "the server handed out a bad upload URL: %v", err)
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, &aotsym.Error{Code: CodeUnavailable, Err: err, Message: fmt.Sprintf("uploading to the presigned URL failed: %v", unwrapURLError(err))}
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, &aotsym.Error{Code: codeForStatus(resp.StatusCode), Err: &StatusError{Status: resp.StatusCode},
			Message: fmt.Sprintf("the bucket refused the upload (HTTP %d): %s", resp.StatusCode, aotsym.Clip(string(msg), 300))}
	}
	return c.CompleteUpload(ctx, p.Key, opts)
}
