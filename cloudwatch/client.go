// Package cloudwatch reads and writes CloudWatch Logs for aotsym: it fetches
// every log event of one Lambda request (FilterLogEvents, every page) and
// reassembles the text they hold (Fetch), writes symbolicated traces to a
// log group (Writer: PutLogEvents, creating the stream when needed), splits
// Lambda log lines into their request IDs (RequestIDOf), and turns the AWS
// errors a user can fix (no credentials, access denied, no such log group)
// into one sentence saying what to do (Explain).
//
// It is the only package that imports the CloudWatch Logs SDK. Callers pass
// the SDK's per-operation interfaces, so tests can point a real client at a
// local server (package cloudwatchtest) with BaseEndpoint.
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
)

// Config says how to build a client. The zero value takes everything from the
// standard AWS environment (AWS_REGION, AWS_PROFILE, the credential chain,
// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS).
type Config struct {
	// Region overrides the region of the environment.
	Region string
	// Endpoint overrides the CloudWatch Logs endpoint (tests).
	Endpoint string
	// MaxAttempts bounds the attempts of one call, retries of throttled and
	// failed calls included; 0 means 6.
	MaxAttempts int
	// MaxBackoff bounds the wait between attempts; 0 means 20 s.
	MaxBackoff time.Duration
	// AWS replaces config.LoadDefaultConfig (tests); nil means the standard
	// AWS environment.
	AWS *aws.Config
}

// Client is a CloudWatch Logs client and the region it talks to.
type Client struct {
	*cloudwatchlogs.Client
	Region string
	// Credentials is the provider the client signs with, for CheckCredentials.
	Credentials aws.CredentialsProvider
}

// NewClient builds a client from the standard AWS environment. It makes no
// network call; CheckCredentials does.
func NewClient(ctx context.Context, c Config) (*Client, error) {
	var cfg aws.Config
	if c.AWS != nil {
		cfg = c.AWS.Copy()
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, aotsym.Errorf(aotsym.EINVALID, "reading the AWS configuration: %v; check AWS_PROFILE and ~/.aws/config", err)
		}
	}
	if c.Region != "" {
		cfg.Region = c.Region
	}
	if cfg.Region == "" {
		return nil, aotsym.Errorf(aotsym.EINVALID, "no AWS region: pass --region, or set AWS_REGION (the region of the log group, e.g. eu-west-1)")
	}
	attempts, backoff := c.MaxAttempts, c.MaxBackoff
	if attempts <= 0 {
		attempts = 6
	}
	if backoff <= 0 {
		backoff = 20 * time.Second
	}
	cl := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.MaxBackoff = backoff
		})
	})
	return &Client{Client: cl, Region: cfg.Region, Credentials: cfg.Credentials}, nil
}

// CheckCredentials makes sure the credential chain yields credentials before
// the first call, so that a missing login is reported as such and not as a
// failed request.
func (c *Client) CheckCredentials(ctx context.Context) error {
	if c.Credentials == nil {
		return errNoCredentials(nil)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.Credentials.Retrieve(ctx); err != nil {
		return errNoCredentials(err)
	}
	return nil
}

func errNoCredentials(err error) error {
	return &aotsym.Error{Code: aotsym.EINVALID, Err: err,
		Message: "aws: no credentials: set AWS_PROFILE (after `aws sso login` or `aws configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an IAM role is attached"}
}

// Explain turns an error of a CloudWatch Logs call into a sentence saying
// what to do: action is the IAM action that was called (logs:FilterLogEvents)
// and group the log group. Errors it does not know are returned wrapped with
// the action, code EINTERNAL.
func Explain(err error, action, group, region string) error {
	if err == nil {
		return nil
	}
	var ae *aotsym.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &aotsym.Error{Code: aotsym.EINTERNAL, Err: err, Message: fmt.Sprintf("%s on log group %s: gave up (%v)", action, group, err)}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ResourceNotFoundException":
			return &aotsym.Error{Code: aotsym.ENOTFOUND, Err: err,
				Message: fmt.Sprintf("log group %s does not exist in region %s: check the name (a Lambda function's group is /aws/lambda/FUNCTION) and the region (--region or AWS_REGION)", group, region)}
		case "AccessDeniedException", "AccessDenied":
			return &aotsym.Error{Code: aotsym.EINVALID, Err: err,
				Message: fmt.Sprintf("access denied: your AWS identity may not call %s on log group %s; ask for a policy allowing %s on arn:aws:logs:%s:ACCOUNT:log-group:%s:*", action, group, action, region, group)}
		case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId":
			return &aotsym.Error{Code: aotsym.EINVALID, Err: err,
				Message: "aws: the credentials were rejected (" + api.ErrorCode() + "): they are expired or wrong; log in again (`aws sso login`) or check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}
		case "ThrottlingException", "LimitExceededException":
			return &aotsym.Error{Code: aotsym.EINTERNAL, Err: err,
				Message: fmt.Sprintf("%s was throttled by CloudWatch Logs even after retries: try again in a minute, or narrow the time window", action)}
		case "InvalidParameterException":
			return &aotsym.Error{Code: aotsym.EINVALID, Err: err,
				Message: fmt.Sprintf("%s on log group %s: CloudWatch Logs refused a parameter: %s", action, group, api.ErrorMessage())}
		}
	}
	if s := err.Error(); strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "no EC2 IMDS role found") ||
		strings.Contains(s, "AnonymousCredentials") || strings.Contains(s, "get credentials") {
		return errNoCredentials(err)
	}
	return &aotsym.Error{Code: aotsym.EINTERNAL, Err: err, Message: fmt.Sprintf("%s on log group %s: %v", action, group, err)}
}

// errorCode returns the AWS error code of err, or "".
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
