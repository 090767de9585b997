package codescan

// Exempt reports whether u may break the rule: a comparison (apperr.Is)
// in a test file, where a literal pins the wire value the test expects.
func (u Use) Exempt() bool { return u.Test && !u.Constructor }

// Codes returns every public code of the module (its declared constants)
// with the apperr kinds each is raised with, as far as the source says.
func (r *Result) Codes() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	add := func(code, kind string) {
		if out[code] == nil {
			out[code] = map[string]bool{}
		}
		if kind != "" {
			out[code][kind] = true
		}
	}
	for _, d := range r.Decls {
		add(d.Value, "")
	}
	for _, u := range r.Uses {
		if u.Const != nil && u.Constructor {
			add(u.Const.Value, u.Kind)
		}
	}
	return out
}
