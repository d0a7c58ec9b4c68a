package urlevent

import (
	"encoding/json"
	"unicode/utf8"
)

// The helpers below walk JSON that json.Valid has already accepted, without building maps:
// mapping a function's answer is on the hot path.

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(p []byte, i int) int {
	for i < len(p) {
		switch p[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string starting at p[i] == '"'.
func skipString(p []byte, i int) int {
	for i++; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(p)
}

// skipValue returns the index just past the value starting at p[i].
func skipValue(p []byte, i int) int {
	switch p[i] {
	case '"':
		return skipString(p, i)
	case '{', '[':
		depth := 0
		for ; i < len(p); i++ {
			switch p[i] {
			case '"':
				i = skipString(p, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(p)
	}
	for ; i < len(p); i++ {
		switch p[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// eachMember calls fn for each member of the (valid) JSON object p, with the raw key (quoted)
// and the raw value.
func eachMember(p []byte, fn func(key, val []byte) error) error {
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return malformed("not an object")
	}
	i = skipSpace(p, i+1)
	for i < len(p) && p[i] != '}' {
		ks := i
		i = skipString(p, i)
		key := p[ks:i]
		i = skipSpace(p, i)
		i = skipSpace(p, i+1) // ':'
		vs := i
		i = skipValue(p, i)
		if err := fn(key, p[vs:i]); err != nil {
			return err
		}
		i = skipSpace(p, i)
		if i < len(p) && p[i] == ',' {
			i = skipSpace(p, i+1)
		}
	}
	return nil
}

// unquote decodes a raw JSON string exactly as encoding/json does, fast when it has no escapes.
func unquote(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		simple := true
		for _, c := range inner {
			if c == '\\' || c < 0x20 {
				simple = false
				break
			}
		}
		if simple && utf8.Valid(inner) {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// keyIs reports whether the raw (quoted) key equals name, escapes decoded.
func keyIs(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	for _, c := range raw {
		if c == '\\' {
			s, err := unquote(raw)
			return err == nil && s == name
		}
	}
	return false
}
