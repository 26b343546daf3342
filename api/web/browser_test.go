package web_test

// The page as a person uses it: the real `aotsym serve` binary on loopback with
// real builds of the corpus uploaded through the real CLI, and the page driven
// in headless Chromium with the keyboard. Frames are checked against the
// corpus's answer key (testdata/nativeaot/*/cases.json), not against what the
// server says.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/testenv"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

var updateDocs = flag.Bool("update-docs", false, "also write the screenshots to docs/ (the README shows docs/web-laptop.png)")

const (
	// stepTimeout bounds every browser step and every wait for the page.
	stepTimeout = 45 * time.Second
	// serverTimeout bounds starting and stopping a server.
	serverTimeout = 90 * time.Second
	// maxBody is the server's trace limit in this test, small so that "too
	// large" is quick to reach.
	maxBody = 256 << 10

	readToken   = "read-token-for-the-browser-test"
	uploadToken = "upload-token-for-the-browser-test"

	// Tags of the uploaded builds: where their sources are.
	net10Repo   = "https://github.com/example/aotsample"
	net10Commit = "4f2c1e9a0b7d3c5e8f6a1b2c3d4e5f6a7b8c9d0e"
	webapiRepo  = "https://gitlab.example.com/shop/ordersapi.git"
	webapiGit   = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
)

// TestBrowser drives the page in Chromium against a real server.
func TestBrowser(t *testing.T) {
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium")
	bin := buildAotsym(t)

	net10 := load(t, "net10.0-linux-x64")
	net8 := load(t, "net8.0-linux-x64")
	webapi := load(t, "webapi")
	arm64 := load(t, "net10.0-linux-arm64") // never uploaded: a trace no build matches

	srv := startServer(t, bin, nil, "--max-body", fmt.Sprint(maxBody))
	upload(t, bin, srv.url, "", net10.Dir, "repo="+net10Repo, "git="+net10Commit, "srcroot=/src/aotsample", "service=orders")
	upload(t, bin, srv.url, "", webapi.Dir, "repo="+webapiRepo, "git="+webapiGit, "service=ordersapi")
	upload(t, bin, srv.url, "", net8.Dir)

	b := newBrowser(t, chromium)
	b.viewport(1280, 900, false)

	// How each build's files map to links (the rules on the page: srcroot for
	// net10, the directory named like the repository for the web API).
	links := map[string]func(file string, line int) string{
		net10.Build.BuildID: func(file string, line int) string {
			return fmt.Sprintf("%s/blob/%s/%s#L%d", net10Repo, net10Commit, strings.TrimPrefix(file, "/src/aotsample/"), line)
		},
		webapi.Build.BuildID: func(file string, line int) string {
			_, rest, _ := strings.Cut(file, "/ordersapi/")
			return fmt.Sprintf("%s/blob/%s/%s#L%d", strings.TrimSuffix(webapiRepo, ".git"), webapiGit, rest, line)
		},
	}

	t.Run("keyboard", func(t *testing.T) {
		b.t = t
		b.open(srv.url + "/")
		if got := b.str(`document.activeElement && document.activeElement.id`); got != "trace" {
			t.Fatalf("on load the focus is on %q, want the paste area (#trace)", got)
		}
		var order []string
		for range 6 {
			b.do("press Tab", chromedp.KeyEvent(kb.Tab))
			id := b.str(`document.activeElement.id || document.activeElement.tagName.toLowerCase()`)
			order = append(order, id)
			if style := b.str(`getComputedStyle(document.activeElement).outlineStyle`); style == "none" {
				t.Errorf("%s has no visible focus outline when reached with Tab", id)
			}
		}
		want := []string{"mode-detect", "build-id", "build-tags", "summary", "resolve", "clear"}
		if strings.Join(order, " ") != strings.Join(want, " ") {
			t.Errorf("Tab order from the paste area = %v, want %v", order, want)
		}
		for _, id := range []string{"trace", "build-id", "build-tags", "token", "mode-detect", "mode-id", "mode-tags", "link-trace"} {
			if name := b.str(fmt.Sprintf(`(function(e){return e.labels&&e.labels.length?e.labels[0].textContent:(e.getAttribute('aria-label')||'')})(document.getElementById(%q))`, id)); strings.TrimSpace(name) == "" {
				t.Errorf("control #%s has no label", id)
			}
		}
		if live := b.str(`document.getElementById('status').getAttribute('aria-live')`); live != "polite" {
			t.Errorf("the status region is not announced (aria-live=%q)", live)
		}
	})

	// Every .log and .error.json sample of two variants, pasted and resolved
	// with the keyboard, the build detected; every printed frame's file:line
	// as the answer key has it.
	for _, m := range []*corpus.Manifest{net10, webapi} {
		t.Run("samples/"+m.Variant, func(t *testing.T) {
			b.t = t
			b.open(srv.url + "/")
			n := 0
			for i := range m.Cases {
				c := &m.Cases[i]
				for _, p := range m.Samples(c) {
					if strings.HasSuffix(p, ".event.json") {
						continue
					}
					b.pasteAndResolve(readFile(t, p), "done")
					checkFrames(t, b, m, c, filepath.Base(p), links[m.Build.BuildID])
					if s := b.text("build-summary"); !strings.Contains(s, m.Build.BuildID) || !strings.Contains(s, "detected") {
						t.Errorf("%s: the build summary does not name the detected build %s: %q", filepath.Base(p), m.Build.BuildID, s)
					}
					n++
				}
			}
			if n < 2 {
				t.Fatalf("only %d samples in %s", n, m.Variant)
			}
			t.Logf("%s: %d samples resolved on the page", m.Variant, n)
			b.noReload()
		})
	}

	t.Run("copy as text", func(t *testing.T) {
		b.t = t
		b.open(srv.url + "/")
		sample := webapi.Path("cloudwatch-constructed/inner-exception.log")
		input := readFile(t, sample)
		b.pasteAndResolve(input, "done")
		b.allowClipboard(srv.url)
		b.do("press Enter on Copy as text", chromedp.Focus(chromedp.ID("copy-text")), chromedp.KeyEvent(kb.Enter))
		b.waitUntil("the copy is confirmed", `document.getElementById('copy-status').textContent.startsWith('Copied')`)
		got := b.clipboard()
		want, _ := symbolicate(t, srv.url, input, "")
		if got != want {
			t.Errorf("Copy as text gave\n%s\nwant the API's JIT-style text\n%s", got, want)
		}
		if !strings.Contains(got, " in /src/ordersapi/webapi/src/") {
			t.Errorf("the copied text has no resolved frame: %q", got)
		}
		var doc struct{ Frames []json.RawMessage }
		_, js := symbolicate(t, srv.url, input, "json")
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatal(err)
		}
		if n := b.num(`document.querySelectorAll('#trace-view li.frame').length`); n != len(doc.Frames) {
			t.Errorf("the page shows %d frames, the API answered %d", n, len(doc.Frames))
		}

		// Details of answered frames (what was printed, the server's note)
		// stay folded until asked for.
		const detail = `getComputedStyle(document.querySelector('#trace-view .detail')).display`
		if d := b.str(detail); d != "none" {
			t.Errorf("details of answered frames are shown by default (display %q)", d)
		}
		b.do("tick show details", chromedp.Focus(chromedp.ID("show-details")), chromedp.KeyEvent(" "))
		if d := b.str(detail); d == "none" {
			t.Errorf("show details does not show them")
		}
		b.do("untick show details", chromedp.KeyEvent(" "))

		// The README's screenshot: a web API request that failed validation.
		b.pasteAndResolve(readFile(t, webapi.Path("cloudwatch-constructed/validation.log")), "done")
		checkFrames(t, b, webapi, caseNamed(t, webapi, "validation"), "validation.log", links[webapi.Build.BuildID])
		b.screenshot("web-laptop.png", true)
	})

	// Two builds stored as debug files only, whose code differs but fits the
	// trace equally: the page says no single build was chosen, lists both,
	// and names each candidate's build.
	t.Run("undecided between debug files", func(t *testing.T) {
		b.t = t
		net9 := load(t, "net9.0-linux-x64")
		other := startServer(t, bin, nil)
		for _, m := range []*corpus.Manifest{net8, net9} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "app.dbg"), []byte(readFile(t, m.DebugFile())), 0o644); err != nil {
				t.Fatal(err)
			}
			upload(t, bin, other.url, "", dir)
		}
		_, js := symbolicate(t, other.url, readFile(t, net9.Path("cloudwatch-constructed/async-chain.log")), "json")
		var doc struct {
			Build struct {
				How        string
				Candidates []string
			}
		}
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Build.How != "undecided" {
			t.Skipf("the API decided (%q) between net8 and net9 debug files for this trace; the page case needs an undecided answer", doc.Build.How)
		}
		b.open(other.url + "/")
		b.pasteAndResolve(readFile(t, net9.Path("cloudwatch-constructed/async-chain.log")), "done")
		s := b.text("build-summary")
		if !strings.Contains(s, "No single build") {
			t.Errorf("the build summary does not say that no single build was chosen: %q", s)
		}
		for _, id := range doc.Build.Candidates {
			if !strings.Contains(s, id) {
				t.Errorf("the build summary does not list candidate build %s: %q", id, s)
			}
		}
		if !strings.Contains(s, "executable") && !strings.Contains(s, "build-id") {
			t.Errorf("the build summary does not say what would decide it: %q", s)
		}
		if n := b.num(`document.querySelectorAll('#trace-view .candidates .cand-build').length`); n == 0 {
			t.Errorf("no ambiguous frame names its candidates' builds")
		}
		b.screenshot("web-undecided.png", true)
	})

	t.Run("link carries the build", func(t *testing.T) {
		b.t = t
		b.open(srv.url + "/?build_id=" + net8.Build.BuildID)
		if !b.boolean(`document.getElementById('mode-id').checked`) || b.str(`document.getElementById('build-id').value`) != net8.Build.BuildID {
			t.Fatalf("?build_id= did not choose the build on the page")
		}
		c := caseNamed(t, net8, "async-chain")
		b.pasteAndResolve(readFile(t, net8.Path("cloudwatch-constructed/async-chain.error.json")), "done")
		checkFrames(t, b, net8, c, "async-chain.error.json", nil)
		if s := b.text("build-summary"); !strings.Contains(s, net8.Build.BuildID) || !strings.Contains(s, "chosen by ID") {
			t.Errorf("build summary %q does not say the build was chosen by ID", s)
		}
		b.allowClipboard(srv.url)
		b.do("press Enter on Copy link", chromedp.Focus(chromedp.ID("copy-link")), chromedp.KeyEvent(kb.Enter))
		b.waitUntil("the link is copied", `document.getElementById('copy-status').textContent.startsWith('Copied')`)
		if got, want := b.clipboard(), srv.url+"/?build_id="+net8.Build.BuildID; got != want {
			t.Errorf("Copy link gave %q, want %q", got, want)
		}

		// With the trace in the link (asked for with the checkbox), the link
		// opens on the resolved trace.
		b.do("tick the checkbox", chromedp.Focus(chromedp.ID("link-trace")), chromedp.KeyEvent(" "))
		b.do("press Enter on Copy link", chromedp.Focus(chromedp.ID("copy-link")), chromedp.KeyEvent(kb.Enter))
		b.waitUntil("the link is copied", `document.getElementById('copy-status').textContent.startsWith('Copied')`)
		link := b.clipboard()
		if !strings.Contains(link, "#trace=") {
			t.Fatalf("the link does not carry the trace although asked to: %q", link)
		}
		b.open(link)
		b.waitUntil("the linked trace is resolved", `document.getElementById('resolve-form').dataset.state === 'done'`)
		checkFrames(t, b, net8, c, "async-chain.error.json from a link", nil)
		if loc := b.str(`location.href`); strings.Contains(loc, "#trace=") {
			t.Errorf("the trace stays in the address bar after it was read: %q", loc)
		}

		// Tags in the address, and links to the source at the build's commit.
		b.open(srv.url + "/?tag=service=orders")
		if !b.boolean(`document.getElementById('mode-tags').checked`) || b.str(`document.getElementById('build-tags').value`) != "service=orders" {
			t.Fatalf("?tag= did not choose the tags on the page")
		}
		c = caseNamed(t, net10, "async-chain")
		b.pasteAndResolve(readFile(t, net10.Path("cloudwatch-constructed/async-chain.log")), "done")
		checkFrames(t, b, net10, c, "async-chain.log by tags", links[net10.Build.BuildID])
		if s := b.text("build-summary"); !strings.Contains(s, net10.Build.BuildID) || !strings.Contains(s, "service=orders") {
			t.Errorf("build summary %q does not name the build and its tags", s)
		}
		if q := b.str(`location.search`); q != "?tag=service%3Dorders" && q != "?tag=service=orders" {
			t.Errorf("the address bar does not carry the tags: %q", q)
		}
		b.noReload()
	})

	t.Run("error sentences", func(t *testing.T) {
		b.t = t
		b.open(srv.url + "/")
		// No build fits: the arm64 build was never uploaded.
		b.pasteAndResolve(readFile(t, arm64.Path("cloudwatch-constructed/async-chain.log")), "done")
		expectSentence(t, b, "No stored build matches this trace")

		// Tags no build carries.
		b.do("type tags", chromedp.Focus(chromedp.ID("build-tags")))
		b.insertText("service=nope")
		b.do("back to the paste area", chromedp.Focus(chromedp.ID("trace")))
		b.pasteAndResolve(readFile(t, net10.Path("cloudwatch-constructed/async-chain.log")), "error")
		expectSentence(t, b, "No build matches")
		if b.boolean(`!document.getElementById('result').hidden`) {
			t.Errorf("an old result stays on the page under the error")
		}

		// Nothing pasted.
		b.open(srv.url + "/")
		b.pasteAndResolve("", "error")
		expectSentence(t, b, "Paste a stack trace")

		// Over the server's limit.
		big := strings.Repeat(readFile(t, net10.Path("cloudwatch-constructed/async-chain.log"))+"\n", maxBody/200)
		if len(big) <= maxBody {
			t.Fatalf("test input of %d bytes is not over the limit", len(big))
		}
		// Typing a third of a megabyte takes the browser minutes: put it on
		// the clipboard and paste it with Ctrl+V, as a person does.
		b.allowClipboard(srv.url)
		b.clipboardPaste(big)
		b.resolveByKeyboard("error")
		expectSentence(t, b, "too large")
	})

	t.Run("phone", func(t *testing.T) {
		b.t = t
		b.viewport(375, 812, true)
		defer b.viewport(1280, 900, false)
		b.open(srv.url + "/")
		b.pasteAndResolve(readFile(t, webapi.Path("cloudwatch-constructed/inner-exception.log")), "done")
		checkFrames(t, b, webapi, caseNamed(t, webapi, "inner-exception"), "inner-exception.log on a phone", links[webapi.Build.BuildID])
		b.do("open the text view", chromedp.Focus(chromedp.CSS("#text-box summary")), chromedp.KeyEvent(kb.Enter))
		for _, width := range []int{360, 375} {
			b.viewport(int64(width), 812, true)
			if w := b.num(`window.innerWidth`); w != width {
				t.Fatalf("viewport is %d px wide, want %d", w, width)
			}
			if sw := b.num(`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`); sw > width {
				wide := b.str(`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className).join(', ')`)
				t.Errorf("the page scrolls sideways on a %d px phone (%d px wide); too wide: %s", width, sw, wide)
			}
		}
		b.boolean(`document.getElementById('text-box').open = false, document.getElementById('result').scrollIntoView(), true`)
		b.screenshot("web-phone.png", false)
	})

	t.Run("token", func(t *testing.T) {
		b.t = t
		dir := t.TempDir()
		tok := startServer(t, bin, []string{"AOTSYM_TOKENS=read=" + readToken + ",upload=" + uploadToken}, "--data", dir)
		upload(t, bin, tok.url, uploadToken, net10.Dir)
		b.open(tok.url + "/")
		sample := readFile(t, net10.Path("cloudwatch-constructed/async-chain.log"))
		b.pasteAndResolve(sample, "error")
		expectSentence(t, b, "requires an API token")
		if !b.boolean(`document.getElementById('token-box').open`) || b.str(`document.activeElement.id`) != "token" {
			t.Errorf("after a 401 the token field is not open and focused")
		}
		b.insertText("wrong-token-of-enough-length")
		b.pasteAndResolveFrom("token", "error")
		expectSentence(t, b, "did not accept this API token")
		b.do("select the token", chromedp.Focus(chromedp.ID("token")), chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
		b.insertText(readToken)
		b.pasteAndResolveFrom("token", "done")
		checkFrames(t, b, net10, caseNamed(t, net10, "async-chain"), "async-chain.log with a token", nil)
		if got := b.str(`sessionStorage.getItem('aotsym.token') || ''`); got != readToken {
			t.Errorf("the token is not kept in sessionStorage: %q", got)
		}
		if n := b.num(`localStorage.length`); n != 0 {
			t.Errorf("the page wrote %d items to localStorage; the token must stay in sessionStorage", n)
		}
	})

	t.Run("server down", func(t *testing.T) {
		b.t = t
		b.open(srv.url + "/")
		b.paste(readFile(t, net10.Path("cloudwatch-constructed/async-chain.log")))
		if err := srv.stop(); err != nil {
			t.Fatalf("stopping the server: %v", err)
		}
		b.resolveByKeyboard("error")
		expectSentence(t, b, "Cannot reach the aotsym server")
		if b.str(`document.getElementById('trace').value`) == "" {
			t.Errorf("the pasted trace was lost when the server was down")
		}
	})

	b.t = t
	b.checkClean()
}

// ---- checks ------------------------------------------------------------------

// rendered is one frame as the page shows it.
type rendered struct {
	Status string `json:"status"`
	Input  string `json:"input"`
	Origin string `json:"origin"`
	JIT    string `json:"jit"`
	Loc    string `json:"loc"`
	Href   string `json:"href"`
	Why    string `json:"why"`
}

const renderedJS = `[...document.querySelectorAll('#trace-view li.frame')].map(li => {
  const loc = li.querySelector('.jit .loc');
  return {status: li.dataset.status, input: li.dataset.input, origin: li.dataset.origin,
    jit: li.querySelector('.jit').textContent, loc: loc ? loc.textContent : '',
    href: loc && loc.tagName === 'A' ? loc.getAttribute('href') : '',
    why: (li.querySelector('.why') || {textContent: ''}).textContent};
})`

// checkFrames compares every frame on the page with the answer key: the file
// and line llvm-symbolizer gives, or "no line" where the line row in force
// belongs to the previous function (or DWARF has none).
func checkFrames(t *testing.T, b *browser, m *corpus.Manifest, c *corpus.Case, what string, link func(string, int) string) {
	t.Helper()
	frames := evalJS[[]rendered](b, "the rendered frames", renderedJS)
	if len(frames) == 0 {
		t.Errorf("%s: the page shows no frames; message: %q", what, b.message())
		return
	}
	key := map[string]*corpus.Frame{}
	for _, f := range c.PrintedFrames() {
		key[f.PrintedText()] = f
	}
	seen := map[string]bool{}
	for i, r := range frames {
		seen[r.Input] = true
		f := key[r.Input]
		if f == nil {
			t.Errorf("%s: frame %d %q is not a printed frame of case %s", what, i, r.Input, c.Scenario)
			continue
		}
		wantOrigin := "user"
		if frameworkFrame(f) {
			wantOrigin = "framework"
		}
		if r.Origin != wantOrigin {
			t.Errorf("%s: %q is shown as %s code, want %s", what, r.Input, r.Origin, wantOrigin)
		}
		if f.LineRowBeforeSymbol || f.Expected == nil || f.Expected.Line == 0 {
			if r.Status != "no_line" || r.Loc != "" || !strings.Contains(r.JIT, "(no line)") || !strings.Contains(r.Why, "No line") {
				t.Errorf("%s: %q must show as no line (line_row_before_symbol=%v), the page shows status %s, %q", what, r.Input, f.LineRowBeforeSymbol, r.Status, r.JIT)
			}
			continue
		}
		want := fmt.Sprintf("%s:line %d", f.Expected.File, f.Expected.Line)
		if r.Status != "resolved" || r.Loc != want {
			t.Errorf("%s: %q shows %s %q, want resolved %q", what, r.Input, r.Status, r.Loc, want)
			continue
		}
		switch {
		case link == nil || wantOrigin == "framework":
			if r.Href != "" {
				t.Errorf("%s: %q links to %s, but %s", what, r.Input, r.Href, map[bool]string{true: "framework code has no link", false: "the build has no repo tags"}[link != nil])
			}
		case r.Href != link(f.Expected.File, f.Expected.Line):
			t.Errorf("%s: %q links to %q, want %q", what, r.Input, r.Href, link(f.Expected.File, f.Expected.Line))
		}
	}
	for text := range key {
		if !seen[text] {
			t.Errorf("%s: the printed frame %q is not on the page", what, text)
		}
	}
}

// frameworkFrame is the page's documented rule, applied to the answer key's
// printed method and ELF symbol.
func frameworkFrame(f *corpus.Frame) bool {
	for _, p := range []string{"System.", "Microsoft.", "Internal."} {
		if strings.HasPrefix(f.PrintedMethod, p) {
			return true
		}
	}
	if f.Symbol != nil {
		for _, p := range []string{"S_P_CoreLib_", "System_", "Microsoft_"} {
			if strings.HasPrefix(f.Symbol.Name, p) {
				return true
			}
		}
	}
	return false
}

var statusOnly = regexp.MustCompile(`^\s*(HTTP\s*)?\d{3}\b`)

// expectSentence checks that the page shows a sentence containing want, and
// not a bare status code.
func expectSentence(t *testing.T, b *browser, want string) {
	t.Helper()
	msg := b.message()
	if !strings.Contains(msg, want) {
		t.Errorf("the page says %q, want a sentence with %q", msg, want)
	}
	if statusOnly.MatchString(msg) || !strings.ContainsAny(msg, ".:") || len(strings.Fields(msg)) < 6 {
		t.Errorf("the message %q is not a sentence", msg)
	}
}

// ---- the browser ----------------------------------------------------------------

type browser struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string // JavaScript exceptions and console errors
}

func newBrowser(t *testing.T, chromium string) *browser {
	profile, err := os.MkdirTemp("", "aotsym-chromium")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		// Chromium's helpers may write into the profile for a moment after
		// it exits.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	b := &browser{t: t, ctx: ctx}
	// The first run starts the browser and binds it to its context, so it
	// gets the long-lived one; a timer bounds it instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting %s: %v", chromium, err)
		}
	case <-time.After(serverTimeout):
		cancel()
		t.Fatalf("%s did not start within %s", chromium, serverTimeout)
	}
	start, cancelStart := context.WithTimeout(ctx, stepTimeout)
	defer cancelStart()
	// Catch CSP violations (anything loaded from elsewhere) from the first
	// script on.
	if _, err := chromedp.Call(start, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__violations = []; document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));`,
	}); err != nil {
		t.Fatal(err)
	}
	// A headless tab is never the focused window; the clipboard needs one.
	if _, err := chromedp.Call(start, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	exceptions := chromedp.Events(ctx, cdpruntime.ExceptionThrown)
	console := chromedp.Events(ctx, cdpruntime.ConsoleAPICalled)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.record("JavaScript exception: " + ev.ExceptionDetails.Text + describeException(ev.ExceptionDetails))
		}
	}()
	go func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			if ev.Type == cdpruntime.ConsoleAPICalledTypeError || ev.Type == cdpruntime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.record("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		}
	}()
	return b
}

func describeException(d *cdpruntime.ExceptionDetails) string {
	if d == nil || d.Exception == nil {
		return ""
	}
	return " " + d.Exception.Description
}

func (b *browser) record(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, s)
}

// checkClean fails the test for any script error the page raised.
func (b *browser) checkClean() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("the page raised %s", e)
	}
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func evalJS[T any](b *browser, what, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("reading %s from the page: %v", what, err)
	}
	return v
}

func (b *browser) str(js string) string   { b.t.Helper(); return evalJS[string](b, js, js) }
func (b *browser) num(js string) int      { b.t.Helper(); return evalJS[int](b, js, js) }
func (b *browser) boolean(js string) bool { b.t.Helper(); return evalJS[bool](b, js, js) }

// text is the visible text of the element with the id.
func (b *browser) text(id string) string {
	b.t.Helper()
	return b.str(fmt.Sprintf(`(document.getElementById(%q) || {innerText: ''}).innerText`, id))
}

// message is the sentence the page shows above the result, if any.
func (b *browser) message() string {
	b.t.Helper()
	return b.str(`(function(m){return m.hidden ? '' : m.innerText})(document.getElementById('message'))`)
}

// waitUntil polls a JavaScript condition until it holds or stepTimeout ends.
func (b *browser) waitUntil(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		if evalJS[bool](b, what, js) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %s for %s; the page says %q, status %q", stepTimeout, what, b.message(), b.text("status"))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// open loads a page afresh and waits until its script ran.
func (b *browser) open(u string) {
	b.t.Helper()
	b.do("open "+u, chromedp.Navigate("about:blank"), chromedp.Navigate(u))
	b.waitUntil("the page's script", `!!document.getElementById('resolve-form') && document.readyState === 'complete'`)
	// A marker that a reload would erase.
	b.boolean(`(window.__noReload = true)`)
	if v := b.str(`window.__violations.join('; ')`); v != "" {
		b.t.Errorf("the page loads something its policy forbids: %s", v)
	}
	// Everything the page loaded came from the server itself.
	if ext := b.str(`performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin + '/')).join(' ')`); ext != "" {
		b.t.Errorf("the page loaded resources from elsewhere: %s", ext)
	}
}

func (b *browser) noReload() {
	b.t.Helper()
	if !b.boolean(`window.__noReload === true`) {
		b.t.Errorf("the page reloaded")
	}
}

// insertText types text into the focused element the way a paste does.
func (b *browser) insertText(s string) {
	b.t.Helper()
	b.do("insert text", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: s})
		return err
	}))
}

// paste replaces the paste area's content with s, from the keyboard.
func (b *browser) paste(s string) {
	b.t.Helper()
	b.do("select the paste area", chromedp.Focus(chromedp.ID("trace")), chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	if s == "" {
		b.do("empty the paste area", chromedp.KeyEvent(kb.Backspace))
		return
	}
	b.insertText(s)
	if got := b.num(`document.getElementById('trace').value.length`); got != len([]rune(strings.ReplaceAll(s, "\r\n", "\n"))) && got != len(s) {
		b.t.Fatalf("the paste area holds %d characters after pasting %d bytes", got, len(s))
	}
}

// clipboardPaste puts s on the clipboard and pastes it over the paste
// area's content with Ctrl+V.
func (b *browser) clipboardPaste(s string) {
	b.t.Helper()
	arg, _ := json.Marshal(s)
	b.do("focus the paste area", chromedp.Focus(chromedp.ID("trace")))
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`navigator.clipboard.writeText(`+string(arg)+`).then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		b.t.Fatalf("writing the clipboard: %v", err)
	}
	paste := func(p *input.DispatchKeyEventParams) { p.Commands = []string{"paste"} }
	b.do("select the paste area and press Ctrl+V",
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent("v", chromedp.KeyModifiers(chromedp.ModifierCtrl), paste))
	if got := b.num(`document.getElementById('trace').value.length`); got != len(s) {
		b.t.Fatalf("the paste area holds %d characters after pasting %d", got, len(s))
	}
}

// resolveByKeyboard presses Ctrl+Enter and waits for the page's answer,
// which must end in state ("done" or "error").
func (b *browser) resolveByKeyboard(state string) {
	b.t.Helper()
	before := b.str(`document.getElementById('resolve-form').dataset.finished || '0'`)
	b.do("press Ctrl+Enter", chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitUntil("the answer", fmt.Sprintf(`(document.getElementById('resolve-form').dataset.finished || '0') !== %q`, before))
	if got := b.str(`document.getElementById('resolve-form').dataset.state`); got != state {
		b.t.Fatalf("the page ended in state %q, want %q; it says %q", got, state, b.message())
	}
}

func (b *browser) pasteAndResolve(s, state string) {
	b.t.Helper()
	b.paste(s)
	b.resolveByKeyboard(state)
}

// pasteAndResolveFrom presses Ctrl+Enter with the focus in another field.
func (b *browser) pasteAndResolveFrom(id, state string) {
	b.t.Helper()
	b.do("focus #"+id, chromedp.Focus(chromedp.ID(id)))
	b.resolveByKeyboard(state)
}

// viewport sets the page's size; phone emulates a mobile screen.
func (b *browser) viewport(w, h int64, phone bool) {
	b.t.Helper()
	if phone {
		b.do("phone viewport", chromedp.EmulateViewport(w, h, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
		return
	}
	b.do("laptop viewport", chromedp.EmulateViewport(w, h))
}

// allowClipboard lets the page write and this test read the clipboard.
func (b *browser) allowClipboard(origin string) {
	b.t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    cdpbrowser.PermissionSettingGranted,
			Origin:     origin,
		})
		cancel()
		if err != nil {
			b.t.Fatalf("granting %s: %v", name, err)
		}
	}
}

// clipboard reads the system clipboard through the page.
func (b *browser) clipboard() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("reading the clipboard: %v", err)
	}
	return s
}

// screenshot saves a PNG of the whole page (full) or of what the viewport
// shows in the test's artifact directory, and in docs/ with -update-docs.
func (b *browser) screenshot(name string, full bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{b.t.ArtifactDir()}
	if *updateDocs {
		dirs = append(dirs, filepath.Join(repoRoot(), "docs"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot: %s (%d bytes)", p, len(png))
	}
}

// ---- the server ------------------------------------------------------------------

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// buildAotsym builds the command, or takes the binary $AOTSYM_WEB_TEST_BIN
// names (to run the page's test against a binary built elsewhere).
func buildAotsym(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AOTSYM_WEB_TEST_BIN"); p != "" {
		return p
	}
	bin := filepath.Join(t.TempDir(), "aotsym")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/aotsym")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/aotsym: %v\n%s", err, out)
	}
	return bin
}

// env is the test's environment without AOTSYM_* variables, plus extra.
func env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AOTSYM_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *testenv.SyncBuffer
	done chan error
}

// startServer runs `aotsym serve` on 127.0.0.1 with a free port and waits
// until it is ready.
func startServer(t *testing.T, bin string, extraEnv []string, args ...string) *server {
	t.Helper()
	p := testenv.StartServe(t, bin, env(extraEnv...), serverTimeout, append([]string{"--data", t.TempDir()}, args...)...)
	return &server{t: t, cmd: p.Cmd, url: p.URL, logs: p.Logs, done: p.Done}
}

// stop ends the server with SIGTERM (SIGKILL after serverTimeout).
func (s *server) stop() error {
	if s.cmd.ProcessState != nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(serverTimeout):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("aotsym serve did not stop within %s of SIGTERM:\n%s", serverTimeout, s.logs)
	}
}

// upload sends a publish directory's debug file and executable with the
// real CLI, as CI does.
func upload(t *testing.T, bin, server, token, dir string, tags ...string) {
	t.Helper()
	args := []string{"upload", "--server", server, "--progress", "never"}
	for _, tag := range tags {
		args = append(args, "--tag", tag)
	}
	args = append(args, "--publish-dir", dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	extra := []string{}
	if token != "" {
		extra = append(extra, "AOTSYM_TOKEN="+token)
	}
	cmd.Env = env(extra...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("aotsym %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// symbolicate asks the API directly: the JIT-style text (format "") or JSON.
func symbolicate(t *testing.T, server, trace, format string) (string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, server+"/v1/symbolicate", strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	if format == "json" {
		req.Header.Set("Accept", "application/json")
	}
	client := &http.Client{Timeout: stepTimeout}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/symbolicate: %d %v %s", resp.StatusCode, err, body)
	}
	return string(body), body
}

// ---- fixtures ----------------------------------------------------------------------

func load(t *testing.T, variant string) *corpus.Manifest {
	t.Helper()
	m, err := corpus.Load(variant)
	if err != nil {
		t.Fatalf("corpus %s: %v", variant, err)
	}
	return m
}

func caseNamed(t *testing.T, m *corpus.Manifest, scenario string) *corpus.Case {
	t.Helper()
	for i := range m.Cases {
		if m.Cases[i].Scenario == scenario {
			return &m.Cases[i]
		}
	}
	var names []string
	for _, c := range m.Cases {
		names = append(names, c.Scenario)
	}
	sort.Strings(names)
	t.Fatalf("%s has no case %q (it has %v)", m.Variant, scenario, names)
	return nil
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
