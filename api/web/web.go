// Package web is the page aotsym serves at GET / for on-call engineers: paste a
// trace, read it with file and line. It is plain HTML, CSS and JavaScript with
// no build step and nothing loaded from elsewhere, embedded in the binary; the
// command hands FS to api.Config.Page, and the page talks to the JSON API of
// the same server.
//
// What the page decides on its own, and documents on the page itself:
//   - which frames are framework code (dimmed and labelled, never hidden): a
//     method whose name starts with System., Microsoft. or Internal., or whose
//     ELF symbol starts with the assembly prefixes S_P_CoreLib_, System_ or
//     Microsoft_; every other frame is the user's own;
//   - links to the source: when the build carries the tags repo and git, a
//     resolved frame of the user's code links to REPO/blob/GIT/PATH#LLINE, where
//     PATH is the file's path below the repository root, found from the tag
//     srcroot (the root as written in the debug file), else the tag pathmap
//     (MSBuild's PathMap, FROM=TO pairs: TO is the root), else the last
//     directory of the file's path named like the repository, else a leading
//     /_/ (the root of deterministic .NET builds).
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html app.js style.css
var files embed.FS

// FS returns the page's files: index.html, app.js and style.css.
func FS() fs.FS { return files }
