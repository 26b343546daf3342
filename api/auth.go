package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/gin-gonic/gin"
)

// Scope is what a token allows. Scopes are ordered: admin implies upload,
// upload implies read, so one admin token is enough for every route.
type Scope int

const (
	// ScopeNone marks routes anyone may call (health, the page, the OpenAPI
	// document).
	ScopeNone Scope = iota
	// ScopeRead: symbolicate, list and show builds, debuginfod, metrics.
	ScopeRead
	// ScopeUpload: upload builds and change their tags.
	ScopeUpload
	// ScopeAdmin: delete builds.
	ScopeAdmin
)

func (s Scope) String() string {
	switch s {
	case ScopeRead:
		return "read"
	case ScopeUpload:
		return "upload"
	case ScopeAdmin:
		return "admin"
	}
	return "none"
}

// MinTokenLength is the shortest token accepted in AOTSYM_TOKENS.
const MinTokenLength = 16

// Tokens holds the accepted bearer tokens, as SHA-256 digests so that every
// comparison takes the same time whatever the lengths.
type Tokens struct {
	digests [][sha256.Size]byte
	scopes  []Scope
}

// Empty reports whether no token is configured (an open server).
func (t *Tokens) Empty() bool { return t == nil || len(t.digests) == 0 }

// Len returns how many tokens there are of each scope.
func (t *Tokens) Len() map[string]int {
	out := map[string]int{}
	if t != nil {
		for _, s := range t.scopes {
			out[s.String()]++
		}
	}
	return out
}

// ParseTokens reads AOTSYM_TOKENS: comma-separated scope=token pairs,
// "read=…,upload=…,admin=…", any number of each scope. Whitespace and
// newlines around pairs are ignored, so the value can come from a file.
func ParseTokens(spec string) (*Tokens, error) {
	t := &Tokens{}
	seen := map[[sha256.Size]byte]bool{}
	for _, field := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		name, tok, ok := strings.Cut(field, "=")
		name = strings.TrimSpace(name)
		tok = strings.TrimSpace(tok)
		var scope Scope
		switch name {
		case "read":
			scope = ScopeRead
		case "upload":
			scope = ScopeUpload
		case "admin":
			scope = ScopeAdmin
		default:
			// Never echo the field: it may hold a token.
			return nil, aotsym.Errorf(aotsym.EINVALID, "AOTSYM_TOKENS: entry %d is not scope=TOKEN with scope read, upload or admin", len(t.digests)+1)
		}
		if !ok || len(tok) < MinTokenLength {
			return nil, aotsym.Errorf(aotsym.EINVALID, "AOTSYM_TOKENS: the %s token in entry %d is shorter than %d characters; generate one with `openssl rand -hex 32`", name, len(t.digests)+1, MinTokenLength)
		}
		if strings.ContainsAny(tok, " \t") {
			return nil, aotsym.Errorf(aotsym.EINVALID, "AOTSYM_TOKENS: the %s token in entry %d contains a space", name, len(t.digests)+1)
		}
		d := sha256.Sum256([]byte(tok))
		if seen[d] {
			return nil, aotsym.Errorf(aotsym.EINVALID, "AOTSYM_TOKENS: entry %d repeats a token already listed; give each scope its own tokens (admin already allows upload and read)", len(t.digests)+1)
		}
		seen[d] = true
		t.digests = append(t.digests, d)
		t.scopes = append(t.scopes, scope)
	}
	return t, nil
}

// LoadTokens reads tokens from AOTSYM_TOKENS, or from the file named by
// AOTSYM_TOKENS_FILE (a mounted secret).
func LoadTokens() (*Tokens, error) {
	if path := os.Getenv("AOTSYM_TOKENS_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, aotsym.Errorf(aotsym.EINVALID, "AOTSYM_TOKENS_FILE: %v", err)
		}
		return ParseTokens(string(b))
	}
	return ParseTokens(os.Getenv("AOTSYM_TOKENS"))
}

// lookup returns the scope of a presented token, or ScopeNone. It compares the
// token with every configured one, in constant time each, and never stops
// early, so the time taken says nothing about which token nearly matched.
func (t *Tokens) lookup(token string) Scope {
	d := sha256.Sum256([]byte(token))
	found := ScopeNone
	for i := range t.digests {
		if subtle.ConstantTimeCompare(d[:], t.digests[i][:]) == 1 {
			found = t.scopes[i]
		}
	}
	return found
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// authorize is the middleware of a route that needs scope need.
func (s *Server) authorize(need Scope) gin.HandlerFunc {
	return func(c *gin.Context) {
		if need == ScopeNone || s.cfg.Tokens.Empty() {
			c.Next()
			return
		}
		tok, present := bearer(c.Request)
		if !present {
			c.Header("WWW-Authenticate", `Bearer realm="aotsym"`)
			s.abort(c, http.StatusUnauthorized, client.CodeUnauthorized,
				fmt.Sprintf("this route needs a token with %s scope: send it as `Authorization: Bearer TOKEN` (the aotsym CLI sends $AOTSYM_TOKEN)", need))
			return
		}
		got := ScopeNone
		if tok != "" {
			got = s.cfg.Tokens.lookup(tok)
		}
		if got == ScopeNone {
			c.Header("WWW-Authenticate", `Bearer realm="aotsym", error="invalid_token"`)
			s.abort(c, http.StatusUnauthorized, client.CodeUnauthorized,
				"the bearer token is not one this server accepts: check AOTSYM_TOKEN against the server's AOTSYM_TOKENS (send `Authorization: Bearer TOKEN`)")
			return
		}
		if got < need {
			c.Header("WWW-Authenticate", fmt.Sprintf(`Bearer realm="aotsym", error="insufficient_scope", scope="%s"`, need))
			s.abort(c, http.StatusForbidden, client.CodeForbidden,
				fmt.Sprintf("this token has %s scope but %s %s needs %s scope: use %s", got, c.Request.Method, c.FullPath(), need, scopeHint(need)))
			return
		}
		c.Next()
	}
}

func scopeHint(need Scope) string {
	if need == ScopeAdmin {
		return "an admin token"
	}
	return "a " + need.String() + " or admin token"
}
