package urlevent

import "strings"

// NormalizePath is requestContext.http.path for a raw path, as the service derives it: runs of
// '/' merge into one, then percent-escapes are decoded once ("//pa2%25Fth/1" -> "/pa2%Fth/1",
// "//path/1" -> "/path/1"). The choices where no recorded answer pins the rule down (see
// docs/COMPATIBILITY.md): slashes are merged before decoding, so an encoded "%2F" becomes a
// '/' that is not merged with its neighbours; '+' and ';' stay as they are (a path is not a
// form); "." and ".." segments are kept; an invalid escape ("%zz", a trailing "%4") is kept
// verbatim; decoded bytes that are not UTF-8 are kept as bytes (the JSON encoder then writes
// U+FFFD, as encoding/json does). The result always starts with '/'.
func NormalizePath(raw string) string {
	if raw == "" {
		return "/"
	}
	if strings.IndexByte(raw, '%') < 0 && !strings.Contains(raw, "//") && raw[0] == '/' {
		return raw
	}
	b := make([]byte, 0, len(raw)+1)
	if raw[0] != '/' {
		b = append(b, '/')
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '/' && len(b) > 0 && b[len(b)-1] == '/' && i > 0 && raw[i-1] == '/' {
			continue // a run of raw slashes
		}
		if c == '%' && i+2 < len(raw) && ishex(raw[i+1]) && ishex(raw[i+2]) {
			b = append(b, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 2
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
