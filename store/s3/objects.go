package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// errChanged means an object changed (or disappeared) under a conditional
// request: read again and re-plan.
var errChanged = errors.New("s3: changed concurrently")

// maxRecordSize bounds a record read from the bucket.
const maxRecordSize = 1 << 20

func (s *Store) key(rel string) *string { return aws.String(s.prefix + rel) }

func statusCode(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf) || statusCode(err) == http.StatusNotFound
}

// isChanged reports a failed precondition: 412, or 409 ConditionalRequestConflict
// (AWS, when two conditional writes race), or NoSuchKey on If-Match of a
// record deleted meanwhile.
func isChanged(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	code := statusCode(err)
	return code == http.StatusPreconditionFailed || code == http.StatusConflict
}

func (s *Store) wrap(op, rel string, err error) error {
	return fmt.Errorf("s3: %s s3://%s/%s%s: %w", op, s.bucket, s.prefix, rel, err)
}

// checkBucket makes sure the bucket answers, with a message saying what to
// fix when it does not.
func (s *Store) checkBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	switch code := statusCode(err); {
	case err == nil:
		return nil
	case code == http.StatusNotFound:
		return &aotsym.Error{Code: aotsym.ENOTFOUND, Err: err, Message: fmt.Sprintf("S3 bucket %s does not exist: create it (aws s3 mb s3://%s) or fix --store", s.bucket, s.bucket)}
	case code == http.StatusForbidden || code == http.StatusUnauthorized:
		return &aotsym.Error{Code: aotsym.EINVALID, Err: err, Message: fmt.Sprintf("access to S3 bucket %s was denied: check the AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, the instance role) and the bucket policy", s.bucket)}
	case code == 0:
		return &aotsym.Error{Code: aotsym.EINTERNAL, Err: err, Message: fmt.Sprintf("cannot reach S3 for bucket %s (%v): check the network and AWS_ENDPOINT_URL_S3", s.bucket, err)}
	}
	return s.wrap("checking bucket", "", err)
}

// getRecord reads a build's record and its ETag; nil when there is none.
func (s *Store) getRecord(ctx context.Context, id aotsym.BuildID) (*record, string, error) {
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.key(recordKey(id))})
	if isNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", s.wrap("reading", recordKey(id), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxRecordSize+1))
	if err != nil {
		return nil, "", s.wrap("reading", recordKey(id), err)
	}
	if len(b) > maxRecordSize {
		return nil, "", fmt.Errorf("s3: the record of build %s is over %d bytes: it was not written by aotsym", id, maxRecordSize)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, "", fmt.Errorf("s3: the record of build %s is unreadable: %w", id, err)
	}
	if r.ID != id {
		return nil, "", fmt.Errorf("s3: the record %s names build %s", recordKey(id), r.ID)
	}
	return &r, aws.ToString(out.ETag), nil
}

// putRecord writes a record: created only if absent (etag ""), or replaced
// only if its ETag is still etag. It returns the new ETag, or errChanged.
func (s *Store) putRecord(ctx context.Context, r *record, etag string) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	in := &awss3.PutObjectInput{Bucket: aws.String(s.bucket), Key: s.key(recordKey(r.ID)), Body: bytes.NewReader(b),
		ContentType: aws.String("application/json")}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	out, err := s.client.PutObject(ctx, in)
	if isChanged(err) || etag != "" && isNotFound(err) {
		return "", errChanged
	}
	if err != nil {
		return "", s.wrap("writing", recordKey(r.ID), err)
	}
	return aws.ToString(out.ETag), nil
}

// deleteRecord deletes a record if its ETag is still etag.
func (s *Store) deleteRecord(ctx context.Context, id aotsym.BuildID, etag string) error {
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: s.key(recordKey(id)), IfMatch: aws.String(etag)})
	if isChanged(err) || isNotFound(err) {
		return errChanged
	}
	if err != nil {
		return s.wrap("deleting", recordKey(id), err)
	}
	return nil
}

// putBytes writes a small object.
func (s *Store) putBytes(ctx context.Context, rel string, data []byte, contentType string) error {
	_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(s.bucket), Key: s.key(rel),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String(contentType),
		IfNoneMatch: aws.String("*")})
	if err != nil {
		return s.wrap("writing", rel, err)
	}
	return nil
}

// getBytes reads an object of a known size; errChanged when it is gone.
func (s *Store) getBytes(ctx context.Context, rel string, size int64) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.key(rel)})
	if isNotFound(err) {
		return nil, errChanged
	}
	if err != nil {
		return nil, s.wrap("reading", rel, err)
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength != size {
		return nil, errCorrupt
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(out.Body, data); err != nil {
		return nil, s.wrap("reading", rel, err)
	}
	return data, nil
}

// missing reports whether an object is absent.
func (s *Store) missing(ctx context.Context, rel string) (bool, error) {
	if rel == "" {
		return true, nil
	}
	_, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: s.key(rel)})
	if isNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, s.wrap("checking", rel, err)
	}
	return false, nil
}

// uploadFile writes a file as a new object: one PUT up to PartSize, a
// multipart upload above.
func (s *Store) uploadFile(ctx context.Context, rel string, f *os.File, size int64, sha string) error {
	meta := map[string]string{"sha256": sha}
	if size <= s.opts.PartSize {
		_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(s.bucket), Key: s.key(rel),
			Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size), Metadata: meta,
			ContentType: aws.String("application/x-elf"), IfNoneMatch: aws.String("*")})
		if err != nil {
			return s.wrap("writing", rel, err)
		}
		return nil
	}
	mp, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: s.key(rel),
		Metadata: meta, ContentType: aws.String("application/x-elf"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		return s.wrap("starting a multipart upload of", rel, err)
	}
	abort := func() {
		actx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{Bucket: aws.String(s.bucket), Key: s.key(rel), UploadId: mp.UploadId})
	}
	n := int((size + s.opts.PartSize - 1) / s.opts.PartSize)
	parts := make([]types.CompletedPart, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, s.opts.Concurrency)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-pctx.Done():
				errs <- pctx.Err()
				return
			}
			defer func() { <-sem }()
			off := int64(i) * s.opts.PartSize
			length := min(s.opts.PartSize, size-off)
			out, err := s.client.UploadPart(pctx, &awss3.UploadPartInput{Bucket: aws.String(s.bucket), Key: s.key(rel), UploadId: mp.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: io.NewSectionReader(f, off, length), ContentLength: aws.Int64(length),
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
			if err != nil {
				errs <- err
				cancel()
				return
			}
			parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1)), ChecksumCRC32: out.ChecksumCRC32}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		abort()
		return s.wrap("uploading a part of", rel, err)
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String(s.bucket), Key: s.key(rel),
		UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, IfNoneMatch: aws.String("*")})
	if err != nil {
		abort()
		return s.wrap("completing the multipart upload of", rel, err)
	}
	return nil
}

// download copies one of a build's files to a temporary file, checking its
// SHA-256; the caller closes and removes it.
func (s *Store) download(ctx context.Context, r *record, kind aotsym.FileKind) (*os.File, error) {
	sf, ok := r.File(kind)
	rel := r.Objects[kind]
	if !ok || rel == "" {
		return nil, noFile(r.ID, kind)
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.key(rel)})
	if isNotFound(err) {
		return nil, aotsym.Errorf(aotsym.ENOTFOUND, "the %s of build %s is missing from the bucket: upload it again", kind, r.ID)
	}
	if err != nil {
		return nil, s.wrap("reading", rel, err)
	}
	defer out.Body.Close()
	f, err := os.CreateTemp(s.tmpDir(), "download-*")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(out.Body, sf.Size+1))
	if err == nil && (n != sf.Size || hex.EncodeToString(h.Sum(nil)) != sf.SHA256) {
		err = fmt.Errorf("s3: s3://%s/%s%s does not match the %s recorded for build %s (%d bytes read)", s.bucket, s.prefix, rel, kind, r.ID, n)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// deleteObjects deletes objects, logging failures: an object left behind is
// an orphan that Expire removes later.
func (s *Store) deleteObjects(ctx context.Context, rels ...string) {
	for _, rel := range rels {
		if rel == "" {
			continue
		}
		_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: s.key(rel)})
		if err != nil && !isNotFound(err) {
			s.log.Warn("s3: deleting an object; Expire will retry", "key", s.prefix+rel, "err", err)
		}
	}
}

// sweep removes objects under files/ and tags/ that no record names, presigned
// uploads under incoming/ that were never completed, and incomplete
// multipart uploads, once older than OrphanAge. It runs right after a full
// catalog refresh; anything committed after that refresh is younger than
// OrphanAge and left alone.
func (s *Store) sweep(ctx context.Context) error {
	referenced := s.cat.referenced()
	cutoff := time.Now().Add(-s.opts.OrphanAge)
	for _, dir := range []string{"files/", "tags/", "incoming/"} {
		p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: s.key(dir)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return s.wrap("listing", dir, err)
			}
			for _, o := range page.Contents {
				rel := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
				if referenced[rel] || o.LastModified == nil || o.LastModified.After(cutoff) {
					continue
				}
				s.log.Info("s3: removing an object no build names (left by an upload that did not finish)", "key", aws.ToString(o.Key))
				s.deleteObjects(ctx, rel)
			}
		}
	}
	mp := awss3.NewListMultipartUploadsPaginator(s.client, &awss3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket), Prefix: s.key("files/")})
	for mp.HasMorePages() {
		page, err := mp.NextPage(ctx)
		if err != nil {
			return s.wrap("listing multipart uploads under", "files/", err)
		}
		for _, u := range page.Uploads {
			if u.Initiated == nil || u.Initiated.After(cutoff) {
				continue
			}
			s.log.Info("s3: aborting a multipart upload that did not finish", "key", aws.ToString(u.Key))
			s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String(s.bucket), Key: u.Key, UploadId: u.UploadId})
		}
	}
	return nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// objectFile reads a stored file with ranged GETs: Read streams from the
// current offset (one GET until the next Seek), ReadAt fetches exactly the
// range asked for. The object is never rewritten, so the reads agree.
type objectFile struct {
	s    *Store
	ctx  context.Context
	key  string
	size int64

	pos     int64
	body    io.ReadCloser
	bodyPos int64
}

func (f *objectFile) Size() int64 { return f.size }

func (f *objectFile) get(off, end int64) (io.ReadCloser, error) {
	out, err := f.s.client.GetObject(f.ctx, &awss3.GetObjectInput{Bucket: aws.String(f.s.bucket), Key: f.s.key(f.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end-1))})
	if isNotFound(err) {
		return nil, aotsym.Errorf(aotsym.ENOTFOUND, "the file was deleted while being read")
	}
	if err != nil {
		return nil, f.s.wrap("reading", f.key, err)
	}
	return out.Body, nil
}

func (f *objectFile) Read(p []byte) (int, error) {
	if f.pos >= f.size {
		return 0, io.EOF
	}
	if f.body == nil || f.bodyPos != f.pos {
		if f.body != nil {
			f.body.Close()
			f.body = nil
		}
		body, err := f.get(f.pos, f.size)
		if err != nil {
			return 0, err
		}
		f.body, f.bodyPos = body, f.pos
	}
	if rest := f.size - f.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := f.body.Read(p)
	f.pos += int64(n)
	f.bodyPos += int64(n)
	if err == io.EOF {
		f.body.Close()
		f.body = nil
		if f.pos < f.size {
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}

func (f *objectFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("s3: negative offset")
	}
	if off >= f.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), f.size)
	body, err := f.get(off, end)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	n, err := io.ReadFull(body, p[:end-off])
	if err != nil {
		return n, err
	}
	if end-off < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (f *objectFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, errors.New("s3: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("s3: seek before the start")
	}
	f.pos = offset
	return offset, nil
}

func (f *objectFile) Close() error {
	if f.body != nil {
		f.body.Close()
		f.body = nil
	}
	return nil
}
