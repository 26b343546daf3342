package store

import (
	"sort"
	"strings"

	"github.com/aotsym/aotsym"
)

// Limits every backend enforces. They bound what one request can make the
// store hold, and the tag charset keeps tags safe in URLs, object keys and log
// lines.
const (
	// DefaultMaxSize is the largest upload accepted when neither the store's
	// options nor PutOptions say otherwise.
	DefaultMaxSize int64 = 2 << 30
	// MaxTags is the most tags one build carries.
	MaxTags = 64
	// MaxTagKeyLen and MaxTagValueLen bound a tag's key and value in bytes.
	MaxTagKeyLen   = 64
	MaxTagValueLen = 256
)

// ValidateTag checks one tag. A key is 1 to MaxTagKeyLen letters, digits and
// '.', '_', '-', starting with a letter or digit ("service", "git.sha"). A
// value is 1 to MaxTagValueLen printable ASCII characters without spaces
// ("orders-api:42", "https://github.com/org/repo").
func ValidateTag(key, value string) error {
	if err := validateTagKey(key); err != nil {
		return err
	}
	switch {
	case value == "":
		return aotsym.Errorf(aotsym.EINVALID, "tag %q has an empty value: give key=value, or remove the tag instead", key)
	case len(value) > MaxTagValueLen:
		return aotsym.Errorf(aotsym.EINVALID, "the value of tag %q is %d bytes; the limit is %d", key, len(value), MaxTagValueLen)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c <= ' ' || c > '~' {
			return aotsym.Errorf(aotsym.EINVALID, "the value of tag %q has %s at byte %d: tag values are printable ASCII without spaces", key, describeByte(c), i)
		}
	}
	return nil
}

func validateTagKey(key string) error {
	switch {
	case key == "":
		return aotsym.Errorf(aotsym.EINVALID, "empty tag key: tags are key=value, e.g. service=orders")
	case len(key) > MaxTagKeyLen:
		return aotsym.Errorf(aotsym.EINVALID, "tag key %q is %d bytes; the limit is %d", aotsym.Clip(key, 40), len(key), MaxTagKeyLen)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return aotsym.Errorf(aotsym.EINVALID, "tag key %q has %s at byte %d: keys are letters, digits, '.', '_' and '-', starting with a letter or digit", aotsym.Clip(key, 40), describeByte(c), i)
		}
	}
	return nil
}

func describeByte(c byte) string {
	if c == ' ' {
		return "a space"
	}
	if c > ' ' && c <= '~' {
		return "'" + string(rune(c)) + "'"
	}
	return "byte 0x" + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
}

// ParseTag splits "key=value" and validates it.
func ParseTag(s string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", aotsym.Errorf(aotsym.EINVALID, "tag %q has no '=': write tags as key=value, e.g. service=orders", aotsym.Clip(s, 40))
	}
	if err := ValidateTag(k, v); err != nil {
		return "", "", err
	}
	return k, v, nil
}

// ValidateTags checks tags to set and keys to remove, before anything is read
// or written.
func ValidateTags(set map[string]string, remove []string) error {
	if len(set) > MaxTags {
		return aotsym.Errorf(aotsym.ETOOLARGE, "%d tags given; a build carries at most %d", len(set), MaxTags)
	}
	for _, k := range sortedKeys(set) {
		if err := ValidateTag(k, set[k]); err != nil {
			return err
		}
	}
	if len(remove) > MaxTags {
		return aotsym.Errorf(aotsym.ETOOLARGE, "%d tags to remove; a build carries at most %d", len(remove), MaxTags)
	}
	for _, k := range remove {
		if err := validateTagKey(k); err != nil {
			return err
		}
	}
	return nil
}

// ApplyTags returns cur with set applied and remove removed (a new map, nil
// when empty), whether anything changed, and ETOOLARGE when the result would
// carry more than MaxTags. It validates its arguments.
func ApplyTags(cur, set map[string]string, remove []string) (map[string]string, bool, error) {
	if err := ValidateTags(set, remove); err != nil {
		return nil, false, err
	}
	out := make(map[string]string, len(cur)+len(set))
	for k, v := range cur {
		out[k] = v
	}
	changed := false
	for _, k := range remove {
		if _, ok := out[k]; ok {
			delete(out, k)
			changed = true
		}
	}
	for k, v := range set {
		if old, ok := out[k]; !ok || old != v {
			out[k] = v
			changed = true
		}
	}
	if len(out) > MaxTags {
		return nil, false, aotsym.Errorf(aotsym.ETOOLARGE, "the build would carry %d tags; the limit is %d: remove some first", len(out), MaxTags)
	}
	if len(out) == 0 {
		out = nil
	}
	return out, changed, nil
}

// MatchTags reports whether have carries every tag of want.
func MatchTags(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// FormatTags writes tags as "k=v k2=v2", sorted, for messages.
func FormatTags(tags map[string]string) string {
	var b strings.Builder
	for i, k := range sortedKeys(tags) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(tags[k])
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Newer orders builds newest first: by Created, then by ID so that the order
// is total even for builds created in the same instant.
func Newer(a, b *aotsym.Build) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.After(b.Created)
	}
	return a.ID < b.ID
}

// NoBuildWithTags is the ENOTFOUND error FindByTags returns.
func NoBuildWithTags(tags map[string]string) error {
	if len(tags) == 0 {
		return aotsym.Errorf(aotsym.ENOTFOUND, "no builds are stored: upload a debug file first")
	}
	return aotsym.Errorf(aotsym.ENOTFOUND, "no build is tagged %s: check the tags, or upload the build with them", FormatTags(tags))
}

// BuildNotFound is the ENOTFOUND error for a build ID with no stored build.
func BuildNotFound(id aotsym.BuildID) error {
	return aotsym.Errorf(aotsym.ENOTFOUND, "no build %s is stored: upload its debug file (the .dbg) first", id)
}
