package deploy

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aotsym/aotsym/internal/lambda"
	"github.com/aotsym/aotsym/internal/testenv"
	"github.com/goccy/go-yaml"
)

// root is the repository's root directory.
func root(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

func dockerfile(t testing.TB) []instruction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// buildCommand is the RUN instruction of the Dockerfile that builds the
// binary: it must run deploy/build.sh, and no RUN may call go build itself.
func buildCommand(t testing.TB) string {
	t.Helper()
	var found []string
	for _, in := range dockerfile(t) {
		if in.cmd != "RUN" {
			continue
		}
		if strings.Contains(in.args, "go build") {
			t.Fatalf("the Dockerfile runs go build itself (%q): build with deploy/build.sh, the command the tests check", in.args)
		}
		if strings.Contains(in.args, "deploy/build.sh") {
			found = append(found, in.args)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one RUN of deploy/build.sh in the Dockerfile, found %q", found)
	}
	return found[0]
}

func TestDockerfile(t *testing.T) {
	ins := dockerfile(t)
	want := map[string]*regexp.Regexp{
		"build stage":  regexp.MustCompile(`^FROM --platform=\$BUILDPLATFORM golang:1\.26 AS build$`),
		"final stage":  regexp.MustCompile(`^FROM gcr\.io/distroless/static-debian12:nonroot$`),
		"binary":       regexp.MustCompile(`^COPY --from=build /out/aotsym /aotsym$`),
		"data owner":   regexp.MustCompile(`^COPY --from=build --chown=65532:65532 /out/data /data$`),
		"volume":       regexp.MustCompile(`^VOLUME /data$`),
		"user":         regexp.MustCompile(`^USER nonroot$`),
		"port":         regexp.MustCompile(`^EXPOSE 8080$`),
		"health":       regexp.MustCompile(`^HEALTHCHECK .*CMD \["/aotsym", "healthcheck"\]$`),
		"entrypoint":   regexp.MustCompile(`^ENTRYPOINT \["/aotsym"\]$`),
		"serve":        regexp.MustCompile(`^CMD \["serve"\]$`),
		"listen":       regexp.MustCompile(`^ENV .*AOTSYM_LISTEN=0\.0\.0\.0:8080`),
		"data":         regexp.MustCompile(`^ENV .*AOTSYM_DATA=/data`),
		"target arch":  regexp.MustCompile(`^ARG TARGETARCH$`),
		"target os":    regexp.MustCompile(`^ARG TARGETOS$`),
		"module cache": regexp.MustCompile(`^RUN go mod download$`),
	}
	for name, re := range want {
		ok := false
		for _, in := range ins {
			if re.MatchString(in.cmd + " " + in.args) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("Dockerfile: no instruction for the %s (%s)", name, re)
		}
	}
	// The builder's Go is the one go.mod asks for.
	mod, err := os.ReadFile(filepath.Join(root(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^go (1\.\d+)`).FindSubmatch(mod); m == nil || string(m[1]) != "1.26" {
		t.Errorf("go.mod asks for Go %s; the Dockerfile builds with golang:1.26", m[1])
	}
	if got, want := buildCommand(t), `VERSION=$VERSION deploy/build.sh aotsym /out/aotsym "$TARGETOS" "$TARGETARCH"`; got != want {
		t.Errorf("the Dockerfile builds with %q, the tests check %q", got, want)
	}
}

// built holds the binaries the tests built, by target and GOARCH.
var built struct {
	sync.Mutex
	dir   string
	paths map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildLike builds target for linux/arch. For aotsym it runs the
// Dockerfile's own RUN line with buildx's TARGETOS and TARGETARCH, so the
// command tested is the command the image is built with.
func buildLike(t *testing.T, target, arch string) string {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	key := target + "-" + arch
	if p, ok := built.paths[key]; ok {
		return p
	}
	if built.dir == "" {
		var err error
		if built.dir, err = os.MkdirTemp("", "aotsym-deploy-test"); err != nil {
			t.Fatal(err)
		}
		built.paths = map[string]string{}
	}
	out := filepath.Join(built.dir, key)
	var cmd *exec.Cmd
	if target == "aotsym" {
		line := strings.Replace(buildCommand(t), "/out/aotsym", out, 1)
		cmd = exec.Command("sh", "-c", line)
		cmd.Env = append(os.Environ(), "TARGETOS=linux", "TARGETARCH="+arch, "VERSION=deploy-test")
	} else {
		cmd = exec.Command("deploy/build.sh", target, out, "linux", arch)
		cmd.Env = append(os.Environ(), "VERSION=deploy-test")
	}
	cmd.Dir = root(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	built.paths[key] = out
	return out
}

// TestBinariesAreStaticAndRun builds the image's aotsym and the Lambda
// function's bootstrap for amd64 and arm64 (Graviton) and checks that each is
// a static ELF for its machine (no interpreter, no shared libraries: it runs
// on distroless/static and provided.al2023 as it is) and runs: natively, or
// under qemu for the other architecture.
func TestBinariesAreStaticAndRun(t *testing.T) {
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, target := range []string{"aotsym", "bootstrap"} {
		for _, arch := range []string{"amd64", "arm64"} {
			t.Run(target+"/"+arch, func(t *testing.T) {
				path := buildLike(t, target, arch)
				f, err := elf.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if f.Machine != machines[arch] {
					t.Errorf("machine %v, want %v", f.Machine, machines[arch])
				}
				for _, p := range f.Progs {
					if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
						t.Errorf("program header %v: the binary is not static", p.Type)
					}
				}
				if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
					t.Errorf("needs shared libraries %v", libs)
				}
				run := []string{path, "--help"}
				if arch != runtime.GOARCH {
					qemu := map[string]string{"arm64": "qemu-aarch64-static", "amd64": "qemu-x86_64-static"}[arch]
					run = append([]string{testenv.Tool(t, qemu, "apt-get install qemu-user-static")}, run...)
				}
				out, err := exec.Command(run[0], run[1:]...).CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(run, " "), err, out)
				}
				want := map[string]string{"aotsym": "symbolicate", "bootstrap": "AOTSYM_LAMBDA_MODE"}[target]
				if !strings.Contains(string(out), want) {
					t.Errorf("--help does not mention %s:\n%s", want, out)
				}
				if target == "aotsym" {
					if out, err := exec.Command(run[0], append(run[1:len(run)-1], "healthcheck", "--help")...).CombinedOutput(); err != nil || !strings.Contains(string(out), "/healthz") {
						t.Errorf("the image's HEALTHCHECK command: %v\n%s", err, out)
					}
				}
				t.Logf("%s: %d bytes", filepath.Base(path), fileSize(path))
			})
		}
	}
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}

// --- SAM template ---------------------------------------------------------

func loadYAML(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s is not valid YAML: %v", name, err)
	}
	return v
}

func keys(v any) map[string]bool {
	out := map[string]bool{}
	if m, ok := v.(map[string]any); ok {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

var subVar = regexp.MustCompile(`\$\{([^}!]+)\}`)

// TestSAMTemplate checks the template's structure: every reference names a
// parameter, a resource (or one SAM generates), a condition or a pseudo
// parameter; the functions are bootstrap on provided.al2023 with arm64 as
// the default; their environment is the Lambda configuration the code
// reads, and valid for it; the subscription is wired to the function with
// the permission CloudWatch Logs needs; no policy grants "*".
func TestSAMTemplate(t *testing.T) {
	tpl := loadYAML(t, "template.yaml")
	if tpl["Transform"] != "AWS::Serverless-2016-10-31" || tpl["AWSTemplateFormatVersion"] != "2010-09-09" {
		t.Fatalf("not a SAM template: %v %v", tpl["Transform"], tpl["AWSTemplateFormatVersion"])
	}
	params, resources, conditions := keys(tpl["Parameters"]), keys(tpl["Resources"]), keys(tpl["Conditions"])
	known := map[string]bool{"AWS::Region": true, "AWS::AccountId": true, "AWS::Partition": true, "AWS::NoValue": true, "AWS::StackName": true, "AWS::URLSuffix": true}
	for k := range params {
		known[k] = true
	}
	types := map[string]string{}
	for name, r := range tpl["Resources"].(map[string]any) {
		typ, _ := get(r, "Type").(string)
		types[name] = typ
		known[name] = true
		if typ == "AWS::Serverless::Function" {
			known[name+"Role"] = true // generated by SAM
			if get(r, "Properties", "FunctionUrlConfig") != nil {
				known[name+"Url"] = true
			}
		}
		for _, dep := range asList(get(r, "DependsOn")) {
			if !resources[fmt.Sprint(dep)] {
				t.Errorf("%s depends on %v, which is not a resource", name, dep)
			}
		}
	}
	allowed := map[string]bool{"AWS::S3::Bucket": true, "AWS::Logs::LogGroup": true, "AWS::Serverless::Function": true,
		"AWS::Lambda::Permission": true, "AWS::Logs::SubscriptionFilter": true}
	for name, typ := range types {
		if !allowed[typ] {
			t.Errorf("resource %s has type %q", name, typ)
		}
	}
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, val := range v {
				switch k {
				case "Ref":
					if !known[fmt.Sprint(val)] {
						t.Errorf("%s: Ref %v names nothing", where, val)
					}
				case "Fn::GetAtt":
					l := asList(val)
					if len(l) != 2 || !known[fmt.Sprint(l[0])] || known[fmt.Sprint(l[0])] && params[fmt.Sprint(l[0])] {
						t.Errorf("%s: Fn::GetAtt %v names no resource", where, val)
					}
				case "Fn::Sub":
					s, _ := val.(string)
					for _, m := range subVar.FindAllStringSubmatch(s, -1) {
						name, _, _ := strings.Cut(m[1], ".")
						if !known[name] {
							t.Errorf("%s: Fn::Sub %q: ${%s} names nothing", where, s, m[1])
						}
					}
				case "Fn::If":
					l := asList(val)
					if len(l) != 3 || !conditions[fmt.Sprint(l[0])] {
						t.Errorf("%s: Fn::If %v: no such condition", where, val)
					}
				}
				walk(where+"."+k, val)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", where, i), e)
			}
		}
	}
	walk("Resources", tpl["Resources"])
	walk("Outputs", tpl["Outputs"])
	walk("Globals", tpl["Globals"])

	// The functions: bootstrap on provided.al2023, arm64 by default.
	fn := get(tpl, "Globals", "Function")
	if get(fn, "Runtime") != "provided.al2023" || get(fn, "Handler") != "bootstrap" {
		t.Errorf("Globals.Function: runtime %v handler %v", get(fn, "Runtime"), get(fn, "Handler"))
	}
	if get(tpl, "Parameters", "Architecture", "Default") != "arm64" {
		t.Errorf("the default architecture is %v, want arm64 (Graviton)", get(tpl, "Parameters", "Architecture", "Default"))
	}
	code, _ := get(fn, "CodeUri").(string)
	if !strings.HasPrefix(code, "../build/") || !strings.Contains(string(must(os.ReadFile(filepath.Join(root(t), "deploy", "template.yaml")))), "deploy/build.sh bootstrap "+strings.TrimPrefix(strings.TrimSuffix(code, "/"), "../")+"/bootstrap") {
		t.Errorf("CodeUri %q: the template's instructions must build bootstrap there with deploy/build.sh", code)
	}

	// Their environment is what internal/lambda reads, and valid for it.
	documented := map[string]bool{lambda.EnvMode: true, lambda.EnvStore: true, lambda.EnvDestLogGroup: true, lambda.EnvData: true,
		lambda.EnvCache: true, lambda.EnvInsecureOpen: true, lambda.EnvLogLevel: true, lambda.EnvMaxUpload: true,
		"AOTSYM_TOKENS": true, "AOTSYM_SERVER": true, "AOTSYM_TOKEN": true}
	modes := map[string]bool{}
	for name, typ := range types {
		if typ != "AWS::Serverless::Function" {
			continue
		}
		vars, _ := get(tpl, "Resources", name, "Properties", "Environment", "Variables").(map[string]any)
		env := map[string]string{}
		for k, v := range vars {
			if !documented[k] {
				t.Errorf("%s sets %s, which the function does not read", name, k)
			}
			env[k] = placeholder(k, v)
		}
		modes[env[lambda.EnvMode]] = true
		if _, err := lambda.ConfigFromEnv(func(k string) string { return env[k] }); err != nil {
			t.Errorf("%s's environment is refused by the function: %v", name, err)
		}
		checkPolicies(t, name, get(tpl, "Resources", name, "Properties", "Policies"))
	}
	if !modes[lambda.ModeSubscription] || !modes[lambda.ModeAPI] {
		t.Errorf("want one function of each mode, got %v", modes)
	}

	// The subscription: filter -> function, allowed by a permission.
	sub := get(tpl, "Resources", "SubscriptionFilter", "Properties")
	if fmt.Sprint(asList(get(sub, "DestinationArn", "Fn::GetAtt"))) != "[SubscriptionFunction Arn]" || get(sub, "LogGroupName", "Ref") != "SourceLogGroupName" {
		t.Errorf("SubscriptionFilter: %v", sub)
	}
	if get(tpl, "Resources", "SubscriptionFilter", "DependsOn") != "SubscriptionPermission" {
		t.Errorf("the subscription filter must wait for the invoke permission (CloudWatch Logs checks it on creation)")
	}
	perm := get(tpl, "Resources", "SubscriptionPermission", "Properties")
	if get(perm, "Principal") != "logs.amazonaws.com" || get(perm, "Action") != "lambda:InvokeFunction" || !strings.Contains(fmt.Sprint(get(perm, "SourceArn")), "log-group:${SourceLogGroupName}:*") {
		t.Errorf("SubscriptionPermission: %v", perm)
	}
	if get(tpl, "Resources", "SubscriptionFunction", "Properties", "EventInvokeConfig", "MaximumRetryAttempts") == nil {
		t.Errorf("the subscription function should say how often asynchronous invocations are retried")
	}
	// Uploads never completed do not stay in the bucket.
	rules := fmt.Sprint(get(tpl, "Resources", "Bucket", "Properties", "LifecycleConfiguration"))
	if !strings.Contains(rules, "${StorePrefix}/incoming/") || !strings.Contains(rules, "AbortIncompleteMultipartUpload") {
		t.Errorf("the bucket lacks the lifecycle rules for incoming/ and multipart uploads: %s", rules)
	}
}

// placeholder gives an environment value a concrete form for ConfigFromEnv.
func placeholder(key string, v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if sub, ok := v["Fn::Sub"].(string); ok {
			return subVar.ReplaceAllString(sub, "example-bucket")
		}
		if _, ok := v["Ref"]; ok {
			return "/aotsym/traces"
		}
		if l := asList(v["Fn::If"]); len(l) == 3 {
			return placeholder(key, l[2])
		}
	}
	return ""
}

func checkPolicies(t *testing.T, fn string, policies any) {
	t.Helper()
	if len(asList(policies)) == 0 {
		t.Errorf("%s has no policy", fn)
	}
	for _, p := range asList(policies) {
		for _, st := range asList(get(p, "Statement")) {
			for _, a := range asList(get(st, "Action")) {
				if s := fmt.Sprint(a); s == "*" || strings.HasSuffix(s, ":*") {
					t.Errorf("%s: action %s is not least privilege", fn, s)
				}
			}
			for _, r := range asList(get(st, "Resource")) {
				if r == "*" {
					t.Errorf("%s: resource * is not least privilege", fn)
				}
			}
		}
	}
}

func asList(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case nil:
		return nil
	}
	return []any{v}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// --- CI snippets ------------------------------------------------------------

// TestCISnippets: both snippets publish Native AOT for linux-arm64, upload
// with --publish-dir and the lambda=FUNCTION:$LATEST tag, and re-tag with
// the published version; and every aotsym flag they use exists (checked
// against the built binary's --help).
func TestCISnippets(t *testing.T) {
	gh := loadYAML(t, "github-actions.yml")
	var ghRuns []string
	for _, job := range gh["jobs"].(map[string]any) {
		for _, step := range asList(get(job, "steps")) {
			if r, ok := get(step, "run").(string); ok {
				ghRuns = append(ghRuns, r)
			}
		}
	}
	cb := loadYAML(t, "buildspec-arm64.yml")
	if fmt.Sprint(cb["version"]) != "0.2" {
		t.Errorf("buildspec version %v", cb["version"])
	}
	var cbRuns []string
	for _, phase := range cb["phases"].(map[string]any) {
		for _, c := range asList(get(phase, "commands")) {
			cbRuns = append(cbRuns, fmt.Sprint(c))
		}
	}
	bin := buildLike(t, "aotsym", runtime.GOARCH)
	for name, runs := range map[string][]string{"github-actions.yml": ghRuns, "buildspec-arm64.yml": cbRuns} {
		all := strings.Join(runs, "\n")
		for _, want := range []string{"-r linux-arm64 -p:PublishAot=true", "aotsym upload --publish-dir publish", `--tag "lambda=$FUNCTION:\$LATEST"`,
			"publish-version", `aotsym builds tag "$BUILD_ID" "lambda=$FUNCTION:$VERSION"`} {
			if !strings.Contains(all, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		for _, line := range strings.Split(all, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "aotsym ") {
				continue
			}
			checkFlags(t, bin, name, line)
		}
	}
}

var flagRe = regexp.MustCompile(`(^|\s)(--[a-z][a-z-]*)`)

// checkFlags runs `aotsym SUB [SUB2] --help` and checks every --flag of line
// is in it.
func checkFlags(t *testing.T, bin, file, line string) {
	t.Helper()
	words := strings.Fields(line)
	sub := []string{words[1]}
	if len(words) > 2 && !strings.HasPrefix(words[2], "-") && !strings.ContainsAny(words[2], `"$=/`) {
		sub = append(sub, words[2])
	}
	out, err := exec.Command(bin, append(sub, "--help")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: aotsym %s --help: %v\n%s", file, strings.Join(sub, " "), err, out)
	}
	var flags []string
	for _, m := range flagRe.FindAllStringSubmatch(line, -1) {
		flags = append(flags, m[2])
	}
	sort.Strings(flags)
	for _, f := range flags {
		if !bytes.Contains(out, []byte(f+" ")) {
			t.Errorf("%s: `%s` uses %s, which aotsym %s does not have", file, line, f, strings.Join(sub, " "))
		}
	}
}
