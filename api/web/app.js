// aotsym's page: sends the pasted trace to the server's JSON API and shows the
// answer. No libraries, nothing loaded from elsewhere, no page reload.
'use strict';

(function () {
  // The token lives in sessionStorage only: it goes away with the tab.
  const TOKEN_KEY = 'aotsym.token';
  const REQUEST_TIMEOUT_MS = 120000;
  const BUILD_LIST_LIMIT = 500;
  // Links longer than this do not survive chat tools; the trace is left out.
  const MAX_LINK_TRACE = 16000;

  // Framework frames: methods in these namespaces, or ELF symbols with these
  // assembly prefixes (System.Private.CoreLib, System.*, Microsoft.*).
  const FRAMEWORK_NAMESPACES = ['System.', 'Microsoft.', 'Internal.'];
  const FRAMEWORK_SYMBOL_PREFIXES = ['S_P_CoreLib_', 'System_', 'Microsoft_'];

  const STATUS_WORDS = {
    resolved: 'resolved',
    ambiguous: 'ambiguous',
    no_line: 'no line',
    not_found: 'not found',
    offset_out_of_range: 'offset out of range',
    unknown_build: 'no build',
  };
  const STATUS_ICONS = {
    resolved: '✓',
    ambiguous: '?',
    no_line: '○',
    not_found: '✗',
    offset_out_of_range: '✗',
    unknown_build: '✗',
  };
  const STATUS_ORDER = ['resolved', 'ambiguous', 'no_line', 'not_found', 'offset_out_of_range', 'unknown_build'];

  const $ = (id) => document.getElementById(id);
  const form = $('resolve-form');
  const traceInput = $('trace');
  const buildIdInput = $('build-id');
  const buildTagsInput = $('build-tags');
  const buildList = $('build-list');
  const buildListStatus = $('build-list-status');
  const tokenBox = $('token-box');
  const tokenInput = $('token');
  const resolveButton = $('resolve');
  const message = $('message');
  const status = $('status');
  const result = $('result');
  const buildSummary = $('build-summary');
  const summary = $('summary');
  const traceView = $('trace-view');
  const textView = $('text-view');
  const textBox = $('text-box');
  const copyStatus = $('copy-status');
  const linkTrace = $('link-trace');
  const skipLink = $('skip');

  const buildCache = new Map(); // build ID -> build record (GET /v1/builds)
  let current = null; // {trace, text, build}
  let inFlight = null; // AbortController of the running request
  let finished = 0; // resolves finished, for scripts that drive the page

  // The form's data-state ("busy", "done", "error") and data-finished (a
  // count) let a script or a test see when an answer is on the page.
  function finish(state) {
    form.dataset.state = state;
    form.dataset.finished = String(++finished);
  }

  // ---- small DOM helper ------------------------------------------------------

  // h('p', {class: 'x'}, 'text', child) builds an element; strings become
  // text nodes, so nothing from the server is ever parsed as HTML.
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // ---- errors as sentences ---------------------------------------------------

  // PageError carries a sentence for the user and, optionally, the server's
  // own explanation.
  class PageError extends Error {
    constructor(sentence, detail, opts) {
      super(sentence);
      this.detail = detail || '';
      this.askToken = !!(opts && opts.askToken);
    }
  }

  function serverName() {
    return location.host || 'this address';
  }

  // failure turns what went wrong with a request into a PageError.
  function failure(kind, httpStatus, body, sentToken) {
    const code = body && body.code;
    const said = body && typeof body.error === 'string' ? body.error : '';
    if (kind === 'unreachable') {
      return new PageError(`Cannot reach the aotsym server at ${serverName()}: it may be down or restarting, or your network or VPN may be off. Your trace is still here; check the connection and press Resolve again.`);
    }
    if (kind === 'timeout') {
      return new PageError(`The server did not answer within ${REQUEST_TIMEOUT_MS / 1000} seconds. It may be overloaded; try again in a minute, or paste a shorter part of the log.`);
    }
    if (kind === 'not-json') {
      return new PageError(`The server answered with something this page cannot read (HTTP status ${httpStatus}). A proxy in between may have answered instead of aotsym; try again, or open the page directly on the aotsym server.`);
    }
    switch (code || codeOfStatus(httpStatus)) {
      case 'unauthorized':
        return sentToken
          ? new PageError('The server did not accept this API token. Check the token under “API token” (it may have expired or been mistyped) and resolve again.', said, { askToken: true })
          : new PageError('This server requires an API token. Enter a token with the read scope under “API token” below and resolve again.', said, { askToken: true });
      case 'forbidden':
        return new PageError('This API token is not allowed to do that: resolving traces needs a token with the read scope. Enter another token under “API token”.', said, { askToken: true });
      case 'too_large':
        return new PageError('The pasted text is too large for the server. Paste only the exception and its “at …” lines, or split the log into smaller parts.', said);
      case 'not_found':
        return new PageError(`No build matches: ${said ? lowerFirst(said) : 'the server has no such build.'} Choose another build under “Build”, or let the page detect it.`, '');
      case 'invalid':
        return new PageError(`The server could not use this request: ${said ? lowerFirst(said) : 'it did not say why.'}`, '');
      case 'timeout':
        return new PageError('The server took too long to resolve this trace. Try again in a minute, or paste a shorter part of the log.', said);
      case 'unavailable':
        return new PageError('The server is starting or shutting down and cannot answer yet. Try again in a few seconds.', said);
      case 'unsupported':
      case 'method_not_allowed':
        return new PageError('The server refused the way this page asked. The page and the server may be of different versions; reload the page.', said);
      default:
        return new PageError(`The server failed while resolving this trace (HTTP status ${httpStatus}). Try again; if it keeps failing, the server's log has the details.`, said);
    }
  }

  function codeOfStatus(s) {
    return ({ 400: 'invalid', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 408: 'timeout', 413: 'too_large', 415: 'unsupported', 503: 'unavailable' })[s] || 'internal';
  }

  function lowerFirst(s) {
    return s.charAt(0).toLowerCase() + s.slice(1);
  }

  function showError(err) {
    const sentence = err instanceof PageError ? err.message : `Something went wrong in this page: ${err && err.message ? err.message : err}. Reload the page and try again.`;
    message.replaceChildren(h('p', {}, sentence));
    if (err instanceof PageError && err.detail) {
      message.append(h('p', { class: 'detail' }, 'The server said: ', err.detail));
    }
    message.classList.remove('notice');
    message.hidden = false;
    status.textContent = '';
    if (err instanceof PageError && err.askToken) {
      tokenBox.open = true;
      tokenInput.focus();
    }
  }

  function clearMessage() {
    message.hidden = true;
    message.replaceChildren();
  }

  // ---- the API ---------------------------------------------------------------

  // api sends one request to the server the page came from (relative paths,
  // so the page also works behind a path prefix) and returns the parsed JSON,
  // or throws a PageError.
  async function api(method, path, body, signal) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const token = tokenInput.value.trim();
    if (token) headers.Authorization = 'Bearer ' + token;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    const onAbort = () => ctrl.abort();
    if (signal) signal.addEventListener('abort', onAbort);
    let resp;
    try {
      resp = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal,
        cache: 'no-store',
        credentials: 'same-origin',
      });
    } catch (e) {
      if (signal && signal.aborted) throw e;
      throw failure(ctrl.signal.aborted ? 'timeout' : 'unreachable');
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
    }
    let doc = null;
    try {
      doc = await resp.json();
    } catch (e) {
      doc = null;
    }
    if (!resp.ok) throw failure(doc ? 'api' : 'not-json', resp.status, doc, !!token);
    if (doc === null) throw failure('not-json', resp.status);
    return doc;
  }

  // ---- the build picker and the address bar ----------------------------------

  function mode() {
    const checked = form.querySelector('input[name="build-mode"]:checked');
    return checked ? checked.value : 'detect';
  }

  function setMode(m) {
    const radio = $('mode-' + m);
    if (radio) radio.checked = true;
  }

  // parseTags reads "k=v k2=v2" (spaces or commas between pairs).
  function parseTags(s) {
    const tags = {};
    for (const part of s.split(/[\s,]+/).filter(Boolean)) {
      const eq = part.indexOf('=');
      if (eq <= 0) {
        throw new PageError(`The tag “${part}” is not key=value. Write tags like service=orders version=1.4.2.`);
      }
      tags[part.slice(0, eq)] = part.slice(eq + 1);
    }
    return tags;
  }

  function formatTags(tags) {
    return Object.keys(tags || {}).sort().map((k) => `${k}=${tags[k]}`).join(' ');
  }

  // choice returns what the picker says: {mode, buildId?, tags?}.
  function choice() {
    const m = mode();
    if (m === 'id') {
      const id = buildIdInput.value.trim().toLowerCase();
      if (!id) throw new PageError('Choose “By build ID” only with a build ID: type or pick one, or choose “Detect it from the frames”.');
      if (!/^[0-9a-f]+$/.test(id)) throw new PageError(`“${id}” is not a build ID: a build ID is written in hexadecimal digits (0-9, a-f), like the ones in the list.`);
      return { mode: m, buildId: id };
    }
    if (m === 'tags') {
      const tags = parseTags(buildTagsInput.value.trim());
      if (Object.keys(tags).length === 0) throw new PageError('Choose “By tags” only with tags: write them like service=orders version=1.4.2, or choose “Detect it from the frames”.');
      return { mode: m, tags };
    }
    return { mode: 'detect' };
  }

  function queryFor(c) {
    const q = new URLSearchParams();
    if (c.mode === 'id') q.set('build_id', c.buildId);
    if (c.mode === 'tags') for (const k of Object.keys(c.tags).sort()) q.append('tag', `${k}=${c.tags[k]}`);
    const s = q.toString();
    return s ? '?' + s : '';
  }

  // The address bar always says how the build is chosen, so copying it from
  // the browser shares the same choice; the trace stays out of it.
  function updateAddressBar(c) {
    const url = location.pathname + queryFor(c);
    if (url !== location.pathname + location.search || location.hash) {
      history.replaceState(null, '', url);
    }
  }

  function readAddressBar() {
    const q = new URLSearchParams(location.search);
    const id = q.get('build_id') || q.get('build');
    const tags = q.getAll('tag');
    if (id) {
      buildIdInput.value = id;
      setMode('id');
    } else if (tags.length) {
      buildTagsInput.value = tags.join(' ');
      setMode('tags');
    }
    // A shared link may carry the trace in the fragment (never sent to a
    // server): #trace=…
    let fromLink = false;
    if (location.hash.startsWith('#trace=')) {
      try {
        traceInput.value = decodeURIComponent(location.hash.slice('#trace='.length));
        fromLink = traceInput.value.trim() !== '';
      } catch (e) {
        showError(new PageError('The trace in this link is damaged (it is cut off or badly encoded). Ask for the link again, or paste the trace.'));
      }
    }
    return fromLink;
  }

  async function loadBuildList() {
    try {
      const doc = await api('GET', `v1/builds?limit=${BUILD_LIST_LIMIT}`);
      const builds = Array.isArray(doc.builds) ? doc.builds : [];
      buildList.replaceChildren();
      for (const b of builds) {
        buildCache.set(b.build_id, b);
        const label = [formatTags(b.tags), b.arch, (b.created || '').slice(0, 10)].filter(Boolean).join(' · ');
        buildList.append(h('option', { value: b.build_id, label }));
      }
      buildListStatus.textContent = builds.length
        ? `${builds.length} build${builds.length === 1 ? '' : 's'} stored; the build ID field suggests them.`
        : 'No builds are stored yet: upload one with “aotsym upload”.';
    } catch (e) {
      buildListStatus.textContent = e instanceof PageError && e.askToken
        ? 'Enter an API token to list the stored builds.'
        : 'The list of stored builds could not be loaded; you can still type a build ID.';
    }
  }

  // buildRecord fetches the build afresh (its tags may have changed since
  // the list was loaded), falling back to the list's copy.
  async function buildRecord(id) {
    try {
      const b = await api('GET', 'v1/builds/' + encodeURIComponent(id));
      buildCache.set(id, b);
      return b;
    } catch (e) {
      return buildCache.get(id) || null; // the result still shows; only tags and links may be missing
    }
  }

  // ---- frames: framework or not, and links to the source -------------------

  function displayName(f) {
    if (f.function) return f.function;
    if (f.candidates && f.candidates.length && f.candidates[0].function) return f.candidates[0].function;
    return (f.input || '').replace(/^\s*at\s+/, '');
  }

  function isFramework(f) {
    const name = displayName(f);
    if (FRAMEWORK_NAMESPACES.some((p) => name.startsWith(p))) return true;
    const sym = f.symbol || (f.candidates && f.candidates.length ? f.candidates[0].symbol || '' : '');
    return FRAMEWORK_SYMBOL_PREFIXES.some((p) => sym.startsWith(p));
  }

  function withSlash(s) {
    return s.endsWith('/') ? s : s + '/';
  }

  // repoPath maps a file path of the debug file to a path in the repository,
  // or returns '' when it cannot tell (see the help text of the page).
  function repoPath(file, tags, repoName) {
    const f = file.replace(/\\/g, '/');
    const roots = [];
    if (tags.srcroot) roots.push(tags.srcroot.replace(/\\/g, '/'));
    if (tags.pathmap) {
      for (const pair of tags.pathmap.split(/[,;]/)) {
        const eq = pair.indexOf('=');
        if (eq > 0) roots.push(pair.slice(eq + 1).trim().replace(/\\/g, '/'));
      }
    }
    for (const r of roots) {
      if (r && f.startsWith(withSlash(r))) return f.slice(withSlash(r).length);
    }
    if (repoName) {
      const marker = '/' + repoName + '/';
      const at = f.lastIndexOf(marker);
      if (at >= 0) return f.slice(at + marker.length);
    }
    if (f.startsWith('/_/')) return f.slice(3);
    return '';
  }

  // sourceLinker returns a function (file, line) -> URL or '' for the build,
  // or null when the build does not say where its sources are.
  function sourceLinker(build) {
    const tags = (build && build.tags) || {};
    if (!tags.repo || !tags.git) return null;
    let repo;
    try {
      repo = new URL(tags.repo);
    } catch (e) {
      return null;
    }
    if (repo.protocol !== 'https:' && repo.protocol !== 'http:') return null;
    const base = repo.href.replace(/\/+$/, '').replace(/\.git$/, '');
    const repoName = base.split('/').pop();
    return (file, line) => {
      const p = repoPath(file, tags, repoName);
      if (!p || p.split('/').includes('..')) return '';
      const path = p.split('/').filter(Boolean).map(encodeURIComponent).join('/');
      return `${base}/blob/${encodeURIComponent(tags.git)}/${path}${line ? '#L' + line : ''}`;
    };
  }

  // ---- rendering -------------------------------------------------------------

  // location renders "FILE:line N", linked when a link can be made.
  function locationNode(file, line, link) {
    const text = line ? `${file}:line ${line}` : file;
    const href = link ? link(file, line) : '';
    return href
      ? h('a', { class: 'loc', href, target: '_blank', rel: 'noopener noreferrer' }, text)
      : h('span', { class: 'loc' }, text);
  }

  function whyText(f, buildShort) {
    switch (f.status) {
      case 'no_line':
        return 'No line: the debug file has no line for this address (often where an async method resumes). The line before it belongs to another function, so none is shown.';
      case 'ambiguous': {
        const n = (f.candidates || []).length;
        return `Ambiguous: ${n} candidates fit this frame and they point at different places. Every one is listed; choosing the build by ID usually settles it.`;
      }
      case 'not_found':
        return `Not found: ${buildShort ? 'build ' + buildShort : 'the build'} has no method by this name. The trace may come from another build, or the method was removed by trimming.`;
      case 'offset_out_of_range':
        return 'Offset out of range: the method exists, but it is shorter than the offset in the trace, so the trace most likely comes from another build. Choose the right build above.';
      case 'unknown_build':
        return 'No build: no stored build could be chosen for this frame. Upload the program’s debug file (aotsym upload), or choose the build above.';
      default:
        return '';
    }
  }

  function frameNode(f, link, buildShort) {
    const fw = isFramework(f);
    const st = STATUS_WORDS[f.status] ? f.status : 'not_found';
    const side = h('div', { class: 'side' },
      h('span', { class: 'badge ' + st }, h('span', { 'aria-hidden': 'true' }, STATUS_ICONS[st] + ' '), STATUS_WORDS[st]),
      h('span', { class: 'origin' }, fw ? 'framework' : 'your code'));
    const main = h('div', { class: 'body' });
    const name = displayName(f);
    const line = h('p', { class: 'jit' }, 'at ', h('span', { class: 'fn' }, name));
    const myLink = fw || (f.build_id && buildShort && !f.build_id.startsWith(buildShort)) ? null : link;
    if (f.status === 'resolved' && f.file) {
      line.append(' in ', locationNode(f.file, f.line, myLink));
    } else if (f.status === 'no_line') {
      line.append(' ', h('span', { class: 'noline' }, '(no line)'));
    }
    main.append(line);
    if (f.inlined && f.inlined.length) {
      main.append(h('ul', { class: 'inlined', 'aria-label': 'inlined into' },
        f.inlined.map((i) => h('li', {}, 'inlined into ', i.function || '?', i.file ? [' at ', locationNode(i.file, i.line, myLink)] : []))));
    }
    const why = whyText(f, buildShort);
    if (why) main.append(h('p', { class: 'why' }, why));
    if (f.status === 'ambiguous' && f.candidates && f.candidates.length) {
      main.append(h('ul', { class: 'candidates', 'aria-label': 'candidates' },
        f.candidates.map((c) => h('li', {}, 'at ', c.function || c.symbol || '?',
          c.file ? [' in ', locationNode(c.file, c.line, fw ? null : link)] : ' (no line)',
          c.build_id ? h('span', { class: 'cand-build' }, ` (build ${c.build_id.slice(0, 12)})`) : []))));
    }
    // For frames the page could answer, what was printed and the server's
    // note are details, shown with "Show details"; for the others they are
    // the explanation.
    const detail = f.status === 'resolved' || f.status === 'no_line' ? ' detail' : '';
    main.append(h('p', { class: 'input' + detail }, 'As printed: ', h('code', {}, f.input || '')));
    if (f.reason) main.append(h('p', { class: 'note' + detail }, 'Server note: ', f.reason));
    if (f.build_id && buildShort && !f.build_id.startsWith(buildShort)) {
      main.append(h('p', { class: 'note' }, 'Resolved against build ', f.build_id, '.'));
    }
    return h('li', {
      class: `frame ${fw ? 'fw' : 'user'} st-${st}`,
      dataset: { status: f.status, input: f.input || '', index: String(f.index), origin: fw ? 'framework' : 'user' },
    }, side, main);
  }

  function exceptionHeading(e) {
    const inner = e.path && e.path.includes('.');
    return h('h3', { class: 'exception-head' },
      inner ? h('span', { class: 'kind' }, `Inner exception ${e.path}: `) : null,
      e.type || 'Exception', e.message ? ': ' + e.message : '');
  }

  function renderTrace(trace, link, buildShort) {
    const frames = Array.isArray(trace.frames) ? trace.frames : [];
    const byIndex = new Map(frames.map((f) => [f.index, f]));
    const shown = new Set();
    const groups = [];
    for (const e of trace.exceptions || []) {
      const list = (e.frames || []).map((i) => byIndex.get(i)).filter(Boolean);
      list.forEach((f) => shown.add(f.index));
      groups.push({ e, list });
    }
    const loose = frames.filter((f) => !shown.has(f.index));
    if (loose.length) groups.push({ e: null, list: loose });
    // In the order the frames were pasted: a .NET text trace prints an inner
    // exception's frames before the outer one's, a Lambda error document the
    // other way round; either way the page reads like the input.
    const first = (g) => g.list.reduce((m, f) => Math.min(m, f.index), Infinity);
    groups.sort((a, b) => first(a) - first(b));
    const nodes = groups.map(({ e, list }) => h('section', { class: 'exception', dataset: { path: e ? e.path : '' } },
      e ? exceptionHeading(e) : h('h3', { class: 'exception-head' }, 'Frames'),
      list.length ? h('ol', { class: 'frames' }, list.map((f) => frameNode(f, link, buildShort)))
        : h('p', { class: 'note' }, 'No frames were printed for this exception.')));
    traceView.replaceChildren(...nodes);
  }

  function renderBuild(trace, build) {
    const b = trace.build || {};
    const id = trace.build_id || '';
    const parts = [];
    const idNode = h('span', { class: 'build-id' }, id);
    switch (b.how) {
      case 'detected':
        parts.push(h('p', {}, 'Build ', idNode, ', detected: ', `${b.score ?? '?'} of ${b.frames ?? '?'} frames fit it.`));
        break;
      case 'given':
        parts.push(h('p', {}, 'Build ', idNode, ', as chosen by ID.'));
        break;
      case 'tags':
        parts.push(h('p', {}, 'Build ', idNode, ', the newest build with the chosen tags.'));
        break;
      case 'named':
        parts.push(h('p', {}, 'Build ', idNode, ', named by a build-id line in the trace.'));
        break;
      case 'undecided': {
        const c = b.candidates || [];
        parts.push(h('p', {}, `No single build: the trace fits ${c.length || 'several'} stored builds equally well. Frames where they all agree are answered; the others list each build's answer.`));
        if (c.length) {
          parts.push(h('ul', { class: 'tags', 'aria-label': 'builds the trace fits' },
            c.map((cid) => h('li', {}, h('span', { class: 'build-id' }, cid)))));
        }
        break;
      }
      default:
        parts.push(h('p', {}, id ? ['Build ', idNode, '.'] : 'No build was chosen.'));
    }
    if (build && build.tags && Object.keys(build.tags).length) {
      parts.push(h('ul', { class: 'tags', 'aria-label': 'tags of the build' },
        Object.keys(build.tags).sort().map((k) => h('li', {}, `${k}=${build.tags[k]}`))));
    }
    if (b.tied && b.tied.length && id) {
      parts.push(h('p', { class: 'note' }, `Build${b.tied.length > 1 ? 's' : ''} ${b.tied.join(', ')} fit the trace just as well (the same code built with other settings?); frames where they disagree are marked ambiguous.`));
    }
    // An undecided answer's note says what would decide it: show it at once.
    if (b.note && b.how === 'undecided') parts.push(h('p', { class: 'note' }, b.note));
    else if (b.note) parts.push(h('details', {}, h('summary', {}, 'How the build was chosen'), h('p', {}, b.note)));
    buildSummary.replaceChildren(...parts);
  }

  function summaryText(trace) {
    const frames = trace.frames || [];
    const counts = STATUS_ORDER.map((s) => [s, (trace.summary && trace.summary[s]) || frames.filter((f) => f.status === s).length])
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${STATUS_WORDS[s]}`);
    const mine = frames.filter((f) => !isFramework(f)).length;
    return `${frames.length} frame${frames.length === 1 ? '' : 's'}: ${counts.join(', ')}. ${mine} of your code, ${frames.length - mine} framework.`;
  }

  // A result that is not a usable trace is still shown, with a sentence that
  // says what to do.
  function noticeFor(trace) {
    const frames = trace.frames || [];
    if (frames.length === 0) {
      return 'No stack frames were found in the pasted text. aotsym reads lines like “at MyService.Orders.OrderService.Create(Order) + 0x1c” or “at app!<BaseAddress>+0x12acc7”; paste the exception with those lines.';
    }
    if (!trace.build_id && trace.build && trace.build.how === 'none') {
      return 'No stored build matches this trace, so no frame could be resolved. Upload the program’s debug file (aotsym upload), or choose its build by ID or tags under “Build”.';
    }
    const fit = frames.filter((f) => f.status === 'resolved' || f.status === 'no_line' || f.status === 'ambiguous').length;
    if (fit === 0) {
      return 'None of the frames fit the chosen build: the trace most likely comes from another build. Choose another one under “Build”, or let the page detect it.';
    }
    return '';
  }

  function render(trace, text, build) {
    current = { trace, text, build };
    const link = sourceLinker(build);
    const short = (trace.build_id || '').slice(0, 12);
    renderBuild(trace, build);
    summary.textContent = summaryText(trace);
    renderTrace(trace, link, short);
    textView.textContent = text;
    copyStatus.textContent = '';
    result.hidden = false;
    skipLink.hidden = false;
    const notice = noticeFor(trace);
    if (notice) {
      message.replaceChildren(h('p', {}, notice));
      message.classList.add('notice');
      message.hidden = false;
    }
    status.textContent = `Resolved. ${summaryText(trace)}`;
  }

  // ---- actions -----------------------------------------------------------------

  async function resolve() {
    clearMessage();
    const text = traceInput.value;
    if (!text.trim()) {
      showError(new PageError('Paste a stack trace into the box first: the exception and its “at …” lines, or the whole log event.'));
      traceInput.focus();
      finish('error');
      return;
    }
    let c;
    try {
      c = choice();
    } catch (e) {
      showError(e);
      finish('error');
      return;
    }
    updateAddressBar(c);
    if (inFlight) inFlight.abort();
    const ctrl = new AbortController();
    inFlight = ctrl;
    resolveButton.disabled = true;
    result.setAttribute('aria-busy', 'true');
    status.textContent = 'Resolving…';
    form.dataset.state = 'busy';
    const one = { id: 'page', text };
    if (c.buildId) one.build_id = c.buildId;
    if (c.tags) one.tags = c.tags;
    try {
      const doc = await api('POST', 'v1/symbolicate/batch', { format: 'both', traces: [one] }, ctrl.signal);
      const r = doc && Array.isArray(doc.results) ? doc.results[0] : null;
      if (!r) throw failure('not-json', 200);
      if (r.error) throw failure('api', 200, r.error, !!tokenInput.value.trim());
      if (!r.trace) throw failure('not-json', 200);
      const build = r.trace.build_id ? await buildRecord(r.trace.build_id) : null;
      if (ctrl.signal.aborted) return;
      render(r.trace, typeof r.text === 'string' ? r.text : '', build);
      finish('done');
    } catch (e) {
      if (ctrl.signal.aborted) return;
      // An old result under a new error would pass for the answer to the new
      // trace.
      result.hidden = true;
      skipLink.hidden = true;
      current = null;
      showError(e);
      finish('error');
    } finally {
      if (inFlight === ctrl) {
        inFlight = null;
        resolveButton.disabled = false;
        result.removeAttribute('aria-busy');
      }
    }
  }

  // copy puts text on the clipboard: the Clipboard API where the page is a
  // secure context, else the older selection copy. Returns whether it worked.
  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (e) {
        // fall through to the selection copy
      }
    }
    const active = document.activeElement;
    const ta = h('textarea', { readonly: true, 'aria-hidden': 'true', class: 'copy-buffer' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    ta.remove();
    if (active && active.focus) active.focus();
    return ok;
  }

  async function copyText() {
    if (!current) return;
    if (await copy(current.text)) {
      copyStatus.textContent = 'Copied the trace as text.';
    } else {
      textBox.open = true;
      const range = document.createRange();
      range.selectNodeContents(textView);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      copyStatus.textContent = 'The browser blocked copying: the text is selected below, press Ctrl+C (⌘+C).';
    }
  }

  function shareLink() {
    // The link names the build the result came from, so the reader gets the
    // same answer even where detection would have been unsure.
    let c;
    if (current && current.trace.build_id) c = { mode: 'id', buildId: current.trace.build_id };
    else {
      try {
        c = choice();
      } catch (e) {
        c = { mode: 'detect' };
      }
    }
    let url = location.origin + location.pathname + queryFor(c);
    if (linkTrace.checked) {
      const t = encodeURIComponent(traceInput.value);
      if (t.length > MAX_LINK_TRACE) {
        return { url, note: `The trace is too long for a link (over ${MAX_LINK_TRACE} characters once encoded), so the link carries only the build.` };
      }
      url += '#trace=' + t;
    }
    return { url, note: '' };
  }

  async function copyLink() {
    const { url, note } = shareLink();
    const ok = await copy(url);
    copyStatus.textContent = (ok ? 'Copied the link.' : `Copy this link: ${url}`) + (note ? ' ' + note : '');
  }

  function clearAll() {
    if (inFlight) inFlight.abort();
    traceInput.value = '';
    result.hidden = true;
    skipLink.hidden = true;
    current = null;
    clearMessage();
    status.textContent = 'Cleared.';
    traceInput.focus();
  }

  // ---- wiring --------------------------------------------------------------------

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    resolve();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.altKey) {
      e.preventDefault();
      resolve();
    }
  });
  $('clear').addEventListener('click', clearAll);
  $('copy-text').addEventListener('click', copyText);
  $('copy-link').addEventListener('click', copyLink);
  const showDetails = $('show-details');
  const applyDetails = () => traceView.classList.toggle('show-details', showDetails.checked);
  showDetails.addEventListener('change', applyDetails);
  applyDetails();
  buildIdInput.addEventListener('input', () => setMode(buildIdInput.value.trim() ? 'id' : 'detect'));
  buildTagsInput.addEventListener('input', () => setMode(buildTagsInput.value.trim() ? 'tags' : 'detect'));
  for (const r of form.querySelectorAll('input[name="build-mode"]')) {
    r.addEventListener('change', () => {
      if (r.checked && r.value === 'id') buildIdInput.focus();
      if (r.checked && r.value === 'tags') buildTagsInput.focus();
    });
  }
  tokenInput.addEventListener('input', () => {
    const t = tokenInput.value.trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  });
  tokenInput.addEventListener('change', loadBuildList);
  $('forget-token').addEventListener('click', () => {
    tokenInput.value = '';
    sessionStorage.removeItem(TOKEN_KEY);
    status.textContent = 'The token is forgotten.';
    loadBuildList();
  });

  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || '';
  if (tokenInput.value) tokenBox.open = true;
  const fromLink = readAddressBar();
  loadBuildList();
  if (fromLink) resolve();
  // A link opened in a tab that already shows the page changes only the
  // fragment: read it the same way.
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#trace=') && readAddressBar()) resolve();
  });
})();
