package store

import (
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
)

func TestValidateTag(t *testing.T) {
	for _, c := range []struct {
		key, value string
		code       string
		mention    string
	}{
		{"service", "orders", "", ""},
		{"lambda", "orders-api:42", "", ""},
		{"repo", "https://github.com/org/repo?x=1#y", "", ""},
		{"git.sha", "abc123", "", ""},
		{"A_b-9", "x", "", ""},
		{"", "x", aotsym.EINVALID, "empty tag key"},
		{"-x", "y", aotsym.EINVALID, "'-' at byte 0"},
		{"ser vice", "x", aotsym.EINVALID, "a space at byte 3"},
		{"k=v", "x", aotsym.EINVALID, "'='"},
		{"caf\xc3\xa9", "x", aotsym.EINVALID, "byte 0xc3"},
		{strings.Repeat("k", MaxTagKeyLen), "v", "", ""},
		{strings.Repeat("k", MaxTagKeyLen+1), "v", aotsym.EINVALID, "limit is 64"},
		{"k", "", aotsym.EINVALID, "empty value"},
		{"k", "two words", aotsym.EINVALID, "a space at byte 3"},
		{"k", "tab\t", aotsym.EINVALID, "byte 0x09"},
		{"k", "nul\x00", aotsym.EINVALID, "byte 0x00"},
		{"k", strings.Repeat("v", MaxTagValueLen), "", ""},
		{"k", strings.Repeat("v", MaxTagValueLen+1), aotsym.EINVALID, "limit is 256"},
	} {
		err := ValidateTag(c.key, c.value)
		if aotsym.ErrorCode(err) != c.code && !(c.code == "" && err == nil) {
			t.Errorf("ValidateTag(%q, %q) = %v, want code %q", c.key, c.value, err, c.code)
			continue
		}
		if c.mention != "" && !strings.Contains(aotsym.ErrorMessage(err), c.mention) {
			t.Errorf("ValidateTag(%q, %q): message %q does not mention %q", c.key, c.value, aotsym.ErrorMessage(err), c.mention)
		}
	}
}

func TestParseTag(t *testing.T) {
	k, v, err := ParseTag("lambda=orders-api:42")
	if err != nil || k != "lambda" || v != "orders-api:42" {
		t.Errorf("ParseTag = %q %q %v", k, v, err)
	}
	if k, v, err := ParseTag("url=https://x/?a=b"); err != nil || k != "url" || v != "https://x/?a=b" {
		t.Errorf("a value with '=': %q %q %v", k, v, err)
	}
	if _, _, err := ParseTag("service"); aotsym.ErrorCode(err) != aotsym.EINVALID || !strings.Contains(err.Error(), "key=value") {
		t.Errorf("ParseTag without '=': %v", err)
	}
}

func TestApplyTags(t *testing.T) {
	cur := map[string]string{"service": "orders", "version": "1.4.1"}
	out, changed, err := ApplyTags(cur, map[string]string{"version": "1.4.2", "git": "abc"}, []string{"service", "absent"})
	if err != nil || !changed || FormatTags(out) != "git=abc version=1.4.2" {
		t.Errorf("ApplyTags = %v %v %v", out, changed, err)
	}
	if cur["service"] != "orders" || len(cur) != 2 {
		t.Errorf("ApplyTags modified its input: %v", cur)
	}
	if _, changed, _ := ApplyTags(cur, map[string]string{"service": "orders"}, []string{"absent"}); changed {
		t.Errorf("setting a tag to its value reported a change")
	}
	if out, changed, _ := ApplyTags(cur, nil, []string{"service", "version"}); !changed || out != nil {
		t.Errorf("removing every tag: %v %v; want nil", out, changed)
	}
	full := map[string]string{}
	for i := 0; i < MaxTags; i++ {
		full[strings.Repeat("k", 1+i%10)+string(rune('a'+i/10))] = "v"
	}
	if _, _, err := ApplyTags(full, map[string]string{"one": "more"}, nil); aotsym.ErrorCode(err) != aotsym.ETOOLARGE {
		t.Errorf("tag %d: %v, want ETOOLARGE", MaxTags+1, err)
	}
	if _, _, err := ApplyTags(full, map[string]string{"one": "more"}, []string{"ka"}); err != nil {
		t.Errorf("replacing one of %d tags: %v", MaxTags, err)
	}
}

// FuzzParseTag checks that any input is either rejected with EINVALID or
// gives a tag that validates and round-trips.
func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"service=orders", "lambda=orders-api:42", "=x", "k=", "a b=c", "k=v=w", "\xff=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, v, err := ParseTag(s)
		if err != nil {
			if aotsym.ErrorCode(err) != aotsym.EINVALID || aotsym.ErrorMessage(err) == "" {
				t.Fatalf("ParseTag(%q): %v (code %s)", s, err, aotsym.ErrorCode(err))
			}
			return
		}
		if k+"="+v != s || ValidateTag(k, v) != nil || strings.ContainsAny(k, "= ") || len(k) > MaxTagKeyLen || len(v) > MaxTagValueLen {
			t.Fatalf("ParseTag(%q) = %q, %q", s, k, v)
		}
	})
}
