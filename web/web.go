// Package web owns Cairn's browser app: plain HTML, CSS and JavaScript
// modules under static/, embedded into the binary and served by `cairn
// serve` at / (no build step, no npm dependencies). The app talks only to
// the public /v1 API with the API key the user enters, kept in the
// browser's localStorage.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Static is the app's files: index.html at the root, its modules and
// styles beside it.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}
