package s3

// Uploads that go straight into the bucket through a presigned PUT, for a
// server that cannot take large request bodies: the API on AWS Lambda, whose
// requests are at most 6 MB. PresignUpload hands out the URL; once the client
// has PUT the file there, PutIncoming stores it as Put stores an upload
// (build ID, index, commit) and deletes the object. Objects under
// PREFIX/incoming/ are never named by a record; a bucket lifecycle rule on
// that prefix (deploy/template.yaml) removes the ones never completed.

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

const incomingDir = "incoming/"

// PresignUpload returns a URL that takes one HTTP PUT of a build file until
// expires has passed, and the key that names the upload to PutIncoming. Only
// the host is signed, so any client can PUT (curl -T FILE URL).
func (s *Store) PresignUpload(ctx context.Context, expires time.Duration) (url, key string, err error) {
	key = nonce()
	req, err := awss3.NewPresignClient(s.client).PresignPutObject(ctx,
		&awss3.PutObjectInput{Bucket: aws.String(s.bucket), Key: s.key(incomingDir + key)},
		awss3.WithPresignExpires(expires))
	if err != nil {
		return "", "", s.wrap("presigning an upload to", incomingDir+key, err)
	}
	return req.URL, key, nil
}

// PutIncoming stores the file a client PUT to the URL of PresignUpload, like
// Put, and deletes the uploaded object once it is stored, or once it proved
// not to be a build file or too large. A key PresignUpload did not hand out,
// or whose object is not (or no longer) there, is ENOTFOUND.
func (s *Store) PutIncoming(ctx context.Context, key string, opts store.PutOptions) (store.PutResult, error) {
	if b, err := hex.DecodeString(key); err != nil || len(b) != 12 {
		return store.PutResult{}, aotsym.Errorf(aotsym.EINVALID, "upload key %q is not one this server hands out (24 hex digits)", aotsym.Clip(key, 40))
	}
	rel := incomingDir + key
	notFound := aotsym.Errorf(aotsym.ENOTFOUND, "no upload %s: PUT the file to the URL POST /v1/uploads gave, before it expires, then complete it", key)
	head, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: s.key(rel)})
	if isNotFound(err) {
		return store.PutResult{}, notFound
	}
	if err != nil {
		return store.PutResult{}, s.wrap("reading", rel, err)
	}
	maxSize := opts.MaxSize
	if maxSize <= 0 {
		maxSize = s.opts.MaxSize
	}
	if maxSize <= 0 {
		maxSize = store.DefaultMaxSize
	}
	if size := aws.ToInt64(head.ContentLength); size > maxSize {
		s.deleteObjects(ctx, rel)
		return store.PutResult{}, aotsym.Errorf(aotsym.ETOOLARGE, "the uploaded file is %d bytes; the limit is %d", size, maxSize)
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.key(rel)})
	if isNotFound(err) {
		return store.PutResult{}, notFound
	}
	if err != nil {
		return store.PutResult{}, s.wrap("reading", rel, err)
	}
	opts.MaxSize = maxSize
	res, err := s.Put(ctx, out.Body, opts)
	out.Body.Close()
	switch aotsym.ErrorCode(err) {
	case "", aotsym.EINVALID, aotsym.ETOOLARGE:
		// Stored, or never storable: either way the object has served.
		s.deleteObjects(context.WithoutCancel(ctx), rel)
	}
	return res, err
}
