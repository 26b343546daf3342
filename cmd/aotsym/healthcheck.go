package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func init() { register(newHealthcheckCmd) }

// newHealthcheckCmd is `aotsym healthcheck`: the container image's
// HEALTHCHECK, which has no curl in a distroless image.
func newHealthcheckCmd() *cobra.Command {
	var (
		url     string
		ready   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL] [--ready]",
		Short: "Exit 0 when the local server answers /healthz (or /readyz), 1 otherwise",
		Long: `healthcheck asks a running aotsym server whether it is alive (GET /healthz) or,
with --ready, ready to serve (GET /readyz: its store is open and it is not
shutting down). It exits 0 on HTTP 200 and 1 otherwise, saying why on standard
error. The default URL is the loopback address of the port in AOTSYM_LISTEN
(as ` + "`aotsym serve`" + ` reads it), else http://127.0.0.1:8080.`,
		Example: `  HEALTHCHECK CMD ["/aotsym", "healthcheck"]
  aotsym healthcheck --ready --url http://127.0.0.1:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				url = localURL(os.Getenv("AOTSYM_LISTEN"))
			}
			path := "/healthz"
			if ready {
				path = "/readyz"
			}
			return healthcheck(cmd.Context(), strings.TrimRight(url, "/")+path, timeout, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "base URL of the server (default from AOTSYM_LISTEN, else http://127.0.0.1:8080)")
	cmd.Flags().BoolVar(&ready, "ready", false, "check readiness (/readyz) instead of liveness (/healthz)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}

// localURL turns a listen address into a URL this machine can call:
// 0.0.0.0:8080 and :8080 become http://127.0.0.1:8080, [::]:8080 becomes
// http://[::1]:8080.
func localURL(listen string) string {
	host, port, err := net.SplitHostPort(strings.TrimSpace(listen))
	if err != nil || port == "" {
		return "http://127.0.0.1:8080"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func healthcheck(ctx context.Context, url string, timeout time.Duration, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usagef("--url %q: %v", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "healthy: %s\n", url)
	return nil
}
