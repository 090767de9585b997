package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-rag/cairn/ingest/bulk"
	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/pathtree"
)

// maxFilesDefault bounds how many files one `cairn ingest` takes.
const maxFilesDefault = 100_000

// codeTooManyFiles is the error code of a run over --max-files.
const codeTooManyFiles = "too_many_files"

// ingestArg is one PATH argument of `cairn ingest` and where it goes.
type ingestArg struct {
	// Arg is the argument as given.
	Arg string
	// Dest is the folder a directory becomes, or the document a file becomes.
	Dest string
	// Dir reports whether Arg is a directory.
	Dir bool
}

// ingestPlan is what `cairn ingest` loads: every file, and the argument
// each came from (an index into args).
type ingestPlan struct {
	args  []ingestArg
	files []bulk.File
	argOf map[bulk.File]int
}

// planIngest maps the PATH arguments of `cairn ingest` to documents under
// folder, keeping each argument's tree:
//
//   - a file becomes the document <folder>/<its name>;
//   - a directory becomes the folder <folder>/<its name>, its
//     subdirectories subfolders of that (go/ -> <folder>/go/...,
//     /usr/share/doc -> <folder>/doc/...); "." and "/" have no name of
//     their own, so their contents land directly in <folder>;
//   - hidden files and directories (".name") inside a directory are
//     skipped, as are symbolic links and other non-regular files there.
//
// Two different files never become one document: arguments that would
// map two files to one path (a/notes.txt and b/notes.txt given as files,
// or two directories of one name) are an error before anything is
// written. The same file reached twice for one path is taken once.
func planIngest(paths []string, folder string, maxFiles int) (ingestPlan, error) {
	root, err := store.CleanFolder(folder)
	if err != nil {
		return ingestPlan{}, err
	}
	plan := ingestPlan{argOf: map[bulk.File]int{}}
	type source struct{ abs, given string }
	taken := map[string]source{} // document path (as stored) -> its file
	add := func(arg int, path, folder, name string) error {
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		// The path the document will have; names that are not valid fail
		// that file when it is loaded, and cannot clash.
		if key, ok := documentPath(folder, name); ok {
			if prev, clash := taken[key]; clash {
				if prev.abs == abs {
					return nil
				}
				return usageError{fmt.Sprintf("%s and %s would both become %s: give them different --folder values (one run each) or ingest their directories",
					prev.given, path, key)}
			}
			taken[key] = source{abs: abs, given: path}
		}
		if len(plan.files) >= maxFiles {
			return apperr.New(apperr.TooLarge, codeTooManyFiles, "more than %d files; ingest in parts or raise --max-files", maxFiles)
		}
		f := bulk.File{Path: path, Folder: folder, Name: name}
		plan.files = append(plan.files, f)
		plan.argOf[f] = arg
		return nil
	}
	for i, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return ingestPlan{}, fmt.Errorf("ingest: %w", err)
		}
		if !st.IsDir() {
			name := filepath.Base(p)
			plan.args = append(plan.args, ingestArg{Arg: p, Dest: pathtree.Child(root, name)})
			if err := add(i, p, root, name); err != nil {
				return ingestPlan{}, err
			}
			continue
		}
		base := filepath.Clean(p)
		dest := root
		if name, err := dirName(base); err != nil {
			return ingestPlan{}, err
		} else if name != "" {
			dest = pathtree.Child(root, name)
		}
		plan.args = append(plan.args, ingestArg{Arg: p, Dest: dest, Dir: true})
		err = filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != base && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(base, filepath.Dir(path))
			if err != nil {
				return err
			}
			folder := dest
			if rel != "." {
				folder = strings.TrimSuffix(dest, "/") + "/" + filepath.ToSlash(rel)
			}
			return add(i, path, folder, d.Name())
		})
		if err != nil {
			return ingestPlan{}, fmt.Errorf("ingest: walk %s: %w", p, err)
		}
	}
	return plan, nil
}

// dirName is the folder name a directory argument (cleaned) becomes: its
// last element, "" for "." and the filesystem root.
func dirName(dir string) (string, error) {
	if dir == "." {
		return "", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if name := filepath.Base(abs); name != string(filepath.Separator) && name != "." {
		return name, nil
	}
	return "", nil
}

// documentPath is the path the document folder/name gets, normalised as
// the store normalises it; ok is false when either is not valid.
func documentPath(folder, name string) (string, bool) {
	f, err := store.CleanFolder(folder)
	if err != nil {
		return "", false
	}
	n, err := store.CleanName("name", name)
	if err != nil {
		return "", false
	}
	return pathtree.Child(f, n), true
}
