package trace

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	"github.com/aotsym/aotsym"
)

// Limits bound what one input may cost. A zero or negative field means the
// DefaultLimits value.
type Limits struct {
	// MaxBytes is the largest input accepted, in bytes.
	MaxBytes int
	// MaxFrames is the largest number of frames, and of exceptions, one input
	// may hold.
	MaxFrames int
}

// DefaultLimits: 16 MiB is far above any trace a person pastes (a 60-frame
// recursion trace is 6 KB) and above CloudWatch's own limits (1 MB per
// subscription payload, 10,000 events per filter-log-events page); 20,000
// frames is a hundred long traces.
var DefaultLimits = Limits{MaxBytes: 16 << 20, MaxFrames: 20000}

// Formats: the containers Parse recognises (Document.Format).
const (
	FormatText        = "text"
	FormatCloudWatch  = "cloudwatch"
	FormatLambdaError = "lambda_error"
	FormatJSONEvents  = "json_events"
	FormatAWSLogs     = "aws_logs"
)

// Document is one parsed input: its frames, in input order, the exception tree
// they belong to, and what the input says about where it came from.
type Document struct {
	// Format is the container the input was found in (Format* constants).
	Format string
	// Frames holds every frame, in input order. Start and End are byte offsets
	// of Frame.Text in the input; inside JSON strings, of its escaped text.
	Frames []aotsym.Frame
	// Exceptions is the exception tree, flattened and sorted by path ("0",
	// "0.0", "0.1", "1"); Exception.Frames are indexes into Frames.
	Exceptions []aotsym.Exception
	// FrameException holds, per frame, the path of its exception ("" when no
	// exception header came before it).
	FrameException []string
	// BuildIDs are the builds named by `build-id: <hex>` lines, in order of first
	// appearance, without repeats.
	BuildIDs []aotsym.BuildID
	// RequestIDs are the Lambda request IDs of the input's log lines
	// (CloudWatch prefixes, START/END/REPORT lines, `requestId` JSON fields), in
	// order of first appearance, without repeats.
	RequestIDs []string
	// LogGroup is the log group a subscription payload names ("" otherwise).
	LogGroup string
	// LogStreams are the log streams the input names (`logStreamName`,
	// `logStream`), in order, without repeats.
	LogStreams []string

	raw  []byte
	info []frameInfo
}

// Input returns frame i as it appeared, trimmed of surrounding space but with
// its leading `at ` or `#N`: the `input` field of the JSON answer.
func (d *Document) Input(i int) string {
	if i < 0 || i >= len(d.info) {
		return ""
	}
	return d.info[i].input
}

// Raw returns the input the document was parsed from (not a copy).
func (d *Document) Raw() []byte { return d.raw }

// Parse reads input, which it keeps (do not modify it while the Document is in
// use), and returns the frames and exceptions it holds. It fails only when the
// input is over a limit: an *aotsym.Error with code aotsym.ETOOLARGE.
func Parse(input []byte, lim Limits) (*Document, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultLimits.MaxBytes
	}
	if lim.MaxFrames <= 0 {
		lim.MaxFrames = DefaultLimits.MaxFrames
	}
	if len(input) > lim.MaxBytes {
		return nil, aotsym.Errorf(aotsym.ETOOLARGE,
			"the input is %d bytes, over the limit of %d bytes: send only the part of the log that holds the stack trace, or split it into several requests",
			len(input), lim.MaxBytes)
	}
	p := &parser{
		lim:      lim,
		doc:      &Document{raw: input},
		excIndex: make(map[string]int),
	}
	// Frame slices sized once: growing them by doubling cost more than all
	// the scanning. Most frames start with `at `; the count is an upper bound
	// for those and an estimate for the rest.
	est := min(bytes.Count(input, []byte("at "))+8, lim.MaxFrames, len(input)/16+8)
	p.doc.Frames = make([]aotsym.Frame, 0, est)
	p.doc.info = make([]frameInfo, 0, est)
	p.doc.FrameException = make([]string, 0, est)
	root := &seg{text: input}
	if vals, ok := parseJSONValues(input); ok {
		p.doc.Format = jsonFormat(input, vals)
		st := newTextState()
		for _, v := range vals {
			p.walkJSON(root, v, st)
		}
		p.endText(st)
	} else {
		st := newTextState()
		p.parseText(root, st)
		p.endText(st)
		if p.sawCloudWatch {
			p.doc.Format = FormatCloudWatch
		} else {
			p.doc.Format = FormatText
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	p.finish()
	return p.doc, nil
}

// parser holds the state of one Parse.
type parser struct {
	lim           Limits
	doc           *Document
	excs          []aotsym.Exception
	excIndex      map[string]int // path -> index in excs
	roots         int
	sawCloudWatch bool
	err           error
	seenBuild     map[aotsym.BuildID]bool
	seenReq       map[string]bool
	seenStream    map[string]bool
}

// stopped reports whether a limit was hit; every loop checks it.
func (p *parser) stopped() bool { return p.err != nil }

func (p *parser) tooManyFrames() {
	if p.err == nil {
		p.err = aotsym.Errorf(aotsym.ETOOLARGE,
			"the input holds more than %d stack frames or exceptions, the limit for one request: send one trace (or one log event) at a time",
			p.lim.MaxFrames)
	}
}

// newRoot starts a new top-level exception and returns its path.
func (p *parser) newRoot() string {
	path := strconv.Itoa(p.roots)
	p.roots++
	return path
}

// addException records an exception at path unless one is there already. It
// reports whether the path was new.
func (p *parser) addException(path, typ, msg string) bool {
	if _, ok := p.excIndex[path]; ok {
		return false
	}
	if len(p.excs) >= p.lim.MaxFrames {
		p.tooManyFrames()
		return false
	}
	p.excIndex[path] = len(p.excs)
	p.excs = append(p.excs, aotsym.Exception{Path: path, Type: typ, Message: msg, Frames: []int{}})
	return true
}

func (p *parser) setMessage(path, msg string) {
	if i, ok := p.excIndex[path]; ok {
		p.excs[i].Message = msg
	}
}

// addFrame appends a frame found in s. listed says whether the exception's
// frame list should include it (false for the second copy of a Lambda cause).
func (p *parser) addFrame(f aotsym.Frame, fi frameInfo, path string, listed bool) {
	if len(p.doc.Frames) >= p.lim.MaxFrames {
		p.tooManyFrames()
		return
	}
	idx := len(p.doc.Frames)
	p.doc.Frames = append(p.doc.Frames, f)
	p.doc.info = append(p.doc.info, fi)
	p.doc.FrameException = append(p.doc.FrameException, path)
	if path != "" && listed {
		if i, ok := p.excIndex[path]; ok {
			p.excs[i].Frames = append(p.excs[i].Frames, idx)
		}
	}
}

func (p *parser) addBuildID(id aotsym.BuildID) {
	if p.seenBuild == nil {
		p.seenBuild = make(map[aotsym.BuildID]bool)
	}
	if !p.seenBuild[id] {
		p.seenBuild[id] = true
		p.doc.BuildIDs = append(p.doc.BuildIDs, id)
	}
}

func (p *parser) addRequestID(id string) {
	if id == "" {
		return
	}
	if p.seenReq == nil {
		p.seenReq = make(map[string]bool)
	}
	if !p.seenReq[id] && len(p.seenReq) < maxListed {
		p.seenReq[id] = true
		p.doc.RequestIDs = append(p.doc.RequestIDs, id)
	}
}

func (p *parser) addLogStream(s string) {
	if s == "" {
		return
	}
	if p.seenStream == nil {
		p.seenStream = make(map[string]bool)
	}
	if !p.seenStream[s] && len(p.seenStream) < maxListed {
		p.seenStream[s] = true
		p.doc.LogStreams = append(p.doc.LogStreams, s)
	}
}

// maxListed bounds the request IDs and log streams a document lists.
const maxListed = 10000

// finish sorts the exception tree by path.
func (p *parser) finish() {
	sort.SliceStable(p.excs, func(i, j int) bool { return pathLess(p.excs[i].Path, p.excs[j].Path) })
	p.doc.Exceptions = p.excs
}

// pathLess orders exception paths component by component, numerically, so that
// a parent comes before its children and "0.2" before "0.10".
func pathLess(a, b string) bool {
	for a != "" && b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		if len(x) != len(y) {
			return len(x) < len(y)
		}
		if x != y {
			return x < y
		}
	}
	return a == "" && b != ""
}

// jsonFormat names the container of a JSON input.
func jsonFormat(src []byte, vals []*jnode) string {
	if len(vals) == 1 && vals[0].kind == jObject && isLambdaError(src, vals[0]) {
		return FormatLambdaError
	}
	for _, v := range vals {
		if v.kind != jObject {
			continue
		}
		for _, m := range v.members {
			k := m.key.str(src)
			if (k == "events" || k == "logEvents") && m.val.kind == jArray {
				return FormatAWSLogs
			}
		}
	}
	return FormatJSONEvents
}

// trimSpace trims ASCII spaces, tabs and carriage returns.
func trimSpace(b []byte) []byte { return bytes.Trim(b, " \t\r") }
