package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// Postgres stores neither U+0000 (in text or jsonb) nor, in jsonb, an
// escaped UTF-16 surrogate that is not half of a pair; nor bytes that are
// not UTF-8. Such input is refused at the edge with 400 invalid_text
// naming the field, rather than reaching the database and failing there.

// checkJSONText returns an invalid_text error for the first string of the
// JSON document body (a value or a key) that holds an escaped U+0000 or a
// lone surrogate escape, naming it by its path (content.text,
// metadata.tags[2]). body must be valid JSON; encoding/json already
// refuses raw control characters and replaces invalid UTF-8.
func checkJSONText(body []byte) error {
	if !bytes.Contains(body, []byte(`\u`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if field, why, bad := walkText(dec, body, ""); bad {
		return invalidText(field, why)
	}
	return nil
}

func invalidText(field, why string) error {
	if field == "" {
		field = "(body)"
	}
	return apperr.Invalidf(CodeInvalidText, field, "%s holds %s, which cannot be stored", field, why)
}

// walkText consumes one JSON value from dec (reading body) and reports
// the path of its first bad string and what is wrong with it.
func walkText(dec *json.Decoder, body []byte, path string) (string, string, bool) {
	start := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return "", "", false
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			ks := dec.InputOffset()
			kt, err := dec.Token()
			if err != nil {
				return "", "", false
			}
			key, _ := kt.(string)
			sub := key
			if path != "" {
				sub = path + "." + key
			}
			if why, bad := badEscape(body[ks:dec.InputOffset()]); bad {
				return sub, why, true
			}
			if p, why, bad := walkText(dec, body, sub); bad {
				return p, why, true
			}
		}
		_, _ = dec.Token()
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if p, why, bad := walkText(dec, body, path+"["+strconv.Itoa(i)+"]"); bad {
				return p, why, true
			}
		}
		_, _ = dec.Token()
	default:
		if _, ok := tok.(string); ok {
			if why, bad := badEscape(body[start:dec.InputOffset()]); bad {
				return path, why, true
			}
		}
	}
	return "", "", false
}

// badEscape scans raw JSON (one string literal, perhaps after a
// separator) for a \u0000 escape or an escaped surrogate that is not a
// high surrogate followed by a low one.
func badEscape(raw []byte) (string, bool) {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
		return rune(n), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] != 'u' {
			i++ // \" \\ \n ...: skip the escaped character
			continue
		}
		r, ok := hex4(i)
		if !ok {
			continue
		}
		switch {
		case r == 0:
			return "U+0000 (NUL)", true
		case r >= 0xD800 && r <= 0xDBFF:
			if lo, ok := hex4(i + 6); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				i += 11
				continue
			}
			return "a lone UTF-16 surrogate (\\u" + string(raw[i+2:i+6]) + ")", true
		case r >= 0xDC00 && r <= 0xDFFF:
			return "a lone UTF-16 surrogate (\\u" + string(raw[i+2:i+6]) + ")", true
		}
		i += 5
	}
	return "", false
}

// checkString returns an invalid_text error when s, the value of field,
// holds U+0000 or bytes that are not UTF-8.
func checkString(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return invalidText(field, "bytes that are not UTF-8")
	case bytes.IndexByte([]byte(s), 0) >= 0:
		return invalidText(field, "U+0000 (NUL)")
	}
	return nil
}

// checkQuery answers 400 invalid_text for a query parameter (name or
// value) that holds U+0000 or bytes that are not UTF-8.
func (s *Server) checkQuery() gin.HandlerFunc {
	return func(c *gin.Context) {
		for name, values := range c.Request.URL.Query() {
			err := checkString(name, name)
			for _, v := range values {
				if err == nil {
					err = checkString(name, v)
				}
			}
			if err != nil {
				s.fail(c, err)
				c.Abort()
				return
			}
		}
		c.Next()
	}
}
